"""The verdict on a From domain's DNS authentication, from the answers (pure: no lookups).

``smtpprobe.dnsauth`` asks DNS; this module judges what came back. Gmail refuses mail that
passes neither SPF nor DKIM (550-5.7.26, the user's seeds 002 and 004) and mail that fails the
From domain's DMARC policy. ``decide`` turns the answers into a ``Verdict`` in the same form as
``check``'s:

- ``dns-failure``: a server given to evaluate has no address in DNS (or its lookup failed), or
  no sending address was evaluated at all: SPF is judged for the address that sends, so
  without one nothing can be said, exit code 3;
- ``temporary-failure``: a lookup the decision needs failed temporarily (SERVFAIL, timeout):
  SPF's ``temperror`` (RFC 7208 §2.6.6), exit code 3;
- ``unauthenticated-sender``: SPF does not pass for a sending address and no DKIM key is
  known that could sign instead (Gmail: "must authenticate with at least one of SPF or DKIM");
- ``dmarc-rejected``: the same, and the domain's DMARC policy is ``reject`` or ``quarantine``
  (RFC 9989 §4.7): neither SPF alignment nor a DKIM signature can hold;
- ``ok`` only when SPF passes for every address evaluated (at least one), or a usable DKIM
  key lets the mail authenticate, with findings for what is still worth fixing.

The remedy carries the SPF record to publish: the existing record with the missing mechanism
inserted before its ``all`` term, every existing term kept; or, when there is none, the shape
Sakura Internet recommends, ``v=spf1 a:www***.sakura.ne.jp mx ~all``
(https://www.sakura.ad.jp/information/announcements/2023/06/05/1968212486/, the user's seed
003). A server named per contract (a profile's ``host_pattern``: Sakura's wwwNNN.sakura.ne.jp,
Xserver's svNNN.xserver.jp, written ``+a:sv***.xserver.jp`` in seed 004) is added by name as
``a:HOST``, any other address as ``ip4:``/``ip6:``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any

from smtpprobe.core.classify import ExitCode, Finding, Verdict
from smtpprobe.core.gmailreq import GMAIL_GUIDELINES, Requirement, gmail_requirements
from smtpprobe.core.record import record
from smtpprobe.core.rules import Text

if TYPE_CHECKING:
    from smtpprobe.core.profile import Profile

__all__ = [
    "GMAIL_GUIDELINES",
    "GOOGLE_DKIM_SELECTOR_PAGE",
    "SAKURA_SPF_NOTICE",
    "SPF_LOOKUP_LIMIT",
    "DkimCheck",
    "DmarcCheck",
    "DnsAuth",
    "Requirement",
    "Sender",
    "SpfCheck",
    "conclude",
    "decide",
    "dedupe",
    "dns_finding",
    "gmail_requirements",
    "is_custom_domain",
    "known_selectors",
    "mechanism_for",
    "per_contract_server",
    "publish_for",
    "reason_text",
    "record_to_publish",
    "said_in_japanese",
]

GOOGLE_DKIM_SELECTOR_PAGE = "https://support.google.com/a/answer/11611356"  # DKIM selectors
SAKURA_SPF_NOTICE = "https://www.sakura.ad.jp/information/announcements/2023/06/05/1968212486/"

# Google's "DKIM selectors" page: "When you set up DKIM following the steps in turn on DKIM
# for your domain, the prefix selector is automatically set to the default, google." Mail
# sent through smtp.gmail.com or smtp-relay.gmail.com from a custom domain is Google
# Workspace mail, so ``google`` is the selector to check first for these two profiles.
_KNOWN_SELECTORS: dict[str, tuple[str, ...]] = {
    "gmail": ("google",),
    "google-workspace-relay": ("google",),
}
# Domains that are a provider's own mail domain although the server's name is elsewhere.
_PROVIDER_DOMAINS: dict[str, tuple[str, ...]] = {"gmail": ("gmail.com", "googlemail.com")}

SPF_LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4


# --------------------------------------------------------------------------- data


@record
class Sender:
    """An address whose SPF result decides, and where it came from."""

    ip: str
    host: str | None = None  # the server name it was resolved from (``--server``, the probe)
    by_name: bool = False  # a server named per contract: publish ``a:HOST`` for it


@record
class SpfCheck:
    """SPF ``check_host()`` for one sending address (RFC 7208 §4)."""

    sender: Sender
    result: str  # pass, fail, softfail, neutral, none, permerror, temperror
    mechanism: str | None  # the deciding term, e.g. "-all"
    explanation: str  # the domain's exp= text on fail, else ""
    reason: str  # why, in words
    lookups: int
    void_lookups: int
    trace: dict[str, Any] = field(default_factory=dict)


@record
class DmarcCheck:
    """The DMARC policy that applies to the From domain (RFC 9989 §4.10 tree walk)."""

    status: str  # found, none, invalid, temperror
    record: str | None = None
    found_at: str | None = None  # the name (without _dmarc.) holding the record
    policy: str | None = None  # the policy that applies to the From domain: p or sp
    org_domain: str | None = None  # by the tree walk
    psl_org_domain: str | None = None  # by the Public Suffix List, when it disagrees
    adkim: str = "r"
    aspf: str = "r"
    warnings: tuple[str, ...] = ()
    reason: str = ""
    # Names (without _dmarc.) that hold several DMARC records: receivers discard them all
    # (RFC 9989 §4.10 steps 2 and 6: policy discovery goes on as if there were none).
    discarded: tuple[str, ...] = ()


@record
class DkimCheck:
    """One selector's public key record (RFC 6376 §3.6.1)."""

    selector: str
    status: str  # valid, revoked, invalid, missing, temperror
    key_type: str | None = None
    bits: int | None = None
    reason: str = ""
    testing: bool = False  # t=y: verifiers treat its signatures as none (RFC 6376 §3.6.1)

    @property
    def usable(self) -> bool:
        """A key a signature could be verified with, and that counts: "Verifiers MUST NOT
        treat messages from Signers in testing mode differently from unsigned email"
        (RFC 6376 §3.6.1, t=y)."""
        return self.status == "valid" and not self.testing


