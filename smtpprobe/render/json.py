"""The JSON report: one document per probe, with a versioned schema.

Schema ``smtpprobe/check/v1`` (documented in README, pinned by a golden test).
Fields are only ever added within a version; renaming or removing one bumps it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from smtpprobe import __version__
from smtpprobe.core.classify import Verdict
from smtpprobe.core.reply import Reply
from smtpprobe.core.transcript import (
    Failure,
    FailureKind,
    Origin,
    Phase,
    Security,
    Step,
    Target,
    TLSInfo,
    Transcript,
)
from smtpprobe.render.labels import note

if TYPE_CHECKING:
    from smtpprobe.api import Report
    from smtpprobe.core.readiness import GmailReadiness  # explain's output needs none

__all__ = [
    "SCHEMA",
    "format_json",
    "origin_to_dict",
    "readiness_to_dict",
    "reply_to_dict",
    "report_to_dict",
    "transcript_from_dict",
    "verdict_to_dict",
]

SCHEMA = "smtpprobe/check/v1"
# How much of a reply was understood: its text (a rule knew the words), only its code
# (an enhanced-code or basic-code fallback), or neither: explain's learned guess named the
# category from the words (of a paste with no reply, or of a reply only a fallback knew).
_UNDERSTOOD = {"enhanced": "code-only", "code": "code-only", "guess": "guess"}


def reply_to_dict(reply: Reply | None) -> dict[str, Any] | None:
    """``{"code", "enhanced", "lines"}``, or None."""
    if reply is None:
        return None
    return {"code": reply.code, "enhanced": reply.enhanced, "lines": list(reply.lines)}


def verdict_to_dict(v: Verdict) -> dict[str, Any]:
    """The ``verdict`` object shared by ``check`` and ``explain`` documents."""
    return {
        "category": v.category,
        "stage": v.stage,
        "retryable": v.retryable,
        "cause": {"en": v.cause.en, "ja": v.cause.ja},
        "remedy": {"en": v.remedy.en, "ja": v.remedy.ja},
        "rule": v.rule_id,
        "evidence": v.evidence,
        "understood": _UNDERSTOOD.get(v.fallback or "", "text"),
        "refuser": v.refuser,
        "findings": [
            {"id": f.id, "message": {"en": f.message.en, "ja": f.message.ja}} for f in v.findings
        ],
    }


def _step(step: Step) -> dict[str, Any]:
    return {
        "phase": step.phase.value,
        "command": step.command,
        "reply": reply_to_dict(step.reply),
        "failure": (
            None
            if step.failure is None
            else {"kind": step.failure.kind.value, "detail": step.failure.detail}
        ),
        "elapsed_ms": step.elapsed_ms,
        "note": step.note or None,
        "note_ja": note(step.note, "ja") if step.note else None,
    }


def _tls(tls: TLSInfo | None) -> dict[str, Any] | None:
    if tls is None:
        return None
    return {
        "version": tls.version,
        "cipher": tls.cipher,
        "verified": tls.verified,
        "verify_error": tls.verify_error,
        "certificate": {
            "subject": tls.subject,
            "issuer": tls.issuer,
            "san": list(tls.san),
            "not_after": tls.not_after,
            "fingerprint_sha256": tls.fingerprint_sha256,
        },
    }


def origin_to_dict(origin: Origin | None) -> dict[str, Any] | None:
    """The ``origin`` object: where the probe came from and how that was learned."""
    if origin is None:
        return None
    return {
        "route": origin.route,
        "local_address": origin.local_address,
        "public_address": origin.public_address,
        "method": origin.method,
        "country": origin.country,
        "data_date": origin.data_date,
        "echoed_address": origin.echoed_address,
        "notes": list(origin.notes),
        "notes_ja": [note(n, "ja") for n in origin.notes],
    }


def readiness_to_dict(readiness: GmailReadiness | None) -> dict[str, Any] | None:
    """The ``gmail_readiness`` object, or None when it was not asked for."""
    if readiness is None:
        return None
    return {
        "ready": readiness.ready,
        "geo_ip_filter": readiness.geo_ip_filter,
        "origin_country": readiness.origin_country,
        "reasons": [{"id": r.id, "en": r.text.en, "ja": r.text.ja} for r in readiness.reasons],
        "test_command": readiness.test_command,
    }


def _origin_from_dict(data: dict[str, Any] | None) -> Origin | None:
    if not data:
        return None
    return Origin(
        local_address=data.get("local_address"),
        public_address=data.get("public_address"),
        method=data.get("method", "unknown"),
        country=data.get("country"),
        data_date=data.get("data_date"),
        echoed_address=data.get("echoed_address"),
        route=data.get("route", "direct"),
        notes=tuple(data.get("notes", ())),
    )


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data (not yet redacted: use ``format_json``)."""
    t = report.transcript
    v = report.verdict
    gmail = report.gmail_settings
    return {
        "schema": SCHEMA,
        "tool": {"name": "smtpprobe", "version": __version__},
        "started_at": report.started_at,
        "profile": report.profile.name if report.profile else None,
        "target": {
            "host": t.target.host,
            "port": t.target.port,
            "security": t.target.security.value,
            "addresses": list(t.target.addresses),
            "address_used": t.target.address_used,
            "source_address": t.target.source_address,
            "proxy": t.target.proxy,
            "proxy_address": t.target.proxy_address,
        },
        "origin": origin_to_dict(t.origin),
        "auth": {
            "username": t.username,
            "mechanism": t.auth_mechanism,
            "skipped": t.no_auth,
        },
        "envelope": {"sender": t.sender, "recipient": t.recipient, "data_sent": t.send},
        "tls": _tls(t.tls),
        "capabilities": {
            "before_tls": list(t.capabilities_before_tls),
            "final": list(t.capabilities),
        },
        "steps": [_step(s) for s in t.steps],
        "verdict": verdict_to_dict(v),
        "gmail_settings": (
            None
            if gmail is None
            else {
                "smtp_server": gmail.smtp_server,
                "port": gmail.port,
                "username": gmail.username,
                "security": gmail.security,
                "label": gmail.label,
            }
        ),
        "gmail_readiness": readiness_to_dict(report.gmail_readiness),
        "dns_auth": _dns_auth(report),
        "expect": list(report.expect) or None,
        "expect_met": report.expect_met,
        "exit_code": report.exit_code,
    }


