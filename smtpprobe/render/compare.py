"""``smtpprobe compare``'s outputs: one table and the conclusion, or one JSON document.

Schema ``smtpprobe/compare/v1``: each route's full ``smtpprobe/check/v1``
report under ``routes[].report``, and the conclusion in both languages.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from smtpprobe import __version__
from smtpprobe.render.json import report_to_dict
from smtpprobe.render.text import format_readiness

if TYPE_CHECKING:
    from smtpprobe.api import Comparison

__all__ = ["COMPARE_SCHEMA", "format_compare_json", "format_compare_text"]

COMPARE_SCHEMA = "smtpprobe/compare/v1"

_HEADERS = {
    "en": ("route", "egress address", "country", "stopped at", "verdict"),
    "ja": ("経路", "接続元アドレス", "国", "停止段階", "判定"),
}
_CONCLUSION = {"en": "Conclusion", "ja": "結論"}


def format_compare_text(result: Comparison, lang: str = "en") -> str:
    """The table of routes and the conclusion (not yet redacted: the CLI redacts)."""
    rows: list[tuple[str, ...]] = [_HEADERS.get(lang, _HEADERS["en"])]
    for route, report in zip(result.routes, result.reports, strict=True):
        origin = report.transcript.origin
        address = "?"
        if origin is not None:
            address = origin.public_address or f"{origin.local_address or '?'} (local)"
            if origin.public_address:
                address += f" ({origin.method})"
        country = (origin.country if origin else None) or "-"
        stage = report.verdict.stage or "-"
        rows.append((route.name, address, country, stage, report.verdict.category))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(col.ljust(widths[i]) for i, col in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"{_CONCLUSION.get(lang, 'Conclusion')}: {result.conclusion.text.get(lang)}")
    readiness = next((r.gmail_readiness for r in result.reports if r.gmail_readiness), None)
    if readiness is not None:
        lines.append("")
        lines.append(format_readiness(readiness, lang))
    return "\n".join(lines)


def compare_to_dict(result: Comparison) -> dict[str, Any]:
    """The comparison as plain JSON-ready data."""
    return {
        "schema": COMPARE_SCHEMA,
        "tool": {"name": "smtpprobe", "version": __version__},
        "routes": [
            {"route": route.name, "report": report_to_dict(report)}
            for route, report in zip(result.routes, result.reports, strict=True)
        ],
        "conclusion": {
            "kind": result.conclusion.kind,
            "en": result.conclusion.text.en,
            "ja": result.conclusion.text.ja,
            "routes": list(result.conclusion.routes),
        },
        "exit_code": result.exit_code,
    }


def format_compare_json(result: Comparison) -> str:
    """The comparison as one JSON document (not yet redacted: the CLI redacts)."""
    return json.dumps(compare_to_dict(result), ensure_ascii=False, indent=2)
