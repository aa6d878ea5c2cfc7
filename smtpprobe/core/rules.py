"""Diagnosis rules: the model, validation from plain data, and matching.

A rule says "when a step looks like this, the outcome is this category, for
this cause, with this remedy". Rules live in YAML (``smtpprobe/data/rules.yaml``,
a profile's ``rules:`` list, or a user's own file); this module only sees the
parsed dicts, so it is tested with plain data.

Matching is first-match in precedence order: user rules, then the active
profile's rules, then the built-in base in file order. Within the base, the
more specific rules come first and the RFC 3463 / basic-code fallbacks last.

Matching never hangs: a rule's text pattern sees at most ``MAX_MATCH_TEXT``
characters of a reply, and a pattern that repeats a repetition (``(a+)+``),
which can take exponential time, is refused when the rule is read.
"""

from __future__ import annotations

import re
import re._constants as _sre  # type: ignore[import-not-found]  # parsed patterns, for the check
import re._parser as _sre_parse  # type: ignore[import-not-found]
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field, fields
from typing import Any, TypeAlias, TypeVar

from smtpprobe.core.errors import SmtpprobeError
from smtpprobe.core.lazyre import (
    AnchorIndex,
    IdentityCache,
    LazyPattern,
    alternative_anchors,
    literal_anchors,
    text_grams,
)
from smtpprobe.core.record import record
from smtpprobe.core.transcript import FailureKind, Phase
from smtpprobe.core.written_forms import widen

__all__ = [
    "CATEGORIES",
    "MAX_MATCH_TEXT",
    "Example",
    "Rule",
    "RuleError",
    "Situation",
    "Text",
    "nested_repetition",
    "parse_rules",
]

CATEGORIES: tuple[str, ...] = (
    "ok",
    "dns-failure",
    "connect-refused",
    "connect-timeout",
    "network-unreachable",
    "tls-handshake-failed",
    "tls-certificate-invalid",
    "wrong-security-mode",
    "starttls-unavailable",
    "greeting-rejected",
    "server-busy",
    "tls-required",
    "auth-required",
    "auth-unavailable",
    "auth-failed",
    "auth-method-disabled",
    "auth-mechanism-unsupported",
    "client-ip-rejected",
    "blocklisted",
    "relay-denied",
    "sender-rejected",
    "recipient-unknown",
    "recipient-disabled",
    "mailbox-full",
    "message-too-large",
    "unauthenticated-sender",
    "dmarc-rejected",
    "rate-limited",
    "greylisted",
    "temporary-failure",
    "protocol-error",
    "content-rejected",
    "timeout",
    "connection-lost",
    "proxy-failed",
)

_MATCH_KEYS = frozenset(
    {"phases", "codes", "enhanced", "text", "failures", "facts", "profiles", "not_text"}
)
_RULE_KEYS = frozenset(
    {"id", "category", "retryable", "match", "cause", "remedy", "examples", "fallback", "refuser"}
)
_EXAMPLE_KEYS = frozenset({"reply", "phase", "failure", "detail", "facts", "profile"})
_PHASES = frozenset(p.value for p in Phase)
_FAILURES = frozenset(f.value for f in FailureKind)
# What a text pattern is matched against: the first 4096 characters of a reply's
# text. A reply line is at most 512 octets (RFC 5321 section 4.5.3.1.5), and a
# multi-line reply that says why it refused does so in its first few lines; a
# longer text (a paste of repeated words, a server sending megabytes) is cut,
# so even a pattern that backtracks quadratically stays well under a second.
MAX_MATCH_TEXT = 4096
# "5.7.1", "5.7.*" (any detail), "4.7.5xx" (a provider's numbered range: x for a digit).
_ENHANCED_PATTERN = LazyPattern(r"^[245x*]\.(\d{1,3}|[x*]|[\dx]{2,3})\.(\d{1,3}|[x*]|[\dx]{2,3})$")


class RuleError(SmtpprobeError, ValueError):
    """A rule that cannot be used; the message names the rule and the problem."""


_T = TypeVar("_T")


