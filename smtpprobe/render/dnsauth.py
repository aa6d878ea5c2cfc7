"""``smtpprobe dns`` and ``smtpprobe spf`` as text (English or Japanese) and JSON.

Schemas ``smtpprobe/dns/v1`` and ``smtpprobe/spf/v1`` (README): fields are only ever added
within a version. The ``spf`` document's ``explanation`` is the domain's own ``exp=`` text
(RFC 7208 §6.2), empty when there is none; ``reason`` says in words why the result is what it
is. The ``verdict`` object of ``dns`` is ``check``'s (``smtpprobe.render.json.verdict_to_dict``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from smtpprobe import __version__
from smtpprobe.core.dnsverdict import said_in_japanese
from smtpprobe.dnsauth import (
    GMAIL_GUIDELINES,
    SAKURA_SPF_NOTICE,
    DnsAuth,
    SpfCheck,
    reason_text,
)
from smtpprobe.render.labels import category_label
from smtpprobe.render.tone import Line, Tone, exit_tone

__all__ = [
    "DNS_SCHEMA",
    "SPF_SCHEMA",
    "dns_lines",
    "dns_to_dict",
    "format_dns_json",
    "format_spf_json",
    "note_text",
    "spf_lines",
    "spf_to_dict",
    "trace_lines",
]

DNS_SCHEMA = "smtpprobe/dns/v1"
SPF_SCHEMA = "smtpprobe/spf/v1"

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "head": "smtpprobe dns → {domain}  (HELO {helo})",
        "mx": "MX",
        "none": "none",
        "temperror": "temporary DNS failure",
        "spf_record": "SPF record",
        "spf_many": "{n} SPF records (permerror: RFC 7208 §4.5 allows one)",
        "spf": "SPF {ip}{via}: {result}",
        "decided": "decided by '{term}'",
        "lookups": "{lookups} DNS lookups, {void} void",
        "explanation": "explanation (exp=)",
        "dmarc": "DMARC",
        "dmarc_found": "p={policy} at _dmarc.{where}",
        "org": "organisational domain {org}",
        "dkim": "DKIM {selector}",
        "ptr": "reverse DNS {ip}",
        "requirements": "Gmail's sender requirements ({url}):",
        "pass": "pass",
        "fail": "FAIL",
        "unknown": "unknown",
        "not-checkable": "not checkable from here",
        "verdict": "Verdict",
        "cause": "Cause",
        "remedy": "Remedy",
        "publish": "SPF record to publish",
        "sakura": "(Sakura Internet's recommended shape: v=spf1 a:www***.sakura.ne.jp mx ~all, "
        "{url})",
        "finding": "Finding",
        "evidence": "Evidence",
        "note": "Note",
        "spf_head": "SPF check_host({ip}, {domain}) for <{sender}>  (HELO {helo})",
        "result": "Result",
        "reason": "Reason",
        "chain": "Include chain",
    },
    "ja": {
        "head": "smtpprobe dns → {domain}（HELO {helo}）",
        "mx": "MX",
        "none": "なし",
        "temperror": "DNS の一時的な失敗",
        "valid": "有効",
        "revoked": "失効（p= が空）",
        "invalid": "無効",
        "missing": "なし",
        "spf_record": "SPF レコード",
        "spf_many": "SPF レコードが {n} 個あります（permerror: RFC 7208 §4.5 では 1 個のみ）",
        "spf": "SPF {ip}{via}: {result}",
        "decided": "決め手は「{term}」",
        "lookups": "DNS 参照 {lookups} 回、該当なし {void} 回",
        "explanation": "説明（exp=）",
        "dmarc": "DMARC",
        "dmarc_found": "_dmarc.{where} に p={policy}",
        "org": "組織ドメイン {org}",
        "dkim": "DKIM {selector}",
        "ptr": "逆引き {ip}",
        "requirements": "Gmail の送信者のガイドライン（{url}）:",
        "pass": "合格",
        "fail": "不合格",
        "unknown": "不明",
        "not-checkable": "ここからは確認できません",
        "verdict": "判定",
        "cause": "原因",
        "remedy": "対処",
        "publish": "設定する SPF レコード",
        "sakura": "（さくらインターネットの推奨形: v=spf1 a:www***.sakura.ne.jp mx ~all、{url}）",
        "finding": "指摘",
        "evidence": "根拠",
        "note": "注記",
        "spf_head": "SPF check_host({ip}, {domain})、送信者 <{sender}>（HELO {helo}）",
        "result": "結果",
        "reason": "理由",
        "chain": "include の連なり",
    },
}
_STATUS_TONE = {"pass": Tone.GOOD, "fail": Tone.BAD, "unknown": Tone.WARN}
_RESULT_TONE = {"pass": Tone.GOOD, "temperror": Tone.WARN}


# The DMARC record's and the DKIM key's notes (smtpprobe.core.dmarc, smtpprobe.core.dkim) are
# English; in Japanese each known one is said in Japanese, any other quoted (a red-team round
# found them printed in English under `dns --lang ja`).
_NOTES_JA: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), template)
    for pattern, template in (
        (r"^(\w+): ('.*') is not a URI; receivers ignore it \(RFC 9989 §4\.7\)$",
         "{0}: {1} は URI ではないため、受信側は無視します（RFC 9989 §4.7）"),
        (r"^(\w+): the size limit in ('.*') is RFC 7489 syntax that RFC 9989 dropped; "
         r"RFC 9989 reporters ignore it$",
         "{0}: {1} のサイズ制限は RFC 9989 で廃止された RFC 7489 の書式です。RFC 9989 に従う"
         "レポート送信側は無視します"),
        (r"^(\w+): (\S+): URIs are optional for receivers; only mailto: must be supported "
         r"\(RFC 9989 §4\.7\)$",
         "{0}: {1}: の URI への対応は受信側の任意です。必ず対応されるのは mailto: だけです"
         "（RFC 9989 §4.7）"),
        (r"^('.*') is not a tag=value pair; ignored \(RFC 9989 §4\.8\)$",
         "{0} は tag=value の形ではないため無視されます（RFC 9989 §4.8）"),
        (r"^(\w+) appears more than once; the first value is used$",
         "{0} が複数回あります。最初の値が使われます"),
        (r"^(\w+=.*): not none, quarantine or reject$",
         "{0}: none、quarantine、reject のいずれでもありません"),
        (r"^no p tag: treated as p=none \(RFC 9989 §4\.7\)$",
         "p タグがないため、p=none として扱われます（RFC 9989 §4.7）"),
        (r"^(\w+=.*): invalid, the default (\S+) applies$",
         "{0}: 無効な値のため、既定値 {1} が使われます"),
        (r"^fo without ruf has no effect \(RFC 9989 §4\.7\)$",
         "ruf がないため、fo は効果がありません（RFC 9989 §4.7）"),
        (r"^(\w+=.*): RFC 9989 removed (\w+) \(.*\); only receivers still following "
         r"RFC 7489 read it$",
         "{0}: RFC 9989 で {1} タグは廃止されました。RFC 7489 に従う受信側だけが読みます"),
        (r"^unknown tag (\w+): ignored \(RFC (\d+) §([\d.]+)\)$",
         "不明なタグ {0} は無視されます（RFC {1} §{2}）"),
        (r"^t=y: the domain is testing DKIM; verifiers must treat its mail as unsigned "
         r"\(RFC 6376 §3\.6\.1\)$",
         "t=y: このドメインは DKIM を試験中です。検証側はこの鍵の署名を署名なしと同じに扱います"
         "（RFC 6376 §3.6.1）"),
        (r"^t=(\w+): unknown flag, ignored \(RFC 6376 §3\.6\.1\)$",
         "t={0}: 不明なフラグのため無視されます（RFC 6376 §3.6.1）"),
        (r"^v=DKIM1 is not the first tag \(RFC 6376 §3\.6\.1\)$",
         "v=DKIM1 が最初のタグではありません（RFC 6376 §3.6.1）"),
        (r"^RSA key of (\d+) bits: RFC 8301 §3\.2 recommends 2048 or more$",
         "{0} ビットの RSA 鍵です。RFC 8301 §3.2 は 2048 ビット以上を推奨しています"),
        (r"^p= is a bare RSAPublicKey, not the SubjectPublicKeyInfo RFC 6376 §3\.6\.1 "
         r"requires; some verifiers reject it$",
         "p= が RFC 6376 §3.6.1 の求める SubjectPublicKeyInfo ではなく RSAPublicKey のみです。"
         "これを拒否する検証側もあります"),
        (r"^invalid policy with a valid rua: receivers act as if p=none$",
         "ポリシーが無効で rua が有効なため、受信側は p=none として扱います"),
    )
)  # fmt: skip


def note_text(note: str, lang: str) -> str:
    """A DMARC or DKIM note in ``lang``: said in Japanese where known, else quoted. A DKIM
    key's notes come joined by "; ": each is said on its own."""
    if lang != "ja":
        return note
    whole = said_in_japanese(_NOTES_JA, note)
    if whole is not None:
        return whole
    return "。".join(
        said_in_japanese(_NOTES_JA, part) or f"「{part}」" for part in note.split("; ")
    )


