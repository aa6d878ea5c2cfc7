"""The negative corpus: real texts that report no failure, on which ``explain`` names no cause.

Settings, documentation, code, successful dialogues and setup questions share every word
of a refusal ("requires authentication = true", "p=reject", "App Password") and report
none; a cause named for one of them is a false answer. The texts come from cited public
pages, gathered by helpers who did not run smtpprobe on them, and are split by source as
the labeled corpus is (``tests/corpus_split.py --negative``): the development part may be
read (and trains the guess's ``no-failure`` category, ``tests/train_guess.py``); the
validation part only measures. A text passes when every explanation ``explain`` gives is
``ok`` (the positive replies of a successful log) or there is none.
"""

from __future__ import annotations

import collections
import functools
import sys
from pathlib import Path
from typing import Any

import pytest

from smtpprobe.paste import explain

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import corpus_split
from corpus_split import NEGATIVE, cited_sources, expected_split, load, source_key, tuned_sources

# Measured at the session's start (2026-12-04, before the no-failure category) on all six
# rounds' validation texts: 227 of 346 without a false answer (65.6 %). Round 1 (195 texts of
# 188 sources) measured at 70 of 98; a first design, the whole paste's words deciding, 93 of
# 98, but it lost errors pasted beside settings (a development experiment), so a paragraph
# and the words' own line decide; round 2 (192 texts: headers, DNS and deliverability,
# Japanese pages, apps) measured at 68 of 101 before its development texts were counted; with
# them, passed checks in Authentication-Results blanked and DMARC's policy tags no trouble
# words: 172 of 199. Round 3 (181 texts: auto-replies and footers, server logs of normal
# operation, Japanese pages, interface strings and changelogs) measured at 77 of 87; with its
# development texts, and a paste shorter than one message weighed among failures only: 251 of
# 286. Round 4 (47 texts: setup questions, code samples) measured at 25 of 27; with its
# development texts, 276 of 313; the labeled corpus's round 32 counted into the guess, 275.
# Round 5 (47 texts in twelve other languages) measured at 23 of 23; with its development
# texts and the labeled round 33: 301 of 336. Words of an error after replies that all worked
# weighed among the failures only, so that they never read "ok" (by choice: 1 text of a
# successful log then got a cause): 300 of 336. Round 6 (23 whole sessions run by hand)
# measured at 4 of 10: telnet's and swaks's notice of the close after QUIT's 221 had read as a
# lost connection; with the close after 221 the end of a dialogue that worked: 311 of 346
# (89.9 %). "App password" in a settings guide no refusal without a failure word or
# "required" beside it (from four development texts): 312 of 346 (90.2 %). The guess counted
# again with the labeled corpus's round 35 (15 development texts): 311 of 346 (89.9 %), the
# one text more read by the guess (rules and signatures answered as before). A ratchet, as
# FLOOR of tests/core/test_corpus.py is: a new round of texts the guess counts may move it,
# and the floor follows.
# Round 7 (35 texts: mail programs' interface and catalog strings) measured at 13 of 16 and
# round 8 (34 texts: notices about mail accounts, English and Japanese) at 14 of 15; with
# their development texts counted into the guess: 339 of 377 (89.9 %), the earlier texts one
# fewer (not looked into). The guess counting the labeled corpus's rounds 280-285: 338 of 377
# (89.7 %), one text fewer (not looked into). The name of Outbound Port 25 Blocking alone
# ("OP25B") no longer read as a blocked port (four development notices and guides had got a
# cause from it): 341 of 377 (90.5 %). Texts of program catalogs that smtpprobe's signatures
# were written from moved to development (22): 323 of 355 (91.0 %). The guess counting the
# labeled corpus's rounds 314-329: 322 of 355 (90.7 %), one text fewer (not looked into).
# Nextcloud Mail's catalog read for a hint: its one validation text moved to development, and
# the guess counting the labeled corpus's rounds 348-362: 322 of 354 (91.0 %).
FLOOR = 0.909
SHAPES = frozenset({"docs", "config", "code", "success-log", "question", "prose"})


