"""The built-in rule base (smtpprobe/data/rules.yaml) classifies what it claims to.

Every rule carries examples; each must be matched by its own rule and, against
the whole file in order, land in the same category. Synthetic sweeps check that
the fallbacks leave no reply code and no failure kind unexplained.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml

import smtpprobe
from smtpprobe.core.rules import CATEGORIES, Example, Rule, Situation, first_match
from smtpprobe.core.transcript import FailureKind
from smtpprobe.loading import builtin_rules_file, load_rule_file

# The C parser where PyYAML has it (as smtpprobe.loading uses): the same data, 10x faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

RULES_PATH = Path(smtpprobe.__file__).parent / "data" / "rules.yaml"
ALLOWED_PLACEHOLDERS = frozenset(
    {
        "host",
        "port",
        "security",
        "user",
        "sender",
        "recipient",
        "detail",
        "mechanisms",
        "stage",
        "code",
        "expected",
    }
)
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _load() -> list[Rule]:
    # Through the loader's compiled cache (equal to a fresh parse: tests/test_loading_cache.py):
    # collected by every test worker, a parse here cost each of them 0.4 s.
    return load_rule_file(builtin_rules_file())


RULES = _load()
EXAMPLES: list[tuple[Rule, int, Example]] = [
    (rule, index, example) for rule in RULES for index, example in enumerate(rule.examples)
]
EXAMPLE_IDS = [f"{rule.id}#{index}" for rule, index, _ in EXAMPLES]

SWEEP_PHASES = ("greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data")
SWEEP_CODES = (421, 450, 451, 452, 454, 500, 501, 502, 503, 504, 530, 535, 550, 551, 552, 553, 554)
FAILURE_PHASES: dict[FailureKind, tuple[str, ...]] = {
    FailureKind.DNS_FAILURE: ("resolve",),
    FailureKind.CONNECT_REFUSED: ("connect",),
    FailureKind.CONNECT_TIMEOUT: ("connect",),
    FailureKind.NETWORK_UNREACHABLE: ("connect",),
    FailureKind.TLS_HANDSHAKE_FAILED: ("tls", "starttls"),
    FailureKind.TLS_CERTIFICATE_INVALID: ("tls", "starttls"),
    FailureKind.TIMEOUT: SWEEP_PHASES,
    FailureKind.CONNECTION_LOST: SWEEP_PHASES,
    FailureKind.MALFORMED_REPLY: SWEEP_PHASES,
    FailureKind.STARTTLS_NOT_OFFERED: ("starttls",),
    FailureKind.AUTH_NOT_OFFERED: ("auth",),
    FailureKind.NO_COMMON_MECHANISM: ("auth",),
    # --proxy: the route failed while connecting (issue 4).
    FailureKind.PROXY_REFUSED: ("connect",),
    FailureKind.PROXY_AUTH_FAILED: ("connect",),
    FailureKind.PROXY_TARGET_UNREACHABLE: ("connect",),
    FailureKind.PROXY_TIMEOUT: ("connect",),
    # explain only: a program reported a refusal without quoting the reply (issue 8).
    FailureKind.REPORTED_REFUSAL: ("auth", "mail", "rcpt", "data"),
}


def test_every_failure_kind_has_sweep_phases() -> None:
    assert set(FAILURE_PHASES) == set(FailureKind)


def test_every_category_is_produced() -> None:
    produced = {rule.category for rule in RULES}
    assert set(CATEGORIES) - produced == set()


def test_ok_rules_come_first_and_only_they_say_ok() -> None:
    assert [rule.id for rule in RULES[:4]] == [
        "ok-without-auth", "ok", "positive-reply-in-failure", "ok-positive-reply"
    ]  # fmt: skip
    assert all(rule.category != "ok" for rule in RULES[4:])
    assert all("ok" in rule.facts for rule in RULES[:2])
    # A positive reply is "ok" only in pasted text; a probe decides ok from the whole dialogue.
    assert "pasted" in RULES[3].facts
    # ...and never in a text that says the delivery failed: that guard comes just before it.
    assert RULES[2].category != "ok" and {"pasted", "failure-reported"} <= RULES[2].facts


def test_fallbacks_come_after_every_specific_rule() -> None:
    kinds = [rule.fallback for rule in RULES]
    first_fallback = next(i for i, kind in enumerate(kinds) if kind is not None)
    assert all(kind is not None for kind in kinds[first_fallback:])


def test_fallback_rules_do_not_read_the_text() -> None:
    # A fallback says "only the code was understood": it may not depend on wording.
    for rule in RULES:
        if rule.fallback is not None:
            assert rule.text is None, rule.id


# Data-driven checks run as one test per table (each lists every failing entry by its id):
# thousands of one-line test items cost more in pytest's bookkeeping than in the checks.


def test_rule_matches_its_own_example() -> None:
    failures = [
        f"{case}: {example.reply!r}"
        for (rule, _, example), case in zip(EXAMPLES, EXAMPLE_IDS, strict=True)
        if not rule.matches(example.situation)
    ]
    assert failures == []


def test_example_is_classified_in_its_rules_category() -> None:
    failures = []
    for (rule, _, example), case in zip(EXAMPLES, EXAMPLE_IDS, strict=True):
        found = first_match(RULES, example.situation)
        if found is None:
            failures.append(f"{case} ({example.reply!r}) matches no rule")
        elif found[0].category != rule.category:
            winner = found[0]
            failures.append(
                f"{case} ({example.reply!r}) is claimed first by {winner.id} ({winner.category})"
            )
    assert failures == []


def test_every_rule_wins_at_least_one_of_its_examples() -> None:
    # A rule whose examples are all taken by earlier rules is dead weight or misordered.
    dead = [
        rule.id
        for rule in RULES
        if not any(
            (found := first_match(RULES, example.situation)) is not None and found[0] is rule
            for example in rule.examples
        )
    ]
    assert dead == []


def test_every_code_at_every_phase_is_explained() -> None:
    unexplained = [
        (phase, code)
        for phase in SWEEP_PHASES
        for code in SWEEP_CODES
        if first_match(RULES, Situation(phase=phase, code=code, text="")) is None
    ]
    assert unexplained == []


def test_every_negative_code_is_explained_without_a_phase() -> None:
    codes = [*range(400, 500), *range(500, 600)]
    unexplained = [c for c in codes if first_match(RULES, Situation(code=c, text="")) is None]
    assert unexplained == []


def test_unknown_enhanced_codes_are_explained() -> None:
    failures = []
    for phase in SWEEP_PHASES:
        for enhanced in ("4.9.9", "5.9.9", "4.7.1", "5.7.1", "5.1.1", "5.0.0"):
            code = 450 if enhanced.startswith("4") else 550
            situation = Situation(phase=phase, code=code, enhanced=enhanced, text="xyzzy")
            found = first_match(RULES, situation)
            if found is None or found[0].category == "ok":
                failures.append((phase, enhanced, found and found[0].id))
    assert failures == []


def test_an_enhanced_pattern_may_name_a_numbered_range() -> None:
    # "4.7.5xx": Microsoft's own throttling codes 4.7.500-599, digit by digit; "5.7.*" any.
    from smtpprobe.core.rules import RuleError, parse_rule

    def rule(enhanced: str, example: str = "451 4.7.500 x") -> Rule:
        return parse_rule(
            {
                "id": "t", "category": "rate-limited", "retryable": True,
                "match": {"enhanced": [enhanced]},
                "cause": {"en": "c", "ja": "c"}, "remedy": {"en": "r", "ja": "r"},
                "examples": [example],
            },
            "test.yaml",
            0,
        )  # fmt: skip

    ranged = rule("4.7.5xx")
    for enhanced, fits in [
        ("4.7.500", True), ("4.7.599", True), ("4.7.650", False), ("4.7.5", False),
        ("4.7.50", False), ("5.7.500", False), ("4.7.1", False),
    ]:  # fmt: skip
        assert bool(ranged.matches(Situation(code=451, enhanced=enhanced, text="x"))) is fits
    assert rule("5.7.*", "550 5.7.26 x").matches(Situation(code=550, enhanced="5.7.26", text="x"))
    for bad in ("4.7.5x5y", "4.7.xxxx", "4.7"):
        with pytest.raises(RuleError, match=re.escape("is not like 5.7.1, 5.7.* or 4.7.5xx")):
            rule(bad)


@pytest.mark.parametrize(
    ("failure", "phase"),
    [(kind, phase) for kind, phases in FAILURE_PHASES.items() for phase in phases],
    ids=lambda value: str(value),
)
def test_every_failure_kind_is_explained(failure: FailureKind, phase: str) -> None:
    situation = Situation(phase=phase, failure=failure.value, text="detail")
    found = first_match(RULES, situation)
    assert found is not None
    assert found[0].category != "ok"


@pytest.mark.parametrize(
    ("situation", "category"),
    [
        pytest.param(
            Situation(
                phase="tls",
                failure="tls-handshake-failed",
                text="[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
                facts=frozenset({"security:implicit-tls", "port-speaks:plaintext-smtp"}),
            ),
            "wrong-security-mode",
            id="implicit-tls-on-587",
        ),
        pytest.param(
            Situation(
                phase="greeting",
                failure="timeout",
                facts=frozenset({"security:starttls", "port-speaks:implicit-tls"}),
            ),
            "wrong-security-mode",
            id="starttls-on-465",
        ),
        pytest.param(
            Situation(phase="greeting", failure="timeout", facts=frozenset({"security:starttls"})),
            "timeout",
            id="silent-greeting-without-check",
        ),
        pytest.param(
            Situation(
                phase="tls",
                failure="tls-certificate-invalid",
                text="certificate verify failed: certificate has expired (_ssl.c:1006)",
            ),
            "tls-certificate-invalid",
            id="expired-certificate",
        ),
    ],
)
def test_distinctions(situation: Situation, category: str) -> None:
    found = first_match(RULES, situation)
    assert found is not None
    assert found[0].category == category


def test_relay_without_auth_rule_wins_over_plain_ok() -> None:
    found = first_match(RULES, Situation(code=250, facts=frozenset({"ok", "no-auth"})))
    assert found is not None
    assert found[0].id == "ok-without-auth"


def test_an_unexpected_positive_reply_is_a_protocol_error() -> None:
    # Whatever the stage and the code, a reply the stage does not allow is never "ok".
    failures = []
    for phase in ("greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data"):
        for code in (220, 235, 250, 251, 334, 354):
            situation = Situation(phase=phase, code=code, facts=frozenset({"unexpected-reply"}))
            found = first_match(RULES, situation)
            if found is None or found[0].id != "unexpected-reply":
                failures.append((phase, code, found and found[0].id))
    assert failures == []


def test_an_incomplete_dialogue_is_never_ok() -> None:
    found = first_match(RULES, Situation(phase="ehlo", code=250, facts=frozenset({"incomplete"})))
    assert found is not None and found[0].category == "protocol-error"


def test_rule_ids_are_kebab_case() -> None:
    for rule in RULES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id), rule.id


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_texts_are_complete_bilingual_and_use_known_placeholders(rule: Rule) -> None:
    formatter = string.Formatter()
    for label, text in (("cause", rule.cause), ("remedy", rule.remedy)):
        assert text.en.strip(), f"{rule.id}: empty {label}.en"
        assert text.ja.strip(), f"{rule.id}: empty {label}.ja"
        assert _JAPANESE.search(text.ja), f"{rule.id}: {label}.ja has no Japanese"
        for lang, template in (("en", text.en), ("ja", text.ja)):
            names = {field for _, field, _, _ in formatter.parse(template) if field is not None}
            assert names <= ALLOWED_PLACEHOLDERS, f"{rule.id} {label}.{lang}: {names}"
