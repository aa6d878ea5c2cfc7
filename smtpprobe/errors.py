"""smtpprobe's exceptions. Server replies and transport failures are never exceptions.

::

    SmtpprobeError          smtpprobe cannot run as asked (exit code 2)
    ├── ConfigError         bad option, missing password, bad source address
    ├── ProfileError        a profile file is missing, malformed or unknown
    └── RuleError           a rule file is malformed

``ConfigError`` is raised by the pure ``smtpprobe.core.spec``; ``ProfileError``
and ``RuleError`` live next to the schemas they guard (``smtpprobe.core.profile``,
``smtpprobe.core.rules``); all are re-exported here.
"""

from __future__ import annotations

from smtpprobe.core.errors import ConfigError, SmtpprobeError
from smtpprobe.core.profile import ProfileError
from smtpprobe.core.rules import RuleError

__all__ = ["ConfigError", "ProfileError", "RuleError", "SmtpprobeError"]
