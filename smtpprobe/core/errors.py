"""The root of smtpprobe's exceptions, here so the pure core can subclass it."""

from __future__ import annotations

__all__ = ["SmtpprobeError"]


class SmtpprobeError(Exception):
    """Base of every error that means "smtpprobe cannot run as asked" (exit code 2)."""
