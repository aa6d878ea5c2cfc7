"""SPF evaluation: RFC 7208 ``check_host()`` over an injected ``Resolver``, with a trace as data.

The evaluator is pure: it awaits the resolver it is given (smtpprobe.core.dnsdata) and does no
other I/O. Besides the result it records every term it visited, the include/redirect chain and
the running DNS-lookup and void-lookup counts after each term (RFC 7208 §4.6.4), because
checkers disagree on those counts and a user needs to see where the 10 went.

Section references are to RFC 7208 unless stated otherwise.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from smtpprobe.core.dnsdata import DnsError, DnsErrorKind, Resolver
from smtpprobe.core.record import record

__all__ = [
    "SpfOutcome",
    "SpfResult",
    "TermTrace",
    "TraceNode",
    "check_host",
    "spf_domain",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class SpfResult(StrEnum):
    """The seven results of check_host() (§2.6)."""

    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


_QUALIFIERS = {
    "+": SpfResult.PASS,
    "-": SpfResult.FAIL,
    "~": SpfResult.SOFTFAIL,
    "?": SpfResult.NEUTRAL,
}
_MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
# §4.6.4: the terms that cost a DNS lookup against the limit of 10.
_COUNTED = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
_PER_TERM_LIMIT = 10  # §4.6.4: MX names per "mx", PTR names per "ptr" / %{p}

# §4.6.1: modifier = name "=" ...; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9._-]*)=(.*)\Z", re.S)
# §4.6.1: mechanism name, then ":" domain-spec and/or "/" cidr.
_MECHANISM = re.compile(r"([+\-~?]?)([A-Za-z][A-Za-z0-9._-]*)(.*)\Z", re.S)
# §5.6 dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]; no leading zeros.
_DUAL_CIDR = re.compile(r"(?:/(0|[1-9][0-9]?))?(?://(0|[1-9][0-9]{0,2}))?\Z")
# §7.1 toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
_TOPLABEL = re.compile(
    r"(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])\Z"
)
_QNUM = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])"
_IP4 = re.compile(rf"{_QNUM}(?:\.{_QNUM}){{3}}\Z")
_DELIMITERS = ".-+,/_="
_DOMAIN_LETTERS = frozenset("slodiphv")
_EXP_LETTERS = _DOMAIN_LETTERS | frozenset("crt")  # §7.2: c, r, t only in "exp" text


# --------------------------------------------------------------------------------------------
# Results as data


@record
class TermTrace:
    """One term of a record as evaluated: what it looked up, whether it matched, the counts."""

    term: str  # as written in the record, e.g. "~include:_spf.example.jp"
    kind: str  # "mechanism" or "modifier"
    name: str  # "a", "include", "redirect", "exp", or an unknown modifier's name
    target: str | None  # the expanded domain or network the term looked at
    matched: bool | None  # None for modifiers and for terms that ended in an error
    lookups_after: int  # running §4.6.4 DNS-lookup count after this term
    void_after: int  # running void-lookup count after this term
    note: str = ""  # why it did (not) match: "void: NXDOMAIN", "A 192.0.2.1 not in /32", …
    child: TraceNode | None = None  # the include/redirect target's evaluation

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "term": self.term,
            "kind": self.kind,
            "name": self.name,
            "target": self.target,
            "matched": self.matched,
            "lookups_after": self.lookups_after,
            "void_after": self.void_after,
            "note": self.note,
            "child": None if self.child is None else self.child.to_dict(),
        }


@record
class TraceNode:
    """One check_host() invocation: the domain, its record, the terms visited and the result."""

    domain: str
    record: str | None  # the selected "v=spf1" record, None when there was none
    terms: tuple[TermTrace, ...]
    lookups_after: int
    void_after: int
    result: SpfResult
    via: str = "top"  # "top", "include" or "redirect"
    reason: str = ""

    @property
    def children(self) -> tuple[TraceNode, ...]:
        """The include/redirect evaluations below this one, in visiting order."""
        return tuple(t.child for t in self.terms if t.child is not None)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "domain": self.domain,
            "record": self.record,
            "via": self.via,
            "result": self.result.value,
            "reason": self.reason,
            "lookups_after": self.lookups_after,
            "void_after": self.void_after,
            "terms": [t.to_dict() for t in self.terms],
        }


@record
class SpfOutcome:
    """The result of check_host() for one IP, domain and sender, with the trace behind it."""

    result: SpfResult
    mechanism: str | None  # the deciding term, e.g. "-all", "include:_spf.google.com"
    explanation: str  # the exp= text (macro-expanded) on fail, else "" (§6.2)
    reason: str  # human-readable why: "matched -all", "no SPF record", permerror detail
    lookups: int  # §4.6.4 DNS-querying terms evaluated
    void_lookups: int
    trace: TraceNode
    domain: str
    ip: str = ""
    sender: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (``result`` and ``explanation`` are fixed names)."""
        return {
            "result": self.result.value,
            "explanation": self.explanation,
            "reason": self.reason,
            "mechanism": self.mechanism,
            "domain": self.domain,
            "ip": self.ip,
            "sender": self.sender,
            "lookups": self.lookups,
            "void_lookups": self.void_lookups,
            "include_chain": self.include_chain,
            "trace": self.trace.to_dict(),
        }

    @property
    def include_chain(self) -> list[str]:
        """Domains visited through include/redirect, depth first, as "via:domain"."""
        out: list[str] = []

        def walk(node: TraceNode) -> None:
            for child in node.children:
                out.append(f"{child.via}:{child.domain}")
                walk(child)

        walk(self.trace)
        return out


