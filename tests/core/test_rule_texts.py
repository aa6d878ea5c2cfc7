"""Every rule's sentences read well when a paste leaves the values unknown (issue 8 item 5).

``smtpprobe explain`` fills a rule's cause and remedy from a pasted reply, which
often gives no host, user, sender, recipient or stage. Each text is rendered here the
way explain renders it with nothing known, in English and Japanese, and searched for
what an unfilled value leaves behind: doubled spaces, a word or particle left
dangling, empty brackets, leftover ``{placeholders}``. The retry advice of a rule must
not contradict its remedy, and a rule whose words are unmistakable must not need the
stage, which a paste rarely gives.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import smtpprobe
from smtpprobe.core import explain, unknown_values
from smtpprobe.core.bounce import Found
from smtpprobe.core.classify import fill
from smtpprobe.core.reply import parse_reply
from smtpprobe.core.rules import Rule, Text
from smtpprobe.loading import (
    builtin_profiles_dir,
    builtin_rules_file,
    load_profile_file,
    load_rule_file,
    load_rulebook,
)

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
RULES_PATH = Path(smtpprobe.__file__).parent / "data" / "rules.yaml"


def _all_rules() -> list[Rule]:
    # Through the loader's compiled cache, as every test worker collects this module.
    rules = load_rule_file(builtin_rules_file())
    for path in sorted(builtin_profiles_dir().glob("*.yaml")):
        rules.extend(load_profile_file(path).rules)
    return rules


RULES = _all_rules()


def _unknown(text: Text, detail: str) -> Text:
    """The text as explain renders it when the paste gives nothing but the reply's words."""
    return unknown_values.tidy(
        fill(text, {**unknown_values.UNKNOWN_EN, "detail": detail}, unknown_values.UNKNOWN_JA)
    )


# What an empty slot leaves behind, in each language.
_GAPS_EN = {
    "a doubled space": re.compile(r"\S {2,}\S"),
    # ... that ends a clause (" ." before a file extension such as ".js" is fine).
    "a space before punctuation": re.compile(r" [,.;:)](?=\s|$|[)\"'])"),
    "empty brackets": re.compile(r"\(\s*\)|\(\s*[;,]|[;,]\s*\)"),
    # "rejected the login for." (a preposition whose value went); "connected to:" and
    # "log in with," are English.
    "a dangling word before punctuation": re.compile(
        r"\b(?:the|an)\s*[.,;:)](?!\w)|\b(?:at|for|of|from|by)\s*[.)](?!\w)"
    ),
    "a colon with nothing after it": re.compile(r":\s*(?:[.;)]|$)"),
    "a leftover placeholder": re.compile(r"\{\w+\}|[\x00\x01]"),
}
_JAPANESE = r"\u3040-\u30ff\u4e00-\u9fff"
_GAPS_JA = {
    "a doubled space": re.compile(r"\S {2,}\S"),
    "a space before punctuation": re.compile(r"\s[、。）]"),
    "empty brackets": re.compile(r"（\s*）|\(\s*\)|（\s*[、。]|[、。]\s*）"),
    # 「サーバー は へのメール」: a particle whose value went, with only a space left, or
    # a sentence that opens with one (「、のいずれかです」 is Japanese).
    "a dangling particle": re.compile(
        rf"[のをにへはが] +(?=[{_JAPANESE}、。（）「])"
        rf"|(?:^|。)\s*(?:への|の|を|へ|は|が)(?=[{_JAPANESE}])"
    ),
    "a colon with nothing after it": re.compile(r"[:：]\s*(?:[。）)]|$)"),
    "a leftover placeholder": re.compile(r"\{\w+\}|[\x00\x01]"),
}


def _gaps(rule: Rule, detail: str) -> Iterator[str]:
    for label, text in (("cause", rule.cause), ("remedy", rule.remedy)):
        rendered = _unknown(text, detail)
        for lang, value, gaps in (("en", rendered.en, _GAPS_EN), ("ja", rendered.ja, _GAPS_JA)):
            for name, gap in gaps.items():
                if found := gap.search(value):
                    yield f"{rule.id} {label}.{lang}: {name} at {found.group(0)!r}: {value}"


@pytest.mark.parametrize("detail", ["", "550 5.7.1 the words of the reply"])
def test_no_empty_slot_when_nothing_is_known(detail: str) -> None:
    # Every rule, one test per detail: a failure lists each rule and sentence at fault.
    failures = [gap for rule in RULES for gap in _gaps(rule, detail)]
    assert failures == []


def test_sentences_without_values_read_as_sentences() -> None:
    # The words put in for a value a sentence cannot do without, and what goes with
    # a value that can be left out.
    def one(en: str, ja: str) -> Text:
        return _unknown(Text(en=en, ja=ja), "")

    assert one(
        "{host} refused the sender {sender}.", "{host} は送信者 {sender} を拒否しました。"
    ) == Text(en="The server refused the sender.", ja="サーバーは送信者を拒否しました。")
    assert one(
        "{host} refused to relay to {recipient}.",
        "{host} は {recipient} へのメールの中継を拒否しました。",
    ) == Text(
        en="The server refused to relay to the recipient.",
        ja="サーバーは宛先へのメールの中継を拒否しました。",
    )
    assert one(
        "Google ({host}) rejected the login for {user} (5.7.8).",
        "Google（{host}）はユーザー名 {user} でのログインを拒否しました（5.7.8）。",
    ) == Text(
        en="Google rejected the login for the account (5.7.8).",
        ja="Google はユーザー名でのログインを拒否しました（5.7.8）。",
    )
    assert one("It offered: {mechanisms}.", "サーバーが提示した方式: {mechanisms}。") == Text(
        en="", ja=""
    )
    assert one(
        "Run smtpprobe --host {host} --port {port}.", "smtpprobe --host {host} を実行"
    ).en == ("Run smtpprobe --host HOST --port PORT.")


