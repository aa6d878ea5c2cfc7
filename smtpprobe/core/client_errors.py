"""Client-side errors in pasted text: what programs print when no SMTP reply came.

Half of what people paste carries no server reply at all: a library's exception
(``Error: connect ECONNREFUSED 10.0.0.1:587``, ``[SSL: WRONG_VERSION_NUMBER]``,
``PKIX path building failed``), a mail app's dialog (Thunderbird, Outlook's
``0x800CCCxx``, Gmail's "Send mail as" verification: ``Couldn't reach server.
Please double-check the server and port number``), or a refusal a program reports
in its own words without quoting the reply (``Invalid login``, 「認証に失敗しました」).

The knowledge is data: ``smtpprobe/data/client_errors.yaml`` lists signatures, each
a case-insensitive pattern with the failure kind it means (a ``FailureKind`` value,
the same kinds a live probe records, so the same rules explain both), facts it adds
(``plaintext-record`` for a plaintext answer to a TLS handshake, ``gmail-dialog``
for Gmail's dialog) and real examples with their sources. A signature without a
failure kind is context: it only adds facts (or a stage) to the error near it.

``scan`` finds every signature, groups matches that lie within a few lines of
each other into one incident (a stack trace, a nested exception, a log line and
its follow-up), and makes one ``Found`` per incident from its most specific
signature (the first in file order), with ``reply=None``, the host and port the
words name, and the matched line as evidence. Pure: text in, values out, in time
linear in the text (bounded patterns, checked when the file is read, and a literal
pre-check that skips a signature whose words are absent).
"""

from __future__ import annotations

import re
import re._parser as _sre_parse  # type: ignore[import-not-found]
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from smtpprobe.core.bounce import MAX_REPLIES, Found
from smtpprobe.core.lazyre import (
    AnchorIndex,
    IdentityCache,
    LazyPattern,
    alternative_anchors,
    literal_anchors,
    match_reach,
    text_grams,
)
from smtpprobe.core.pasted import PLAIN_FORMS
from smtpprobe.core.record import record
from smtpprobe.core.rules import (
    CATEGORIES,
    RuleError,
    Text,
    nested_repetition,  # the rules' own check
)
from smtpprobe.core.transcript import FailureKind, Phase
from smtpprobe.core.written_forms import plain_form, widen

__all__ = [
    "REPORTED",
    "ClientErrors",
    "Hint",
    "Located",
    "Signature",
    "SignatureExample",
    "find_client_errors",
    "find_hints",
    "fold",
    "parse_client_errors",
    "read_parts",
    "read_text",
    "scan",
]

# The failure kind of a refusal the program reports in its own words (no reply quoted);
# the fact ``reported:CATEGORY`` says which refusal.
REPORTED = FailureKind.REPORTED_REFUSAL.value
# Facts that describe the whole paste, not one line of it: a Gmail dialog or bounce
# quotes its error lines apart from the sentences that say it is Gmail's.
WHOLE_TEXT_FACTS = frozenset({"gmail", "gmail-dialog", "gmail-send-mail-as"})
_NEAR = 4  # lines between two matches of one incident (a nested exception, a wrapped line)
_MAX_MATCHES = 2000  # per signature: a log of thousands of identical lines says no more
_EVIDENCE = 300  # characters of the matched line kept as evidence
_SIGNATURE_KEYS = frozenset(
    {"id", "regex", "failure", "reports", "facts", "stage", "gmail_dialog", "examples"}
)
_HINT_KEYS = frozenset({"id", "regex", "hint", "examples"})
_PHASES = frozenset(p.value for p in Phase)
_FAILURES = frozenset(f.value for f in FailureKind) - {REPORTED}
_FACT = re.compile(r"^[a-z0-9][a-z0-9:.-]{0,60}$")