def _quick_pickle(cls: type[_T]) -> type[_T]:
    """Pickle a frozen slotted dataclass by its field values in order, without looking
    the fields up again for every object (``dataclasses``' own ``__setstate__`` calls
    ``fields()`` each time): the rule base, cached as a pickle, is about a thousand of
    these objects and a probe loads it on every start."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    def getstate(self: object) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in names)

    def setstate(self: object, state: tuple[object, ...]) -> None:
        for name, value in zip(names, state, strict=True):
            object.__setattr__(self, name, value)

    setattr(cls, "__getstate__", getstate)  # noqa: B010 (a method set on the class)
    setattr(cls, "__setstate__", setstate)  # noqa: B010
    return cls


@record
class Text:
    """A user-facing sentence in English and Japanese."""

    en: str
    ja: str

    def get(self, lang: str) -> str:
        """The text in ``lang`` ("en" or "ja")."""
        return self.ja if lang == "ja" else self.en


@record
class Situation:
    """What a rule is matched against: one decisive step, plus context.

    ``facts`` are short strings the classifier derives from the whole
    transcript, such as ``port-speaks:implicit-tls`` or ``authenticated``.
    """

    phase: str | None = None
    code: int | None = None
    enhanced: str | None = None
    text: str = ""
    failure: str | None = None
    facts: frozenset[str] = frozenset()
    profile: str | None = None


# Compiled on first use, like the rules' own patterns (start-up stays fast).
_TRANSIENT_WORDS = LazyPattern(
    r"\btemporar(?:il)?y\b|\btry (?:again |resending )?later\b|一時的", re.IGNORECASE
)


@record
class Example:
    """A situation a rule must match (and the tests check that it does)."""

    situation: Situation
    reply: str | None = None


@record
class Rule:
    """One diagnosis rule. Every condition present must hold; absent ones match anything."""

    id: str
    category: str
    retryable: bool | None  # None: "by-code", transient (4xx) replies are retryable
    cause: Text
    remedy: Text
    phases: frozenset[str] = frozenset()
    codes: frozenset[int] = frozenset()
    enhanced: tuple[str, ...] = ()
    # Compiled on first use: most rules are decided by code and phase before their text,
    # and a cached rule base must not compile every pattern at start-up.
    text: LazyPattern | None = None
    not_text: LazyPattern | None = None
    failures: frozenset[str] = frozenset()
    facts: frozenset[str] = frozenset()
    profiles: frozenset[str] = frozenset()
    fallback: str | None = None  # "enhanced" or "code": only the code was understood
    refuser: str | None = None  # "submission", "recipient", "gmail", "client"
    # A tuple, or from the compiled cache a sequence unpickled when first read
    # (smtpprobe.loading.DeferredExamples): a probe never reads them.
    examples: Sequence[Example] = field(default=(), compare=False)
    source: str = ""

    def retryable_for(self, situation: Situation) -> bool:
        """Whether retrying can help: the rule's word, else the reply class (RFC 5321 4.2.1),
        else, with no code, words that say the refusal is temporary."""
        if self.retryable is not None:
            return self.retryable
        if situation.code is None:
            # A text with no code says it with words when the refusal is for now only
            # ("temporarily over quota", "一時的に受信できません"): the 4xx of prose.
            return _TRANSIENT_WORDS.search(situation.text) is not None
        return 400 <= situation.code < 500

    def matches(
        self, situation: Situation, lowered: str | None = None, grams: set[str] | None = None
    ) -> re.Match[str] | bool:
        """Whether the rule applies; returns the text match when there is one (evidence).

        ``lowered`` is the situation's text as matched (``MAX_MATCH_TEXT``), in lower case,
        and ``grams`` its ``text_grams``, when the caller has them: ``first_match`` makes
        them once for all the rules."""
        if not self.applies_to(situation):
            return False
        return self.text_matches(situation, lowered, grams)

    def applies_to(self, situation: Situation) -> bool:
        """Whether every condition but the words holds (the profile, stage, failure, codes
        and facts): what ``first_match`` works out once for situations alike."""
        if self.profiles and situation.profile not in self.profiles:
            return False
        if self.phases and situation.phase not in self.phases:
            return False
        if self.failures and situation.failure not in self.failures:
            return False
        if not self.failures and situation.failure is not None:
            return False
        if self.codes and situation.code not in self.codes:
            return False
        if self.enhanced and not any(
            _enhanced_matches(p, situation.enhanced) for p in self.enhanced
        ):
            return False
        return not self.facts or self.facts <= situation.facts

    def text_matches(
        self,
        situation: Situation,
        lowered: str | None = None,
        grams: set[str] | None = None,
        *,
        anchored: bool = False,
    ) -> re.Match[str] | bool:
        """Whether the words hold (``text``, and not ``not_text``), for a situation the
        rule ``applies_to``; the text match when there is one. ``anchored``: the caller
        knows the text holds an anchor of ``text``."""
        text = situation.text[:MAX_MATCH_TEXT]
        # A pattern none of whose anchors is in the text cannot match: it is not searched,
        # nor compiled (most rules a text reaches are decided so).
        if lowered is None:
            lowered = text.lower() if self.text is not None or self.not_text is not None else ""
        if (
            self.not_text is not None
            and self.not_text.may_match(lowered, grams)
            and self.not_text.search_narrowed(text, lowered, grams)
        ):
            return False
        if self.text is not None:
            may = anchored or self.text.may_match(lowered, grams)
            found = self.text.search_narrowed(text, lowered, grams) if may else None
            return found if found else False
        return True


def _code_fits(code: str, pattern: str) -> bool:
    return all(p in ("x", c) for p, c in zip(pattern, code, strict=True))


def _enhanced_matches(pattern: str, enhanced: str | None) -> bool:
    if enhanced is None:
        return False
    want = pattern.split(".")
    have = enhanced.split(".")
    return all(_part_fits(w, h) for w, h in zip(want, have, strict=True))


def _part_fits(want: str, have: str) -> bool:
    """One part of an enhanced code against a pattern's: "*", "x", digits, or "5xx"."""
    if want in ("x", "*") or want == have:
        return True
    return len(want) == len(have) and _code_fits(have, want)  # digit by digit, as codes