def _labels(lang: str) -> dict[str, str]:
    return _LABELS["ja" if lang == "ja" else "en"]


def _state(value: str, lang: str) -> str:
    labels = _labels(lang)
    return labels.get(value, value)


# --------------------------------------------------------------------------- the SPF trace


def trace_lines(node: Mapping[str, Any], indent: str = "    ", lang: str = "en") -> list[Line]:
    """The include/redirect chain of a ``check_host`` trace as an indented tree."""
    lines: list[Line] = []
    record = node.get("record")
    lookups, void = node.get("lookups_after", "?"), node.get("void_after", "?")
    if lang == "ja":
        counts, missing = f"DNS 参照 {lookups} 回、該当なし {void} 回", "（レコードなし）"
    else:
        counts, missing = f"lookups {lookups}, void {void}", "(no record)"
    result = node.get("result") or ""
    lines.append(
        Line(
            f"{indent}{node.get('via', 'top')}:{node.get('domain', '')} "
            + (f'"{record}"' if record else missing)
            + f"  [{counts}]"
            + (f" → {result}" if result else "")
        )
    )
    for term in node.get("terms") or ():
        child = term.get("child") if isinstance(term, Mapping) else None
        if isinstance(child, Mapping):
            lines.extend(trace_lines(child, indent + "  ", lang))
    return lines