@record
class DnsAuth:
    """Everything ``check_domain`` learnt, and the verdict drawn from it."""

    domain: str
    helo: str
    mx: tuple[tuple[int, str], ...]
    mx_status: str  # found, none, temperror
    spf_record: str | None
    spf_records: int  # how many v=spf1 records; more than one is a permerror (RFC 7208 §4.5)
    spf: tuple[SpfCheck, ...]
    dmarc: DmarcCheck
    dkim: tuple[DkimCheck, ...]
    fcrdns: tuple[tuple[str, str, tuple[str, ...]], ...]  # (ip, pass/fail/unknown, names)
    requirements: tuple[Requirement, ...]
    record_to_publish: str | None
    verdict: Verdict
    notes: tuple[Text, ...] = ()
    spf_lookup: str = "found"  # the domain's TXT query: found, none, temperror


# --------------------------------------------------------------------------- profiles


def known_selectors(profile: Profile | None) -> tuple[str, ...]:
    """DKIM selectors a profile's provider is documented to use (Google: ``google``)."""
    if profile is None:
        return ()
    return _KNOWN_SELECTORS.get(profile.name, ())


def per_contract_server(profile: Profile | None, host: str) -> bool:
    """True when ``host`` is a server named per contract (fits the profile's host pattern)."""
    if profile is None or profile.host_pattern is None or "<" in profile.host_pattern:
        return False
    return profile.accepts_host(host.lower())


def is_custom_domain(
    domain: str, host: str, profile: Profile | None, org: Callable[[str], str]
) -> bool:
    """False for the provider's own mail domain (``ocn.ne.jp`` through smtp.ocn.ne.jp, gmail.com).

    The provider's own domain shares the submission server's organisational domain (``org``,
    from the Public Suffix List), or is one the profile's provider is known to own.
    """
    domain = domain.lower().rstrip(".")
    if not domain or "." not in domain:
        return False
    if profile is not None and domain in _PROVIDER_DOMAINS.get(profile.name, ()):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return org(domain) != org(host.lower().rstrip("."))
    return True


# --------------------------------------------------------------------------- the record


def mechanism_for(sender: Sender) -> str:
    """The SPF mechanism that lets ``sender`` pass: ``a:HOST`` by name, else ``ip4:``/``ip6:``."""
    if sender.by_name and sender.host:
        return f"a:{sender.host.lower().rstrip('.')}"
    version = ipaddress.ip_address(sender.ip).version
    return f"ip{version}:{sender.ip}"


