"""The facts an explanation of a paste carries beside a verdict's own (names, no logic).

They tell a reader and the rules how a pasted reply or error was read: without its code,
from general words, as a guess, from a server on the way to the recipient, and so on.
``smtpprobe.core.explain`` sets them and re-exports these names.
"""

from __future__ import annotations

__all__ = [
    "AUTH_AFTER_STARTTLS",
    "AUTH_MECHANISMS_UNUSABLE",
    "CODELESS",
    "FAILURE_REPORTED",
    "FAMILY",
    "GUESSED",
    "REMOTE_MTA",
    "STAGE_UNKNOWN",
]

CODELESS = "codeless"  # the fact of a Found that is a refusal's words without a code
STAGE_UNKNOWN = "stage-unknown"  # the fact of a pasted reply whose command is not known
FAMILY = "family"  # the fact of a client error read from general words (client_errors families)
GUESSED = "guessed"  # the fact of a Found that is the learned guess (smtpprobe.core.guess)
# The fact of a reply a bounce says a server on the way to the recipient gave ("host
# mx.example.net said:"), not the user's own submission server
# (``smtpprobe.core.refusers.remote_mta``).
REMOTE_MTA = "remote-mta"
# The paste itself says the delivery failed (a bounce's or a log's own words): a positive
# reply in it is then not an acceptance (rule positive-reply-in-failure).
FAILURE_REPORTED = "failure-reported"
# The paste shows the server's EHLO answer offering STARTTLS and no AUTH, and the client
# never sending STARTTLS: a login it then reports as failed was never possible (RFC 3207
# section 6: a server may offer AUTH only after TLS; RFC 4954 section 4).
AUTH_AFTER_STARTTLS = "auth-after-starttls"
# The paste shows the server's EHLO answer offering AUTH only with mechanisms a program that
# logs in with a password does not use (NTLM, GSSAPI), and the program reports a failed login:
# it had no method to try (RFC 4954 section 4: the client picks from the server's list).
AUTH_MECHANISMS_UNUSABLE = "auth-mechanisms-unusable"
