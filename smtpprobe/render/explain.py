"""Renderers for ``smtpprobe explain``: text and JSON (schema ``smtpprobe/explain/v1``).

Each explained reply or client-side error carries a verdict in exactly the shape
of ``check``'s ``verdict`` object (``smtpprobe.render.json.verdict_to_dict``), so
scripts read both the same way. A client-side error has ``reply: null`` and a
``failure`` (``{kind, detail}``, as a ``check`` step's) instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from smtpprobe import __version__
from smtpprobe.core.client_errors import HINT_SCAN, Hint
from smtpprobe.core.explain import CODELESS, FAMILY, GUESSED, REFUSERS, Explanation
from smtpprobe.core.pasted import Pasted
from smtpprobe.render.json import reply_to_dict, verdict_to_dict
from smtpprobe.render.labels import category_label, failure_label, quote, stage_label
from smtpprobe.render.tone import Line, join, reply_tone

__all__ = [
    "EXPLAIN_SCHEMA",
    "explain_lines",
    "explanations_to_dict",
    "format_explain_json",
    "format_explain_text",
]

EXPLAIN_SCHEMA = "smtpprobe/explain/v1"

_LABELS = {
    "en": {
        "reply": "Reply",
        "of": "of",
        "after": "found after",
        "category": "Category",
        "refuser": "Refused by",
        "likely": "Refused by (most likely; the text does not say)",
        "host": "server",
        "stage": "Answering",
        "retry": "Retry",
        "yes": "may help later (a temporary condition)",
        "no": "will not help until the cause is fixed",
        "cause": "Cause",
        "remedy": "Remedy",
        "evidence": "Evidence",
        "codeonly": "Only the reply code was understood, not its text (no rule knew the words).",
        "profile": "Provider",
        "rule": "{} (rule {})",
        "none": (
            "No SMTP reply (a line like '550 5.7.1 …') and no client-side error "
            "(like 'ECONNREFUSED' or 'certificate verify failed') was found in the input."
        ),
        "kind": "Client error {n} of {total}  ({kind}; no SMTP reply: the program's own words)",
        "codeless": (
            "Refusal {n} of {total}  (a server's words without their SMTP code: "
            "judged by the words alone)"
        ),
        "family": (
            "Client error {n} of {total}  ({kind}; no known program's message: "
            "read from its general words, so this is the likely reading, not a certain one)"
        ),
        "guess": (
            "Guess {n} of {total}  (no SMTP reply and no known error in the text: the category "
            "whose real errors its words are most like)"
        ),
        "words": "Telling words",
        "error": "Message",
        "ownerror": "the program's own mistake, not a server's refusal",
        "server": "Server",
        "port": "port {}",
        "failedat": "Failed at",
        "note": "Note",
        "partly": (
            "Words without a reply code are read in the first and last 64 KB of a paste; "
            "this one has {chars} characters: if the error is in between, paste that part."
        ),
    },
    "ja": {
        "reply": "応答",
        "of": "/",
        "after": "直前の文言",
        "category": "分類",
        "refuser": "拒否したのは",
        "likely": "拒否したのは（推定。本文には書かれていません）",
        "host": "サーバー",
        "stage": "対象のコマンド",
        "retry": "再試行",
        "yes": "時間をおけば解決する可能性があります（一時的な状態）",
        "no": "原因を解消するまで再試行しても解決しません",
        "cause": "原因",
        "remedy": "対処",
        "evidence": "根拠",
        "codeonly": "本文を説明するルールがなく、応答コードのみから判断しました。",
        "profile": "プロバイダー",
        "rule": "{}（ルール {}）",
        "none": (
            "入力に SMTP の応答（「550 5.7.1 …」のような行）も、クライアント側のエラー"
            "（「ECONNREFUSED」「certificate verify failed」など）も見つかりませんでした。"
        ),
        "kind": (
            "クライアント側のエラー {n} / {total}"
            "（{kind}。SMTP の応答はなく、プログラム自身の表示です）"
        ),
        "codeless": (
            "拒否の文面 {n} / {total}"
            "（SMTP の応答コードがなく、サーバーの文言だけから判断しました）"
        ),
        "family": (
            "クライアント側のエラー {n} / {total}"
            "（{kind}。既知のプログラムのメッセージではないため、一般的な語句から推定した結果です）"
        ),
        "guess": (
            "推測 {n} / {total}"
            "（SMTP の応答も既知のエラーもないため、語句が最も近い実際のエラーの分類を示します）"
        ),
        "words": "手がかりの語句",
        "error": "表示",
        "ownerror": "サーバーによる拒否ではなく、プログラム自身の誤り",
        "server": "サーバー",
        "port": "ポート {}",
        "failedat": "失敗した段階",
        "note": "補足",
        "partly": (
            "応答コードのない文言は、貼り付けた文章の最初と最後の 64 KB だけを読みます。"
            "この文章は {chars} 文字あります。"
            "エラーがその間にある場合は、その部分を貼り付けてください。"
        ),
    },
}


def explain_lines(
    explanations: list[Explanation],
    lang: str = "en",
    hints: Sequence[Hint] = (),
    chars: int = 0,
) -> list[Line]:
    """Each reply (toned as a reply), then its verdict: category, who refused, retry, cause,
    remedy, evidence. With nothing recognised (nothing, or only a guess), the hints for the
    paste's words, if any, and for a paste of ``chars`` characters whose middle was not read
    for words (``smtpprobe.core.client_errors.read_parts``), a note saying so."""
    labels = _LABELS["ja" if lang == "ja" else "en"]
    key = "ja" if lang == "ja" else "en"
    unsure = not explanations or all(GUESSED in item.found.facts for item in explanations)
    partly = (
        [Line(f"{labels['note']}: {labels['partly'].format(chars=f'{chars:,}')}")]
        if unsure and chars > 2 * HINT_SCAN
        else []
    )
    if not explanations:
        return (
            [Line(labels["none"])]
            + [Line(f"{labels['note']}: {hint.text.get(key)}") for hint in hints]
            + partly
        )
    out: list[Line] = []
    total = len(explanations)
    for number, item in enumerate(explanations, 1):
        found, verdict = item.found, item.verdict
        if found.reply is None:
            out.extend(_client_error_head(item, labels, lang, number, total))
        else:
            head = f"{labels['reply']} {number} {labels['of']} {total}"
            if found.wrapper:
                head += f'  ({labels["after"]} "{found.wrapper}")'
            out.append(Line(head))
            tone = reply_tone(found.reply.code)
            out.extend(Line(f"  S: {line}", tone) for line in found.reply.display().split("\n"))
            out.append(Line(f"  {labels['category']}: {category_label(verdict.category, lang)}"))
            if verdict.category != "ok":  # a positive reply: no one refused anything
                refuser = REFUSERS[item.refuser].get(lang)
                if found.host:
                    refuser += f" — {labels['host']} {found.host}"
                who = labels["likely"] if item.refuser_inferred else labels["refuser"]
                out.append(Line(f"  {who}: {refuser}"))
            if found.stage:
                out.append(Line(f"  {labels['stage']}: {stage_label(found.stage, lang)}"))
        if item.profile:
            out.append(Line(f"  {labels['profile']}: {item.profile}"))
        if verdict.category != "ok":  # nothing to retry after a positive reply
            retry = labels["yes"] if verdict.retryable else labels["no"]
            out.append(Line(f"  {labels['retry']}: {retry}"))
        out.extend(
            Line(f"  {labels['cause']}: {part}") for part in verdict.cause.get(lang).split("\n")
        )
        out.extend(
            Line(f"  {labels['remedy']}: {part}") for part in verdict.remedy.get(lang).split("\n")
        )
        out.extend(Line(f"  {labels['note']}: {f.message.get(lang)}") for f in verdict.findings)
        if verdict.fallback in ("enhanced", "code"):
            out.append(Line(f"  {labels['codeonly']}"))
        if verdict.evidence:
            evidence = labels["rule"].format(verdict.evidence, verdict.rule_id)
            out.append(Line(f"  {labels['evidence']}: {evidence}"))
        out.append(Line(""))
    # Only a guess: what the paste's words say about where the real error is, too.
    out.extend(Line(f"{labels['note']}: {hint.text.get(key)}") for hint in hints)
    out.extend(partly)
    while out and not out[-1].text:
        out.pop()
    return out


def _client_error_head(
    item: Explanation, labels: dict[str, str], lang: str, number: int, total: int
) -> list[Line]:
    """A client-side error: the program's words, the category, the server it names."""
    found, verdict = item.found, item.verdict
    kind = failure_label(found.failure or "", lang)
    if item.refuser == "client":  # no server refused: the program broke its own rules
        kind = labels["ownerror"]
    if GUESSED in found.facts:
        return [
            Line(labels["guess"].format(n=number, total=total)),
            Line(f"  {labels['words']}: {found.evidence}"),
            Line(f"  {labels['category']}: {category_label(verdict.category, lang)}"),
        ]
    if CODELESS in found.facts:
        head = labels["codeless"].format(n=number, total=total)
    elif FAMILY in found.facts:
        head = labels["family"].format(n=number, total=total, kind=kind)
    else:
        head = labels["kind"].format(n=number, total=total, kind=kind)
    words = " ".join(found.evidence.split())
    lines = [
        Line(head),
        # The program's words stay as they are, quoted in a Japanese report.
        Line(f"  {labels['error']}: {quote(words) if lang == 'ja' else words}"),
        Line(f"  {labels['category']}: {category_label(verdict.category, lang)}"),
    ]
    if item.refuser != "unknown":
        who = labels["likely"] if item.refuser_inferred else labels["refuser"]
        lines.append(Line(f"  {who}: {REFUSERS[item.refuser].get(lang)}"))
    port = next((f.split(":", 1)[1] for f in sorted(found.facts) if f.startswith("port:")), None)
    if found.host or port:
        where = " ".join(
            part for part in (found.host or "", labels["port"].format(port) if port else "") if part
        )
        lines.append(Line(f"  {labels['server']}: {where}"))
    if found.stage:
        lines.append(Line(f"  {labels['failedat']}: {stage_label(found.stage, lang)}"))
    return lines


