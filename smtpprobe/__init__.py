"""smtpprobe: a real SMTP submission probe with a bilingual diagnosis.

The public API (see README "Python API")::

    from smtpprobe import CheckOptions, check
    report = check(CheckOptions(profile="ocn", user="me@example.ocn.ne.jp", password=pw))
    print(report.verdict.category, report.verdict.remedy.ja)

Imports are lazy so that ``smtpprobe --help`` stays fast.
"""

from __future__ import annotations

# Not typing's: importing typing takes ~10 ms, and a Ctrl-C in that time, before the entry
# point's handler is set up, would print a traceback (smtpprobe.entry).
TYPE_CHECKING = False

__version__ = "0.1.0"

__all__ = [
    "CheckOptions",
    "Report",
    "Security",
    "Verdict",
    "__version__",
    "check",
    "classify",
    "explain",
    "probe",
]

if TYPE_CHECKING:
    from typing import Any

    from smtpprobe.api import CheckOptions, Report, check, explain, probe
    from smtpprobe.core.classify import Verdict, classify
    from smtpprobe.core.transcript import Security

_LAZY = {
    "CheckOptions": "smtpprobe.api",
    "Report": "smtpprobe.api",
    "check": "smtpprobe.api",
    "explain": "smtpprobe.api",
    "probe": "smtpprobe.api",
    "Verdict": "smtpprobe.core.classify",
    "classify": "smtpprobe.core.classify",
    "Security": "smtpprobe.core.transcript",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'smtpprobe' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
