"""The readable report: transcript (client and server lines marked), TLS, timings, verdict.

``text_lines`` builds it as toned lines (``smtpprobe.render.tone``) so that a
terminal can colour failures and the verdict; ``format_text`` is the plain text.
Server replies and commands (``S:``/``C:``) are shown as they are in every
language; everything smtpprobe itself says is in the chosen one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smtpprobe.core.readiness import GmailReadiness
from smtpprobe.core.transcript import (
    AFTER_SASL_ERROR,
    BEFORE_CREDENTIALS,
    RETRIED,
    Origin,
    Phase,
    Step,
    TLSInfo,
    Transcript,
    shown_host,
)
from smtpprobe.render.labels import category_label, note, stage_label
from smtpprobe.render.tone import Line, Tone, exit_tone, join, redact, reply_tone

if TYPE_CHECKING:
    from smtpprobe.api import Report

__all__ = [
    "format_origin",
    "format_readiness",
    "format_text",
    "format_verdict",
    "localized",
    "readiness_lines",
    "text_lines",
    "verdict_lines",
]

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "profile": "profile",
        "user": "user",
        "from": "from",
        "to": "to",
        "noauth": "no AUTH (--no-auth)",
        "resolved": "resolved to {}",
        "connected": "connected to {}",
        "connect_failed": "to {}",
        "handshake": "handshake done",
        "pipelined": "(PIPELINING, RFC 2920: the commands after EHLO went out as one flight)",
        "retried": (
            "(PIPELINING, RFC 2920: the commands after EHLO went out as one flight; its replies "
            "did not fit, so the dialogue was run again one command at a time, shown last)"
        ),
        "certificate": "certificate",
        "verified": "verified",
        "not_verified": "NOT verified ({})",
        "verify_off": "verification off",
        "subject": "subject",
        "issuer": "issuer",
        "expires": "expires",
        "read_again": "(these were read over a second connection, as the verification failed; "
        "a server with several certificates, such as a load balancer, may show another one)",
        "verdict": "Verdict",
        "stage": "{} (at {})",
        "retry": "retrying later may help",
        "noretry": "retrying the same way will not help",
        "cause": "Cause",
        "remedy": "Remedy",
        "evidence": "Evidence",
        "rule": "{} (rule {})",
        "codeonly": "Only the reply code was understood, not its text.",
        "gmail": 'Gmail "Send mail as" settings (Settings > Accounts > Send mail as):',
        "server": "SMTP Server",
        "port": "Port",
        "username": "Username",
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
        "met": "met (exit 0)",
        "not_met": "NOT met",
        "ready": "ready",
        "not_ready": "not ready",
        "unknown_ready": "not shown by this probe",
        "port-speaks:implicit-tls": "the port speaks TLS from the first byte (implicit TLS, "
        "Gmail's SSL)",
        "port-speaks:plaintext-smtp": "the port speaks plaintext SMTP (STARTTLS or plain)",
        "port-speaks:plaintext-smtp-without-starttls": "the port speaks plaintext SMTP and "
        "offers no STARTTLS (no encryption at all)",
    },
    "ja": {
        "profile": "プロファイル",
        "user": "ユーザー",
        "from": "送信者",
        "to": "宛先",
        "noauth": "認証なし（--no-auth）",
        "resolved": "{} に解決",
        "connected": "{} に接続しました",
        "connect_failed": "{} への接続",
        "handshake": "ハンドシェイク完了",
        "pipelined": "（PIPELINING（RFC 2920）: EHLO のあとのコマンドをまとめて送りました）",
        "retried": (
            "（PIPELINING（RFC 2920）: EHLO のあとのコマンドをまとめて送りましたが、"
            "応答が合わなかったため、1 つずつ送るやり取りをやり直しました（最後に表示））"
        ),
        "certificate": "証明書",
        "verified": "検証済み",
        "not_verified": "未検証（{}）",
        "verify_off": "検証なし",
        "subject": "サブジェクト",
        "issuer": "発行者",
        "expires": "有効期限",
        "read_again": "（検証に失敗したため、これらは 2 回目の接続で読み取ったものです。"
        "負荷分散装置など複数の証明書を持つサーバーでは、別の証明書が表示されることがあります）",
        "verdict": "判定",
        "stage": "{}、段階 {}",
        "retry": "時間をおいて再試行すると解決する可能性があります",
        "noretry": "同じ設定のまま再試行しても解決しません",
        "cause": "原因",
        "remedy": "対処",
        "evidence": "根拠",
        "rule": "{}（ルール {}）",
        "codeonly": "応答コードのみから判断しました（本文は認識できませんでした）。",
        "gmail": "Gmail の「他のメールアドレスを追加」（設定 > アカウント > 名前）に入力する値:",
        "server": "SMTP サーバー",
        "port": "ポート",
        "username": "ユーザー名",
        "password": "パスワード",
        "pwtext": "（いま確認したパスワード）",
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
        "met": "一致（終了コード 0）",
        "not_met": "不一致",
        "ready": "準備完了",
        "not_ready": "未完了",
        "unknown_ready": "この確認だけでは判断できません",
        "port-speaks:implicit-tls": "このポートは接続直後から TLS で話します（SSL、implicit-tls）",
        "port-speaks:plaintext-smtp": "このポートは平文の SMTP で話します（STARTTLS または plain）",
        "port-speaks:plaintext-smtp-without-starttls": "このポートは平文の SMTP で話し、"
        "STARTTLS もありません（暗号化できません）",
    },
}


def _labels(lang: str) -> dict[str, str]:
    return _LABELS["ja" if lang == "ja" else "en"]


def _ms(step: Step) -> str:
    return "" if step.elapsed_ms is None else f"{step.elapsed_ms:8.1f} ms"


def localized(text: str, transcript: Transcript, lang: str) -> str:
    """A rule's cause or remedy with the English failure details it quotes put in ``lang``.

    Rules fill ``{detail}`` with the failure's own words (``no reply within 2 s``);
    in Japanese those become Japanese, or a quotation when they are a library's.
    """
    if lang != "ja":
        return text
    details = {s.failure.detail for s in transcript.steps if s.failure and s.failure.detail}
    if transcript.tls is not None and transcript.tls.verify_error:
        details.add(transcript.tls.verify_error)
    for detail in sorted(details, key=len, reverse=True):
        if len(detail) >= 4 and detail in text:
            text = text.replace(detail, note(detail, lang))
    return text


def _tls_lines(tls: TLSInfo, lang: str) -> list[Line]:
    labels = _labels(lang)
    if tls.verified:
        status = labels["verified"]
    else:
        reason = note(tls.verify_error, lang) if tls.verify_error else labels["verify_off"]
        status = labels["not_verified"].format(reason)
    tone = Tone.PLAIN if tls.verified else Tone.BAD
    head = f"    TLS  {tls.version or '?'}  {tls.cipher or '?'}  {labels['certificate']} {status}"
    lines = [Line(head, tone)]
    if tls.subject:
        lines.append(Line(f"         {labels['subject']} {tls.subject}"))
    if tls.san:
        more = " …" if len(tls.san) > 6 else ""
        lines.append(Line(f"         SAN     {', '.join(tls.san[:6])}{more}"))
    if tls.issuer:
        lines.append(Line(f"         {labels['issuer']} {tls.issuer}"))
    if tls.not_after:
        lines.append(Line(f"         {labels['expires']} {tls.not_after}"))
    if not tls.verified and tls.verify_error and (tls.subject or tls.not_after):
        # Python gives no certificate after a failed verification: the driver's second look
        # read it (found by a red-team server that had a stale certificate on one connection).
        lines.append(Line(f"         {labels['read_again']}"))
    return lines


# Phases whose note is shown on their own line above (resolve, connect, TLS).
_NOTED_ABOVE = frozenset({Phase.RESOLVE, Phase.CONNECT, Phase.TLS})
# Notes for the JSON and the rules, not worth a line under every such step.
_QUIET_NOTES = frozenset({"pipelined", BEFORE_CREDENTIALS, AFTER_SASL_ERROR})


def _step_lines(step: Step, tls: TLSInfo | None, lang: str) -> list[Line]:
    labels = _labels(lang)
    out: list[Line] = []
    phase = step.phase.value
    shown = note(step.note or "", lang)
    if step.phase is Phase.RESOLVE:
        text = labels["resolved"].format(shown) if step.failure is None else ""
        out.append(Line(f"  * {phase:<9} {text}".rstrip() + f"  {_ms(step)}"))
    elif step.phase is Phase.CONNECT:
        key = "connected" if step.failure is None else "connect_failed"
        said = labels[key].format(shown).replace("） ", "）")  # no space after a full-width ）
        out.append(Line(f"  * {phase:<9} {said}  {_ms(step)}"))
    elif step.phase is Phase.TLS and step.failure is None:
        out.append(Line(f"  * {phase:<9} {labels['handshake']}  {_ms(step)}".rstrip()))
        if tls is not None:
            out.extend(_tls_lines(tls, lang))
    if step.command is not None:  # as sent; "(…)" is a description of ours, not a command
        command = note(step.command, lang) if step.command.startswith("(") else step.command
        out.append(Line(f"  C: {command}"))
    if step.reply is not None:
        timing = _ms(step)
        tone = reply_tone(step.reply.code)
        reply_lines = step.reply.display().split("\n")
        for i, text in enumerate(reply_lines):
            suffix = f"  {timing}" if i == len(reply_lines) - 1 and timing else ""
            out.append(Line(f"  S: {text}{suffix}", tone))
    if step.failure is not None:
        detail = f": {note(step.failure.detail, lang)}" if step.failure.detail else ""
        text = f"  ! {phase:<9} {step.failure.kind.value}{detail}  {_ms(step)}".rstrip()
        out.append(Line(text, Tone.BAD))
    if step.phase is Phase.SECURITY_CHECK and step.note:
        out.append(Line(f"    → {labels.get(step.note) or note(step.note, lang)}"))
    elif step.note and step.note not in _QUIET_NOTES and step.phase not in _NOTED_ABOVE:
        out.append(Line(f"    → {note(step.note, lang)}", Tone.WARN))
    return out


def format_origin(origin: Origin | None, lang: str, proxy: str | None = None) -> list[str]:
    """Where the probe came from: local and public address, how learned, country."""
    labels = _labels(lang)
    if origin is None:
        return []
    unknown = labels["unknown"]
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
    open_, close = ("（", "）") if lang == "ja" else ("(", ")")
    lines.extend(f"          {open_}{note(text, lang)}{close}" for text in origin.notes)
    return lines


def readiness_lines(readiness: GmailReadiness, lang: str) -> list[Line]:
    """The Gmail readiness section: ready or not, why, and how to test from abroad."""
    labels = _labels(lang)
    state, tone = {
        True: (labels["ready"], Tone.GOOD),
        False: (labels["not_ready"], Tone.BAD),
        None: (labels["unknown_ready"], Tone.WARN),
    }[readiness.ready]
    lines = [Line(f"{labels['readiness']}: {state}", tone)]
    lines.extend(Line(f"  - {reason.text.get(lang)}") for reason in readiness.reasons)
    if readiness.ready is not True:
        for command in readiness.test_command.split("\n"):
            shell, hash_, comment = command.partition("   # ")
            if hash_:
                command = f"{shell}{hash_}{note(comment, lang)}"
            lines.append(Line(f"    $ {command}"))
    return lines


def format_readiness(readiness: GmailReadiness, lang: str) -> str:
    """``readiness_lines`` as plain text."""
    return join(readiness_lines(readiness, lang))


def verdict_lines(report: Report, lang: str) -> list[Line]:
    """The verdict block: category, stage, retry advice, cause, remedy, evidence, expectation."""
    labels = _labels(lang)
    v = report.verdict
    t = report.transcript
    head = category_label(v.category, lang)
    if v.stage:
        head = labels["stage"].format(head, stage_label(v.stage, lang))
    lines = [Line(f"{labels['verdict']}: {head}", exit_tone(v.exit_code))]
    if not v.ok:
        lines.append(Line(f"  {labels['retry'] if v.retryable else labels['noretry']}"))
    lines.append(Line(f"  {labels['cause']}: {localized(v.cause.get(lang), t, lang)}"))
    lines.append(Line(f"  {labels['remedy']}: {localized(v.remedy.get(lang), t, lang)}"))
    for finding in v.findings:
        message = localized(finding.message.get(lang), t, lang)
        lines.append(Line(f"  {labels['finding']} [{finding.id}]: {message}", Tone.WARN))
    if v.fallback:
        lines.append(Line(f"  {labels['codeonly']}"))
    if v.evidence:
        lines.append(
            Line(f"  {labels['evidence']}: {labels['rule'].format(v.evidence, v.rule_id)}")
        )
    if report.expect:
        met = labels["met"] if report.expect_met else labels["not_met"]
        tone = Tone.GOOD if report.expect_met else Tone.BAD
        lines.append(Line(f"{labels['expected']}: {', '.join(report.expect)} — {met}", tone))
    return [Line(part, line.tone) for line in lines for part in line.text.split("\n")]


def format_verdict(report: Report, lang: str) -> str:
    """The verdict block alone, as plain text."""
    return join(verdict_lines(report, lang))


def text_lines(report: Report, lang: str = "en") -> list[Line]:
    """The whole human-readable report as toned lines, redacted."""
    labels = _labels(lang)
    t = report.transcript
    target = t.target
    profile = f"  {labels['profile']} {report.profile.name}" if report.profile else ""
    server = f"{shown_host(target.host)}:{target.port}"
    lines = [Line(f"smtpprobe → {server} ({target.security.value}){profile}")]
    envelope = f"{labels['from']} <{t.sender}>  {labels['to']} <{t.recipient}>"
    who = f"{labels['user']} {t.username}" if t.username else labels["noauth"]
    lines.append(Line(f"  {who}  {envelope}"))
    lines.extend(Line(text) for text in format_origin(t.origin, lang, target.proxy))
    for step in t.steps:
        lines.extend(_step_lines(step, t.tls, lang))
    if t.tls is not None and not any(s.phase is Phase.TLS and s.failure is None for s in t.steps):
        lines.extend(_tls_lines(t.tls, lang))  # a certificate seen on a second, unverified look
    if any(step.note == RETRIED for step in t.steps):
        lines.append(Line(f"  {labels['retried']}"))
    elif any(step.note == "pipelined" for step in t.steps):
        lines.append(Line(f"  {labels['pipelined']}"))
    lines.append(Line(""))
    lines.extend(verdict_lines(report, lang))
    gmail = report.gmail_settings
    if gmail is not None:
        lines.append(Line(""))
        lines.append(Line(labels["gmail"]))
        lines.append(Line(f"  {labels['server']}: {gmail.smtp_server}"))
        lines.append(Line(f"  {labels['port']}: {gmail.port}"))
        lines.append(Line(f"  {labels['username']}: {gmail.username}"))
        lines.append(Line(f"  {labels['password']}: {labels['pwtext']}"))
        lines.append(Line(f"  ◉ {gmail.label['ja' if lang == 'ja' else 'en']}", Tone.GOOD))
        if report.profile is not None and report.profile.gmail_notes is not None:
            lines.extend(Line(f"  {p}") for p in report.profile.gmail_notes.get(lang).split("\n"))
    if report.gmail_readiness is not None:
        lines.append(Line(""))
        lines.extend(readiness_lines(report.gmail_readiness, lang))
    return redact(lines, report.redactor)


def format_text(report: Report, lang: str = "en") -> str:
    """The whole human-readable report, redacted."""
    return join(text_lines(report, lang))