@functools.cache
def _part(name: str) -> list[dict[str, Any]]:
    folder = NEGATIVE / name
    return [
        {**item, "file": f"{name}/{path.name}"}
        for path in sorted(folder.glob("*.yaml"))
        for item in load(path)
    ]


def _false_answers(items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[str]]]:
    found = []
    for item in items:
        categories = [e.verdict.category for e in explain(item["text"]).explanations]
        if any(c != "ok" for c in categories):
            found.append((item, categories))
    return found


def test_negative_corpus_is_sourced_and_well_formed() -> None:
    items = _part("development") + _part("validation")
    assert len(items) >= 150
    texts = [str(i["text"]).strip() for i in items]
    assert all(texts) and len(set(texts)) == len(texts), "an empty or duplicate text"
    for item in items:
        assert item["shape"] in SHAPES, item["source"]
        assert str(item["source"]).startswith(("https://", "http://")), item
        assert item.get("note") and item.get("lang"), item["source"]


def test_the_negative_split_follows_the_rule() -> None:
    # As the labeled corpus: whole sources on one side, validation where the coin put it,
    # development otherwise only with a reason; no data file cites a validation source.
    dev, val = _part("development"), _part("validation")
    dev_sources = {source_key(str(i["source"])) for i in dev}
    val_sources = {source_key(str(i["source"])) for i in val}
    assert not dev_sources & val_sources, "a source on both sides"
    tuned = tuned_sources()  # the sources the rules were first written from: development
    for item in val:
        assert expected_split(item, tuned) == "validation", item["source"]
        assert "moved" not in item, item["source"]
    for item in dev:
        assert expected_split(item, tuned) == "development" or item.get("moved"), item["source"]
    assert sorted(val_sources & cited_sources()) == []
    # Namesakes of cited repositories: other owners' copies of FairEmail, iRedMail and ssmtp
    # stay in validation here, as signatures written from a program's files can only add false
    # answers to texts that report no failure, never hide one. jordan-wright/email (a Go
    # library) only shares its name with FuelPHP's email package (fuel/email), cited since
    # 2026-12-06: not a copy.
    left_in_negative = {
        "github.com/renarena/fairemail",
        "github.com/alexiscotel/iredmail",
        "github.com/mcpat-it/ssmtp",
        "github.com/jordan-wright/email",
    }
    copies = set(corpus_split.namesakes(val_sources, cited_sources()))
    assert sorted(copies - left_in_negative) == []


def test_texts_that_report_no_failure_get_no_cause(capsys: pytest.CaptureFixture[str]) -> None:
    dev, val = _part("development"), _part("validation")
    dev_false, val_false = _false_answers(dev), _false_answers(val)
    rate = 1 - len(val_false) / len(val)
    with capsys.disabled():
        print(
            f"\nnegative corpus: development {len(dev) - len(dev_false)}/{len(dev)}, "
            f"validation {len(val) - len(val_false)}/{len(val)} = {rate:.1%} without a false "
            "answer"
        )
        for item, categories in dev_false:
            print(f"  dev false answer [{item['file']}] {categories}: {item['text'][:100]!r}")
        shapes = collections.Counter(item["shape"] for item, _ in val_false)
        if shapes:
            print(f"  validation false answers by shape (texts not shown): {dict(shapes)}")
    assert 1 - len(dev_false) / len(dev) >= FLOOR
    assert rate >= FLOOR


# AmpiFire's Gmail SMTP guide (https://ampifire.com/blog/?p=8082, the negative corpus's
# development part): "App Password", the words of auth-failed, in a settings listing.
SETTINGS = (
    "SMTP Configuration Details\n"
    "Before we begin, here are the key details you’ll need:\n"
    "- SMTP server address: smtp.gmail.com\n"
    "- Port:\n"
    "- 587 for TLS\n"
    "- 465 for SSL\n"
    "- 587 for TLS\n"
    "- Authentication: Required\n"
    "- Username: Your full Gmail address (including @gmail.com)\n"
    "- Password: Your Gmail password or App Password (see below)"
)


