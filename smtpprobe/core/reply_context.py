"""What the words around a reply found in a paste say about it.

The SMTP stage it answered (Postfix's "(in reply to RCPT TO command)", a client's exception
name, the command a transcript echoes above it, nodemailer's ``command: 'AUTH PLAIN'``), the
host that sent it ("host X said"), the address it was about, and the RFC 3464 delivery
status fields of its block. ``smtpprobe.core.bounce`` finds the replies and asks this module
about their surroundings. Pure: text in, values out; every pattern here is held to linear
time by ``tests/core/test_regex_safety.py``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from smtpprobe.core.lazyre import GuardedPattern
from smtpprobe.core.record import record

__all__ = [
    "DSN_FIELD",
    "ECHO_BARE",
    "ECHO_MARKED",
    "ENHANCED_CODE",
    "NET_CMD_OBJECT",
    "STAGE_HINT",
    "DsnBlocks",
    "echoed_stage",
    "first_stage",
    "host_named",
    "keyed_stage",
    "mta_or_address",
    "recipient_named",
]

# An RFC 3463 enhanced status code at the start of the text (a DSN's Status, a reply's words).
ENHANCED_CODE = GuardedPattern(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$|[,;:])")

# The stage a reply answered, as the words around it say it: Postfix's "(in reply to RCPT TO
# command)", Exim's "after RCPT TO:<x>:" ("after pipelined RCPT TO" when it pipelined the
# command: transports/smtp.c, check_response), Postfix smtpd's "reject: RCPT from", a client's
# exception name (smtplib's SMTPRecipientsRefused, JavaMail's AuthenticationFailedException,
# .NET's SmtpFailedRecipientException) or message (PHPMailer's "MAIL FROM command failed",
# nodemailer's "Invalid login", "Invalid greeting").
_STAGE_WORDS = (
    (
        "rcpt",
        r"in reply to (?:the )?rcpt to|after (?:pipelined )?rcpt to|>>> rcpt to|reject: rcpt from|"
        r"rejected rcpt\b|for rcpt to command|rcpt to command failed|recipientsrefused|"
        r"smtpfailedrecipient|recipients was rejected by\s{1,8}the server|(?-i:RCPT failed: )|"
        r"受信者の 1 人がサーバーによって拒否|[\"']rcpt to:|"
        # Outlook's 0x800CCC79 in French and Portuguese (Microsoft's own localized pages:
        # support.microsoft.com/kb/290842/fr, the pt-pt article 65b494a4).
        r"l.un des destinataires a été refusé par le serveur|"
        r"um dos destinatários foi rejeitado pelo servidor|"
        # qmail-remote's report (notqmail's qmail-remote.c), "_" for spaces in qmail-send's log
        r"does(?:_|\s)not(?:_|\s)like(?:_|\s)recipient",
    ),
    (
        "mail",
        r"in reply to (?:the )?mail from|after (?:pipelined )?mail from|>>> mail from|"
        r"reject: mail from|rejected mail\b|for mail from command|mail from command failed|"
        r"sending mail command|senderrefused|[\"']mail from:|(?-i:MAIL failed: )|"
        r"but(?:_|\s)sender(?:_|\s)was(?:_|\s)rejected",
    ),
    (
        "data",
        r"end of data|after (?:pipelined )?(?:end of )?data|in reply to data|>>> data|"
        r"reject: (?:data|end-of-message) from|milter-reject: end-of-message|smtpdataerror|"
        r"data (?:end )?command failed|(?-i:DATA failed: )|expected response code 354\b|"
        r"failed(?:_|\s)on(?:_|\s)data(?:_|\s)command",
    ),
    (
        "ehlo",
        r"in reply to (?:the )?(?:ehlo|helo)|after (?:ehlo|helo)|reject: (?:ehlo|helo) from|"
        r"smtpheloerror|(?:ehlo|helo) command failed|rejected (?:ehlo|helo)\b",
    ),
    (
        "auth",
        r"in reply to (?:the )?auth|after auth|authenticationerror|authenticationfailed|"
        r"autherror|(?:password|username|auth) command failed|failed to authenticate|"
        r"invalid login|expected response code 235\b|"
        # CodeIgniter's failedSMTPLogin: the reply after it answered AUTH LOGIN
        # (codeigniter4/CodeIgniter4 system/Email/Email.php, SMTPAuthenticate)
        r"failed to send auth login command",
    ),
    (
        "greeting",
        r"initial connection|in reply to initial|after connect|reject: connect from|"
        r"smtpconnecterror|refused to talk to me|invalid greeting|rejected connection\b",
    ),
    (
        "starttls",
        # "SMTP server did not accept STARTTLS with error: 500 …" (github.com/maildev/maildev
        # issues/187, development corpus)
        r"in reply to (?:the )?starttls|starttls command failed|connection with starttls|"
        r"did not accept starttls",
    ),
)
# A space in the words stands for any run of spaces: Postfix indents its re-wrapped lines
# ("(in reply to MAIL\n    FROM command)"), and the window has its line breaks as spaces.
_ANY_SPACES = r"\s{1,8}"
STAGE_HINT = GuardedPattern(
    "|".join(f"(?P<{stage}>{words.replace(' ', _ANY_SPACES)})" for stage, words in _STAGE_WORDS),
    re.I,
)
_STAGE_ORDER = tuple(stage for stage, _ in _STAGE_WORDS)  # the first one named wins
# Perl's Net::Cmd names the object before its debug arrows, "Net::SMTP=GLOB(0x267ec28)>>> EHLO x"
# and "Net::SMTP=GLOB(0x267ec28)<<< 550 …" (git send-email --smtp-debug): the start of the line.
NET_CMD_OBJECT = r"Net::\w{1,20}(?:::\w{1,20}){0,2}=GLOB\(0x[0-9a-f]{1,16}\)"
# The command a client echoes before the reply: swaks " -> AUTH LOGIN", PHPMailer
# "CLIENT -> SERVER: RCPT TO:<x>", smtplib "send: 'mail FROM:<x>'", curl's "> AUTH PLAIN" and
# sendmail's ">>> RCPT To:<x>" (their ">" is taken as quoting and removed first), Perl
# Net::Cmd's "Net::SMTP=GLOB(0x267ec28)>>> EHLO x". Without a marker the command must be
# written as one (upper case): "Auth failed" is prose.
ECHO_MARKED = GuardedPattern(
    r"^(?:[\d\s:.,/\[\]-]{0,40}?(?:->|~>|C:|Sent:|send:|CLIENT -> SERVER:|SMTP>>)"
    rf"|{NET_CMD_OBJECT}>>>)\s{{0,8}}[bu]?['\"]?"
    r"(?P<verb>EHLO|HELO|LHLO|STARTTLS|AUTH|MAIL\s{1,8}FROM|RCPT\s{1,8}TO|DATA|BDAT|QUIT|RSET|"
    r"NOOP|VRFY|EXPN)\b",
    re.I,
)
ECHO_BARE = GuardedPattern(
    r"^\s{0,8}(?P<verb>EHLO|HELO|LHLO|STARTTLS|AUTH|MAIL\s{1,8}FROM:|RCPT\s{1,8}TO:|DATA|BDAT|"
    r"QUIT|RSET|NOOP|VRFY|EXPN)(?=\s|$|<)"
)
# IIS's SMTP log, W3C ("OutboundConnectionCommand    RCPT      0  TO:<x>") or NCSA
# ("OutboundConnectionCommand [date] \"RCPT -?TO:<x> SMTP\"") format.
_IIS_COMMAND = GuardedPattern(
    r"OutboundConnectionCommand[^\"\n]{0,80}?[\s\"](?P<verb>EHLO|HELO|STARTTLS|AUTH|MAIL|RCPT|DATA|"
    r"BDAT|QUIT|RSET)\b"
)
# nodemailer's error object: command: 'AUTH PLAIN' ("CONN" is the connection, its greeting).
_COMMAND_KEY = GuardedPattern(
    r"\bcommand[\"']?\s{0,8}[:=]\s{0,8}[\"']?(?P<verb>AUTH|MAIL|RCPT|DATA|CONN|EHLO|HELO|LHLO|"
    r"STARTTLS)\b",
    re.I,
)
_VERB_STAGES = {
    "EHLO": "ehlo",
    "HELO": "ehlo",
    "LHLO": "ehlo",
    "STARTTLS": "starttls",
    "AUTH": "auth",
    "MAIL": "mail",
    "RCPT": "rcpt",
    "DATA": "data",
    "BDAT": "data",
    "CONN": "greeting",
}
_ECHO_LOOKBACK = 6  # lines searched above a reply for the command it answered

# A host name (RFC 1035 section 2.3.4: at most 253 characters) and an address
# literal such as [192.0.2.1] or [IPv6:2001:db8::1], bounded so no text makes it backtrack.
# Sendmail's transcript names the host it talked to instead: "... while talking to
# aspmx.l.google.com.:" (sendgrid/go-gmime's DSN fixture gmime/fixtures/DSN-spam.eml), and
# Exim's bounce and log its host and address, before the reply or on a line of their own:
# "host mxa.mailgun.org [34.149.236.64]: 550 5.7.1 Relaying denied"
# (github.com/uilicious/inboxkitten/issues/82), "host eset-com-hn.mail.protection.outlook.com
# [207.46.163.215]" (pastebin.com/ytScn0aS; both development corpus). Gmail's bounce names it
# after the recipient domain: "… rejected by the server for the recipient domain mailnesia.com
# by mailnesia.com. [162.250.144.109]." (github.com/Gilwyad/mailnesia.com/issues/13,
# development corpus).
_REPLY_HOST = GuardedPattern(
    r"host\s{1,8}([A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63})(?:\[[^\]\s]{0,64}\])?\s{1,8}said"
    r"|\bwhile talking to ([A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63})\.?:"
    r"|\bhost\s{1,8}([A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63})\s{1,8}\[[0-9A-Fa-f.:]{2,45}\]"
    r"(?=[ \t]{0,8}(?::|\r?\n|$))"
    r"|\bfor the recipient domain \S{1,253} by ([A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63})\.? \[",
    re.I,
)
DSN_FIELD = GuardedPattern(
    r"^(Status|Remote-MTA|Reporting-MTA|Diagnostic-Code|Action|Final-Recipient)\s*:\s*(.*)$",
    re.I,
)


def first_stage(named: list[str]) -> str | None:
    """The first of the stages ``named`` in the order stages are ranked."""
    return next((stage for stage in _STAGE_ORDER if stage in named), None)


def keyed_stage(text: str) -> str | None:
    """The stage of a client's ``command: 'AUTH PLAIN'`` key in ``text``."""
    match = _COMMAND_KEY.search(text)
    return _VERB_STAGES.get(match.group("verb").upper()) if match else None