# Where the words name the server and the port. Host names are taken only where the
# text labels them (``host: 'x'``, ``SMTP host: x``, ``connect to x``, ``x:587``), never
# any dotted word: stack traces are full of ``java.net.ConnectException``.
_LABEL = (
    r"(?:smtp host|host(?:name)?|server|connect(?:ing)? to|lookup|enotfound|eai_again|サーバー)"
)
_NAME = r"(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}"
_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
# "smtp.gmail.com:465", "10.0.0.1:587", Postfix's "mx.example.com[192.0.2.1]:25", "[::1]:25".
_HOST_PORT = re.compile(
    rf"(?<![\w.:-])({_NAME}|{_IPV4}|\[[0-9A-Fa-f:.]{{2,45}}\])(?:\[[0-9A-Fa-f:.]{{1,45}}\])?"
    r":(\d{2,5})(?![\w.])"
)
_LABELLED_HOST = re.compile(
    rf"(?<![\w-])(?i:{_LABEL})['\"]?\s{{0,3}}[:=]?\s{{0,3}}['\"`]?(?:(?i:ssl|tls|tcp)://)?"
    rf"({_NAME}|{_IPV4})(?![\w-]|\.\w)"
)
_IPV4_ONLY = re.compile(rf"^{_IPV4}$")
# Go's resolver error names the DNS server it asked after the name it looked up.
_RESOLVER_BEFORE = re.compile(r"(?i:\blookup)\s{1,3}\S{1,253}\s{1,3}on\s{1,3}$")
_URL_BEFORE = re.compile(r"https?://$", re.I)
# A sentence may end right after the port ("… on Port 587."); "587.5" is no port.
_PORT = re.compile(r"(?i:\bport|ポート(?:番号)?)\s{0,3}[:=]?\s{0,3}(\d{2,5})(?!\w|\.\d)")
# Web ports: a host named with one of these is a web address, not the mail server, when
# the same lines name another.
_WEB_PORTS = frozenset({80, 443, 8080, 8443})
# A server named with a scheme that is TLS from the first byte ("ssl://smtp.example.jp:465",
# as PHP's streams and Swift Mailer write it; "smtps://"): the program used the mode that
# port 465 expects. ("tls://" is not: PHPMailer reads it as STARTTLS.)
_IMPLICIT_TLS_URL = re.compile(r"(?i)(?<![\w.-])(?:ssl|smtps)://")
_IMPLICIT_TLS_FACT = "implicit-tls-url"  # the fact: the server was named with such a scheme
# JavaMail: "Couldn't connect to host, port: smtp.gmail.com, 465; timeout -1"
_JAVAMAIL_PORT = re.compile(rf"(?i:port):\s{{0,3}}({_NAME}|{_IPV4}),\s{{0,3}}(\d{{2,5}})\b")
# Go's net errors: "dial tcp 10.0.0.1:587: i/o timeout", also with a masked address
# ("dial tcp *myserverip*:25: …"): the port is known even where the host is not.
_GO_DIAL_PORT = re.compile(r"(?i:\bdial tcp) [^\s:]{1,100}:(\d{2,5}):")
_CODE_FILE = re.compile(
    r"\.(?:py|js|mjs|cjs|ts|rb|go|rs|c|cc|cpp|h|cs|java|kt|php|pl|ex|exs|erl|dart|lua|scala|"
    r"json|xml|yaml|yml|txt|log|html?|md|sh|class|jar|dll|exe)$",
    re.I,
)
_TLD = re.compile(
    r"\.(?:[a-z]{2}|com|net|org|edu|gov|mil|int|info|biz|name|pro|mobi|asia|app|dev|cloud|"
    r"email|online|site|xyz|tech|shop|live|work|host|space|today|global|club|jobs|tel|travel)$",
    re.I,
)


@record
class SignatureExample:
    """A real text a signature must match, and where it was published."""

    text: str
    source: str


@record
class Signature:
    """One family of client-side error words and what they mean."""

    id: str
    # Compiled on first use: a paste reaches only the signatures whose anchors it holds.
    pattern: LazyPattern
    failure: str | None = None  # a FailureKind value; None: context that only adds facts
    facts: frozenset[str] = frozenset()
    stage: str | None = None  # the SMTP phase the words show (resolve, connect, tls, auth …)
    examples: tuple[SignatureExample, ...] = field(default=(), compare=False)

    @property
    def anchors(self) -> tuple[str, ...]:
        """Lower-case literals one of which every match contains; empty: always search."""
        return self.pattern.anchors

    @property
    def is_error(self) -> bool:
        """True for an error's own words; False for context that only adds facts."""
        return self.failure is not None


@record
class ClientErrors:
    """The signatures of ``client_errors.yaml``, most specific first.

    ``families`` are the file's general word families ("connection … timed out",
    "SOCKS … error"): tried only on a paste in which nothing else was found, since
    they say what kind of failure the words describe, not which program said it.
    """

    signatures: tuple[Signature, ...]
    families: tuple[Signature, ...] = ()
    hints: tuple[Hint, ...] = ()