# --------------------------------------------------------------------------------------------
# Errors inside the evaluation (never leave this module)


class _PermError(Exception):
    """§2.6.7: the published records could not be correctly interpreted."""


class _TempError(Exception):
    """§2.6.6: a transient (generally DNS) error."""


# --------------------------------------------------------------------------------------------
# Parsing (§4.6, §12 ABNF): a record is parsed whole before evaluation (§4.6: "If there are any
# syntax errors anywhere in the record, check_host() returns immediately with permerror").


@record
class _Macro:
    letter: str  # lower case
    digits: int | None
    reverse: bool
    delimiters: str
    escape: bool  # upper-case letter: URL-escape the value (§7.3)


_Token = str | _Macro


def _scan_macro_string(text: str, letters: frozenset[str]) -> list[_Token]:
    """Split a macro-string into literals and macros (§7.1); raise _PermError on bad syntax."""
    tokens: list[_Token] = []
    literal: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch != "%":
            literal.append(ch)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if nxt == "%":
            literal.append("%")
            i += 2
        elif nxt == "_":
            literal.append(" ")
            i += 2
        elif nxt == "-":
            literal.append("%20")
            i += 2
        elif nxt == "{":
            end = text.find("}", i + 2)
            if end < 0:
                raise _PermError(f"unterminated macro in {text!r} (§7.1)")
            body = text[i + 2 : end]
            m = re.fullmatch(r"([A-Za-z])([0-9]*)(r?)([.\-+,/_=]*)", body, re.I)
            if m is None or m.group(1).lower() not in letters:
                raise _PermError(f"invalid macro %{{{body}}} (§7.1)")
            digits = int(m.group(2)) if m.group(2) else None
            if digits == 0:
                raise _PermError(f"macro %{{{body}}}: a part count must be at least 1 (§7.1)")
            if literal:
                tokens.append("".join(literal))
                literal = []
            tokens.append(
                _Macro(
                    letter=m.group(1).lower(),
                    digits=digits,
                    reverse=bool(m.group(3)),
                    delimiters=m.group(4) or ".",
                    escape=m.group(1).isupper(),
                )
            )
            i = end + 1
        else:
            raise _PermError(f"'%' must be followed by {{, %, _ or - in {text!r} (§7.1)")
    if literal:
        tokens.append("".join(literal))
    return tokens