def _is_all(term: str) -> bool:
    return term.lower().lstrip("+-~?") == "all"


def record_to_publish(
    existing: str | None, mechanisms: Sequence[str], *, has_mx: bool
) -> str | None:
    """The SPF record that adds ``mechanisms``, keeping every existing term (RFC 7208 §4.6).

    Inserted before the ``all`` term (terms after ``all`` are never reached, §5.1), or before
    a ``redirect=`` when there is no ``all`` (mechanisms are tried first, §6.1), else at the
    end. Without a record: Sakura's recommended shape ``v=spf1 a:HOST mx ~all``, ``mx`` only
    when the domain has MX records (a void ``mx`` lookup counts against the limit, §4.6.4).
    None when nothing needs adding.
    """
    if existing is None:
        terms = [*mechanisms, *(["mx"] if has_mx else []), "~all"]
        return " ".join(["v=spf1", *dedupe(terms)])
    tokens = existing.split()
    present = {t.lower().lstrip("+") for t in tokens}
    adding = [m for m in dedupe(mechanisms) if m.lower() not in present]
    if not adding:
        return None
    where = next((i for i, t in enumerate(tokens) if _is_all(t)), None)
    if where is None:
        where = next(
            (i for i, t in enumerate(tokens) if t.lower().startswith("redirect=")), len(tokens)
        )
    where = max(where, 1)  # never before "v=spf1"
    return " ".join([*tokens[:where], *adding, *tokens[where:]])


