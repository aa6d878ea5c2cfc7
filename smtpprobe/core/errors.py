"""The root of smtpprobe's exceptions, here so the pure core can raise and subclass them."""

from __future__ import annotations

__all__ = ["ConfigError", "SmtpprobeError"]


class SmtpprobeError(Exception):
    """Base of every error that means "smtpprobe cannot run as asked" (exit code 2)."""


class ConfigError(SmtpprobeError, ValueError):
    """An option or a combination of options that cannot work; the message says which."""