def _parse_domain_spec(spec: str) -> list[_Token]:
    """§7.1 domain-spec = macro-string domain-end; domain-end = ( "." toplabel ["."] ) / macro."""
    if not spec:
        raise _PermError("empty domain-spec (§7.1)")
    if any(not 0x21 <= ord(c) <= 0x7E for c in spec):
        raise _PermError(f"invalid character in domain-spec {spec!r} (§7.1)")
    tokens = _scan_macro_string(spec, _DOMAIN_LETTERS)
    last = tokens[-1]
    if isinstance(last, str):
        # The domain-end is a literal here (a macro followed by literal text ends in the literal).
        body = last[:-1] if last.endswith(".") else last
        _, dot, top = body.rpartition(".")
        if not dot or not _TOPLABEL.match(top):
            raise _PermError(f"domain-spec {spec!r} must end in a valid top label (§7.1)")
    return tokens


@record
class _Term:
    text: str
    kind: str  # "mechanism" / "modifier"
    name: str
    qualifier: str = "+"
    spec: list[_Token] | None = None  # domain-spec tokens (or modifier value tokens)
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    cidr4: int = 32
    cidr6: int = 128


def _parse_term(text: str) -> _Term:
    m = _MODIFIER.match(text)
    if m is not None:  # name chars exclude ":" and "/", so "a:x=y" is not a modifier
        name, value = m.group(1).lower(), m.group(2)
        if name in ("redirect", "exp"):
            return _Term(text, "modifier", name, spec=_parse_domain_spec(value))
        # §6: unknown modifiers are ignored, but their value must be a valid macro-string.
        if any(not 0x21 <= ord(c) <= 0x7E for c in value):
            raise _PermError(f"invalid character in modifier {text!r} (§4.6.1)")
        return _Term(text, "modifier", name, spec=_scan_macro_string(value, _EXP_LETTERS))
    m = _MECHANISM.match(text)
    if m is None:
        raise _PermError(f"unrecognised term {text!r} (§4.6.1)")
    qualifier = m.group(1) or "+"
    name = m.group(2).lower()
    rest = m.group(3)
    if name not in _MECHANISMS:
        raise _PermError(f"unknown mechanism {text!r} (§4.6.1)")
    if name == "all":
        if rest:
            raise _PermError(f"'all' takes no argument: {text!r} (§5.1)")
        return _Term(text, "mechanism", name, qualifier)
    if name in ("include", "exists"):
        if not rest.startswith(":"):
            raise _PermError(f"{name} needs ':domain': {text!r} (§5.2, §5.7)")
        return _Term(text, "mechanism", name, qualifier, spec=_parse_domain_spec(rest[1:]))
    if name == "ptr":
        if not rest:
            return _Term(text, "mechanism", name, qualifier)
        if not rest.startswith(":"):
            raise _PermError(f"ptr takes ':domain' only: {text!r} (§5.5)")
        return _Term(text, "mechanism", name, qualifier, spec=_parse_domain_spec(rest[1:]))
    if name in ("a", "mx"):
        cidr = _DUAL_CIDR.search(rest)
        assert cidr is not None  # the pattern also matches the empty suffix
        c4, c6 = cidr.group(1), cidr.group(2)
        if (c4 is not None and int(c4) > 32) or (c6 is not None and int(c6) > 128):
            raise _PermError(f"CIDR length out of range: {text!r} (§5.6)")
        domain = rest[: cidr.start()]
        spec = None
        if domain:
            if not domain.startswith(":"):
                raise _PermError(f"bad {name} argument: {text!r} (§5.3, §5.4)")
            spec = _parse_domain_spec(domain[1:])
        return _Term(
            text,
            "mechanism",
            name,
            qualifier,
            spec=spec,
            cidr4=32 if c4 is None else int(c4),
            cidr6=128 if c6 is None else int(c6),
        )
    # ip4 / ip6 (§5.6)
    if not rest.startswith(":"):
        raise _PermError(f"{name} needs ':network': {text!r} (§5.6)")
    addr, slash, length = rest[1:].partition("/")
    if slash and not re.fullmatch(r"0|[1-9][0-9]{0,2}", length):
        raise _PermError(f"bad CIDR length: {text!r} (§5.6)")
    try:
        if name == "ip4":
            if not _IP4.match(addr) or (slash and int(length) > 32):
                raise ValueError(addr)
            net: ipaddress.IPv4Network | ipaddress.IPv6Network = ipaddress.IPv4Network(
                f"{addr}/{length or 32}", strict=False
            )
        else:
            if ":" not in addr or (slash and int(length) > 128):
                raise ValueError(addr)
            net = ipaddress.IPv6Network(f"{addr}/{length or 128}", strict=False)
    except ValueError as exc:
        raise _PermError(f"invalid {name} network: {text!r} (§5.6)") from exc
    return _Term(text, "mechanism", name, qualifier, network=net)