# The values a cause or remedy may name (smtpprobe.core.classify fills them); a literal
# brace is written twice ("{{", "}}").
PLACEHOLDERS = frozenset(
    {"host", "port", "security", "user", "sender", "recipient", "detail", "stage", "mechanisms",
     "code", "expected"}
)  # fmt: skip


def _text(value: Any, where: str, key: str) -> Text:
    if not isinstance(value, Mapping):
        raise RuleError(f"{where}: '{key}' must be a mapping with 'en' and 'ja'")
    missing = [lang for lang in ("en", "ja") if not isinstance(value.get(lang), str)]
    if missing:
        raise RuleError(f"{where}: '{key}' lacks text for {', '.join(missing)}")
    for lang in ("en", "ja"):
        _check_placeholders(value[lang], f"{where}: '{key}.{lang}'")
    return Text(en=value["en"].strip(), ja=value["ja"].strip())


def _check_placeholders(text: str, where: str) -> None:
    """Refuse a stray brace or a name no verdict fills, which would reach the output."""
    import string  # here, not at start-up: only a file being parsed gets here

    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text)]
    except ValueError as exc:
        raise RuleError(f"{where}: {exc} (write a literal brace twice: '{{{{' or '}}}}')") from None
    allowed = " ".join("{" + n + "}" for n in sorted(PLACEHOLDERS))
    for name, spec, conv in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conv:
            shown = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            raise RuleError(f"{where}: unknown placeholder {shown}; use one of {allowed}")


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise RuleError(f"{where}: 'match.{key}' must be a value or a list of values")
    return tuple(str(v) for v in value)


def _regex(value: Any, where: str, key: str) -> LazyPattern:
    if not isinstance(value, str) or not value:
        raise RuleError(f"{where}: 'match.{key}' must be a non-empty regular expression")
    # Words in each of their written forms (サーバ/サーバー, "："/":", é/e: written_forms).
    value = widen(value)
    try:
        compiled = re.compile(value, re.IGNORECASE)
        parsed = _sre_parse.parse(value, re.IGNORECASE)
        nested = nested_repetition(parsed)
    except (re.error, OverflowError) as exc:
        raise RuleError(
            f"{where}: 'match.{key}' is not a valid regular expression: {exc}"
        ) from None
    except RecursionError:
        raise RuleError(f"{where}: 'match.{key}' is nested too deeply") from None
    if nested:
        raise RuleError(
            f"{where}: 'match.{key}' repeats a repetition ({nested}), which can take "
            "exponential time on a long reply; bound the inner count (e.g. {1,20}), "
            "put a fixed character after it, or make it atomic (?>...)"
        )
    # A long alternation is searched as the alternatives whose anchors the text holds.
    alternatives = alternative_anchors(value, re.IGNORECASE, parsed)
    return LazyPattern(value, re.IGNORECASE, compiled, literal_anchors(parsed), None, alternatives)


