"""The readable report: transcript (client and server lines marked), TLS, timings, verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtpprobe.core.readiness import GmailReadiness
from smtpprobe.core.transcript import Origin, Phase, Step, TLSInfo

if TYPE_CHECKING:
    from smtpprobe.api import Report

__all__ = ["format_origin", "format_readiness", "format_text", "format_verdict"]

_LABELS = {
    "en": {
        "verdict": "Verdict",
        "stage": "at",
        "retry": "retrying later may help",
        "noretry": "retrying the same way will not help",
        "cause": "Cause",
        "remedy": "Remedy",
        "evidence": "Evidence",
        "codeonly": "Only the reply code was understood, not its text.",
        "gmail": 'Gmail "Send mail as" settings (Settings > Accounts > Send mail as):',
        "server": "SMTP Server",
        "port": "Port",
        "user": "Username",
        "password": "Password",
        "pwtext": "(the password you just tested)",
        "finding": "Finding",
        "origin": "origin",
        "unknown": "unknown",
        "local": "local",
        "public": "public",
        "country": "country",
        "data": "data of",
        "echo": "the server saw",
        "via": "via",
        "readiness": "Gmail readiness",
        "expected": "Expected",
        "met": {True: "met (exit 0)", False: "NOT met"},
        "ready": {True: "ready", False: "not ready", None: "not shown by this probe"},
    },
    "ja": {
        "verdict": "判定",
        "stage": "段階",
        "retry": "時間をおいて再試行すると解決する可能性があります",
        "noretry": "同じ設定のまま再試行しても解決しません",
        "cause": "原因",
        "remedy": "対処",
        "evidence": "根拠",
        "codeonly": "応答コードのみから判断しました(本文は認識できませんでした)。",
        "gmail": "Gmail の「他のメールアドレスを追加」(設定 > アカウント > 名前)に入力する値:",
        "server": "SMTP サーバー",
        "port": "ポート",
        "user": "ユーザー名",
        "password": "パスワード",
        "pwtext": "(いま確認したパスワード)",
        "finding": "指摘",
        "origin": "接続元",
        "unknown": "不明",
        "local": "ローカル",
        "public": "グローバル",
        "country": "国",
        "data": "データ",
        "echo": "サーバーから見えたアドレス",
        "via": "経由",
        "readiness": "Gmail からの送信の準備",
        "expected": "期待した判定",
        "met": {True: "一致（終了コード 0）", False: "不一致"},
        "ready": {True: "準備完了", False: "未完了", None: "この確認だけでは判断できません"},
    },
}


def _ms(step: Step) -> str:
    return "" if step.elapsed_ms is None else f"{step.elapsed_ms:8.1f} ms"


def _tls_line(tls: TLSInfo) -> list[str]:
    status = (
        "verified" if tls.verified else f"NOT verified ({tls.verify_error or 'verification off'})"
    )
    lines = [f"    TLS  {tls.version or '?'}  {tls.cipher or '?'}  certificate {status}"]
    if tls.subject:
        lines.append(f"         subject {tls.subject}")
    if tls.san:
        lines.append(f"         SAN     {', '.join(tls.san[:6])}{' …' if len(tls.san) > 6 else ''}")
    if tls.issuer:
        lines.append(f"         issuer  {tls.issuer}")
    if tls.not_after:
        lines.append(f"         expires {tls.not_after}")
    return lines


def _step_lines(step: Step, tls: TLSInfo | None) -> list[str]:
    out: list[str] = []
    phase = step.phase.value
    if step.phase is Phase.RESOLVE:
        text = f"resolved to {step.note}" if step.failure is None else ""
        out.append(f"  * {phase:<9} {text}".rstrip() + f"  {_ms(step)}")
    elif step.phase is Phase.CONNECT:
        text = f"connected to {step.note}" if step.failure is None else f"to {step.note}"
        out.append(f"  * {phase:<9} {text}  {_ms(step)}")
    elif step.phase is Phase.TLS and step.failure is None:
        out.append(f"  * {phase:<9} handshake done  {_ms(step)}".rstrip())
        if tls is not None:
            out.extend(_tls_line(tls))
    if step.command is not None:
        out.append(f"  C: {step.command}")
    if step.reply is not None:
        timing = _ms(step)
        reply_lines = step.reply.display().split("\n")
        for i, line in enumerate(reply_lines):
            suffix = f"  {timing}" if i == len(reply_lines) - 1 and timing else ""
            out.append(f"  S: {line}{suffix}")
    if step.failure is not None:
        detail = f": {step.failure.detail}" if step.failure.detail else ""
        out.append(f"  ! {phase:<9} {step.failure.kind.value}{detail}  {_ms(step)}".rstrip())
    if step.phase is Phase.SECURITY_CHECK and step.note:
        out.append(f"    → {step.note}")
    return out


def format_origin(origin: Origin | None, lang: str, proxy: str | None = None) -> list[str]:
    """Where the probe came from: local and public address, how learned, country."""
    labels = _LABELS[lang]
    if origin is None:
        return []
    unknown = str(labels["unknown"])
    public = origin.public_address or unknown
    how = f" ({origin.method})" if origin.public_address else ""
    country = origin.country or unknown
    dated = f", {labels['data']} {origin.data_date}" if origin.country and origin.data_date else ""
    via = f"  {labels['via']} {proxy}" if proxy else ""
    lines = [
        f"  {labels['origin']}  {labels['local']} {origin.local_address or unknown} → "
        f"{labels['public']} {public}{how}  {labels['country']} {country}{dated}{via}"
    ]
    if origin.echoed_address and origin.echoed_address != origin.public_address:
        lines.append(f"          {labels['echo']}: {origin.echoed_address}")
    lines.extend(f"          ({note})" for note in origin.notes)
    return lines


def format_readiness(readiness: GmailReadiness, lang: str) -> str:
    """The Gmail readiness section: ready or not, why, and how to test from abroad."""
    labels = _LABELS[lang]
    states = labels["ready"]
    assert isinstance(states, dict)
    lines = [f"{labels['readiness']}: {states[readiness.ready]}"]
    lines.extend(f"  - {reason.text.get(lang)}" for reason in readiness.reasons)
    if readiness.ready is not True:
        lines.extend(f"    $ {line}" for line in readiness.test_command.split("\n"))
    return "\n".join(lines)


def format_verdict(report: Report, lang: str) -> str:
    """The verdict block alone: category, stage, retry advice, cause, remedy, evidence."""
    labels = _LABELS[lang]
    v = report.verdict
    stage = f" ({labels['stage']} {v.stage})" if v.stage else ""
    retry = labels["retry"] if v.retryable else labels["noretry"]
    lines = [f"{labels['verdict']}: {v.category}{stage}"]
    if not v.ok:
        lines.append(f"  {retry}")
    lines.append(f"  {labels['cause']}: {v.cause.get(lang)}")
    lines.append(f"  {labels['remedy']}: {v.remedy.get(lang)}")
    for finding in v.findings:
        lines.append(f"  {labels['finding']} [{finding.id}]: {finding.message.get(lang)}")
    if v.fallback:
        lines.append(f"  {labels['codeonly']}")
    if v.evidence:
        lines.append(f"  {labels['evidence']}: {v.evidence} (rule {v.rule_id})")
    if report.expect:
        met = labels["met"]
        assert isinstance(met, dict)
        lines.append(f"{labels['expected']}: {', '.join(report.expect)} — {met[report.expect_met]}")
    return "\n".join(lines)


def format_text(report: Report, lang: str = "en") -> str:
    """The whole human-readable report, redacted."""
    t = report.transcript
    target = t.target
    profile = f"  profile {report.profile.name}" if report.profile else ""
    lines = [f"smtpprobe → {target.host}:{target.port} ({target.security.value}){profile}"]
    if t.username:
        lines.append(f"  user {t.username}  from <{t.sender}>  to <{t.recipient}>")
    else:
        lines.append(f"  no AUTH (--no-auth)  from <{t.sender}>  to <{t.recipient}>")
    lines.extend(format_origin(t.origin, lang, target.proxy))
    for step in t.steps:
        lines.extend(_step_lines(step, t.tls))
    if t.tls is not None and not any(s.phase is Phase.TLS and s.failure is None for s in t.steps):
        lines.extend(_tls_line(t.tls))  # a certificate seen on a second, unverified look
    lines.append("")
    lines.append(format_verdict(report, lang))
    gmail = report.gmail_settings
    if gmail is not None:
        labels = _LABELS[lang]
        lines.append("")
        lines.append(str(labels["gmail"]))
        lines.append(f"  {labels['server']}: {gmail.smtp_server}")
        lines.append(f"  {labels['port']}: {gmail.port}")
        lines.append(f"  {labels['user']}: {gmail.username}")
        lines.append(f"  {labels['password']}: {labels['pwtext']}")
        lines.append(f"  ◉ {gmail.label[lang]}")
        if report.profile is not None and report.profile.gmail_notes is not None:
            lines.append(f"  {report.profile.gmail_notes.get(lang)}")
    if report.gmail_readiness is not None:
        lines.append("")
        lines.append(format_readiness(report.gmail_readiness, lang))
    return report.redactor("\n".join(lines))