def _parse_record(record: str) -> list[_Term]:
    """Parse a selected record whole (§4.6); raise _PermError on any syntax error."""
    # §3.1 / §12: a record is printable US-ASCII; control characters are no separators.
    if any(not 0x20 <= ord(c) <= 0x7E for c in record):
        raise _PermError("the record contains non-ASCII or control characters (§3.1, §4.6.1)")
    # §4.6.1: terms are separated by one or more spaces (only SP; §12 ABNF).
    terms = [_parse_term(t) for t in record.split(" ")[1:] if t]
    for modifier in ("redirect", "exp"):
        if sum(1 for t in terms if t.name == modifier and t.kind == "modifier") > 1:
            raise _PermError(f"'{modifier}=' appears more than once (§6)")
    return terms


def _select_record(txts: list[str]) -> str | None:
    """§4.5: the one TXT record that starts with "v=spf1" followed by a space or its end."""
    found = [t for t in txts if re.match(r"v=spf1(?: |\Z)", t, re.I)]
    if len(found) > 1:
        raise _PermError(f"{len(found)} SPF records published; exactly one is allowed (§4.5)")
    return found[0] if found else None


# --------------------------------------------------------------------------------------------
# Domain names


def _valid_domain(name: str) -> bool:
    """§4.3: a multi-label name, labels 1-63 octets, 253 in all, not a domain literal."""
    name = name[:-1] if name.endswith(".") else name
    if not name or len(name) > 253 or name.startswith("["):
        return False
    labels = name.split(".")
    return len(labels) >= 2 and all(0 < len(label) <= 63 for label in labels)


def _truncate(name: str) -> str:
    """§7.3: drop left-hand labels until the expanded name fits 253 characters."""
    name = name[:-1] if name.endswith(".") else name
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    return name


def _nibbles(ip: ipaddress.IPv6Address) -> str:
    # §7.3: "i" for IPv6 is dot-format nibbles; RFC 7208's own example uses upper-case hex.
    return ".".join(ip.exploded.replace(":", "").upper())


# --------------------------------------------------------------------------------------------
# The evaluation


@dataclass
class _Step:
    """The trace entry of the term being evaluated, filled in as evaluation goes."""

    term: _Term
    target: str | None = None
    note: str = ""
    child: TraceNode | None = None


@dataclass
class _Builder:
    """One check_host() invocation's trace while it is being built."""

    domain: str
    via: str
    record: str | None = None
    void: bool = False  # the record's TXT lookup was NXDOMAIN/NODATA (§4.6.4)
    terms: list[TermTrace] = field(default_factory=list)

    def add(self, step: _Step, matched: bool | None, lookups: int, voids: int) -> None:
        t = step.term
        self.terms.append(
            TermTrace(
                t.text, t.kind, t.name, step.target, matched, lookups, voids, step.note, step.child
            )
        )


@dataclass
class _Answer:
    result: SpfResult
    mechanism: str | None
    explanation: str
    reason: str
    node: TraceNode
    void: bool = False  # "none" because the TXT lookup was NXDOMAIN/NODATA


_Decision = tuple[SpfResult, str | None, str, str]  # result, mechanism, explanation, reason


