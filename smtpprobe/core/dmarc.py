"""DMARC (RFC 9989): the policy record, the DNS tree walk, the organisational domain, alignment.

Pure: DNS comes through the injected ``Resolver`` (smtpprobe.core.dnsdata) and the Public
Suffix List through an injected ``org_domain`` callable (smtpprobe.psl reads the list file).

RFC 9989 obsoletes RFC 7489 and RFC 9091. What changed and matters here:

- The organisational domain comes from the DNS tree walk (§4.10), not from a public suffix
  list: at most eight ``_dmarc`` TXT queries, from the domain up to its top-level domain,
  stopping early only at a record with ``psd=y`` or ``psd=n``. ``find_policy`` also reports the
  list's answer (``psl_org_domain``) so a disagreement is visible.
- New tags ``np`` (non-existent subdomains), ``psd`` (public suffix domain), ``t`` (testing);
  ``pct``, ``rf`` and ``ri`` are gone: accepted here with a warning, as RFC 7489 receivers may
  still read them. Unknown tags are ignored (§4.7: "Unknown tags MUST be ignored"), with a
  warning here.

Section numbers are RFC 9989's (checked against the draft-ietf-dmarc-dmarcbis text that became
it): §4.7 record format, §4.8 formal definition, §4.10 tree walk, §4.10.1 policy discovery,
§4.10.2 identifier alignment evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import field
from typing import Any, Literal

from smtpprobe.core.dnsdata import DnsError, DnsErrorKind, Resolver
from smtpprobe.core.record import record

__all__ = [
    "MAX_WALK_QUERIES",
    "DmarcError",
    "DmarcLookup",
    "DmarcRecord",
    "OrgDomain",
    "WalkStep",
    "aligned",
    "find_policy",
    "is_dmarc_text",
    "organizational_domain",
    "parse_dmarc",
    "walk_targets",
]

MAX_WALK_QUERIES = 8  # §4.10: "Author Domains with more than eight labels do not result in
# more than eight DNS queries"
_SHORTCUT_LABELS = 7  # §4.10 step 4: "If x >= 8, remove ... labels ... until 7 labels remain"

Policy = Literal["none", "quarantine", "reject"]
_POLICIES = ("none", "quarantine", "reject")
_VERSION = re.compile(r"^v[ \t]*=[ \t]*DMARC1[ \t]*(;|$)")  # §4.8: %s"DMARC1", case-sensitive
_TAG_NAME = re.compile(r"^[A-Za-z]+$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s,!;]+(![0-9]+[kmgtKMGT]?)?$")
_REMOVED = {
    "pct": "pct (percentage of mail to apply the policy to)",
    "rf": "rf (failure report format)",
    "ri": "ri (aggregate report interval)",
}
# §4.7 t=y: "the policy applied to any failing messages will be one level below"
_TESTING: dict[str, Policy] = {"reject": "quarantine", "quarantine": "none", "none": "none"}
_FO = re.compile(r"^[01ds](:[01ds])*$")


class DmarcError(ValueError):
    """The text is not a DMARC policy record (§4.7: without ``v=DMARC1`` first, it is ignored)."""


@record
class DmarcRecord:
    """A parsed DMARC policy record with RFC 9989's defaults filled in.

    ``p`` is the effective policy: ``"none"`` when the tag is absent (§4.7) or invalid with a
    valid ``rua`` (§4.10.1). ``applies`` is False when §4.10.1 says a receiver applies no DMARC
    processing (an invalid ``p``/``sp``/``np`` and no valid ``rua``). ``sp``/``np`` are None when
    absent (they then fall back to ``p``, ``np`` to ``sp`` first). ``removed`` keeps RFC 7489's
    ``pct``, ``rf``, ``ri`` as published; ``warnings`` says every deviation in one line each.
    """

    text: str
    p: Policy = "none"
    sp: Policy | None = None
    np: Policy | None = None
    adkim: Literal["r", "s"] = "r"
    aspf: Literal["r", "s"] = "r"
    psd: Literal["y", "n", "u"] = "u"
    t: Literal["y", "n"] = "n"
    rua: tuple[str, ...] = ()
    ruf: tuple[str, ...] = ()
    fo: str = "0"
    removed: tuple[tuple[str, str], ...] = ()
    applies: bool = True
    warnings: tuple[str, ...] = ()

    def subdomain_policy(self, *, exists: bool = True) -> Policy:
        """The policy for a subdomain of the domain this record was found at (§4.7 sp, np)."""
        if not exists and self.np is not None:
            return self.np
        return self.sp if self.sp is not None else self.p

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "text": self.text,
            "p": self.p,
            "sp": self.sp,
            "np": self.np,
            "adkim": self.adkim,
            "aspf": self.aspf,
            "psd": self.psd,
            "t": self.t,
            "rua": list(self.rua),
            "ruf": list(self.ruf),
            "fo": self.fo,
            "removed": dict(self.removed),
            "applies": self.applies,
            "warnings": list(self.warnings),
        }


def is_dmarc_text(text: str) -> bool:
    """True if ``text`` starts with the ``v=DMARC1`` tag (§4.10 step 2's filter)."""
    return _VERSION.match(text.strip()) is not None


def _uris(name: str, value: str, warnings: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for raw in value.split(","):
        uri = raw.strip()
        if not uri:
            continue
        if not _URI.match(uri):
            warnings.append(f"{name}: {uri!r} is not a URI; receivers ignore it (RFC 9989 §4.7)")
            continue
        if "!" in uri:
            warnings.append(
                f"{name}: the size limit in {uri!r} is RFC 7489 syntax that RFC 9989 dropped; "
                "RFC 9989 reporters ignore it"
            )
        if not uri.lower().startswith("mailto:"):
            warnings.append(
                f"{name}: {uri.split(':', 1)[0]}: URIs are optional for receivers; "
                "only mailto: must be supported (RFC 9989 §4.7)"
            )
        out.append(uri)
    return tuple(out)


def parse_dmarc(text: str) -> DmarcRecord:
    """Parse a DMARC policy record (RFC 9989 §4.7, §4.8); DmarcError if it is not one.

    Tag syntax errors do not reject the record: §4.7 says they "MUST be discarded in favor of
    default values", so each becomes a default and a warning.
    """
    record = text.strip()
    if not is_dmarc_text(record):
        raise DmarcError("not a DMARC record: it must start with v=DMARC1 (RFC 9989 §4.7)")
    warnings: list[str] = []
    tags: dict[str, str] = {}
    for part in record.split(";")[1:]:
        if not part.strip():
            continue  # §4.8: a trailing separator is allowed
        name, equals, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not _TAG_NAME.match(name) or not value:
            warnings.append(f"{part.strip()!r} is not a tag=value pair; ignored (RFC 9989 §4.8)")
            continue
        key = name.lower()
        if key in tags:
            warnings.append(f"{key} appears more than once; the first value is used")
            continue
        tags[key] = value

    values: dict[str, Any] = {}
    policy_invalid = False
    for key in ("p", "sp", "np"):
        if key in tags:
            value = tags[key].lower()
            if value in _POLICIES:
                values[key] = value
            else:
                policy_invalid = True
                warnings.append(f"{key}={tags[key]}: not none, quarantine or reject")
    if "p" not in tags:
        warnings.append("no p tag: treated as p=none (RFC 9989 §4.7)")
    for key, allowed in (("adkim", "rs"), ("aspf", "rs"), ("psd", "ynu"), ("t", "yn")):
        if key in tags:
            value = tags[key].lower()
            if len(value) == 1 and value in allowed:
                values[key] = value
            else:
                default = DmarcRecord.__dataclass_fields__[key].default
                warnings.append(f"{key}={tags[key]}: invalid, the default {default} applies")
    for key in ("rua", "ruf"):
        if key in tags:
            values[key] = _uris(key, tags[key], warnings)
    if "fo" in tags:
        if _FO.match(tags["fo"].lower()):
            values["fo"] = tags["fo"].lower()
        else:
            warnings.append(f"fo={tags['fo']}: invalid, the default 0 applies")
        if "ruf" not in tags:
            warnings.append("fo without ruf has no effect (RFC 9989 §4.7)")
    removed = []
    for key, what in _REMOVED.items():
        if key in tags:
            removed.append((key, tags[key]))
            warnings.append(
                f"{key}={tags[key]}: RFC 9989 removed {what}; "
                "only receivers still following RFC 7489 read it"
            )
    known = {"v", "p", "sp", "np", "adkim", "aspf", "psd", "t", "rua", "ruf", "fo", *_REMOVED}
    for key in tags:
        if key not in known:
            warnings.append(f"unknown tag {key}: ignored (RFC 9989 §4.7)")

    applies = True
    if policy_invalid:
        # §4.10.1: an invalid p, sp or np means p=none if rua holds a valid URI, else no DMARC.
        values.pop("sp", None)
        values.pop("np", None)
        values["p"] = "none"
        if values.get("rua"):
            warnings.append("invalid policy with a valid rua: receivers act as if p=none")
        else:
            applies = False
            warnings.append("invalid policy and no valid rua: receivers apply no DMARC")
    return DmarcRecord(
        text=record, removed=tuple(removed), applies=applies, warnings=tuple(warnings), **values
    )


# ---- the DNS tree walk (§4.10)


def _labels(domain: str) -> list[str]:
    """The labels of ``domain``, lower-case (DNS names compare case-insensitively)."""
    return [label for label in domain.rstrip(".").lower().split(".") if label]


def walk_targets(domain: str) -> list[str]:
    """The domains a full tree walk from ``domain`` queries, in order (§4.10 steps 1-7).

    The domain itself; then, if it has 8 or more labels, its last 7 labels (step 4's
    shortcut), else its parent; then one label less each time, down to the top-level domain.
    At most ``MAX_WALK_QUERIES``.
    """
    labels = _labels(domain)
    if not labels:
        return []
    targets = [".".join(labels)]
    x = len(labels)
    remaining = _SHORTCUT_LABELS if x >= MAX_WALK_QUERIES else x - 1
    while remaining >= 1:
        targets.append(".".join(labels[-remaining:]))
        remaining -= 1
    return targets


StepOutcome = Literal["record", "none", "multiple", "temporary"]


@record
class WalkStep:
    """One ``_dmarc`` query of a walk: what was asked and what came back."""

    domain: str  # the domain whose _dmarc name was queried
    outcome: StepOutcome  # a single DMARC record / none / several (all discarded) / DNS error
    record: DmarcRecord | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "query": f"_dmarc.{self.domain}",
            "outcome": self.outcome,
            "record": self.record.text if self.record else None,
            "detail": self.detail,
        }


@record
class OrgDomain:
    """The organisational domain of ``domain`` by §4.10.2, and the walk that found it."""

    domain: str
    org_domain: str
    reason: str  # which §4.10.2 rule chose it
    steps: tuple[WalkStep, ...]

    @property
    def uncertain(self) -> bool:
        """A query failed temporarily, so a record may have been missed."""
        return any(step.outcome == "temporary" for step in self.steps)


async def _query(domain: str, resolver: Resolver) -> WalkStep:
    """Steps 1-2 / 5-6 of §4.10: query ``_dmarc.<domain>`` and keep a single DMARC record."""
    try:
        texts = await resolver.txt(f"_dmarc.{domain}")
    except DnsError as error:
        if error.kind is DnsErrorKind.TEMPORARY:
            return WalkStep(domain, "temporary", detail=error.detail or str(error))
        return WalkStep(domain, "none", detail=error.detail)
    found = [text for text in texts if is_dmarc_text(text)]
    if not found:
        return WalkStep(domain, "none", detail="no v=DMARC1 record")
    if len(found) > 1:
        return WalkStep(domain, "multiple", detail=f"{len(found)} DMARC records: all discarded")
    return WalkStep(domain, "record", record=parse_dmarc(found[0]))


async def _walk(domain: str, resolver: Resolver) -> tuple[WalkStep, ...]:
    """The tree walk of §4.10: every target in turn until a record with psd=y or psd=n."""
    steps: list[WalkStep] = []
    for target in walk_targets(domain):
        step = await _query(target, resolver)
        steps.append(step)
        if step.record is not None and step.record.psd in ("y", "n"):
            break  # §4.10 steps 2 and 6: "If a single record remains and it contains ... stop"
    return tuple(steps)


def _select_org(domain: str, steps: tuple[WalkStep, ...]) -> tuple[str, str]:
    """§4.10.2's selection over the walk's records, longest name first; (org, rule)."""
    start = ".".join(_labels(domain))
    found = [step for step in steps if step.record is not None]
    for step in found:
        assert step.record is not None
        if step.record.psd == "n":
            return step.domain, "psd=n record (RFC 9989 §4.10.2 rule 1)"
        if step.record.psd == "y" and step.domain != start:
            # "the domain one label below this one in the DNS hierarchy", on the path to start
            below = _labels(start)[-(len(_labels(step.domain)) + 1) :]
            return ".".join(below), f"one label below the psd=y record at {step.domain} (rule 2)"
    if found:
        return found[-1].domain, "the record with the fewest labels (RFC 9989 §4.10.2 rule 3)"
    return start, "no DMARC record found: the domain itself (RFC 9989 §4.10.2)"


async def organizational_domain(domain: str, resolver: Resolver) -> OrgDomain:
    """The organisational domain of ``domain`` by the DNS tree walk (RFC 9989 §4.10.2)."""
    name = ".".join(_labels(domain))
    steps = await _walk(name, resolver)
    org, reason = _select_org(name, steps)
    return OrgDomain(name, org, reason, steps)


# ---- policy discovery (§4.10.1)


@record
class DmarcLookup:
    """The DMARC policy that applies to an Author Domain, and how it was found.

    ``record`` is None when no record applies (§4.10.1: DMARC does not apply then).
    ``policy`` is the Domain Owner Assessment Policy for this domain: ``p`` for the domain's own
    record, else ``sp`` or ``np`` of the organisational domain's or public suffix domain's.
    ``psl_org_domain`` is the Public Suffix List's answer, when one was given.
    """

    domain: str
    record: DmarcRecord | None
    policy_domain: str | None
    policy: Policy | None
    org: OrgDomain
    psl_org_domain: str | None = None
    domain_exists: bool | None = None  # None when not needed to choose between sp and np
    notes: tuple[str, ...] = field(default=())

    @property
    def org_domain(self) -> str:
        """The organisational domain by the tree walk."""
        return self.org.org_domain

    @property
    def org_disagrees(self) -> bool:
        """The tree walk and the Public Suffix List give different organisational domains."""
        return self.psl_org_domain is not None and self.psl_org_domain != self.org.org_domain

    @property
    def uncertain(self) -> bool:
        """A DNS query failed temporarily: the result may change on retry."""
        return self.org.uncertain

    @property
    def enforced(self) -> Policy | None:
        """The policy a receiver applies to failing mail, after ``t=y`` (§4.7 t) lowers it."""
        if self.record is None or not self.record.applies or self.policy is None:
            return None
        return _TESTING[self.policy] if self.record.t == "y" else self.policy

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "domain": self.domain,
            "record": self.record.to_dict() if self.record else None,
            "policy_domain": self.policy_domain,
            "policy": self.policy,
            "enforced": self.enforced,
            "org_domain": self.org.org_domain,
            "org_reason": self.org.reason,
            "psl_org_domain": self.psl_org_domain,
            "org_disagrees": self.org_disagrees,
            "uncertain": self.uncertain,
            "domain_exists": self.domain_exists,
            "walk": [step.to_dict() for step in self.org.steps],
            "notes": list(self.notes),
        }