def echoed_stage(lines: Sequence[str], starts: Sequence[object | None], index: int) -> str | None:
    """The stage of the command a transcript shows above line ``index``: the nearest echoed
    command (``starts`` marks the lines where a reply starts)."""
    # The nearest command above the reply, unless another reply came between (the
    # command had its answer then).
    for back in range(index - 1, max(-1, index - 1 - _ECHO_LOOKBACK), -1):
        if starts[back] is not None:
            return None
        line = lines[back]
        match = ECHO_MARKED.match(line) or ECHO_BARE.match(line) or _IIS_COMMAND.search(line)
        if match is not None:
            return _VERB_STAGES.get(match.group("verb").split()[0].upper())
    return None


_ADDRESS = GuardedPattern(r"<([^<>@\s]+@[^<>@\s]+)>")


# An address the words before it name as the sender: Postfix's log "from=<…>", Exim's
# "F=<…>", a transcript's "MAIL FROM:<…>", a header's "From: <…>" / "Return-Path: <…>" (a
# red-team round: a log's sender was named as the recipient whose mailbox was full).
_SENDER_MARK = GuardedPattern(
    r"(?:\bfrom=|\bF=|\bmail from:|\breturn-path:|\bfrom:|\benvelope-from:?)\s{0,4}$", re.I
)
_SENDER_LOOKBACK = 20  # characters before an address that may name it the sender