def dedupe(items: Sequence[str]) -> list[str]:
    """``items`` without repeats, compared case-insensitively (DNS names, SPF terms)."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item.lower() not in seen:
            seen.add(item.lower())
            out.append(item)
    return out


def _lookup_safe(mechanisms: list[str], spf: Sequence[SpfCheck]) -> list[str]:
    """``a:HOST`` costs a lookup (RFC 7208 §4.6.4): at the limit, name the addresses instead."""
    used = max((c.lookups for c in spf), default=0)
    names = len({m for m in mechanisms if m.startswith("a:")})
    if used + names + 1 <= SPF_LOOKUP_LIMIT:  # + 1: the "mx" a new record would carry
        return mechanisms
    out: list[str] = []
    for check in spf:
        if check.result not in ("pass", "temperror"):
            out.append(mechanism_for(Sender(ip=check.sender.ip)))
    return out


def publish_for(spf: Sequence[SpfCheck], records: Sequence[str], *, has_mx: bool) -> str | None:
    """The SPF record that lets every evaluated address pass; None when none is needed.

    None as well when the published record is broken (a ``permerror``, or more than one
    ``v=spf1`` record, RFC 7208 §4.5): it is repaired first, a record built on it would be
    just as broken.
    """
    needed = [mechanism_for(c.sender) for c in spf if c.result not in ("pass", "temperror")]
    if not needed or len(records) > 1 or any(c.result == "permerror" for c in spf):
        return None
    existing = records[0] if records else None
    return record_to_publish(existing, _lookup_safe(needed, spf), has_mx=has_mx)


# --------------------------------------------------------------------------- the verdict

# check_host()'s reasons are English (smtpprobe.core.spf); the frequent ones in Japanese.
_REASONS_JA: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^matched (\S+)$"), "「{0}」に一致しました"),
    (re.compile(r"^(redirect=\S+): matched (\S+)$"), "{0}: 「{1}」に一致しました"),
    (re.compile(r"^no SPF record at (\S+)"), "{0} に SPF レコードがありません"),
    (re.compile(r"^no mechanism matched"), "どの記述にも一致しません（既定の結果、§4.7）"),
    (
        re.compile(r"more than (\d+) DNS-querying terms; ('[^']*') is number (\d+)"),
        "DNS を参照する記述が {0} 個を超えています（{1} が {2} 個目、RFC 7208 §4.6.4）",
    ),
    (
        re.compile(r"more than (\d+) void lookups; ('[^']*') is number (\d+)"),
        "該当なしの DNS 参照が {0} 回を超えています（{1} が {2} 回目、RFC 7208 §4.6.4）",
    ),
    (
        re.compile(r"^(\d+) SPF records published"),
        "SPF レコードが {0} 個あります（1 個だけ許されます、§4.5）",
    ),
    (
        re.compile(r"TXT lookup for (\S+) failed: no answer within (\S+) s$"),
        "{0} の TXT の問い合わせに失敗しました: {1} 秒以内に応答がありません",
    ),
    (
        re.compile(r"TXT lookup for (\S+) failed: (.*)$"),
        "{0} の TXT の問い合わせに失敗しました: 「{1}」",
    ),
    (
        re.compile(r"^a DNS query failed temporarily: a record may exist \((RFC [^)]*)\)$"),
        "DNS の問い合わせが一時的に失敗しました。レコードがある可能性があります（{0}）",
    ),
    (
        re.compile(r"^the query for (_dmarc\.\S+) failed temporarily: its policy is unknown$"),
        "{0} の問い合わせが一時的に失敗しました。ポリシーは分かりません",
    ),
    (re.compile(r"^a DNS query failed temporarily$"), "DNS の問い合わせが一時的に失敗しました"),
    (re.compile(r"^a DKIM key lookup$"), "DKIM の公開鍵の問い合わせ"),
)


def said_in_japanese(table: tuple[tuple[re.Pattern[str], str], ...], text: str) -> str | None:
    """``text`` by the first pattern of ``table`` it fits, as that pattern's Japanese
    template with the groups filled in; None when none fits."""
    for pattern, template in table:
        match = pattern.search(text)
        if match:
            return template.format(*match.groups())
    return None


def reason_text(reason: str, lang: str) -> str:
    """A check_host() reason in ``lang``: Japanese for the frequent ones, else as given."""
    if lang != "ja":
        return reason
    return said_in_japanese(_REASONS_JA, reason) or reason


def _spf_why(check: SpfCheck, domain: str) -> Text:
    ip = check.sender.ip
    named = check.sender.host and check.sender.host != ip
    via, via_ja = (f" ({check.sender.host})", f"（{check.sender.host}）") if named else ("", "")
    term = check.mechanism or ""
    if check.result == "none":
        return Text(
            f"{domain} publishes no SPF record, so SPF cannot pass for {ip}{via}",
            f"{domain} に SPF レコードがないため、{ip}{via_ja} は SPF に合格できません",
        )
    if check.result == "permerror":
        return Text(
            f"the SPF record of {domain} is broken (permerror: {check.reason}), so SPF cannot "
            f"pass for {ip}{via}",
            f"{domain} の SPF レコードに誤りがあり（permerror: "
            f"{reason_text(check.reason, 'ja')}）、{ip}{via_ja} は SPF に合格できません",
        )
    return Text(
        f"SPF for {domain} gives '{check.result}' for {ip}{via}, decided by '{term}': no "
        "mechanism of the record lists this address",
        f"{domain} の SPF は {ip}{via_ja} に対して「{check.result}」です（決め手は「{term}」）。"
        "レコードのどの記述もこのアドレスを含んでいません",
    )


_TEMPERROR_REMEDY = Text(
    "Try again later, or ask another resolver with --nameserver; if it persists, "
    "the domain's DNS servers are not answering.",
    "時間をおいて再実行するか、--nameserver で別のリゾルバーを指定してください。続く"
    "場合はドメインの DNS サーバーが応答していません。",
)
# RFC 1035 §4.1.1: REFUSED is an answer, "for policy reasons": the server asked will not
# serve this query (a resolver that serves only its own network, an authoritative server
# asked for a zone it does not hold). Waiting does not change it; asking another does.
_REFUSED_REMEDY = Text(
    "The DNS server asked refused the query (REFUSED): it answers, but will not serve it. "
    "Ask a resolver that serves you (--nameserver, or the system's); if the domain's own "
    "servers refuse, its delegation points at servers that do not hold the zone.",
    "問い合わせ先の DNS サーバーが問い合わせを拒否しました（REFUSED）。応答はしていますが、"
    "この問い合わせには答えません。利用できるリゾルバーに問い合わせるか（--nameserver、"
    "またはシステムの設定）、ドメイン自身の DNS サーバーが拒否している場合は、委任先が"
    "そのゾーンを持たないサーバーになっていないか確認してください。",
)


def decide(
    domain: str,
    spf: Sequence[SpfCheck],
    dkim: Sequence[DkimCheck],
    dmarc: DmarcCheck,
    *,
    publish: str | None,
    spf_record: str | None,
    unresolved: Sequence[tuple[str, str]] = (),
    spf_lookup: str = "found",
) -> Verdict:
    """The verdict for ``domain``; see the module docstring for the categories.

    ``unresolved``: (host, "none" or "temperror") for each server given whose addresses DNS
    did not tell: its mail was not judged, so the verdict says so before anything else.
    """
    findings: list[Finding] = []
    failing = [c for c in spf if c.result not in ("pass", "temperror")]
    temporary = [c for c in spf if c.result == "temperror"]
    usable = [k for k in dkim if k.usable]
    if dmarc.status == "found" and dmarc.policy is None:
        findings.append(
            Finding(
                "dmarc-missing",
                Text(
                    f"the DMARC record at _dmarc.{dmarc.found_at} has no valid policy and no valid "
                    "rua, so receivers apply no DMARC (RFC 9989 §4.10.1); Gmail requires one from "
                    "bulk senders: e.g. 'v=DMARC1; p=none'",
                    f"_dmarc.{dmarc.found_at} の DMARC レコードには有効なポリシーも有効な rua も"
                    "ないため、受信側は DMARC を適用しません（RFC 9989 4.10.1 節）。Gmail は一括"
                    "送信者に必須としています（例: 「v=DMARC1; p=none」）",
                ),
            )
        )
    for name in dmarc.discarded:
        findings.append(
            Finding(
                "dmarc-multiple",
                Text(
                    f"_dmarc.{name} holds more than one DMARC record; receivers discard them all "
                    "and apply no DMARC from it (RFC 9989 §4.10): delete all but one",
                    f"_dmarc.{name} に DMARC レコードが複数あります。受信側はそのすべてを無視し、"
                    "そこからは DMARC を適用しません（RFC 9989 4.10 節）。一つだけを残して"
                    "ほかを削除してください",
                ),
            )
        )
    if dmarc.status == "none" and not dmarc.discarded:
        findings.append(
            Finding(
                "dmarc-missing",
                Text(
                    f"{domain} publishes no DMARC record (_dmarc.{domain} TXT); Gmail requires "
                    "one from bulk senders: e.g. 'v=DMARC1; p=none'",
                    f"{domain} に DMARC レコード（_dmarc.{domain} の TXT）がありません。Gmail は"
                    "一括送信者に必須としています（例: 「v=DMARC1; p=none」）",
                ),
            )
        )
    if dmarc.psl_org_domain and dmarc.org_domain and dmarc.psl_org_domain != dmarc.org_domain:
        findings.append(
            Finding(
                "dmarc-org-domain",
                Text(
                    f"the DMARC tree walk finds the organisational domain {dmarc.org_domain}, "
                    f"the Public Suffix List {dmarc.psl_org_domain}: receivers may disagree",
                    f"DMARC のツリーウォークでは組織ドメインは {dmarc.org_domain}、Public Suffix "
                    f"List では {dmarc.psl_org_domain} です。受信側によって判断が分かれます",
                ),
            )
        )
    if not spf and spf_record is None and spf_lookup != "temperror":
        findings.append(
            Finding(
                "spf-missing",
                Text(
                    f"{domain} publishes no SPF record: Gmail requires SPF or DKIM from every "
                    "sender",
                    f"{domain} に SPF レコードがありません。Gmail はすべての送信者に SPF か DKIM "
                    "を求めています",
                ),
            )
        )
    if unresolved:
        return _not_evaluated(domain, unresolved, findings)
    publish_en = f' Publish this TXT record at {domain}: "{publish}".' if publish else ""
    publish_ja = f"{domain} の TXT レコードを「{publish}」にしてください" if publish else ""
    if (
        temporary
        or (failing and not usable and "temperror" in {k.status for k in dkim})
        or (failing and not usable and dmarc.status == "temperror")
    ):
        which = temporary[0].reason if temporary else dmarc.reason or "a DKIM key lookup"
        return Verdict(
            category="temporary-failure",
            stage="dns",
            retryable=True,
            cause=Text(
                f"DNS lookups for {domain} failed temporarily (temperror: {which}), so SPF, DKIM "
                "and DMARC cannot be judged",
                f"{domain} の DNS の問い合わせが一時的に失敗したため（temperror: "
                f"{reason_text(which, 'ja')}）、SPF・"
                "DKIM・DMARC を判定できません",
            ),
            remedy=_REFUSED_REMEDY if "REFUSED" in which else _TEMPERROR_REMEDY,
            exit_code=ExitCode.INCOMPLETE,
            rule_id="dns-temperror",
            evidence=which,
            findings=tuple(findings),
        )
    if failing and usable:
        keys = ", ".join(k.selector for k in usable)
        findings.append(
            Finding(
                "spf-not-passing",
                Text(
                    f"{_spf_why(failing[0], domain).en}; mail passes only if the server signs it "
                    f"with DKIM (selector {keys}).{publish_en}",
                    f"{_spf_why(failing[0], domain).ja}。サーバーが DKIM（セレクタ {keys}）で"
                    f"署名する場合に限り認証に合格します。{publish_ja}",
                ),
            )
        )
    if (spf and not failing) or usable:
        if not spf:
            findings.append(
                Finding(
                    "spf-not-evaluated",
                    Text(
                        "no sending address to evaluate SPF for: give --server HOST or --ip IP",
                        "SPF を評価する送信元アドレスがありません。--server HOST か --ip IP を"
                        "指定してください",
                    ),
                )
            )
        return Verdict(
            category="ok",
            stage="dns",
            retryable=False,
            cause=Text(
                f"Mail from {domain} can authenticate: "
                + (
                    "SPF passes for every sending address"
                    if spf and not failing
                    else f"a DKIM key is published ({', '.join(k.selector for k in usable)})"
                ),
                f"{domain} のメールは認証に合格できます（"
                + (
                    "すべての送信元アドレスで SPF に合格"
                    if spf and not failing
                    else f"DKIM の公開鍵あり: {', '.join(k.selector for k in usable)}"
                )
                + "）",
            ),
            remedy=Text("Nothing to change in DNS.", "DNS の変更は不要です。"),
            exit_code=ExitCode.ACCEPTED,
            rule_id="dns-ok",
            evidence=spf_record or "",
            findings=tuple(findings),
        )
    if not failing:  # no address evaluated, no DKIM key: nothing shows the mail authenticates
        return _not_evaluated(domain, (), findings)
    why = _spf_why(failing[0], domain)
    no_dkim = (
        Text("and no DKIM key is known for it", "DKIM の公開鍵も確認できません")
        if not dkim
        else Text(
            "and no usable DKIM key was found ("
            + ", ".join(f"{k.selector}: {k.status}" for k in dkim)
            + ")",
            "有効な DKIM の公開鍵もありません（"
            + "、".join(f"{k.selector}: {k.status}" for k in dkim)
            + "）",
        )
    )
    if failing[0].result == "permerror":
        fix = Text(
            f"Repair the SPF record of {domain} first ({failing[0].reason}): keep at most 10 "
            "DNS-querying terms (include, a, mx, ptr, exists, redirect) and one v=spf1 record; "
            f"then add '{mechanism_for(failing[0].sender)}' before the all term.",
            f"まず {domain} の SPF レコードを修正してください"
            f"（{reason_text(failing[0].reason, 'ja')}）。DNS を"
            "参照する記述（include・a・mx・ptr・exists・redirect）は 10 個以内、v=spf1 の"
            f"レコードは 1 つにし、そのうえで all の前に「{mechanism_for(failing[0].sender)}」"
            "を加えます。",
        )
    else:
        fix = Text(
            f"Add the sending server to the SPF record of {domain}.{publish_en} Then turn on "
            "DKIM signing at the provider.",
            f"{domain} の SPF レコードに送信サーバーを加えてください。{publish_ja}。あわせて"
            "プロバイダーで DKIM 署名を有効にしてください。",
        )
    policy = dmarc.policy if dmarc.status == "found" else None
    if policy in ("reject", "quarantine"):
        where = dmarc.found_at or domain
        return Verdict(
            category="dmarc-rejected",
            stage="dns",
            retryable=False,
            cause=Text(
                f"{why.en}, {no_dkim.en}; the DMARC policy of {domain} (at _dmarc.{where}) is "
                f"p={policy}, so Gmail and others will {policy} this mail",
                f"{why.ja}。{no_dkim.ja}。{domain} の DMARC ポリシー（_dmarc.{where}）が "
                f"p={policy} のため、Gmail などはこのメールを"
                + ("拒否" if policy == "reject" else "迷惑メールに")
                + "します",
            ),
            remedy=fix,
            exit_code=ExitCode.REFUSED,
            rule_id="dns-dmarc-rejected",
            evidence=f"{failing[0].mechanism or failing[0].result}; {dmarc.record or ''}".strip(),
            refuser="recipient",
            findings=tuple(findings),
        )
    return Verdict(
        category="unauthenticated-sender",
        stage="dns",
        retryable=False,
        cause=Text(
            f"{why.en}, {no_dkim.en}: Gmail refuses such mail (550-5.7.26, 'must authenticate "
            "with at least one of SPF or DKIM')",
            f"{why.ja}。{no_dkim.ja}。Gmail はこのようなメールを拒否します（550-5.7.26「SPF か"
            " DKIM の少なくとも一方で認証する必要があります」）",
        ),
        remedy=fix,
        exit_code=ExitCode.REFUSED,
        rule_id="dns-unauthenticated",
        evidence=failing[0].mechanism or failing[0].result,
        refuser="recipient",
        findings=tuple(findings),
    )


def _not_evaluated(
    domain: str, unresolved: Sequence[tuple[str, str]], findings: list[Finding]
) -> Verdict:
    """``dns-failure``: SPF is judged for the address that sends, and none was evaluated."""
    retry = any(state.startswith("temperror") for _, state in unresolved)
    hosts = ", ".join(host for host, _ in unresolved)
    family = {state.partition(":")[2] for _, state in unresolved} - {""}
    if not unresolved:
        cause = Text(
            f"No address that sends the mail of {domain} was evaluated, so SPF cannot be judged",
            f"{domain} のメールを送信するアドレスを評価していないため、SPF を判定できません",
        )
        remedy = Text(
            "Give --server HOST (your submission server) or --ip IP: SPF is judged for the "
            "address that sends.",
            "--server HOST（送信サーバー）か --ip IP を指定してください。SPF は送信元の"
            "アドレスについて判定します。",
        )
    elif family:
        kinds = " and ".join(sorted(family))
        cause = Text(
            f"The {kinds} lookup of {hosts} failed for now (a temporary DNS failure: SERVFAIL or "
            f"timeout) while the other answered: SPF for {domain} was not evaluated for every "
            "address the server sends from, and Gmail sees whichever it uses",
            f"{hosts} の {kinds} レコードの問い合わせが一時的に失敗しました（SERVFAIL またはタイム"
            f"アウト）。もう一方は得られましたが、サーバーが送信に使うすべてのアドレスについて "
            f"{domain} の SPF を評価できていません。Gmail からはどちらのアドレスも見えます",
        )
        remedy = Text(
            "Try again later, or ask another resolver with --nameserver.",
            "時間をおいて再実行するか、--nameserver で別のリゾルバーを指定してください。",
        )
    else:
        why = (
            Text("a temporary DNS failure: SERVFAIL or timeout", "DNS の一時的な失敗")
            if retry
            else Text("no A or AAAA record", "A・AAAA レコードがありません")
        )
        cause = Text(
            f"The server name {hosts} could not be looked up in DNS ({why.en}), so SPF for "
            f"{domain} was not evaluated for its mail",
            f"サーバー名 {hosts} を DNS で調べられなかったため（{why.ja}）、そのメールについて "
            f"{domain} の SPF を評価していません",
        )
        remedy = (
            Text(
                "Try again later, or ask another resolver with --nameserver.",
                "時間をおいて再実行するか、--nameserver で別のリゾルバーを指定してください。",
            )
            if retry
            else Text(
                "Check the spelling of the server name against your provider's setup guide "
                "(the SMTP server your mail program sends through), or give its address with "
                "--ip IP.",
                "サーバー名がプロバイダーの設定案内（メールソフトの送信サーバー）と一致しているか"
                "確認するか、--ip IP でそのアドレスを指定してください。",
            )
        )
    return Verdict(
        category="dns-failure",
        stage="dns",
        retryable=retry,
        cause=cause,
        remedy=remedy,
        exit_code=ExitCode.INCOMPLETE,
        rule_id="dns-server-unresolved" if unresolved else "dns-no-address",
        evidence=hosts,
        findings=tuple(findings),
    )


def conclude(
    domain: str,
    helo: str,
    *,
    mx: Sequence[tuple[int, str]],
    mx_status: str,
    spf_records: Sequence[str],
    spf: Sequence[SpfCheck],
    dmarc: DmarcCheck,
    dkim: Sequence[DkimCheck],
    fcrdns: Sequence[tuple[str, str, tuple[str, ...]]],
    unresolved: Sequence[tuple[str, str]] = (),
    notes: Sequence[Text] = (),
    spf_lookup: str = "found",
) -> DnsAuth:
    """Every answer about ``domain``, the record to publish, Gmail's requirements, the verdict.

    ``spf_lookup``: how the domain's TXT query went (found, none, temperror). A failed query
    is not "no SPF record": telling the user to publish one would make two once DNS answers
    again (a permerror, RFC 7208 section 4.5)."""
    existing = spf_records[0] if len(spf_records) == 1 else None
    publish = publish_for(spf, spf_records, has_mx=bool(mx))
    if spf_lookup == "temperror" and not spf_records:
        publish = None
    return DnsAuth(
        domain=domain,
        helo=helo,
        mx=tuple(sorted(mx)),
        mx_status=mx_status,
        spf_record=existing,
        spf_records=len(spf_records),
        spf=tuple(spf),
        dmarc=dmarc,
        dkim=tuple(dkim),
        fcrdns=tuple(fcrdns),
        requirements=gmail_requirements(spf, dkim, dmarc, fcrdns),
        record_to_publish=publish,
        spf_lookup=spf_lookup,
        verdict=_with_ptr(
            decide(
                domain,
                spf,
                dkim,
                dmarc,
                publish=publish,
                spf_record=existing,
                unresolved=unresolved,
                spf_lookup=spf_lookup,
            ),
            fcrdns,
        ),
        notes=tuple(notes),
    )


def _with_ptr(verdict: Verdict, fcrdns: Sequence[tuple[str, str, tuple[str, ...]]]) -> Verdict:
    """An ok that a sending address without matching forward and reverse DNS would still
    see refused: Google requires FCrDNS of every sender and answers 550-5.7.25 (its sender
    guidelines, support.google.com/a/answer/81126); a refusal already decided keeps it as
    a finding (found by a red-team zone: "[FAIL] PTR" beside "Nothing to change in DNS")."""
    failed = [ip for ip, state, _ in fcrdns if state == "fail"]
    if not failed:
        return verdict
    ips = ", ".join(failed)
    cause = Text(
        f"the sending address {ips} has no reverse DNS (PTR) name that resolves back to it: "
        "Gmail refuses such mail (550-5.7.25) whatever SPF and DKIM say",
        f"送信元アドレス {ips} には、そのアドレスに正引きできる逆引き（PTR）名がありません。"
        "SPF や DKIM の結果にかかわらず、Gmail はこのメールを拒否します（550-5.7.25）",
    )
    if not verdict.ok:
        return replace(verdict, findings=(*verdict.findings, Finding("ptr-missing", cause)))
    return replace(
        verdict,
        category="unauthenticated-sender",
        retryable=False,
        cause=cause,
        remedy=Text(
            f"The PTR record belongs to whoever runs the sending server: ask the provider to "
            f"publish a PTR for {ips} whose name resolves back to it, or set it at your hosting "
            "provider or ISP if the server is yours.",
            f"PTR レコードは送信サーバーの運用者が設定します。{ips} の PTR（その名前が同じアドレス"
            "に正引きできるもの）の設定をプロバイダーに依頼するか、ご自身のサーバーであれば"
            "ホスティング事業者や ISP で設定してください。",
        ),
        exit_code=ExitCode.REFUSED,
        rule_id="dns-ptr-missing",
        evidence=ips,
        refuser="recipient",
    )


def dns_finding(auth: DnsAuth) -> Finding | None:
    """The DNS verdict as one finding of ``check``'s verdict; None when it is ok."""
    v = auth.verdict
    if v.ok:
        return None
    publish = auth.record_to_publish
    return Finding(
        "dns-auth",
        Text(
            f"{v.category}: {v.cause.en}."
            + (f' SPF record to publish: "{publish}".' if publish else f" {v.remedy.en}"),
            f"{v.category}: {v.cause.ja}。"
            + (f"設定する SPF レコード: 「{publish}」" if publish else v.remedy.ja),
        ),
    )