@record
class Hint:
    """A program's message that says only that something failed, not what ("SMTP
    connect() failed."): no category can be true of it, so ``explain`` says what the
    message covers and how to see the real error, where nothing else was found."""

    id: str
    pattern: LazyPattern
    text: Text
    examples: tuple[SignatureExample, ...] = field(default=(), compare=False)


_Entry = TypeVar("_Entry", Signature, Hint)


@record
class Located:
    """One incident in the text: a client error (or only context), where its words are."""

    found: Found  # reply is None; failure is None for context only
    offset: int  # where its first words start in the text
    lines: tuple[int, int]  # the first and last line (0-based) of its words


# --- reading the data ---------------------------------------------------------------------


def parse_client_errors(data: Any, source: str) -> ClientErrors:
    """Validate the parsed YAML of a signature file; RuleError names the signature and problem."""
    if not isinstance(data, Mapping) or data.get("version") != 1:
        raise RuleError(f"{source}: expected 'version: 1' and a 'signatures' list")
    items = data.get("signatures")
    if not isinstance(items, list) or not items:
        raise RuleError(f"{source}: 'signatures' must be a non-empty list")
    family_items = data.get("families", [])
    if not isinstance(family_items, list):
        raise RuleError(f"{source}: 'families' must be a list")
    hint_items = data.get("hints", [])
    if not isinstance(hint_items, list):
        raise RuleError(f"{source}: 'hints' must be a list")
    seen: set[str] = set()

    def read(raw_items: list[Any], make: Callable[[Any, str, int], _Entry]) -> tuple[_Entry, ...]:
        read_items: list[_Entry] = []
        for index, raw in enumerate(raw_items):
            entry = make(raw, source, index)
            if entry.id in seen:
                raise RuleError(f"{source}: signature '{entry.id}' is defined twice")
            seen.add(entry.id)
            read_items.append(entry)
        return tuple(read_items)

    signatures = read(items, _signature)
    families = read(family_items, _signature)
    if any(f.failure is None for f in families):
        raise RuleError(f"{source}: every family needs 'failure' or 'reports'")
    return ClientErrors(signatures, families, read(hint_items, _hint))


def _entry(
    raw: Any, source: str, index: int, kind: str, keys: frozenset[str]
) -> tuple[str, str, LazyPattern]:
    """A signature's or hint's id, where to say it is, and its pattern, all checked."""
    if not isinstance(raw, Mapping):
        raise RuleError(f"{source}: {kind} #{index + 1} must be a mapping")
    eid = raw.get("id")
    where = f"{source}: {kind} '{eid}'" if eid else f"{source}: {kind} #{index + 1}"
    if not isinstance(eid, str) or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", eid):
        raise RuleError(f"{where}: 'id' must be kebab-case")
    unknown = set(raw) - keys
    if unknown:
        raise RuleError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return eid, where, _pattern(raw.get("regex"), where)


def _matched_examples(
    raw: Mapping[str, Any], pattern: LazyPattern, where: str
) -> tuple[SignatureExample, ...]:
    """The entry's examples, each one a text its pattern matches."""
    examples = _examples(raw.get("examples"), where)
    for example in examples:
        if not pattern.search(plain_form(fold(example.text))):
            raise RuleError(f"{where}: the pattern does not match its example {example.text!r}")
    return examples


def _hint(raw: Any, source: str, index: int) -> Hint:
    hid, where, pattern = _entry(raw, source, index, "hint", _HINT_KEYS)
    text = raw.get("hint")
    if not (
        isinstance(text, Mapping)
        and set(text) == {"en", "ja"}
        and all(isinstance(v, str) and v.strip() for v in text.values())
    ):
        raise RuleError(f"{where}: 'hint' must give 'en' and 'ja' texts")
    examples = _matched_examples(raw, pattern, where)
    return Hint(
        id=hid,
        pattern=pattern,
        text=Text(en=" ".join(text["en"].split()), ja=" ".join(text["ja"].split())),
        examples=examples,
    )


