"""A finished probe as the API returns it: transcript, verdict, and what it means for Gmail."""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING

from smtpprobe.core.classify import ExitCode, Verdict
from smtpprobe.core.profile import Profile
from smtpprobe.core.readiness import GmailReadiness
from smtpprobe.core.record import record
from smtpprobe.core.redact import Redactor
from smtpprobe.core.transcript import Security, Transcript

if TYPE_CHECKING:
    from smtpprobe.core.dnsverdict import DnsAuth

__all__ = ["GmailSettings", "Report"]


@record
class GmailSettings:
    """The values to type into Gmail's "Send mail as" dialog after a successful probe."""

    smtp_server: str
    port: int
    username: str
    security: str  # "ssl" or "tls", as Gmail's two radio buttons

    @property
    def label(self) -> dict[str, str]:
        """The radio button's caption in English and Japanese."""
        if self.security == "ssl":
            return {
                "en": "Secured connection using SSL",
                "ja": "SSL を使用したセキュリティで保護された接続",
            }
        return {
            "en": "Secured connection using TLS",
            "ja": "TLS を使用したセキュリティで保護された接続",
        }


@record
class Report:
    """One finished probe: what happened, the verdict, and what to type into Gmail."""

    transcript: Transcript
    verdict: Verdict
    profile: Profile | None
    started_at: str
    redactor: Redactor = field(repr=False)
    gmail_readiness: GmailReadiness | None = None
    expect: tuple[str, ...] = ()
    dns_auth: DnsAuth | None = None  # the From domain's SPF/DKIM/DMARC (issue 11), when run

    @property
    def expect_met(self) -> bool | None:
        """With ``expect``: whether the verdict's category is one of them; else None."""
        if not self.expect:
            return None
        return self.verdict.category in self.expect

    @property
    def exit_code(self) -> int:
        """The process exit code: the verdict's, or with ``expect``, 0 when it was met.

        An unmet expectation is 1 (the server behaved otherwise), or the
        verdict's own 3 when the dialogue could not be completed.
        """
        if not self.expect:
            return int(self.verdict.exit_code)
        if self.expect_met:
            return int(ExitCode.ACCEPTED)
        if self.verdict.exit_code is ExitCode.INCOMPLETE:
            return int(ExitCode.INCOMPLETE)
        return int(ExitCode.REFUSED)

    @property
    def gmail_settings(self) -> GmailSettings | None:
        """Only when everything passed with authentication over TLS: Gmail refuses plaintext."""
        target = self.transcript.target
        if not self.verdict.ok or self.transcript.no_auth or target.security is Security.PLAIN:
            return None
        return GmailSettings(
            smtp_server=target.host,
            port=target.port,
            username=self.transcript.username or "",
            security="ssl" if target.security is Security.IMPLICIT_TLS else "tls",
        )