def test_a_refusal_s_words_in_settings_are_not_a_refusal() -> None:
    assert explain(SETTINGS).explanations == []
    # The same words as one message are the message (round7_lists.yaml, development), and
    # so is an error's line under the settings (round28_gmail_geo.yaml, development).
    (alone,) = explain("SMTP AUTH is required for message submission on port 587").explanations
    assert alone.verdict.category == "auth-required"
    for text in (SETTINGS + "\nRelay access denied", SETTINGS + "\n\nRelay access denied"):
        assert [e.verdict.category for e in explain(text).explanations] == ["relay-denied"]


# Real errors of the labeled corpus's development part that only a refusal's words without a
# code explain (file: text), for pasting beside settings.
BY_WORDS_ALONE = {
    "round28_gmail_geo.yaml": ("Relay access denied", "relay-denied"),
    "round7_lists.yaml": (
        "SMTP AUTH is required for message submission on port 587",
        "auth-required",
    ),
    "round5_japanese.yaml": ("Message exceeds maximum fixed size", "message-too-large"),
    "japanese.yaml": ("認証が必要です。", "auth-required"),
    "providers_en.yaml": ("Mailbox size limit exceeded", "mailbox-full"),
    "round17_languages.yaml": ("Sender address rejected: not owned by user", "sender-rejected"),
    "round18_services.yaml": ("You have exceeded your messaging limits", "rate-limited"),
    "servers2.yaml": ("we do not relay", "relay-denied"),
}


def test_errors_pasted_beside_settings_keep_their_answer() -> None:
    # Each error above, pasted before and after every development settings or documentation
    # text, on the next line and after a blank one: the settings' own refusal words are
    # passed over where they read as settings, and the error's are the answer.
    # Measured 2026-12-04 on every tenth such text: 546 of 576 kept (94.8 %); 600 of 640
    # (93.8 %) on 2026-12-05. Every tenth was a sample that each new file reshuffled: with
    # the negative rounds 7 and 8 (2026-12-06) it held other texts and gave 603 of 736
    # (81.9 %), while the texts it had held gave 604 of 640. Over all of them (224 texts,
    # about 12 s): 6,310 of 7,168 (88.0 %). The errors lose where the settings text has a
    # false answer of its own (a DMARC guide's "reject", a Japanese OP25B page), found first.
    settings = [i for i in _part("development") if i["shape"] in ("config", "docs")]
    kept = total = 0
    for error, category in BY_WORDS_ALONE.values():
        assert [e.verdict.category for e in explain(error).explanations] == [category]
        for other in settings:
            for glue in ("\n", "\n\n"):
                for text in (other["text"] + glue + error, error + glue + other["text"]):
                    kept += category in [e.verdict.category for e in explain(text).explanations]
                    total += 1
    assert total >= 5000 and kept / total >= 0.875, (kept, total)


# The end of a telnet session that worked (https://gist.github.com/sibok/2540ad0ed0e7dde13311,
# the negative corpus's development part) and of a swaks run (https://pastebin.com/4cpbLbNc).
TELNET_END = (
    "250 2.0.0 Ok: queued as 40E38423E5\nquit\n221 2.0.0 Bye\nConnection closed by foreign host."
)
SWAKS_END = (
    "<- 250 2.0.0 Ok: queued as A0D6D15A31EB\n -> QUIT\n<- 221 2.0.0 Bye\n"
    "=== Connection closed with remote host."
)


def test_the_close_after_quit_s_221_is_not_a_lost_connection() -> None:
    for text in (TELNET_END, SWAKS_END):
        assert [
            e.verdict.category for e in explain(text).explanations if e.verdict.category != "ok"
        ] == []
    # The same notice with no 221 before it is a connection the server dropped.
    (lost,) = explain("250 2.1.5 Ok\nConnection closed by foreign host.").explanations
    assert lost.verdict.category == "connection-lost"