def _signature(raw: Any, source: str, index: int) -> Signature:
    sid, where, pattern = _entry(raw, source, index, "signature", _SIGNATURE_KEYS)
    failure = raw.get("failure")
    reports = raw.get("reports")
    if failure is not None and failure not in _FAILURES:
        raise RuleError(f"{where}: failure {failure!r} is not a known failure kind")
    if reports is not None:
        if failure is not None:
            raise RuleError(f"{where}: give 'failure' or 'reports', not both")
        if reports not in CATEGORIES or reports == "ok":
            raise RuleError(f"{where}: 'reports' {reports!r} is not a refusal category")
        failure = REPORTED
    facts = raw.get("facts", [])
    if not isinstance(facts, list) or not all(isinstance(f, str) and _FACT.match(f) for f in facts):
        raise RuleError(f"{where}: 'facts' must be a list of short lower-case words")
    fact_set = set(facts)
    if reports is not None:
        fact_set.add(f"reported:{reports}")
    if raw.get("gmail_dialog"):
        fact_set |= {"gmail", "gmail-dialog"}
    stage = raw.get("stage")
    if stage is not None and stage not in _PHASES:
        raise RuleError(f"{where}: stage {stage!r} is not one of {', '.join(sorted(_PHASES))}")
    if failure is None and not fact_set and stage is None:
        raise RuleError(f"{where}: a signature needs 'failure', 'reports', 'facts' or 'stage'")
    examples = _matched_examples(raw, pattern, where)
    return Signature(
        id=sid,
        pattern=pattern,
        failure=failure,
        facts=frozenset(fact_set),
        stage=stage,
        examples=examples,
    )


# Characters that typography and retyping swap for one another (pasted.PLAIN_FORMS): the
# typographic apostrophe for the straight one ("échec de l’authentification" retyped
# "l'authentification"), and the no-break spaces French puts before ":" (PHPMailer's
# "Erreur SMTP\u202f: …") for a plain space. Both the patterns and the paste are read with
# them folded; one character for one, so every offset stays the paste's own.
_FOLD = str.maketrans(PLAIN_FORMS)


def fold(text: str) -> str:
    """``text`` with apostrophes and no-break spaces as their plain forms (same length)."""
    return text.translate(_FOLD)


def _pattern(value: Any, where: str) -> LazyPattern:
    if not isinstance(value, str) or not value:
        raise RuleError(f"{where}: 'regex' must be a non-empty regular expression")
    # Words in each of their written forms; a text is read without its diacritics
    # (``plain_form``), so a pattern's are dropped too and its literal words stay whole.
    value = widen(fold(value), marks="plain")
    try:
        compiled = re.compile(value, re.IGNORECASE)
        parsed = _sre_parse.parse(value, re.IGNORECASE)
        nested = nested_repetition(parsed)
    except (re.error, OverflowError, RecursionError) as exc:
        raise RuleError(f"{where}: 'regex' is not a usable regular expression: {exc}") from None
    if nested:
        raise RuleError(
            f"{where}: 'regex' repeats a repetition ({nested}), which can take exponential "
            "time on a long paste; bound the inner count"
        )
    # If none of the anchors occurs in the (lower-cased) paste, the pattern cannot match and
    # is not searched: most pastes hold a handful of the families, not all.
    # A family of many alternatives is searched as the ones whose anchors the paste holds.
    alternatives = alternative_anchors(value, re.IGNORECASE, parsed)
    anchors, reach = literal_anchors(parsed), match_reach(parsed)
    return LazyPattern(value, re.IGNORECASE, compiled, anchors, reach, alternatives)


def _examples(value: Any, where: str) -> tuple[SignatureExample, ...]:
    if not isinstance(value, list) or not value:
        raise RuleError(f"{where}: 'examples' must list at least one real text with its source")
    examples = []
    for item in value:
        if not isinstance(item, Mapping):
            raise RuleError(f"{where}: each example is a mapping with 'text' and 'source'")
        text, source = item.get("text"), item.get("source")
        if not isinstance(text, str) or not text.strip():
            raise RuleError(f"{where}: an example has no 'text'")
        if not isinstance(source, str) or not source.startswith(("https://", "http://")):
            raise RuleError(f"{where}: example {text[:40]!r} needs a 'source' address")
        examples.append(SignatureExample(text=text, source=source))
    return tuple(examples)


# --- finding ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Match:
    start: int
    end: int
    line: int
    index: int
    signature: Signature
    last: int = 0  # the line the match ends on (past a soft line break, a later one)


