"""The learned guess (smtpprobe/core/guess.py): trained only on development, shown as a guess."""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smtpprobe.cli import app
from smtpprobe.core.explain import GUESSED, explain_text
from smtpprobe.core.guess import FORMAT, NO_FAILURE, Guess, Guesser, features, train
from smtpprobe.loading import load_rulebook
from smtpprobe.paste import GUESS_MODEL_FILE, client_errors, explain, guesser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus_split import VALIDATION, load
from train_guess import development_examples, model_json
from train_guess import training_texts as _training_texts

# Real development texts that no rule or signature reads (tests/data/corpus/development:
# round144_lib_docs.yaml, round218_sumo_android.yaml and the others as cited there), each with the
# category its source gave it.
UNREAD = {
    "java.net.SocketException: Permission denied: connect": "network-unreachable",
    "Returned mail: Can't create output": "mailbox-full",
    "unable to parse tls packet header": "wrong-security-mode",
}


@functools.cache
def training_texts() -> list[tuple[str, str]]:
    return _training_texts()  # explains every signature example: read once per worker


def test_the_shipped_model_is_the_development_corpus_trained_again() -> None:
    # Reproducible, and made from development texts only: the validation part measures
    # the guess as it measures the rules.
    shipped = GUESS_MODEL_FILE.read_text(encoding="utf-8")
    assert shipped == model_json(train(training_texts())), (
        "smtpprobe/data/guess_model.json is stale: run python tests/train_guess.py"
    )


def test_no_validation_text_is_counted() -> None:
    # Only counts of words are kept; a word seen in validation alone cannot be in the model
    # unless development has it twice. Checked the strong way: training on development
    # plus validation gives another model (so the shipped one did not include it).
    validation = [
        (str(i["text"]), str(i["category"])) for p in VALIDATION.glob("*.yaml") for i in load(p)
    ]
    assert validation
    both = train(training_texts() + validation)
    assert json.loads(GUESS_MODEL_FILE.read_text(encoding="utf-8"))["texts"] != both["texts"]


def test_training_does_not_depend_on_order() -> None:
    examples = development_examples()[:300]
    assert train(examples) == train(list(reversed(examples)))
    assert train(examples)["format"] == FORMAT


def test_features_keep_codes_and_words_and_drop_grammar() -> None:
    assert features("550 5.7.1 Relay access DENIED for you") == {
        "550",
        "5.7.1",
        "relay",
        "access",
        "denied",
    }
    # Japanese: pairs of kanji and katakana; a pair with a hiragana is grammar.
    japanese = features("サーバーに接続できません")
    assert {"接続", "サー", "ーバ", "バー"} <= japanese
    assert not any(re.search(r"[\u3040-\u309f]", f) for f in japanese)


def test_words_that_say_nothing_get_no_guess() -> None:
    model = guesser()
    for text in ("hello world", "The quick brown fox jumps over the lazy dog", "550", "ok"):
        assert model.guess(text, failures_only=True) is None, text
        # Texts that report no failure may share their words ("hello world" in a test mail's
        # body): "no-failure" is no guess either.
        said = model.guess(text)
        assert said is None or said.category == NO_FAILURE, text


def test_a_model_of_another_format_is_refused() -> None:
    with pytest.raises(ValueError, match="guess-model"):
        Guesser({"format": "something/else"})


def test_real_texts_no_rule_reads_get_their_category_as_a_guess() -> None:
    for text, category in UNREAD.items():
        result = explain(text)
        (item,) = result.explanations
        assert not result.recognised
        assert GUESSED in item.found.facts
        assert (item.verdict.category, item.verdict.fallback) == (category, "guess"), text
        assert item.found.evidence and item.verdict.evidence == item.found.evidence
        for sentence in (item.verdict.cause.en, item.verdict.cause.ja):
            assert "{" not in sentence and "()" not in sentence and "（）" not in sentence
            assert "  " not in sentence
        assert "guess" in item.verdict.cause.en and "推測" in item.verdict.cause.ja


def test_a_hinted_message_is_not_guessed_at() -> None:
    # PHPMailer's generic sentence covers many failures: its hint says so, no guess.
    result = explain(
        "SMTP connect() failed. https://github.com/PHPMailer/PHPMailer/wiki/Troubleshooting"
    )
    assert result.explanations == [] and result.hints