def test_a_known_value_ending_in_a_space_leaves_no_space_before_japanese_punctuation() -> None:
    # Known values (no slot left to rewrite around) are tidied too: a host or a reply's
    # words that end in a space do not leave "smtp.example.jp ）" or "x 。".
    rendered = unknown_values.tidy(
        fill(
            Text(en="{host} ({detail}).", ja="{host}（{detail}）。"),
            {"host": "smtp.example.jp ", "detail": "550 x "},
            {"host": "smtp.example.jp ", "detail": "550 x "},
        )
    )
    assert rendered.ja.endswith("（550 x）。")


# Advice that tells the user retrying will not help, or that waiting is enough.
_NO_HELP = re.compile(
    r"will not help|won't help|does not help|no use (in )?retrying|再試行しても解決しません|"
    r"再送しても解決しません",
    re.IGNORECASE,
)
_JUST_WAIT = re.compile(
    r"\b(?:try again|retry|send again|resend)(?: it)? (?:later|in (?:a few|\d+))|"
    r"\bwait (?:a few minutes |a while )?and (?:try|send|retry)|"
    r"(?:しばらく|時間をおいて|数分後に|数分待ってから)[^。]{0,12}(?:再度|再試行|再送|もう一度)",
    re.IGNORECASE,
)


def test_retry_advice_never_contradicts_the_remedy() -> None:
    # The verdict says "retrying may help" (retryable) or "will not help until the cause
    # is fixed"; the remedy must say the same. A by-code rule must fit both.
    failures = []
    for rule in RULES:
        remedy = f"{rule.remedy.en} {rule.remedy.ja}"
        if rule.retryable is not False and (found := _NO_HELP.search(remedy)):
            failures.append(f"{rule.id} is retryable but says {found.group(0)!r}")
        if rule.retryable is not True and (found := _JUST_WAIT.search(remedy)):
            failures.append(f"{rule.id} is not retryable but advises {found.group(0)!r}")
    assert failures == []


@pytest.mark.parametrize("rule", [r for r in RULES if r.profiles], ids=lambda r: r.id)
def test_provider_rules_do_not_need_the_stage(rule: Rule) -> None:
    # A provider's words are unmistakable: a stage-less paste must still get its rule
    # (the stage may sharpen a verdict, never be required).
    assert not rule.phases, f"{rule.id} requires a stage"
    for example in rule.examples:
        stageless = dataclasses.replace(example.situation, phase=None, facts=frozenset({"pasted"}))
        assert rule.matches(stageless), f"{rule.id}: {example.reply!r} without its stage"


def _explain(
    reply: str, *, stage: str | None = None, profile: str | None = None
) -> explain.Explanation:
    rulebook = load_rulebook()
    if profile is not None:
        from smtpprobe.loading import load_profiles

        rulebook = load_rulebook(load_profiles(()).profiles[profile], ())
    found = Found(reply=parse_reply(reply), stage=stage)
    return explain.explain_found(found, rulebook, profile=profile)


@pytest.mark.parametrize(
    ("reply", "profile", "rule_id"),
    [
        # shared/seeds/000_b9ab28e3d3146c7e.txt: Gmail's bounce through Sakura, no stage.
        ("550 5.7.1 … Command rejected", "sakura", "sakura-foreign-ip-filter"),
        # shared/seeds/001_4fd508d8b4469860.txt: OCN's E041, recognised without --provider.
        (
            "553 5.7.1 : クライアントホストが拒否されました: リレーアクセスが拒否されました(E041)",
            None,
            "relay-denied-ocn-e041",
        ),
    ],
)
def test_stage_less_provider_pastes_get_the_providers_rule(
    reply: str, profile: str | None, rule_id: str
) -> None:
    assert _explain(reply, profile=profile).verdict.rule_id == rule_id


@pytest.mark.parametrize(
    ("reply", "profile"),
    [
        # https://github.com/gen-smtp/gen_smtp/issues/140: Gmail's own daily sending limit.
        ("550 5.4.5 Daily user sending quota exceeded. o65sm25351206pga.71 - gsmtp", None),
        # https://support.google.com/a/answer/3726730: Workspace's SMTP relay limit.
        ("550 5.4.5 Daily SMTP relay limit exceeded for user.", None),
        # https://github.com/gophish/gophish/issues/2921, sent through smtp.gmail.com.
        (
            "552 5.7.0 This message was blocked because its content presents a potential "
            "security issue. Please visit https://support.google.com/mail/?p=BlockedMessage",
            "gmail",
        ),
    ],
)
def test_gmail_is_the_refuser_when_gmail_itself_refuses(reply: str, profile: str | None) -> None:
    assert _explain(reply, profile=profile).refuser == "gmail"


@pytest.mark.parametrize("stage", [None, "mail", "rcpt", "data"])
def test_an_ambiguous_code_lists_its_causes_instead_of_stating_one(stage: str | None) -> None:
    # 5.7.1 with words no rule knows: the cause says the code's meaning, that the cause
    # is not certain, and the likely causes for the stage, most likely first.
    verdict = _explain("550 5.7.1 xyzzy plugh", stage=stage).verdict
    assert verdict.fallback is not None
    assert "not certain" in verdict.cause.en and "most likely first" in verdict.cause.en
    assert "特定できません" in verdict.cause.ja and "可能性の高い順" in verdict.cause.ja
    assert verdict.cause.en.count(";") >= 2  # several causes, not one