class _Evaluator:
    """State shared by one check_host() call and all its includes/redirects (§4.6.4)."""

    def __init__(
        self,
        ip: IPAddress,
        sender: str,
        helo: str,
        resolver: Resolver,
        receiver: str,
        now: int,
        limit: int,
        void_limit: int,
    ) -> None:
        self.ip = ip
        local, _, self.sender_domain = sender.rpartition("@")
        self.local = local or "postmaster"  # §4.3: no local-part -> "postmaster"
        self.helo = helo
        self.resolver = resolver
        self.receiver = receiver
        self.now = now
        self.limit = limit
        self.void_limit = void_limit
        self.lookups = 0
        self.voids = 0
        self._validated: list[str] | None = None

    # -- counters (§4.6.4) ------------------------------------------------------------------

    def _count_lookup(self, term: str) -> None:
        self.lookups += 1
        if self.lookups > self.limit:
            raise _PermError(
                f"more than {self.limit} DNS-querying terms; {term!r} is number {self.lookups}"
                " (RFC 7208 §4.6.4)"
            )

    def _void(self, term: str) -> None:
        self.voids += 1
        if self.voids > self.void_limit:
            raise _PermError(
                f"more than {self.void_limit} void lookups; {term!r} is number {self.voids}"
                " (RFC 7208 §4.6.4)"
            )

    # -- DNS helpers ------------------------------------------------------------------------

    async def _addresses(self, name: str) -> list[IPAddress]:
        """A or AAAA per the client's address family (§5); unparsable answers are skipped."""
        query = self.resolver.a if self.ip.version == 4 else self.resolver.aaaa
        out: list[IPAddress] = []
        for text in await query(name):
            try:
                out.append(ipaddress.ip_address(text))
            except ValueError:
                continue
        return out

    def _in(self, addrs: list[IPAddress], term: _Term) -> bool:
        length = term.cidr4 if self.ip.version == 4 else term.cidr6
        net = ipaddress.ip_network(f"{self.ip}/{length}", strict=False)
        return any(a.version == self.ip.version and a in net for a in addrs)

    async def _validated_names(self, under: str | None = None) -> list[str]:
        """§5.5: names from the first 10 PTRs whose A/AAAA records include the client IP.

        With ``under``, only names equal to or below it are validated (fewer queries, same
        answer for the "ptr" mechanism).
        """
        try:
            names = (await self.resolver.ptr(str(self.ip)))[:_PER_TERM_LIMIT]
        except DnsError:
            return []  # §5.5: a DNS error on the PTR lookup means no match
        if under is not None:
            low = under.lower()
            names = [n for n in names if n.lower() == low or n.lower().endswith("." + low)]
        out: list[str] = []
        for name in names:
            try:
                if self.ip in await self._addresses(name):
                    out.append(name.rstrip("."))
            except DnsError:
                continue  # §5.5: an error on an address lookup skips that name
        return out

    async def _p_macro(self, domain: str) -> str:
        """§7.3 "p": a validated name, preferring <domain>, then a subdomain of it."""
        if self._validated is None:
            self._validated = await self._validated_names()
        names = self._validated
        low = domain.lower()
        for name in names:
            if name.lower() == low:
                return name
        for name in names:
            if name.lower().endswith("." + low):
                return name
        return names[0] if names else "unknown"

    # -- macros (§7) --------------------------------------------------------------------------

    async def _macro_value(self, letter: str, domain: str) -> str:
        """§7.3: the value of one macro letter before transformers."""
        ip = self.ip
        match letter:
            case "s":
                return f"{self.local}@{self.sender_domain}"
            case "l":
                return self.local
            case "o":
                return self.sender_domain
            case "d":
                return domain
            case "i":
                return _nibbles(ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)
            case "p":
                return await self._p_macro(domain)
            case "v":
                return "in-addr" if ip.version == 4 else "ip6"
            case "h":
                return self.helo
            case "c":
                return str(ip)
            case "r":
                return self.receiver
            case _:  # "t"; _scan_macro_string admits no other letter
                return str(self.now)

    async def _expand(self, tokens: list[_Token], domain: str) -> str:
        parts: list[str] = []
        for tok in tokens:
            if isinstance(tok, str):
                parts.append(tok)
                continue
            value = await self._macro_value(tok.letter, domain)
            if tok.digits is not None or tok.reverse or tok.delimiters != ".":
                # §7.3: split on any of the delimiters, optionally reverse, keep the right-hand
                # N parts, and rejoin with ".".
                pieces = re.split("[" + re.escape(tok.delimiters) + "]", value)
                if tok.reverse:
                    pieces.reverse()
                if tok.digits is not None:
                    pieces = pieces[-tok.digits :]
                value = ".".join(pieces)
            if tok.escape:
                value = quote(value, safe="")  # §7.3: only RFC 3986 unreserved kept
            parts.append(value)
        return "".join(parts)

    async def _target(self, term: _Term, domain: str) -> str:
        if term.spec is None:
            return domain
        return _truncate(await self._expand(term.spec, domain))

    # -- check_host() (§4) --------------------------------------------------------------------

    async def check_host(self, domain: str, *, via: str = "top", want_exp: bool = True) -> _Answer:
        """One check_host() invocation; errors become permerror/temperror with the term."""
        b = _Builder(domain=domain, via=via)
        try:
            result, mechanism, explanation, reason = await self._check(b, want_exp)
        except (_PermError, _TempError) as exc:
            perm = isinstance(exc, _PermError)
            result = SpfResult.PERMERROR if perm else SpfResult.TEMPERROR
            explanation, reason = "", str(exc)
            # The term that raised is the last one traced, with matched=None.
            last = b.terms[-1] if b.terms else None
            mechanism = last.term if last is not None and last.matched is None else None
        node = TraceNode(
            domain, b.record, tuple(b.terms), self.lookups, self.voids, result, via, reason
        )
        return _Answer(result, mechanism, explanation, reason, node, b.void)

    async def _check(self, b: _Builder, want_exp: bool) -> _Decision:
        domain = b.domain
        # §4.3: a malformed or single-label domain gives "none" without a query.
        if not _valid_domain(domain):
            return SpfResult.NONE, None, "", f"{domain!r} is not a valid domain name (§4.3)"
        domain = domain.rstrip(".")
        try:
            txts = await self.resolver.txt(domain)
        except DnsError as exc:
            if exc.kind is DnsErrorKind.TEMPORARY:
                raise _TempError(
                    f"TXT lookup for {domain} failed: {exc.detail or 'temporary error'}"
                ) from exc
            b.void = True
            return SpfResult.NONE, None, "", f"no SPF record at {domain} ({exc.detail or 'void'})"
        record = _select_record(txts)
        if record is None:
            return SpfResult.NONE, None, "", f"no SPF record at {domain} (§4.5)"
        b.record = record
        terms = _parse_record(record)

        modifiers = {t.name: t for t in terms if t.kind == "modifier"}
        redirect, exp = modifiers.get("redirect"), modifiers.get("exp")
        for term in terms:
            if term.kind == "modifier":
                continue
            if await self._mechanism(b, term, domain):
                result = _QUALIFIERS[term.qualifier]
                explanation = ""
                # §6.2: exp= is consulted only on fail, and never for an included record.
                if result is SpfResult.FAIL and want_exp and exp is not None:
                    explanation = await self._explanation(exp, domain)
                return result, term.text, explanation, f"matched {term.text}"

        # No mechanism matched: the modifiers now take effect (§4.6.3, §6).
        for term in terms:
            if term.kind == "modifier" and term.name != "redirect":
                note = "used only on fail" if term.name == "exp" else "unknown modifier ignored"
                b.add(_Step(term, note=note), None, self.lookups, self.voids)
        if redirect is not None:
            return await self._redirect(b, redirect, domain, want_exp)
        # §4.7: no match and no redirect: neutral.
        return SpfResult.NEUTRAL, None, "", "no mechanism matched; default result (§4.7)"

    async def _redirect(self, b: _Builder, term: _Term, domain: str, want_exp: bool) -> _Decision:
        """§6.1: the target's result replaces this one; the target's exp= is used, not ours."""
        step = _Step(term)
        try:
            self._count_lookup(term.text)
            target = step.target = await self._target(term, domain)
            answer = await self.check_host(target, via="redirect", want_exp=want_exp)
            step.child = answer.node
            step.note = f"{target} -> {answer.result.value}"
            if answer.result is SpfResult.NONE:
                if answer.void:
                    self.voids += 1  # counted; the permerror below is the reason given
                raise _PermError(f"redirect={target}: {answer.reason}; a permerror (§6.1)")
            if answer.result is SpfResult.PERMERROR:
                raise _PermError(f"redirect={target}: {answer.reason}")
            if answer.result is SpfResult.TEMPERROR:
                raise _TempError(f"redirect={target}: {answer.reason}")
        except (_PermError, _TempError):
            b.add(step, None, self.lookups, self.voids)
            raise
        b.add(step, None, self.lookups, self.voids)
        return (
            answer.result,
            answer.mechanism,
            answer.explanation,
            f"redirect={target}: {answer.reason}",
        )

    async def _explanation(self, exp: _Term, domain: str) -> str:
        """§6.2: fetch and expand the exp= text; any problem means no explanation.

        The lookup is not counted against either §4.6.4 limit (it happens after the result).
        """
        try:
            target = await self._target(exp, domain)
            if not _valid_domain(target):
                return ""
            txts = await self.resolver.txt(target)
            # Exactly one record, and printable ASCII only (§6.2, §7.1 explain-string).
            if len(txts) != 1 or any(not 0x20 <= ord(c) <= 0x7E for c in txts[0]):
                return ""
            return await self._expand(_scan_macro_string(txts[0], _EXP_LETTERS), domain)
        except (DnsError, _PermError):
            return ""

    async def _mechanism(self, b: _Builder, term: _Term, domain: str) -> bool:
        """Evaluate one mechanism, append its trace entry, return whether it matched."""
        step = _Step(term)
        try:
            if term.name in _COUNTED:
                self._count_lookup(term.text)
            matched = await self._match(step, term, domain)
        except DnsError as exc:
            detail = exc.detail or exc.kind.value
            if exc.kind is DnsErrorKind.TEMPORARY:
                step.note = f"DNS error for {exc.name}: {detail}"
                b.add(step, None, self.lookups, self.voids)
                raise _TempError(
                    f"{term.text}: DNS lookup for {exc.name} failed ({detail})"
                ) from exc
            # §4.6.4: NXDOMAIN or no answer is a "void lookup", and no match (§5).
            step.note = f"void lookup: {exc.name} ({detail})"
            matched = False
            try:
                self._void(term.text)
            except _PermError:
                b.add(step, None, self.lookups, self.voids)
                raise
        except (_PermError, _TempError):
            b.add(step, None, self.lookups, self.voids)
            raise
        b.add(step, matched, self.lookups, self.voids)
        return matched

    async def _match(self, step: _Step, term: _Term, domain: str) -> bool:
        name = term.name
        if name == "all":
            step.note = "always matches (§5.1)"
            return True
        if name in ("ip4", "ip6"):
            assert term.network is not None
            step.target = str(term.network)
            matched = self.ip.version == term.network.version and self.ip in term.network
            step.note = f"{self.ip} {'in' if matched else 'not in'} {step.target}"
            return matched
        target = step.target = await self._target(term, domain)
        if name == "include":
            return await self._include(step, target)
        if not _valid_domain(target):
            # §4.3, §5: no query can be built for this name, so it cannot match.
            step.note = f"{target!r} is not a valid domain name; no match"
            return False
        if name == "a":  # §5.3
            addrs = await self._addresses(target)
            step.note = ", ".join(str(a) for a in addrs)
            return self._in(addrs, term)
        if name == "mx":
            return await self._mx(step, term, target)
        if name == "ptr":
            names = await self._validated_names(under=target)
            step.note = f"validated {', '.join(names)}" if names else "no validated name (§5.5)"
            return bool(names)
        # exists (§5.7): any A record matches, whatever the client's address family.
        found = await self.resolver.a(target)
        step.note = ", ".join(found)
        return bool(found)

    async def _include(self, step: _Step, target: str) -> bool:
        """§5.2: recurse; pass matches, fail/softfail/neutral do not, the rest are errors."""
        answer = await self.check_host(target, via="include", want_exp=False)
        step.child = answer.node
        step.note = f"{target} -> {answer.result.value}"
        if answer.result is SpfResult.TEMPERROR:
            raise _TempError(f"include:{target}: {answer.reason}")
        if answer.result is SpfResult.PERMERROR:
            raise _PermError(f"include:{target}: {answer.reason}")
        if answer.result is SpfResult.NONE:
            if answer.void:
                self.voids += 1  # counted; the permerror below is the reason given
            raise _PermError(f"include:{target}: {answer.reason}; a permerror (§5.2)")
        return answer.result is SpfResult.PASS

    async def _mx(self, step: _Step, term: _Term, target: str) -> bool:
        """§5.4: MX lookup, then A/AAAA of each exchange; more than 10 MX is a permerror."""
        mxs = await self.resolver.mx(target)
        if len(mxs) > _PER_TERM_LIMIT:
            step.note = f"{len(mxs)} MX records"
            raise _PermError(
                f"{target} has {len(mxs)} MX records; more than {_PER_TERM_LIMIT} is a "
                "permerror (RFC 7208 §4.6.4)"
            )
        seen: list[str] = []
        for _pref, exchange in sorted(mxs):
            if not exchange or exchange == ".":
                continue  # RFC 7505 null MX
            try:
                addrs = await self._addresses(exchange)
            except DnsError as exc:
                if exc.kind is DnsErrorKind.TEMPORARY:
                    raise
                seen.append(f"{exchange} (no address)")
                continue
            seen.extend(f"{exchange} {a}" for a in addrs)
            if self._in(addrs, term):
                step.note = f"{exchange} has {self.ip}"
                return True
        step.note = ", ".join(seen) or "no exchange addresses"
        return False