# Words without a code (hints, the words-only rules, the families, the guess) are read in
# the first and the last 64 KB of a paste: a generic message is what a paste is about, not
# a line deep in a 16 MB log, and a log pasted whole ends with its error (a red-team round:
# an error after 64 KB of log got "nothing found").
HINT_SCAN = 65_536
_PART_OVERLAP = 512  # the head and the tail overlap, so words across the seam are kept


def read_parts(text: str) -> tuple[tuple[int, str], ...]:
    """The parts of ``text`` whose words are read, each with its offset: the whole of a
    text up to ``HINT_SCAN`` characters, else its head and its tail."""
    if len(text) <= HINT_SCAN:
        return ((0, text),)
    tail = max(HINT_SCAN - _PART_OVERLAP, len(text) - HINT_SCAN)
    return ((0, text[:HINT_SCAN]), (tail, text[tail:]))


def read_text(text: str) -> str:
    """The parts of ``text`` whose words are read (``read_parts``), joined by a line break."""
    return "\n".join(part for _, part in read_parts(text))


def find_hints(text: str, errors: ClientErrors) -> list[Hint]:
    """The hints whose words ``text`` holds where words are read (``read_parts``), in file
    order (each at most once). A hint whose words lie inside another hint's words is left
    out: "SMTPエラー (-1): サーバーへの接続に失敗しました。" is Roundcube's message, and the
    generic "could not connect to the server" within it says less about it."""
    text = plain_form(fold(read_text(text)))
    # Each run of white space as one space too: a dialog or a mail client wraps its message
    # ("Could not\nconnect to SMTP host.", a red-team paste), and the words stay the words.
    joined = " ".join(text.split())
    lowered = joined.lower()
    matched: list[tuple[Hint, tuple[int, int] | None]] = []
    for hint in errors.hints:
        if not hint.pattern.may_match(lowered):
            continue
        in_joined = hint.pattern.search(joined)
        if in_joined is not None or hint.pattern.search(text):
            matched.append((hint, in_joined.span() if in_joined else None))
    return [hint for hint, span in matched if not _inside_another(span, matched)]


def _inside_another(
    span: tuple[int, int] | None, matched: list[tuple[Hint, tuple[int, int] | None]]
) -> bool:
    if span is None:
        return False
    start, end = span
    return any(
        other is not None and other != span and other[0] <= start and end <= other[1]
        for _, other in matched
    )


def find_client_errors(text: str, errors: ClientErrors) -> list[Found]:
    """Every client-side error in ``text``, in order, one per incident (context left out)."""
    return [item.found for item in scan(text, errors) if item.found.failure is not None]


def scan(text: str, errors: ClientErrors) -> list[Located]:
    """Every incident in ``text``, in order: client errors and context-only groups.

    At most ``MAX_REPLIES`` incidents; duplicates (the same error repeated in a log)
    are removed, keeping the first.
    """
    text = fold(text)
    # Matched without diacritics and across a re-wrapped line's break, one character for
    # one: the spans are the text's own.
    matches = _matches(_unwrapped(plain_form(text)), errors.signatures, text)
    if not matches:
        return []
    whole = frozenset().union(*(m.signature.facts for m in matches)) & WHOLE_TEXT_FACTS
    lines = text.split("\n")
    located: list[Located] = []
    seen: set[tuple[object, ...]] = set()
    configured = _configured_port(text)
    for group in _incidents(matches):
        item = _incident(group, lines, whole, configured)
        key = (
            item.found.failure,
            item.found.stage,
            item.found.host,
            frozenset(f for f in item.found.facts if not f.startswith("port")),
        )
        if key in seen:
            continue
        seen.add(key)
        located.append(item)
        if len(located) >= MAX_REPLIES:
            break
    return located


