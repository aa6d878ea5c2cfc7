"""Renderers: pure ``format_*`` functions from a Report to text or JSON.

Every renderer passes its result through the report's redactor before
returning it, so nothing that leaves the program can carry a secret.

The names below load on first use (PEP 562): ``smtpprobe.render.labels``, which every
command reads for its language, would otherwise import the whole classifier with them
(a third of ``smtpprobe --help``'s start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smtpprobe.render.json import SCHEMA, format_json, report_to_dict
    from smtpprobe.render.text import format_text

__all__ = ["SCHEMA", "format_json", "format_text", "report_to_dict"]

_HOME = {
    "SCHEMA": "smtpprobe.render.json",
    "format_json": "smtpprobe.render.json",
    "report_to_dict": "smtpprobe.render.json",
    "format_text": "smtpprobe.render.text",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