def _dns_auth(report: Report) -> dict[str, Any] | None:
    # The From domain's SPF/DKIM/DMARC (issue 11): smtpprobe/dns/v1's body, or null.
    if report.dns_auth is None:
        return None
    from smtpprobe.render.dnsauth import dns_to_dict

    return dns_to_dict(report.dns_auth)


def format_json(report: Report) -> str:
    """The report as one JSON document, redacted."""
    return json.dumps(report.redactor.data(report_to_dict(report)), ensure_ascii=False, indent=2)


def transcript_from_dict(data: dict[str, Any]) -> Transcript:
    """Rebuild a Transcript from a ``smtpprobe/check/v1`` document (for replay and tests)."""
    if data.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document (schema={data.get('schema')!r})")
    t = data["target"]
    tls = data.get("tls")
    steps = []
    for s in data["steps"]:
        reply = s.get("reply")
        failure = s.get("failure")
        steps.append(
            Step(
                phase=Phase(s["phase"]),
                command=s.get("command"),
                reply=None
                if reply is None
                else Reply(reply["code"], tuple(reply["lines"]), reply.get("enhanced")),
                failure=None
                if failure is None
                else Failure(FailureKind(failure["kind"]), failure.get("detail", "")),
                elapsed_ms=s.get("elapsed_ms"),
                note=s.get("note") or "",
            )
        )
    return Transcript(
        target=Target(
            host=t["host"],
            port=t["port"],
            security=Security(t["security"]),
            addresses=tuple(t.get("addresses", ())),
            address_used=t.get("address_used"),
            source_address=t.get("source_address"),
            proxy=t.get("proxy"),
            proxy_address=t.get("proxy_address"),
        ),
        profile=data.get("profile"),
        username=data["auth"].get("username"),
        sender=data["envelope"].get("sender"),
        recipient=data["envelope"].get("recipient"),
        auth_mechanism=data["auth"].get("mechanism"),
        no_auth=data["auth"].get("skipped", False),
        send=data["envelope"].get("data_sent", False),
        tls=None
        if tls is None
        else TLSInfo(
            version=tls.get("version"),
            cipher=tls.get("cipher"),
            verified=tls.get("verified", False),
            verify_error=tls.get("verify_error"),
            subject=tls["certificate"].get("subject"),
            issuer=tls["certificate"].get("issuer"),
            san=tuple(tls["certificate"].get("san", ())),
            not_after=tls["certificate"].get("not_after"),
            fingerprint_sha256=tls["certificate"].get("fingerprint_sha256"),
        ),
        steps=steps,
        capabilities_before_tls=tuple(data["capabilities"]["before_tls"]),
        capabilities=tuple(data["capabilities"]["final"]),
        origin=_origin_from_dict(data.get("origin")),
    )
