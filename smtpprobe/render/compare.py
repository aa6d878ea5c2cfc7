"""``smtpprobe compare``'s outputs: one table and the conclusion, or one JSON document.

Schema ``smtpprobe/compare/v1``: each route's full ``smtpprobe/check/v1``
report under ``routes[].report``, and the conclusion in both languages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from smtpprobe import __version__
from smtpprobe.render.columns import table
from smtpprobe.render.json import report_to_dict
from smtpprobe.render.labels import category_label, stage_label
from smtpprobe.render.text import readiness_lines
from smtpprobe.render.tone import Line, Tone, exit_tone, join

if TYPE_CHECKING:
    from smtpprobe.api import Comparison

__all__ = ["COMPARE_SCHEMA", "compare_lines", "format_compare_json", "format_compare_text"]

COMPARE_SCHEMA = "smtpprobe/compare/v1"

_HEADERS = {
    "en": ("route", "egress address", "country", "stopped at", "verdict"),
    "ja": ("経路", "接続元アドレス", "国", "停止段階", "判定"),
}
_CONCLUSION = {"en": "Conclusion", "ja": "結論"}
_LOCAL = {"en": "{} (local)", "ja": "{}（ローカル）"}


def compare_lines(result: Comparison, lang: str = "en") -> list[Line]:
    """The table of routes (each verdict toned by its exit code) and the conclusion.

    Not yet redacted: the CLI redacts with every route's secrets.
    """
    key = "ja" if lang == "ja" else "en"
    rows: list[tuple[str, ...]] = [_HEADERS[key]]
    tones = [Tone.PLAIN, Tone.PLAIN]  # the header and its rule
    for route, report in zip(result.routes, result.reports, strict=True):
        origin = report.transcript.origin
        address = "?"
        if origin is not None:
            address = origin.public_address or _LOCAL[key].format(origin.local_address or "?")
            if origin.public_address:
                address += f" ({origin.method})"
        country = (origin.country if origin else None) or "-"
        # Japanese names alone (the conclusion names the id): the table fits 80 columns.
        stage = stage_label(report.verdict.stage, lang, short=True) if report.verdict.stage else "-"
        verdict = category_label(report.verdict.category, lang, short=True)
        rows.append((route.name, address, country, stage, verdict))
        tones.append(exit_tone(report.verdict.exit_code))
    lines = [Line(text, tone) for text, tone in zip(table(rows), tones, strict=True)]
    lines.append(Line(""))
    lines.append(Line(f"{_CONCLUSION[key]}: {result.conclusion.text.get(lang)}"))
    readiness = next((r.gmail_readiness for r in result.reports if r.gmail_readiness), None)
    if readiness is not None:
        lines.append(Line(""))
        lines.extend(readiness_lines(readiness, lang))
    return lines


def format_compare_text(result: Comparison, lang: str = "en") -> str:
    """The table of routes and the conclusion (not yet redacted: the CLI redacts)."""
    return join(compare_lines(result, lang))


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


def format_compare_json(result: Comparison, *scrubbers: Callable[[str], str]) -> str:
    """The comparison as one JSON document, its strings masked by ``scrubbers``."""
    from smtpprobe.core.redact import scrub_data

    data = scrub_data(compare_to_dict(result), *scrubbers)
    return json.dumps(data, ensure_ascii=False, indent=2)