# --- the backtracking check -----------------------------------------------------------
# A repetition inside a repetition, ``(a+)+`` or ``(\w+\s?)*``, lets the engine split
# the same text in exponentially many ways before it fails. It is safe when each
# inner run must end at a character it cannot contain (``(\w+ ){0,3}``, ``(\s*>)+``),
# or when it is possessive or atomic (``(a++)+``, ``(?>a+)+``), which never backtracks.

_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT)
_LONG_RUN = 16  # an inner run longer than this backtracks like an unbounded one
_SAMPLE = [chr(c) for c in range(128)] + list("\u00a0\u00e9\u3000\u3042\u30a2\u6f22\uff1a\uff71")


def nested_repetition(items: Any, inside: bool = False) -> str | None:
    """A description of the first unsafe nested repetition in a parsed pattern, or None."""
    items = list(items)
    for index, (op, av) in enumerate(items):
        if op in _REPEATS:
            low, high, body = av
            long = high == _sre.MAXREPEAT or high > _LONG_RUN
            if inside and long and not _ends_at_a_stop(body, items[index + 1 :]):
                count = "*" if low == 0 else "+" if low == 1 else f"{{{low},}}"
                if high != _sre.MAXREPEAT:
                    count = f"{{{low},{high}}}"
                return f"'{_shown(body)}{count}' inside a repetition"
            found = nested_repetition(body, inside or high > 1)
            if found:
                return found
        elif op is _sre.BRANCH:
            for branch in av[1]:
                found = nested_repetition(branch, inside)
                if found:
                    return found
        elif op is _sre.SUBPATTERN:
            found = nested_repetition(av[-1], inside)
            if found:
                return found
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
            found = nested_repetition(av[1], inside)
            if found:
                return found
        # POSSESSIVE_REPEAT and ATOMIC_GROUP never backtrack into themselves: safe.
    return None


def _ends_at_a_stop(body: Any, after: list[Any]) -> bool:
    """Whether an inner run must stop at a character that cannot begin another round of it.

    Then the engine never has a choice between "once more" and "stop": no backtracking.
    """
    run, stop = _first(list(body)), _first(after)
    return run is not None and stop is not None and not run & stop


def _first(items: list[Any]) -> frozenset[str] | None:
    """The sample characters a sequence can begin with, or None when that is not simple."""
    if not items:
        return None
    op, av = items[0]
    if op is _sre.SUBPATTERN:
        return _first([*av[-1], *items[1:]]) if av[-1] else None
    if op is _sre.BRANCH:
        firsts = [_first(list(branch)) for branch in av[1]]
        return None if any(f is None for f in firsts) else frozenset().union(*firsts)  # type: ignore[arg-type]
    if op in (*_REPEATS, _sre.POSSESSIVE_REPEAT):
        return _first(list(av[2])) if av[0] >= 1 else None
    return _chars(items[0])


def _chars(item: Any) -> frozenset[str] | None:
    """The sample characters one single-character item matches (case folded), or None."""
    op, av = item
    if op is _sre.LITERAL:
        return frozenset({chr(av).lower()})
    if op is _sre.NOT_LITERAL:
        return frozenset(c.lower() for c in _SAMPLE if c.lower() != chr(av).lower())
    if op is _sre.ANY:
        return frozenset(c.lower() for c in _SAMPLE if c != "\n")
    if op is _sre.IN:
        negate = any(o is _sre.NEGATE for o, _ in av)
        hits = {c.lower() for c in _SAMPLE if any(_in(c, o, a) for o, a in av) != negate}
        return frozenset(hits)
    return None


def _in(ch: str, op: Any, av: Any) -> bool:
    if op is _sre.LITERAL:
        return ch.lower() == chr(av).lower()
    if op is _sre.RANGE:
        return any(av[0] <= ord(c) <= av[1] for c in {ch, ch.lower(), ch.upper()})
    if op is _sre.CATEGORY:
        name = str(av)
        if "DIGIT" in name:
            hit = ch.isdecimal()
        elif "SPACE" in name:
            hit = ch.isspace()
        elif "WORD" in name:
            hit = ch.isalnum() or ch == "_"
        else:  # LINEBREAK
            hit = ch == "\n"
        return hit != ("NOT" in name)
    return False


def _shown(body: Any) -> str:
    items = list(body)
    if len(items) == 1 and items[0][0] is _sre.LITERAL:
        return chr(items[0][1])
    return "(...)" if len(items) > 1 else "[...]"