# --------------------------------------------------------------------------------------------
# Public entry points


def spf_domain(sender: str, helo: str) -> tuple[str, str]:
    """(sender, domain) for check_host(): an empty sender becomes postmaster@HELO (§2.4)."""
    if not sender:
        return f"postmaster@{helo}", helo
    local, at, domain = sender.rpartition("@")
    if not at:
        return f"postmaster@{sender}", sender
    return f"{local or 'postmaster'}@{domain}", domain


def _client_ip(ip: str) -> IPAddress:
    addr = ipaddress.ip_address(ip.strip())
    # §5: an IPv4-mapped IPv6 address is evaluated as IPv4.
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


async def check_host(
    ip: str,
    domain: str,
    sender: str,
    *,
    helo: str,
    resolver: Resolver,
    receiver: str = "unknown",
    now: int = 0,
    limit: int = 10,
    void_limit: int = 2,
) -> SpfOutcome:
    """Evaluate the SPF policy of ``domain`` for mail from ``ip`` (RFC 7208 §4).

    ``sender`` is the MAIL FROM address (or postmaster@HELO, see ``spf_domain``); ``receiver``
    and ``now`` feed the exp-only macros %{r} and %{t} (§7.3). ``limit`` and ``void_limit``
    are §4.6.4's 10 DNS-querying terms and 2 void lookups. Never raises for DNS trouble: it
    becomes temperror or permerror with a reason. Raises ValueError for a malformed ``ip``.
    """
    addr = _client_ip(ip)
    if "@" not in sender:
        sender = f"postmaster@{sender or helo}"
    ev = _Evaluator(addr, sender, helo, resolver, receiver, now, limit, void_limit)
    answer = await ev.check_host(domain)
    return SpfOutcome(
        result=answer.result,
        mechanism=answer.mechanism,
        explanation=answer.explanation if answer.result is SpfResult.FAIL else "",
        reason=answer.reason,
        lookups=ev.lookups,
        void_lookups=ev.voids,
        trace=answer.node,
        domain=domain,
        ip=str(addr),
        sender=sender,
    )