def format_explain_text(
    explanations: list[Explanation], lang: str = "en", hints: Sequence[Hint] = (), chars: int = 0
) -> str:
    """``explain_lines`` as plain text."""
    return join(explain_lines(explanations, lang, hints, chars))


def explanations_to_dict(
    pasted: Pasted, explanations: list[Explanation], hints: Sequence[Hint] = ()
) -> dict[str, Any]:
    """The ``smtpprobe/explain/v1`` document as plain data (``hints``: only where no reply
    or error was explained; an empty list otherwise)."""
    return {
        "schema": EXPLAIN_SCHEMA,
        "tool": {"name": "smtpprobe", "version": __version__},
        "input": {"bytes": pasted.size, "encoding": pasted.encoding, "kind": pasted.kind},
        "replies": [
            {
                "reply": reply_to_dict(item.found.reply),
                "failure": (
                    None
                    if item.found.failure is None
                    else {"kind": item.found.failure, "detail": item.found.evidence}
                ),
                "facts": sorted(item.found.facts),
                "code_inferred": item.found.code_inferred,
                "stage": item.found.stage,
                "host": item.found.host,
                "status": item.found.status,
                "wrapper": item.found.wrapper or None,
                "send_mail_as": item.found.send_mail_as,
                "profile": item.profile,
                "refuser": item.refuser,
                "refuser_inferred": item.refuser_inferred,
                "verdict": verdict_to_dict(item.verdict) | {"refuser": item.refuser},
            }
            for item in explanations
        ],
        "hints": [{"id": h.id, "en": h.text.en, "ja": h.text.ja} for h in hints],
        # As the command exits: 0 only when a reply or a known error was recognised.
        "exit_code": 0 if any(GUESSED not in e.found.facts for e in explanations) else 1,
    }


def format_explain_json(
    pasted: Pasted, explanations: list[Explanation], hints: Sequence[Hint] = ()
) -> str:
    """One JSON document for all replies found."""
    document = explanations_to_dict(pasted, explanations, hints)
    return json.dumps(document, ensure_ascii=False, indent=2)