def _example(raw: Any, where: str) -> Example:
    if isinstance(raw, str):
        raw = {"reply": raw}
    if not isinstance(raw, Mapping):
        raise RuleError(f"{where}: each example must be a reply string or a mapping")
    unknown = set(raw) - _EXAMPLE_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown example key(s) {', '.join(sorted(unknown))}")
    from smtpprobe.core.reply import parse_reply  # local: keeps rules importable alone

    code = enhanced = None
    text = ""
    reply = raw.get("reply")
    if reply is not None:
        try:
            parsed = parse_reply(str(reply))
        except ValueError as exc:
            raise RuleError(f"{where}: example reply {reply!r}: {exc}") from None
        code, enhanced, text = parsed.code, parsed.enhanced, parsed.text
    failure = raw.get("failure")
    if failure is not None and failure not in _FAILURES:
        raise RuleError(f"{where}: example failure {failure!r} is not a known failure kind")
    if reply is None and failure is None:
        raise RuleError(f"{where}: an example needs 'reply' or 'failure'")
    detail = raw.get("detail")
    if detail is not None:
        if failure is None or not isinstance(detail, str):
            raise RuleError(f"{where}: an example's 'detail' is a failure's text (with 'failure')")
        text = detail  # what the transport recorded with the failure, as a probe sees it
    phase = raw.get("phase")
    if phase is not None and phase not in _PHASES:
        raise RuleError(f"{where}: example phase {phase!r} is not a known phase")
    situation = Situation(
        phase=phase,
        code=code,
        enhanced=enhanced,
        text=text,
        failure=failure,
        facts=frozenset(_strings(raw.get("facts", []), where, "facts")),
        profile=raw.get("profile"),
    )
    return Example(situation=situation, reply=None if reply is None else str(reply))


def parse_rule(raw: Any, source: str, index: int) -> Rule:
    """Validate one rule dict; ``source`` names the file for messages."""
    if not isinstance(raw, Mapping):
        raise RuleError(f"{source}: rule #{index + 1} must be a mapping")
    rule_id = raw.get("id")
    where = f"{source}: rule '{rule_id}'" if rule_id else f"{source}: rule #{index + 1}"
    if not isinstance(rule_id, str) or not rule_id:
        raise RuleError(f"{where}: 'id' is required")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    category = raw.get("category")
    if category not in CATEGORIES:
        raise RuleError(f"{where}: 'category' {category!r} is not one of the known categories")
    retryable = raw.get("retryable")
    if retryable == "by-code":
        retryable = None
    elif not isinstance(retryable, bool):
        raise RuleError(f"{where}: 'retryable' must be true, false or by-code")
    match = raw.get("match", {}) or {}
    if not isinstance(match, Mapping):
        raise RuleError(f"{where}: 'match' must be a mapping")
    unknown = set(match) - _MATCH_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown match key(s) {', '.join(sorted(unknown))}")
    if not match:
        # It would match every outcome, an accepted probe too.
        raise RuleError(f"{where}: 'match' needs at least one condition")
    phases = _strings(match.get("phases", []), where, "phases")
    for phase in phases:
        if phase not in _PHASES:
            raise RuleError(f"{where}: phase {phase!r} is not one of {', '.join(sorted(_PHASES))}")
    codes: list[int] = []
    for code in _strings(match.get("codes", []), where, "codes"):
        if not re.fullmatch(r"[2-5][0-9x][0-9x]", code.lower()):
            raise RuleError(f"{where}: code {code!r} is not a reply code like 550 or 5xx")
        # "4xx", "55x": every code of that class (RFC 5321 section 4.2.1).
        low, high = int(code.lower().replace("x", "0")), int(code.lower().replace("x", "9"))
        codes.extend(c for c in range(low, high + 1) if _code_fits(str(c), code.lower()))
    enhanced = _strings(match.get("enhanced", []), where, "enhanced")
    for pattern in enhanced:
        if not _ENHANCED_PATTERN.match(pattern):
            raise RuleError(
                f"{where}: enhanced code {pattern!r} is not like 5.7.1, 5.7.* or 4.7.5xx"
            )
    failures = _strings(match.get("failures", []), where, "failures")
    for failure in failures:
        if failure not in _FAILURES:
            raise RuleError(f"{where}: failure {failure!r} is not a known failure kind")
    fallback = raw.get("fallback")
    if fallback not in (None, "enhanced", "code"):
        raise RuleError(f"{where}: 'fallback' must be 'enhanced' or 'code'")
    refuser = raw.get("refuser")
    if refuser not in (None, "submission", "recipient", "gmail", "client"):
        raise RuleError(f"{where}: 'refuser' must be submission, recipient, gmail or client")
    examples_raw = raw.get("examples")
    if not isinstance(examples_raw, list) or not examples_raw:
        raise RuleError(f"{where}: 'examples' must list at least one text the rule matches")
    rule = Rule(
        id=rule_id,
        category=category,
        retryable=retryable,
        cause=_text(raw.get("cause"), where, "cause"),
        remedy=_text(raw.get("remedy"), where, "remedy"),
        phases=frozenset(phases),
        codes=frozenset(codes),
        enhanced=enhanced,
        text=_regex(match["text"], where, "text") if "text" in match else None,
        not_text=_regex(match["not_text"], where, "not_text") if "not_text" in match else None,
        failures=frozenset(failures),
        facts=frozenset(_strings(match.get("facts", []), where, "facts")),
        profiles=frozenset(_strings(match.get("profiles", []), where, "profiles")),
        fallback=fallback,
        refuser=refuser,
        examples=tuple(_example(e, where) for e in examples_raw),
        source=source,
    )
    return rule