def test_explain_shows_a_guess_as_a_guess_and_exits_1() -> None:
    runner = CliRunner()
    text = "unable to parse tls packet header"
    english = runner.invoke(app, ["explain", text])
    assert english.exit_code == 1, english.output
    assert english.stdout.startswith("Guess 1 of 1")
    assert "Telling words: packet" in english.stdout and "wrong-security-mode" in english.stdout
    assert "Only the reply code was understood" not in english.stdout
    japanese = runner.invoke(app, ["explain", "--lang", "ja", text])
    assert japanese.exit_code == 1
    assert japanese.stdout.startswith("推測 1 / 1")
    # Japanese throughout, but for the quoted words, the ids and the commands.
    prose = re.sub(
        r"「[^」]*」|（[a-z-]+）|smtpprobe[^。]*|SMTP|Gmail|packet|parse|tls|pasted-[a-z-]+",
        "",
        japanese.stdout,
    )
    assert not re.search(r"[A-Za-z][a-z]{3,}", prose), prose  # an English word, not STARTTLS
    document = json.loads(runner.invoke(app, ["explain", "--json", text]).stdout)
    (reply,) = document["replies"]
    assert reply["verdict"]["understood"] == "guess"
    assert "guessed" in reply["facts"]


# https://github.com/MailCore/mailcore2/issues/2004 (development corpus): Mailspring's log,
# every reply positive, then the library's own error.
MAILCORE = """connect mail.fsfe.org 587
220 mail1.fsfe.org ESMTP Postfix (Debian/GNU)
EHLO fluffy.local
250-mail1.fsfe.org
250 STARTTLS
STARTTLS
220 2.0.0 Ready to start TLS
QUIT

mailsmtp Last Error Code: 27
mailsmtp Last Error Explanation: MAILSMTP_ERROR_SSL"""


def test_replies_that_worked_then_an_unknown_error_are_never_ok() -> None:
    result = explain(MAILCORE)
    (item,) = result.explanations
    assert item.verdict.category != "ok" and item.verdict.fallback == "guess"
    assert not result.recognised
    # The same replies without the error after them: the steps that worked, "ok".
    (alone,) = explain(MAILCORE.split("QUIT")[0] + "QUIT\n221 2.0.0 Bye").explanations[-1:]
    assert alone.verdict.category == "ok"


def test_a_text_that_says_nothing_went_wrong_gets_no_guess() -> None:
    # A red-team round: a sonnet was guessed protocol-error, a recipe temporary-failure, a
    # README ("supports STARTTLS on port 587 and SSL on 465") wrong-security-mode.
    for text in (
        "Shall I compare thee to a summer's day? Thou art more lovely and more temperate.",
        "Add the flour, stir for two minutes, then bake until golden; serve warm.",
        "smtpprobe supports STARTTLS on port 587 and implicit TLS (SSL) on port 465.",
        "TLS と STARTTLS に対応しています。ポート 587 と 465 を使えます。",
        # Everyday sentences with the wider trouble words (sorry, try again, temporarily,
        # ません, nicht, 不能): a guess also needs words that tell a category.
        "Sorry, I cannot come to the party tonight; try again next week?",
        "The shop is temporarily closed for the holidays.",
        "砂糖は入れません。よく混ぜてから、冷蔵庫で冷やしてください。",
        "Das ist nicht so schlimm, wir sehen uns morgen.",
        "我不能去参加聚会，下周再说吧。",
        # A refusal rule's single topic word in a sentence that refuses nothing (it had
        # been read as content-rejected by the words-only reading).
        "Spam musubi is a popular snack in Hawaii.",
        # Documentation of the ports, whose telling words had been "should" and "use".
        "Port 587 is the submission port; clients should use STARTTLS and authenticate before "
        "sending. Port 465 uses implicit TLS. Port 25 is for relay between servers and is "
        "often blocked by ISPs.",
    ):
        assert explain(text).explanations == [], text
    # The same words with a failure in them are guessed at (or recognised).
    assert explain("unable to parse tls packet header").explanations


def test_postfix_s_end_of_session_line_without_a_failure_gets_no_guess() -> None:
    # The negative corpus's development part (github.com/whyscream/postfix-grok-patterns,
    # issue 96): smtpd.c writes "/total" after a count only where a command failed, and
    # "quit=1" says the client ended the session itself.
    clean = (
        "Oct 27 09:21:37 alison postfix-in/submission/smtpd[17892]: disconnect from "
        "unknown[94.142.213.250] ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=8"
    )
    assert explain(clean).explanations == []
    guessed: list[str] = []

    def guess(text: str, failures_only: bool = False) -> Guess | None:
        guessed.append(text)
        return None

    rules = load_rulebook()
    explain_text(clean, lambda _: rules, client_errors(), guess=guess)
    assert guessed == []
    # A failed command ("auth=0/1", "commands=2/3"), or a client that left without QUIT
    # (github.com/Chocobozzz/PeerTube/issues/373), is read as before.
    for line in (
        clean.replace("auth=1", "auth=0/1").replace("commands=8", "commands=7/8"),
        clean.replace(" quit=1", "").replace("commands=8", "commands=7"),
    ):
        guessed.clear()
        explain_text(line, lambda _: rules, client_errors(), guess=guess)
        assert guessed, line