# A line break inside a sentence that a page, a mail client or a terminal wrapped: after a
# line of 30 characters or more that stops on a word or a comma, before a word in lower case
# ("… connect: connection" / "timed out", "… basic authentication is" / "disabled."). Read as
# a space, one character for one; a line that ends a sentence or a field, and the next
# line of a log, a stack trace or a new message (a capital, a digit, an indent, a name and
# a colon: Python's "timeout: timed out" under its frame), stay lines.
# (A pattern that begins with the line break, so that a long log is searched for it quickly;
# the line before is looked at only where one is found.)
_SOFT_BREAK = LazyPattern(r"\n(?=[A-Za-z])(?![a-z][\w.]{0,40}: )")
_WRAPPED_LINE = 30  # characters at least before the break
_SENTENCE_GOES_ON = re.compile(r"[\w,)]")
# Before a capital, only a word no sentence ends with ("… the connection to\nOutgoing server
# (SMTP) …", Thunderbird's dialog re-wrapped), or a possessive.
_WORD_GOES_ON = re.compile(
    r"(?<![\w-])(?:to|the|a|an|of|for|from|with|by|at|in|on|and|or|because|that|your|our|its)$"
    r"|\w['’]s$"  # a possessive: "… the name given in the server's" / "SSL certificate."
)


def _unwrapped(text: str) -> str:
    if "\n" not in text:
        return text
    if "\r" in text:
        text = text.replace("\r\n", " \n")  # the CR as a space: one character for one

    def soft(match: re.Match[str]) -> str:
        at = match.start()
        end = at - 1 if at and text[at - 1] == " " else at  # a CR read as a space
        starts = text.rfind("\n", 0, at) + 1
        if at - starts < _WRAPPED_LINE or end <= 0:
            return "\n"
        if text[at + 1].isupper():
            return " " if _WORD_GOES_ON.search(text, max(starts, end - 8), end) else "\n"
        return " " if _SENTENCE_GOES_ON.match(text[end - 1]) else "\n"

    return _SOFT_BREAK.sub(soft, text)


def _matches(
    text: str, signatures: Sequence[Signature], lines_of: str | None = None
) -> list[_Match]:
    """The signatures' matches in ``text``, each with its line number in ``lines_of`` (the
    text as pasted, of the same length; ``text`` itself by default)."""
    lines_of = text if lines_of is None else lines_of
    lowered = text.lower()
    found: list[_Match] = []
    grams = text_grams(lowered)
    # A text too long for grams gets them piece by piece from the index, kept for narrowing
    # each signature's alternatives (else each alternative's words looked for through it).
    seen: set[str] | None = set() if grams is None else None
    present = _index_of(signatures).candidates(lowered, grams, seen)
    near = grams if grams is not None else seen  # complete once the index has read the text
    for index in sorted(present):
        signature = signatures[index]
        for count, match in enumerate(signature.pattern.finditer_near(text, lowered, near)):
            if count >= _MAX_MATCHES:
                break
            if match.end() > match.start():
                found.append(_Match(match.start(), match.end(), 0, index, signature))
    found.sort(key=lambda m: (m.start, m.index))
    line, position = 0, 0
    for item in found:  # line numbers in one pass over the text
        line += lines_of.count("\n", position, item.start)
        position = item.start
        item.line = line
        item.last = line + lines_of.count("\n", item.start, item.end)
    return found


# The anchor index of each signature list in use (the signatures, the families).
def _anchor_index(signatures: Sequence[Signature]) -> AnchorIndex:
    return AnchorIndex([signature.pattern for signature in signatures])


_index_of: IdentityCache[Sequence[Signature], AnchorIndex] = IdentityCache(_anchor_index)


def _incidents(matches: list[_Match]) -> Iterable[list[_Match]]:
    group: list[_Match] = []
    for match in matches:
        if group and match.line - group[-1].line > _NEAR:
            yield group
            group = []
        group.append(match)
    if group:
        yield group


# A port set in the settings pasted with the error ("MAIL_PORT=465", "SMTP_PORT: 25",
# "- Port: 25", "email.SMTPPort = 465"): a key that ends in "port", on its own line.
_SETTING_PORT = LazyPattern(
    r"(?im)^[ \t>*#-]{0,8}[\w.-]{0,40}port[ \t]{0,3}[:=][ \t]{0,3}[\"']?(\d{2,5})[\"']?[ \t]*$"
)


def _configured_port(text: str) -> int | None:
    """The one port the paste's settings set, or None (none, or several that disagree).

    Where a program's error does not name its port, the settings pasted with it do: a
    BookStack .env with ``MAIL_PORT=465`` and ``MAIL_ENCRYPTION=tls`` above Swift Mailer's
    "Expected response code 220 but got an empty response" (round32_mixed.yaml).
    """
    if "port" not in text.lower():
        return None
    ports = {int(m.group(1)) for m in _SETTING_PORT.finditer(read_text(text))}
    return ports.pop() if len(ports) == 1 else None