def parse_rules(items: Iterable[Any], source: str, *, profile: str | None = None) -> list[Rule]:
    """Validate a list of rule dicts. With ``profile``, each rule is limited to it.

    Raises RuleError naming the source, the rule and the problem; duplicate
    ids within one source are an error too.
    """
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(items):
        rule = parse_rule(raw, source, index)
        if rule.id in seen:
            raise RuleError(f"{source}: rule '{rule.id}' is defined twice")
        seen.add(rule.id)
        if profile is not None and not rule.profiles:
            rule = _with_profile(rule, profile)
        rules.append(rule)
    return rules


def _with_profile(rule: Rule, profile: str) -> Rule:
    from dataclasses import replace

    examples = tuple(
        Example(
            situation=replace(e.situation, profile=e.situation.profile or profile), reply=e.reply
        )
        for e in rule.examples
    )
    return replace(rule, profiles=frozenset({profile}), examples=examples)


def first_match(
    rules: Sequence[Rule], situation: Situation
) -> tuple[Rule, re.Match[str] | None] | None:
    """The first rule that matches, with its text match as evidence."""
    lowered = situation.text[:MAX_MATCH_TEXT].lower()
    grams = text_grams(lowered)
    if isinstance(rules, tuple):  # cannot change: what applies is worked out once per kind
        book = _applicable(rules)
        present = book.index.candidates(lowered, grams)  # whose words the text may hold
        for position, rule in book(situation):
            if position in present:
                found = rule.text_matches(situation, lowered, grams, anchored=True)
                if found:
                    return rule, found if isinstance(found, re.Match) else None
        return None
    for rule in rules:
        found = rule.matches(situation, lowered, grams)
        if found:
            return rule, found if isinstance(found, re.Match) else None
    return None


_SituationKey: TypeAlias = tuple[
    str | None, str | None, str | None, int | None, str | None, frozenset[str]
]


class _Applicable:
    """The rules of one rule book that apply to a situation but for its words, by the
    situation's other fields: a paste's replies, and a run's pastes, share a few codes
    and stages, and the conditions of hundreds of rules were checked again for each."""

    __slots__ = ("_facts", "_known", "_rules", "index")

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self._rules = rules
        # Only the facts some rule asks for tell situations apart (a port's number does not).
        self._facts = frozenset().union(*(rule.facts for rule in rules))
        self._known: dict[_SituationKey, tuple[tuple[int, Rule], ...]] = {}
        self.index = AnchorIndex([rule.text for rule in rules])  # by position

    def __call__(self, situation: Situation) -> tuple[tuple[int, Rule], ...]:
        """The rules that apply but for their words, with their positions in the book."""
        key = (
            situation.profile,
            situation.phase,
            situation.failure,
            situation.code,
            situation.enhanced,
            situation.facts & self._facts,
        )
        found = self._known.get(key)
        if found is None:
            if len(self._known) >= _SITUATIONS_KEPT:
                self._known.clear()
            found = self._known[key] = tuple(
                (position, rule)
                for position, rule in enumerate(self._rules)
                if rule.applies_to(situation)
            )
        return found


_SITUATIONS_KEPT = 1_024
_applicable: IdentityCache[tuple[Rule, ...], _Applicable] = IdentityCache(_Applicable)
