"""The public API is what README documents; a change to it is deliberate."""

from __future__ import annotations

import smtpprobe


def test_all_is_pinned_and_sorted() -> None:
    assert smtpprobe.__all__ == [
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
    assert smtpprobe.__all__ == sorted(smtpprobe.__all__)


def test_every_name_resolves() -> None:
    for name in smtpprobe.__all__:
        assert getattr(smtpprobe, name) is not None