# --------------------------------------------------------------------------- dns


def _spf_check_dict(check: SpfCheck) -> dict[str, Any]:
    return {
        "ip": check.sender.ip,
        "host": check.sender.host,
        "result": check.result,
        "mechanism": check.mechanism,
        "explanation": check.explanation,
        "reason": check.reason,
        "lookups": check.lookups,
        "void_lookups": check.void_lookups,
        "trace": check.trace,
    }


def dns_to_dict(auth: DnsAuth) -> dict[str, Any]:
    """The ``dns_auth`` object: the ``smtpprobe/dns/v1`` document without its envelope."""
    from smtpprobe.render.json import verdict_to_dict

    dmarc = auth.dmarc
    return {
        "domain": auth.domain,
        "helo": auth.helo,
        "verdict": verdict_to_dict(auth.verdict),
        "record_to_publish": auth.record_to_publish,
        "mx": {
            "status": auth.mx_status,
            "records": [{"preference": p, "exchange": x} for p, x in auth.mx],
        },
        "spf": {
            "record": auth.spf_record,
            "records": auth.spf_records,
            "lookup": auth.spf_lookup,
            "results": [_spf_check_dict(c) for c in auth.spf],
        },
        "dmarc": {
            "status": dmarc.status,
            "record": dmarc.record,
            "found_at": dmarc.found_at,
            "policy": dmarc.policy,
            "org_domain": dmarc.org_domain,
            "psl_org_domain": dmarc.psl_org_domain,
            "adkim": dmarc.adkim,
            "aspf": dmarc.aspf,
            "warnings": list(dmarc.warnings),
            "reason": dmarc.reason,
            "discarded": [f"_dmarc.{name}" for name in dmarc.discarded],
        },
        "dkim": [
            {
                "selector": k.selector,
                "status": k.status,
                "key_type": k.key_type,
                "bits": k.bits,
                "reason": k.reason,
            }
            for k in auth.dkim
        ],
        "fcrdns": [
            {"ip": ip, "status": state, "names": list(names)} for ip, state, names in auth.fcrdns
        ],
        "gmail_requirements": [
            {
                "id": r.id,
                "status": r.status,
                "text": {"en": r.text.en, "ja": r.text.ja},
                "detail": None if r.detail is None else {"en": r.detail.en, "ja": r.detail.ja},
            }
            for r in auth.requirements
        ],
        "notes": [{"en": n.en, "ja": n.ja} for n in auth.notes],
        "sources": {"gmail_guidelines": GMAIL_GUIDELINES, "sakura_spf": SAKURA_SPF_NOTICE},
    }