def recipient_named(window: str) -> str | None:
    """The first address in ``window`` that its words do not name as the sender."""
    for match in itertools.islice(_ADDRESS.finditer(window), 20):
        before = window[max(0, match.start() - _SENDER_LOOKBACK) : match.start()]
        if not _SENDER_MARK.search(before):
            return match.group(1)
    return None


def host_named(window: str) -> str | None:
    """The host of "host X said" (sendmail's "while talking to X.:", Exim's "host X [ip]",
    Gmail's "for the recipient domain D by X. [ip]") in ``window``, lower case."""
    match = _REPLY_HOST.search(window)
    return next(name for name in match.groups() if name).lower() if match else None


@record
class DsnBlocks:
    """The DSN fields of a paste (RFC 3464), block by block: a per-message block and one
    per recipient, each its own ``Status``, ``Remote-MTA`` and ``Final-Recipient``."""

    owner: tuple[int, ...]  # each line's block (an index into ``blocks``), or -1
    blocks: tuple[dict[str, str], ...]

    @classmethod
    def of(cls, lines: list[str]) -> DsnBlocks:
        owner = [-1] * len(lines)
        blocks: list[dict[str, str]] = []
        block = -1
        for index, line in enumerate(lines):
            stripped = line.strip()
            if not stripped:
                block = -1  # blocks are separated by a blank line (RFC 3464 section 2.1)
                continue
            match = DSN_FIELD.match(stripped)
            if match is None:
                owner[index] = block  # a field's folded line, or none
                continue
            if block < 0:
                block = len(blocks)
                blocks.append({})
            owner[index] = block
            name, value = match.group(1).lower(), match.group(2).strip()
            if name in ("remote-mta", "reporting-mta", "final-recipient"):
                value = mta_or_address(value.split(";", 1)[-1].strip().lower())
            if name == "status":
                status = ENHANCED_CODE.match(value)
                if not status:
                    continue
                value = status.group(0)
            blocks[block].setdefault(name, value)
        return cls(tuple(owner), tuple(blocks))

    def at(self, index: int) -> dict[str, str]:
        """The fields of the block that line ``index`` is in, else of the paste's only
        recipient block, else none."""
        block = self.owner[index] if index < len(self.owner) else -1
        if block >= 0 and self._is_recipient(self.blocks[block]):
            return self.blocks[block]
        recipients = [b for b in self.blocks if self._is_recipient(b)]
        return recipients[0] if len(recipients) == 1 else {}

    def about(self, index: int, recipient: str | None) -> dict[str, str]:
        """``at(index)``, or for a reply outside the DSN part of a bounce for several
        recipients, the block of the recipient its own lines name."""
        fields = self.at(index)
        if fields or recipient is None:
            return fields
        return next((b for b in self.blocks if b.get("final-recipient") == recipient.lower()), {})

    @staticmethod
    def _is_recipient(block: dict[str, str]) -> bool:
        return "status" in block or "final-recipient" in block


def mta_or_address(value: str) -> str:
    """A DSN field's name or address without the comment Gmail adds ("mx.example.com.
    (198.51.100.5, the server for the domain example.com.)"), brackets or the root's dot."""
    value = value.split(None, 1)[0] if value else value
    return value.strip("<>").rstrip(".")