async def _exists(domain: str, resolver: Resolver) -> bool:
    """False if A, AAAA and MX are all NXDOMAIN or NODATA (RFC 9091 §2.7, kept by RFC 9989)."""
    for query in (resolver.a, resolver.aaaa, resolver.mx):
        try:
            await query(domain)
        except DnsError as error:
            if error.kind is DnsErrorKind.TEMPORARY:
                return True  # cannot tell: sp, the policy for existing subdomains, is safer
            continue
        return True
    return False


async def find_policy(
    from_domain: str,
    resolver: Resolver,
    *,
    org_domain_psl: Callable[[str], str] | None = None,
) -> DmarcLookup:
    """The DMARC policy for ``from_domain`` by RFC 9989 §4.10.1, with its walk (§4.10).

    One walk serves both purposes: its first query is the Author Domain's own record (which,
    if valid, is the policy); the rest is the walk from the parent that finds the
    organisational domain and the public suffix domain. The policy record is, in order of
    preference, the Author Domain's, the organisational domain's, the public suffix domain's
    (a ``psd=y`` record).
    """
    name = ".".join(_labels(from_domain))
    org = await organizational_domain(name, resolver)
    psl = org_domain_psl(name) if org_domain_psl is not None else None
    by_domain = {step.domain: step.record for step in org.steps if step.record is not None}
    notes: list[str] = []
    record: DmarcRecord | None = None
    where: str | None = None
    own = next((step for step in org.steps if step.domain == name), None)
    if own is not None and own.outcome == "temporary" and name not in by_domain:
        # The organisational domain's record stands in only where the Author Domain has
        # none, not where its query failed (RFC 7489 §6.6.3: "as opposed to a transient DNS
        # error"): its own record, unread, may say otherwise.
        notes.append(f"the query for _dmarc.{name} failed temporarily: its policy is unknown")
        return DmarcLookup(name, None, None, None, org, psl, None, tuple(notes))
    if name in by_domain:
        where = name
    elif org.org_domain in by_domain:
        where = org.org_domain
    else:
        psd = [step.domain for step in org.steps if step.record and step.record.psd == "y"]
        if psd:
            where = psd[0]
            notes.append(f"policy from the public suffix domain {where} (psd=y)")
    if where is None:
        if org.uncertain:
            notes.append("a DNS query failed temporarily: a record may exist (RFC 9989 §4.10.1)")
        return DmarcLookup(name, None, None, None, org, psl, None, tuple(notes))
    record = by_domain[where]
    exists: bool | None = None
    if where == name:
        policy: Policy = record.p
    else:
        if record.np is not None:
            exists = await _exists(name, resolver)
        policy = record.subdomain_policy(exists=exists is not False)
    if not record.applies:
        notes.append("the record's policy is invalid and it has no rua: DMARC does not apply")
    return DmarcLookup(name, record, where, policy, org, psl, exists, tuple(notes))


# ---- identifier alignment


def aligned(a: str, b: str, mode: Literal["r", "s"], org: Callable[[str], str]) -> bool:
    """Whether identifiers ``a`` and ``b`` align (RFC 9989 §4.10.2).

    Strict: the same domain. Relaxed: the same organisational domain, as ``org`` computes it
    (the tree walk's result, or the Public Suffix List for an RFC 7489 receiver). Names compare
    case-insensitively, without a trailing dot.
    """
    left, right = a.rstrip(".").lower(), b.rstrip(".").lower()
    if left == right:
        return True
    if mode == "s":
        return False
    return org(left).rstrip(".").lower() == org(right).rstrip(".").lower()