def _incident(
    group: list[_Match], lines: list[str], whole: frozenset[str], configured: int | None
) -> Located:
    errors = [m for m in group if m.signature.is_error]
    winner = min(errors, key=lambda m: m.index) if errors else min(group, key=lambda m: m.index)
    facts = set(whole)
    for match in group:
        # What the other signatures of the incident add; a losing error's "reported:"
        # refusal is not added (the winner says what happened).
        if match is winner or not match.signature.is_error:
            facts |= match.signature.facts
        else:
            facts |= {f for f in match.signature.facts if not f.startswith("reported:")}
    stage = winner.signature.stage
    if stage is None:
        stage = next(
            (m.signature.stage for m in sorted(group, key=lambda m: m.index) if m.signature.stage),
            None,
        )
    first, last = group[0].line, group[-1].line
    # A nested Java exception names the server a few lines above its cause; a node error
    # object lists "port: 465" a few lines below its message.
    window = "\n".join(lines[max(0, first - _NEAR) : last + _NEAR + 3])
    host, port = _host_and_port(window)
    port = port if port is not None else configured
    if port is not None and 1 <= port <= 65535:
        # "port-named": rules that read "a port is named" whatever its number (a timeout
        # on a named port is that port being dropped; without one, nothing tells).
        facts |= {f"port:{port}", "port-named"}
    if _IMPLICIT_TLS_URL.search(window):
        facts.add(_IMPLICIT_TLS_FACT)
    # The words on every line the match ran over (a sentence wrapped over two: "…basic
    # authentication is" / "disabled."), as one line.
    line = " ".join(lines[winner.line : winner.last + 1])
    evidence = " ".join(line.split())[:_EVIDENCE] or " ".join(
        winner.signature.pattern.pattern.split()
    )
    found = Found(
        reply=None,
        stage=stage,
        host=host,
        send_mail_as=bool(facts & {"gmail-dialog", "gmail-send-mail-as"}),
        failure=winner.signature.failure if errors else None,
        facts=frozenset(facts),
        evidence=evidence,
    )
    return Located(found=found, offset=group[0].start, lines=(first, last))


def _host_and_port(window: str) -> tuple[str | None, int | None]:
    host: str | None = None
    port: int | None = None
    javamail = _JAVAMAIL_PORT.search(window)
    if javamail:
        host, port = _usable_host(javamail.group(1)), int(javamail.group(2))
    web: tuple[str, int] | None = None
    for match in _HOST_PORT.finditer(window):
        if _URL_BEFORE.search(window[max(0, match.start() - 8) : match.start()]):
            continue  # a web address ("https://support.google.com:443/…"), not a mail server
        if _RESOLVER_BEFORE.search(window[max(0, match.start() - 300) : match.start()]):
            continue  # Go's "lookup smtp.example.jp on 127.0.0.53:53": the DNS server
        if window.startswith("->", match.end()):
            continue  # Go's "read tcp 172.22.0.3:41874->193.70.18.144:465": the local end
        name = _usable_host(match.group(1).strip("[]"))
        if name is None:
            continue
        if int(match.group(2)) in _WEB_PORTS:
            # An app's own web address in its log prefix (PeerTube's "[example.com:443]"):
            # named only if no other server is.
            web = web or (name, int(match.group(2)))
            continue
        host = host or name
        port = port or int(match.group(2))
        break
    else:
        if web is not None:
            host, port = host or web[0], port or web[1]
    if host is None:
        host = next(
            (
                name
                for match in _LABELLED_HOST.finditer(window)
                if (name := _usable_host(match.group(1))) is not None
            ),
            None,
        )
    if port is None:
        found = _PORT.search(window) or _GO_DIAL_PORT.search(window)
        port = int(found.group(1)) if found else None
    if port is not None and not 1 <= port <= 65535:
        port = None
    return host, port


def _usable_host(name: str) -> str | None:
    """A server name worth naming back, or None (a file name, a class name, a URL's host)."""
    name = name.rstrip(".").lower()
    if _IPV4_ONLY.match(name):
        return name if all(int(part) < 256 for part in name.split(".")) else None
    if ":" in name:
        return name  # an IPv6 literal
    if _CODE_FILE.search(name) or not _TLD.search(name):
        return None
    return name