def format_dns_json(auth: DnsAuth) -> str:
    """The ``smtpprobe/dns/v1`` document."""
    document = {
        "schema": DNS_SCHEMA,
        "version": __version__,
        **dns_to_dict(auth),
        "exit_code": int(auth.verdict.exit_code),
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def dns_detail_lines(auth: DnsAuth, lang: str) -> list[Line]:
    """What was found: MX, SPF per address, DMARC, DKIM, reverse DNS, Gmail's requirements."""
    labels = _labels(lang)
    lines: list[Line] = []
    mx = ", ".join(f"{p} {x}" for p, x in auth.mx) or _state(
        "none" if auth.mx_status != "temperror" else "temperror", lang
    )
    lines.append(Line(f"  {labels['mx']}: {mx}"))
    if auth.spf_records > 1:
        lines.append(Line(f"  {labels['spf_many'].format(n=auth.spf_records)}", Tone.BAD))
    else:
        shown = auth.spf_record or (
            _state("temperror", lang) if auth.spf_lookup == "temperror" else labels["none"]
        )
        lines.append(Line(f"  {labels['spf_record']}: {shown}"))
    for check in auth.spf:
        via = f" ({check.sender.host})" if check.sender.host else ""
        via = f"（{check.sender.host}）" if check.sender.host and lang == "ja" else via
        head = labels["spf"].format(ip=check.sender.ip, via=via, result=check.result)
        if check.mechanism:
            head += ", " + labels["decided"].format(term=check.mechanism)
        head += (
            "  [" + labels["lookups"].format(lookups=check.lookups, void=check.void_lookups) + "]"
        )
        lines.append(Line(f"  {head}", _RESULT_TONE.get(check.result, Tone.BAD)))
        if check.reason and check.result != "pass":
            lines.append(Line(f"    {reason_text(check.reason, lang)}"))
        if check.explanation:
            lines.append(Line(f"    {labels['explanation']}: {check.explanation}"))
    dmarc = auth.dmarc
    if dmarc.status == "found":
        # A record receivers ignore (§4.10.1) has no policy: say so, never "p=None".
        policy = dmarc.policy or ("(なし)" if lang == "ja" else "(none that applies)")
        text = labels["dmarc_found"].format(policy=policy, where=dmarc.found_at)
        if dmarc.org_domain:
            text += ", " + labels["org"].format(org=dmarc.org_domain)
    else:
        text = _state(dmarc.status, lang)
        if dmarc.reason and lang != "ja":
            text += f" ({dmarc.reason})"
        elif dmarc.discarded:
            held = "、".join(f"_dmarc.{name}" for name in dmarc.discarded)
            text += f"（{held} に複数のレコードがあり、すべて無視されます）"
        elif dmarc.status == "none":
            text += f"（_dmarc.{auth.domain} にも組織ドメインにもレコードがありません）"
        elif dmarc.reason:
            text += f"（{reason_text(dmarc.reason, lang)}）"
    lines.append(Line(f"  {labels['dmarc']}: {text}"))
    for warning in dmarc.warnings:
        lines.append(Line(f"    {note_text(warning, lang)}", Tone.WARN))
    for key in auth.dkim:
        size = f" {key.key_type or ''} {key.bits or ''}".rstrip() if key.usable else ""
        why = ""
        if key.reason:
            why = f"（{note_text(key.reason, lang)}）" if lang == "ja" else f" ({key.reason})"
        tone = Tone.GOOD if key.usable else Tone.WARN
        status = _state(key.status, lang) if lang == "ja" else key.status
        lines.append(
            Line(f"  {labels['dkim'].format(selector=key.selector)}: {status}{size}{why}", tone)
        )
    for ip, state, names in auth.fcrdns:
        named = f" ({', '.join(names)})" if names and lang != "ja" else ""
        named = f"（{', '.join(names)}）" if names and lang == "ja" else named
        lines.append(Line(f"  {labels['ptr'].format(ip=ip)}: {_state(state, lang)}{named}"))
    for note in auth.notes:
        lines.append(Line(f"  {labels['note']}: {note.get(lang)}", Tone.WARN))
    lines.append(Line(""))
    lines.append(Line(labels["requirements"].format(url=GMAIL_GUIDELINES)))
    for req in auth.requirements:
        detail = f" — {req.detail.get(lang)}" if req.detail is not None else ""
        lines.append(
            Line(
                f"  [{_state(req.status, lang)}] {req.text.get(lang)}{detail}",
                _STATUS_TONE.get(req.status, Tone.PLAIN),
            )
        )
    return lines


def verdict_lines(auth: DnsAuth, lang: str) -> list[Line]:
    """The verdict block: category, cause, remedy, the record to publish, findings."""
    labels = _labels(lang)
    v = auth.verdict
    lines = [
        Line(f"{labels['verdict']}: {category_label(v.category, lang)}", exit_tone(v.exit_code))
    ]
    lines.append(Line(f"  {labels['cause']}: {v.cause.get(lang)}"))
    lines.append(Line(f"  {labels['remedy']}: {v.remedy.get(lang)}"))
    if auth.record_to_publish and not v.ok:
        lines.append(Line(f"  {labels['publish']}: {auth.record_to_publish}", Tone.GOOD))
        if auth.spf_record is None:
            lines.append(Line(f"    {labels['sakura'].format(url=SAKURA_SPF_NOTICE)}"))
    for finding in v.findings:
        lines.append(
            Line(f"  {labels['finding']} [{finding.id}]: {finding.message.get(lang)}", Tone.WARN)
        )
    if v.evidence:
        lines.append(Line(f"  {labels['evidence']}: {reason_text(v.evidence, lang)}"))
    return lines


def dns_lines(auth: DnsAuth, lang: str = "en") -> list[Line]:
    """The whole ``smtpprobe dns`` output."""
    labels = _labels(lang)
    lines = [Line(labels["head"].format(domain=auth.domain, helo=auth.helo))]
    lines.extend(dns_detail_lines(auth, lang))
    lines.append(Line(""))
    lines.extend(verdict_lines(auth, lang))
    return lines


# --------------------------------------------------------------------------- spf


def spf_to_dict(outcome: Any, *, ip: str, sender: str, helo: str, exit_code: int) -> dict[str, Any]:
    """The ``smtpprobe/spf/v1`` document of one ``check_host`` outcome."""
    data = outcome.to_dict()
    return {
        "schema": SPF_SCHEMA,
        "version": __version__,
        "ip": ip,
        "sender": sender,
        "helo": helo,
        "domain": outcome.domain,
        "result": str(outcome.result.value),
        "mechanism": outcome.mechanism,
        "explanation": outcome.explanation,
        "reason": outcome.reason,
        "lookups": outcome.lookups,
        "void_lookups": outcome.void_lookups,
        "include_chain": data.get("include_chain", []),
        "trace": data.get("trace", data),
        "exit_code": exit_code,
    }


def format_spf_json(outcome: Any, *, ip: str, sender: str, helo: str, exit_code: int) -> str:
    """``spf_to_dict`` as JSON text."""
    document = spf_to_dict(outcome, ip=ip, sender=sender, helo=helo, exit_code=exit_code)
    return json.dumps(document, ensure_ascii=False, indent=2)


def spf_lines(outcome: Any, *, ip: str, sender: str, helo: str, lang: str = "en") -> list[Line]:
    """``smtpprobe spf``: result, deciding term, include chain, lookups, explanation."""
    labels = _labels(lang)
    result = str(outcome.result.value)
    lines = [
        Line(labels["spf_head"].format(ip=ip, domain=outcome.domain, sender=sender, helo=helo))
    ]
    head = f"{labels['result']}: {result}"
    if outcome.mechanism:
        head += ", " + labels["decided"].format(term=outcome.mechanism)
    head += (
        "  [" + labels["lookups"].format(lookups=outcome.lookups, void=outcome.void_lookups) + "]"
    )
    lines.append(Line(head, _RESULT_TONE.get(result, Tone.BAD)))
    if outcome.reason:
        lines.append(Line(f"  {labels['reason']}: {reason_text(outcome.reason, lang)}"))
    if outcome.explanation:
        lines.append(Line(f"  {labels['explanation']}: {outcome.explanation}"))
    data = outcome.to_dict()
    trace = data.get("trace")
    if isinstance(trace, Mapping):
        lines.append(Line(f"  {labels['chain']}:"))
        lines.extend(trace_lines(trace, lang=lang))
    return lines
