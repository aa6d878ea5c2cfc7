"""Finding SMTP replies in whatever a user pastes: a reply, a bounce, a DSN, a log, an error.

The text arrives decoded (``smtpprobe.core.pasted``: encodings, MIME, encoded words): one
reply line, a multi-line reply (``550-5.7.26 …`` continuations, often re-wrapped by the mail
client), a Gmail bounce in English or Japanese with its wrapper text ("The response from the
remote server was:" / "リモート サーバーからの応答:"), a Postfix or Exim bounce ("host X said:
… (in reply to RCPT TO command)"), an RFC 3464 delivery status notification, or what programs
print around a reply — the shapes ``smtpprobe.core.reply_starts`` knows a reply's first line
by (smtplib's tuples, nodemailer's error objects, Exchange NDRs, transcripts, quoted replies,
a reply after prose with an enhanced code of its class…). This module joins a reply's lines
(continuations, re-wrapped lines, strings closed on a later line), keeps the returned original
message out, and reads each reply with what ``smtpprobe.core.reply_context`` finds around it.
A program's summary of a reply ("450 No recipients accepted") gives way to the more specific
reply after it. A number in prose ("port 465", "2021 年", "Error 500 in line 3", "(500 emails
per day)") is not a reply.

``find_replies`` returns every negative reply (4xx/5xx) it can see, each with
what the surrounding text says about it: the SMTP stage it answered (a Postfix
tail, the transcript's command, a client's ``command: 'AUTH PLAIN'`` or exception
name), the host that sent it, the DSN ``Status:``, and whether the bounce comes
from Gmail's "Send mail as" (which means your own provider's server refused Gmail).
Everything here is pure: text in, values out.

Whatever is pasted, nothing here raises and nothing takes more than linear time: every
pattern runs on lines of at most ``MAX_LINE`` characters (longer ones are wrapped) or scans
the text once without backtracking across it. The tests in
``tests/core/test_regex_safety.py`` hold each pattern to that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from smtpprobe.core.codeless_starts import QMAIL_TAIL
from smtpprobe.core.lazyre import GuardedPattern
from smtpprobe.core.line_start import Start, closing_at
from smtpprobe.core.pasted import HEADER_FIELD_START
from smtpprobe.core.record import record
from smtpprobe.core.reply import Reply, from_code_and_message
from smtpprobe.core.reply_context import (
    DSN_FIELD,
    ECHO_BARE,
    ECHO_MARKED,
    STAGE_HINT,
    DsnBlocks,
    echoed_stage,
    first_stage,
    host_named,
    keyed_stage,
    recipient_named,
)
from smtpprobe.core.reply_starts import REPLY_START, providers_in, split_reply_start

__all__ = ["MAX_LINE", "MAX_REPLIES", "NOT_SENT_MARK", "Found", "find_replies"]

# RFC 5321 section 4.5.3.1.6: a text line is at most 1000 octets with its CRLF,
# and a reply line at most 512 (section 4.5.3.1.5). A longer pasted line (an
# HTML part on one line, a run of repeated words) is wrapped at a space near this
# width, as a mail client re-wraps a bounce: no pattern ever sees a longer line.
MAX_LINE = 1000
# More distinct replies than any bounce holds; past it a paste is not a bounce
# (a whole log, or the same words repeated), and explaining more helps nobody.
MAX_REPLIES = 200
# Replies read before duplicates are removed: a bounce repeats one reply a few times
# (the human part, the DSN); thousands of reply lines are a log, not a bounce.
_MAX_FOUND = 50 * MAX_REPLIES
# Where a refusal's reply may start: a 4xx/5xx code, or a 4.x.x/5.x.x enhanced code alone
# (qmail's "(#5.1.1)"); what a long log's lines are looked through for once positive
# replies are past _MAX_FOUND.
_MAY_REFUSE = re.compile(r"(?<![\d.])(?:[45]\d\d|[45]\.\d{1,3}\.\d{1,3})(?![\d])")
# A code repeated inside a re-wrapped or folded reply: "... did not 550-5.7.26 pass".
_INLINE_CODE = GuardedPattern(r"(?<![\w.])([2-5][0-5]\d)[ -]([245]\.\d{1,3}\.\d{1,3})?(?=\s|$)")
_EXIM_STAGES = {
    "RCPT": "rcpt",
    "MAIL": "mail",
    "after DATA": "data",
    "DATA": "data",
    "EHLO": "ehlo",
    "HELO": "ehlo",
    "connection": "greeting",
    "AUTH": "auth",
}
# A DSN's Diagnostic-Code whose text has no code of its own (RFC 3464 section 2.3.6): "smtp;
# Unauthenticated email from …", or an "X-" type's words (Postfix's "X-Postfix; maildir
# delivery failed: …", Domino's "X-Notes; User … not listed …"). The Status field gives it.
_DIAGNOSTIC_WORDS = GuardedPattern(
    r"^Diagnostic-Code\s{0,8}:\s{0,8}(?:smtp|x-[a-z0-9-]{1,20})\s{0,8};\s{0,8}(?=[^\W\d_])", re.I
)
_HASH_ENHANCED = GuardedPattern(r"^#(?P<enhanced>[245]\.\d{1,3}\.\d{1,3})(?:\s+|$)")
# Exchange 2000/2003's non-delivery report ends a recipient's entry with the reporting server
# and the enhanced code on a line of their own, the reason's sentence on the line before:
# "You do not have permission to send to this recipient. …" then "<mail.example.com #5.7.1>"
# (development corpus: a school district's NDR on a forum, thebackroomtech.com's 4.4.7). A tail
# that quotes the next server ("… #5.0.0 smtp;550 …>") holds its own reply and is not this.
_EXCHANGE_TAIL = GuardedPattern(r"^<[^<>\s#]{1,253} #(?P<enhanced>[45]\.\d{1,3}\.\d{1,3})>$")
# IIS's SMTP log writes the reply with "+" for each space: "550+5.7.1+Unable+to+relay".
_PLUS_ENCODED = GuardedPattern(r"(?:^|(?<=[\s?]))[2-5][0-5]\d\+(?=\S)")
# qmail-send reports a remote delivery with "_" for each space and "/" between its parts, in
# its log and in the bounces that quote it: "192.0.2.1_does_not_like_recipient./Remote_host_said:
# _553_…_refused/Giving_up_on_192.0.2.1./". The reply is the part after "Remote_host_said:_".
_QMAIL_SAID = "Remote_host_said:_"
# A reply written on one line with escaped line breaks: a Python repr, a JSON string,
# Exim's log ("…\n550-5.7.1 …"); and the escaped quotes inside such strings.
_ESCAPED_BREAK = GuardedPattern(r"\\{1,4}r\\{1,4}n|\\{1,4}[nr]")
_ESCAPED_QUOTE = GuardedPattern(r"\\{1,4}([\"'])")


# The line before the returned copy of the user's own message in a bounce pasted as text:
# Gmail's "----- Original message -----", Outlook's "-----Original Message-----", qmail's
# "--- Below this line is a copy of the message." (qmail-send.c), Exim's "------ This is a
# copy of the message, including all the headers. ------" (deliver.c), Exchange's "Original
# message headers:", and a MIME part's header (the boundaries Sisimai's Lhost modules use).
_RETURNED_ORIGINAL = GuardedPattern(
    r"(?:(?<!-)-{2,}+\s*(?:original message|below this line is a copy of the message\.?"
    r"|this is a copy of the message, including all the headers\.?)\s*-*"
    r"|original message headers:|content-type:\s*(?:message/rfc822|text/rfc822-headers)\b.*)$",
    re.I,
)
# Gmail's bounce when a "Send mail as" address's own SMTP server refused Gmail:
# the refusing server is the user's provider, not the recipient's.
_SEND_MAIL_AS = GuardedPattern(
    r"send mail as|different address or alias|「名前」の機能|の機能を使用して別のアドレス|"
    r"送信元アドレス|他のメールアドレス|エイリアスから送信",
    re.I,
)
# Patterns used inside the functions below, compiled once and listed here so that the
# regex-safety test sees every pattern of this module.
_QUOTE_MARKERS = GuardedPattern(r"^(?:[ \t]*>)+[ \t]?")  # "> " quoting in replies and forwards
# Postfix's reject log ends the reply with the envelope: "…; from=<a> to=<b> proto=ESMTP
# helo=<x>" (smtpd_check.c); not the server's words.
_POSTFIX_LOG_TAIL = GuardedPattern(r";\s{0,8}from=<[^<>\n]{0,320}>\s{1,8}to=<[^\n]{0,1000}$")
_ADDRESS_ONLY = GuardedPattern(r"^(?:[245]\.\d{1,3}\.\d{1,3}\s+)?<[^<>\s]{1,320}>[.:,;]?$")
_IN_REPLY_TO_TAIL = GuardedPattern(r"\s{0,8}\(in reply to\b[^()]{0,200}\)?\s{0,8}$", re.I)
# Gmail's "Send mail as" dialog ends the server's words with ", code: 535": its own note.
_GMAIL_CODE_TAIL = GuardedPattern(r"\s{0,8},\s{0,8}code:\s{0,8}-?\d{1,4}\s{0,8}$", re.I)
_CONTINUES = GuardedPattern(r"gsmtp|in reply to|^\(", re.I)
_SENTENCE_END = GuardedPattern(r"[。．]$")
# A line a mail client or Postfix re-wrapped ends inside a sentence: long, and without the
# punctuation that ends one.
_OPEN_SENTENCE = GuardedPattern(r"[^\s.!?。．:;)\]>]$")
# A reply's first line that ends on a word and a colon ("… Recipient address rejected:") gives
# its reason on the next, re-wrapped line; once only, as _colon_goes_on (a queue ID's "6E0675:"
# is no word).
_OPEN_LABEL = GuardedPattern(r"(?<![^\W\d_])[^\W\d_]{3,}:$")
_WRAP_WIDTH = 50  # a re-wrapped line is about this long at least (mail clients wrap at 72-80)
_NON_WORDS = GuardedPattern(r"\W+")

_MAX_REPLY_LINES = 100  # lines kept of one reply; a server's longest (EHLO) has about 20
_MAX_CONTINUATION = 30  # non-code lines absorbed into one reply before it is cut off
_MAX_TRAILING = 3  # lines after the final line, e.g. "… gsmtp (in reply to end of DATA command)"
_SUMMARY_NEAR = 4  # lines between a program's summary of a reply and the reply (see _specific)
# Lines between a reply cut short and the whole of it: sendmail's "(reason: …)" line, a blank
# line, "----- Transcript of session follows -----", "... while talking to …", ">>> DATA".
_CUT_NEAR = 8
# Words a client library writes as a reply of its own, before the server's replies it sums up:
# Twisted's SMTPClient raises SMTPDeliveryError(code, "No recipients accepted", log) with the
# code of the refusals and their transcript after it (development corpus: globaleaks, whose
# server's replies carry no enhanced code).
_PROGRAM_SUMMARIES = frozenset({"no recipients accepted"})
# Postfix's warn_if_reject logs "NOQUEUE: reject_warning: …" with the reply a restriction
# would have sent, and sends nothing (postconf(5), warn_if_reject): no refusal at all (a hint
# in client_errors.yaml says so when nothing else is found).
NOT_SENT_MARK = "reject_warning:"


@record
class Found:
    """One reply found in the input, with what its surroundings say about it.

    A client-side error (``smtpprobe.core.client_errors``) is a ``Found`` with no
    reply: ``failure`` names what happened instead (a ``FailureKind`` value).
    """

    reply: Reply | None
    stage: str | None = None  # the SMTP phase it answered, when the text says so
    host: str | None = None  # the server that sent it ("host X said", Remote-MTA)
    recipient: str | None = None  # the address it was about (Final-Recipient, "<x>: host")
    status: str | None = None  # the DSN "Status:" field
    wrapper: str = ""  # the words before it on its line ("said:", "応答:")
    send_mail_as: bool = False  # a Gmail "Send mail as" bounce
    code_inferred: bool = False  # no basic code was given; ``reply.code`` is X50 of its class
    failure: str | None = None  # a FailureKind value when no reply was given (client error)
    facts: frozenset[str] = frozenset()  # what the words add: "plaintext-record", "port:465"
    evidence: str = ""  # the words of a client error that matched


@dataclass(slots=True)
class _Building:
    code: int
    enhanced: str | None
    first_wrapper: str
    lines: list[str]
    raw: list[str]
    index: int  # line number where it started
    last: int  # line number of its last line
    group: int  # the pasted line its last line came from
    last_wrapper: str = ""
    inferred: bool = False  # the text had only an enhanced code
    final: bool = False  # the last line (code + space) has been seen
    quote: str | None = None  # inside a string: the quote that closes it
    sealed: bool = False  # the string has closed: the reply takes no more words
    whole: bool = False  # the string is the whole reply
    pending: bool = False  # the code ended its line: the words follow, up to a blank line
    trailing: int = 0
    gap: int = 0
    floor: int = 0  # no line before this one is read for its stage, host or recipient


def _may_refuse(line: str, fields: Mapping[str, str]) -> bool:
    """Whether a refusal's reply may start on ``line`` (``fields``: its DSN block's)."""
    return bool(_MAY_REFUSE.search(line)) or fields.get("status", "")[:1] in ("4", "5")


def _unfold(text: str) -> tuple[list[str], list[int]]:
    """Lines of at most ``MAX_LINE`` characters, each with the number of the pasted line
    it came from.

    RFC 5322 folded DSN fields are joined (while they fit) and quote markers removed;
    escaped line breaks (``\\n`` in a Python repr, a JSON string or Exim's log) become
    lines of the same pasted line, and a ``+``-encoded IIS reply gets a line of its own.
    """
    lines: list[str] = []
    groups: list[int] = []
    text = text.replace("\ufeff", "")  # byte order marks: at the start, or where files were joined
    for number, pasted in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        unquoted = _QUOTE_MARKERS.sub("", pasted) if ">" in pasted else pasted
        for piece_index, piece in enumerate(_pieces(unquoted)):
            for index, line in enumerate(_wrapped(piece)):
                if (
                    index == 0
                    and piece_index == 0
                    and lines
                    and line[:1] in (" ", "\t")
                    and len(lines[-1]) + len(line) < MAX_LINE
                    and DSN_FIELD.match(lines[-1])
                    and not REPLY_START.match(line.strip())
                ):
                    lines[-1] = f"{lines[-1]} {line.strip()}"
                    continue
                lines.append(line.rstrip())
                groups.append(number)
    return lines, groups


def _pieces(line: str) -> list[str]:
    """One pasted line cut at its escaped line breaks, and around a ``+``-encoded reply or
    qmail's ``_``-encoded one."""
    parts = [line]
    if "\\" in line:
        parts = [_ESCAPED_QUOTE.sub(r"\1", part) for part in _ESCAPED_BREAK.split(line)]
    pieces: list[str] = []
    for part in parts:
        if _QMAIL_SAID in part:
            before, _, after = part.partition(_QMAIL_SAID)
            said, _, rest = after.partition("/")
            pieces.extend(p for p in (before, said.replace("_", " "), rest) if p.strip())
            continue
        match = _PLUS_ENCODED.search(part) if "+" in part else None
        if match is None:
            pieces.append(part)
            continue
        # The reply runs over the words that hold a "+" (IIS writes none of its own fields
        # with one); what follows is the rest of the log line.
        words = part[match.start() :].split(" ")
        taken = 1
        while taken < len(words) and "+" in words[taken]:
            taken += 1
        if part[: match.start()].strip():
            pieces.append(part[: match.start()])
        pieces.append(" ".join(words[:taken]).replace("+", " "))
        if " ".join(words[taken:]).strip():
            pieces.append(" ".join(words[taken:]))
    return pieces


def _wrapped(line: str) -> Iterator[str]:
    """``line`` cut into pieces of at most ``MAX_LINE`` characters, at a space if there is one."""
    start, end = 0, len(line)
    while end - start > MAX_LINE:
        cut = line.rfind(" ", start + MAX_LINE // 2, start + MAX_LINE)
        if cut < 0:
            cut = start + MAX_LINE
        yield line[start:cut]
        start = cut + 1 if line[cut] == " " else cut
    yield line[start:end]


def find_replies(text: str) -> list[Found]:
    """Every SMTP reply in ``text``, in order, duplicates removed (at most ``MAX_REPLIES``).

    Negative replies (4xx, 5xx) are found wherever a reply can start; positive
    ones only where they cannot be prose (see ``_POSITIVE``), and only when the text
    holds no negative reply: in a transcript or a log they are the dialogue around
    the refusal, not the answer.
    """
    lines, groups = _unfold(text)
    providers = providers_in(text.lower())
    send_mail_as = bool(_SEND_MAIL_AS.search(text))
    dsn = DsnBlocks.of(lines)
    built: list[_Building] = []
    starts: list[Start | None] = []
    current: _Building | None = None

    positives = 0  # positive replies kept

    def close() -> None:
        nonlocal current, positives
        if current is not None:
            if current.code >= 400:
                built.append(current)
            elif positives < _MAX_FOUND:
                built.append(current)
                positives += 1
        current = None

    for index, line in enumerate(lines):
        if len(built) - positives >= _MAX_FOUND:
            break
        if (
            positives >= _MAX_FOUND
            and (current is None or current.code < 400)
            and not _may_refuse(line, dsn.at(index))
        ):
            # A log of thousands of deliveries: only a refusal is still looked for (a
            # positive reply is kept only where the text holds none), and it is read
            # from its own lines, not those of the deliveries around it.
            close()
            starts.append(None)
            continue
        if (built or current is not None) and _RETURNED_ORIGINAL.match(line.strip()):
            # The returned copy of the user's own message: its words are not a reply
            # (a bounce that is itself below such a line, forwarded, is still read).
            break
        start = split_reply_start(line, providers)
        status = dsn.at(index).get("status", "")
        if start is None and status[:1] in ("4", "5"):
            start = _diagnostic_start(line.strip(), status)
        if start is None and index + 1 < len(lines):
            start = _exchange_reason_start(line.strip(), lines[index + 1].strip())
        starts.append(start)
        same_line = current is not None and groups[index] == current.group
        if start is not None:
            if current is not None and _same_reply(current, start, same_line):
                _extend(current, index, start.rest, line.strip(), start)
            elif (
                current is not None
                and start.weak
                and not current.final
                and start.code == current.code
            ):
                # A code repeated inside a re-wrapped reply: the line continues it.
                _extend(current, index, line.strip(), line.strip())
            else:
                close()
                current = _begun(start, index, groups[index], line)
                if positives >= _MAX_FOUND:
                    current.floor = index
            if current.sealed and current.final:
                close()
            continue
        if current is None:
            continue
        stripped = line.strip()
        if current.quote is not None and same_line and _in_string(current, stripped):
            # Inside the reply's string: the next escaped line of the same string.
            _extend(current, index, stripped, stripped)
            if current.sealed and current.final:
                close()
            continue
        if current.pending:
            # "said: 550" ended its line: the words follow, up to a blank line or the tail.
            if (
                stripped
                and not DSN_FIELD.match(stripped)
                and not _PROGRAM_LINE.match(stripped)
                and current.gap < _MAX_CONTINUATION
            ):
                current.gap += 1
                _extend(current, index, stripped, stripped)
                if _IN_REPLY_TO_TAIL.search(stripped):
                    close()
                continue
            close()
            continue
        if current.sealed:
            close()
            continue
        if (
            not stripped
            and (not current.final or _arrow_goes_on(current))
            and current.gap < _MAX_CONTINUATION
        ):
            current.gap += 1  # a re-wrapped bounce may put blank lines inside a reply
            continue
        if (
            not stripped
            or DSN_FIELD.match(stripped)
            or _is_prose(stripped, current)
            or _PROGRAM_LINE.match(stripped)
        ):
            close()
            continue
        if (
            stripped.endswith(":")
            and index + 1 < len(lines)
            and split_reply_start(lines[index + 1], providers) is not None
        ):
            # "Then after fixing the password I got:" introduces the next reply; it does
            # not carry the last one on.
            close()
            continue
        if current.final and (
            _rewrapped(current, stripped)
            or _arrow_goes_on(current)
            or _awaits_words(current, stripped)
            or _said_indented(current, line)
            or _colon_goes_on(current, line)
        ):
            current.gap += 1  # the reply's sentence goes on: a re-wrapped line
        elif current.final:
            current.trailing += 1
            if current.trailing > _MAX_TRAILING or not _continues(stripped):
                close()
                continue
        else:
            current.gap += 1
            if current.gap > _MAX_CONTINUATION:
                close()
                continue
        _extend(current, index, stripped, stripped)
        if current.sealed and current.final:
            close()
    close()
    if not any(building.code >= 400 for building in built):
        status_only = _status_only(lines, groups, dsn)
        if status_only is not None:
            built.append(status_only)
    return _found(built, lines, starts, send_mail_as, dsn)


def _found(
    built: list[_Building],
    lines: list[str],
    starts: list[Start | None],
    send_mail_as: bool,
    dsn: DsnBlocks,
) -> list[Found]:
    """The replies ``built``, each read with only its own surroundings: from the line after
    the reply before it to the line before the reply after it (a bounce for several
    recipients took the host, recipient and words of the reply above). The stage, host and
    recipient are read only for the replies that are reported (the first ``MAX_REPLIES``
    different ones): reading them cost ~0.5 ms a reply, seconds for a long log."""
    replies = [_reply_of(b, dsn) for b in built]
    spans = [(b.index, b.last) for b in built]
    kept = _specific(list(range(len(built))), replies, built, spans)
    kept = [i for i in kept if NOT_SENT_MARK not in built[i].first_wrapper]
    if any(replies[i].code >= 400 for i in kept):
        kept = [i for i in kept if replies[i].code >= 400]
    groups: dict[tuple[int, str | None, str], list[int]] = {}
    for i in kept:
        key = (replies[i].code, replies[i].enhanced, _normal(replies[i].text))
        if key in groups or len(groups) < MAX_REPLIES:
            groups.setdefault(key, []).append(i)
    result: list[Found] = []
    for members in groups.values():
        merged: Found | None = None
        for i in members[:_COPIES_READ]:
            floor = max(built[i - 1].last + 1 if i else 0, built[i].floor)
            ceiling = built[i + 1].index if i + 1 < len(built) else len(lines)
            item = _finish(built[i], replies[i], lines, starts, send_mail_as, dsn, floor, ceiling)
            # The same reply twice (the human part and the DSN): keep what each knows.
            merged = item if merged is None else replace(
                merged,
                stage=merged.stage or item.stage,
                host=merged.host or item.host,
                recipient=merged.recipient or item.recipient,
                status=merged.status or item.status,
            )  # fmt: skip
            if merged.stage and merged.host and merged.recipient and merged.status:
                break  # nothing left for another copy to add
        assert merged is not None
        result.append(merged)
    return result


# Copies of one reply read for what each knows (stage, host, recipient, status): a bounce
# repeats a reply a few times (the human part, the DSN); a log that repeats it thousands of
# times would cost ~1 ms a copy for nothing new.
_COPIES_READ = 20


# A delivery report's recipient block (RFC 3464 section 2.3) whose Action says the mail failed
# or is delayed, with a Status but no Diagnostic-Code (section 2.3.6 makes it optional):
# "Action: delayed / Status: 4.4.7", Yahoo's warning for an Xtra address
# (velocityreviews.com/forums/t867866, development corpus). The Status is the only code
# the report gives; it is read only where the text holds no refusal of its own.
_UNDELIVERED_ACTIONS = frozenset({"failed", "delayed"})


def _status_only(lines: list[str], groups: list[int], dsn: DsnBlocks) -> _Building | None:
    """The Status field of the first failed or delayed recipient, as a reply of its class."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        field = DSN_FIELD.match(stripped)
        if field is None or field.group(1).lower() != "status":
            continue
        fields = dsn.at(index)
        status = fields.get("status", "")
        action = fields.get("action", "").split(maxsplit=1)
        if (
            status[:1] in ("4", "5")
            and "diagnostic-code" not in fields
            and action
            and action[0].lower() in _UNDELIVERED_ACTIONS
        ):
            wrapper = stripped[: field.start(2)].strip()
            start = Start(wrapper, int(status[0]) * 100 + 50, " ", status, inferred=True)
            return _begun(start, index, groups[index], line)
    return None


def _diagnostic_start(text: str, status: str) -> Start | None:
    """A Diagnostic-Code of type smtp that quotes the server's words without a code: the
    DSN's Status field gives the enhanced code, and the basic code is X50 of its class."""
    words = _DIAGNOSTIC_WORDS.match(text)
    if words is None:
        return None
    rest = f"{status} {text[words.end() :]}"
    return Start(text[: words.end()].strip(), int(status[0]) * 100 + 50, " ", rest, inferred=True)


def _exchange_reason_start(text: str, following: str) -> Start | None:
    """The reason's sentence of an Exchange NDR entry, whose code is on the next line's tail
    ("<mail.example.com #5.7.1>"): the basic code is X50 of the enhanced code's class."""
    tail = _EXCHANGE_TAIL.match(following)
    if tail is None or not any(c.isalpha() for c in text) or text.startswith("<"):
        return None
    enhanced = tail.group("enhanced")
    return Start("", int(enhanced[0]) * 100 + 50, " ", f"{enhanced} {text}", inferred=True)


def _awaits_words(current: _Building, line: str) -> bool:
    # "… said: 553 5.3.0 <user@example.com>." / "Addressee unknown. Giving up.": a reply whose
    # line held only the address it is about goes on with its words on the next line.
    return (
        len(current.lines) == 1
        and bool(_ADDRESS_ONLY.match(current.lines[0]))
        and not ECHO_MARKED.match(line)
        and not ECHO_BARE.match(line)
        and not HEADER_FIELD_START.match(line)
    )


def _in_string(current: _Building, line: str) -> bool:
    # The string holds the whole reply, or the reply said more lines follow, or the
    # string closes on this line ("')" after the last escaped line break).
    assert current.quote is not None
    return current.whole or not current.final or closing_at(current.quote, line) is not None


def _begun(start: Start, index: int, group: int, line: str) -> _Building:
    building = _Building(
        code=start.code,
        enhanced=start.enhanced,
        first_wrapper=start.wrapper,
        lines=[start.rest],
        raw=[line.strip()],
        index=index,
        last=index,
        group=group,
        last_wrapper=start.wrapper,
        inferred=start.inferred,
        final=start.separator != "-",
        quote=start.quote,
        sealed=start.sealed,
        whole=start.whole,
        pending=start.pending,
    )
    if start.sealed and start.whole:
        building.final = True  # smtplib's string held the whole reply, and it has ended
    return building


def _same_reply(current: _Building, start: Start, same_line: bool) -> bool:
    """Whether ``start`` is the next line of the reply being read, not a new reply."""
    if current.sealed and current.final:
        return False
    if start.inferred and start.enhanced is not None and start.enhanced == current.enhanced:
        pass  # smtplib keeps the enhanced code of each line: "…\n5.7.8  https://…"
    elif start.code != current.code or (
        start.enhanced is not None and current.enhanced not in (None, start.enhanced)
    ):
        return False
    if start.wrapper and start.wrapper != current.last_wrapper:
        return False
    return not current.final or same_line


def _extend(
    current: _Building, index: int, text: str, raw: str, start: Start | None = None
) -> None:
    """Add line ``index`` to the reply being read; a closing quote ends its string."""
    if start is not None:
        current.final = start.separator != "-"
        current.pending = False
        current.last_wrapper = start.wrapper or current.last_wrapper
        if current.enhanced is None:
            current.enhanced = start.enhanced
        if start.sealed:
            current.quote, current.sealed = None, True
        elif start.quote is not None:
            current.quote = start.quote
    elif current.quote is not None:
        end = closing_at(current.quote, text)
        if end is not None:
            text, current.quote, current.sealed = text[:end], None, True
    if current.sealed and current.whole:
        current.final = True
    current.gap = 0 if start is not None else current.gap
    current.last = index
    if text.strip() and len(current.lines) < _MAX_REPLY_LINES:
        current.lines.append(text.strip())
        current.raw.append(raw)


# Compiled on first use: its 21 000-character class is the costliest pattern here to
# compile (about 1.5 ms, a tenth of this module's), and only some pastes reach it.
_CJK = GuardedPattern(r"[\u3040-\u30ff\u4e00-\u9fff]")


# A line a program printed after the reply, never a continuation of it: a stack frame
# (Java/.NET "at X.Y(…)", Python 'File "…"', PHP "#0 …"), Go's "exit status 1", a chained
# exception, a log line's timestamp, ISO's or syslog's (github.com/go-gomail/gomail/issues/205,
# github.com/jstedfast/MailKit/issues/453, pastebin.com/iQAJuzTF).
_PROGRAM_LINE = GuardedPattern(
    r"at [\w$.<>`]+[.:(]|File \"|#\d+ |exit status \d+$|Traceback \(most recent|Caused by:"
    r"|\[?\d{4}-\d\d-\d\d[ T]\d"
    r"|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d\d:\d\d:\d\d "
)


def _is_prose(line: str, building: _Building) -> bool:
    # Japanese commentary after an English reply (an article or a forwarded
    # bounce with a note) is not part of the reply; a Japanese reply is kept.
    return bool(_CJK.search(line)) and not any(_CJK.search(part) for part in building.lines)


def _rewrapped(current: _Building, line: str) -> bool:
    # "… said: 550 5.7.1 Unfortunately, messages from" / "[192.0.2.1] weren't sent. …":
    # the last line stopped inside a sentence, so the next one carries it on.
    last = current.raw[-1] if current.raw else ""
    return (
        current.gap < _MAX_CONTINUATION
        and bool(current.lines)
        and last.endswith(current.lines[-1])  # its words ran to the end of the line
        and len(last) >= _WRAP_WIDTH
        and bool(
            _OPEN_SENTENCE.search(last) or (len(current.lines) == 1 and _OPEN_LABEL.search(last))
        )
        and not ECHO_MARKED.match(line)
        and not ECHO_BARE.match(line)
        # "StackTrace: …", "Reporting-MTA: …": a new field; a word in lower case before a colon
        # carries the sentence on ("… Sender address" / "rejected: Domain not found"), unless
        # it is the program's name the reply's own line began with (msmtp's next log line).
        and not (
            HEADER_FIELD_START.match(line)
            and (not line[:1].islower() or _same_program(current, line))
        )
    )


def _same_program(current: _Building, line: str) -> bool:
    prefix = _PROGRAM_PREFIX.match(line)
    return prefix is not None and bool(current.raw) and current.raw[0].startswith(prefix.group())


def _arrow_goes_on(current: _Building) -> bool:
    # Exchange chains the statuses of a failed hop with "->" ("451 4.4.397 Error
    # communicating with target host. -> 421 4.2.1 Unable to connect -> SocketError: …
    # Winsock error code: 10051"); a line that ends on the arrow was cut there by a page or a
    # paste, and the cause is on the next line (learn.microsoft.com/en-us/answers/questions/
    # 1656850, lore.kernel.org/qemu-devel/CAFEAcA8cetzuXmwbTZFZC6fpBASwboiu2SSOznZ-GoFvQ6pfvg
    # @mail.gmail.com).
    return (
        current.gap < _MAX_CONTINUATION and bool(current.lines) and current.lines[-1].endswith("->")
    )


def _colon_goes_on(current: _Building, line: str) -> bool:
    # "    450 4.7.1 <u@example.jp>: Recipient address rejected:" / "    Sorry, … their mailbox
    # is full.": a reply line that ends on a colon, in an indented bounce (Exim's, its lines
    # re-wrapped), gives its reason on the next indented line. Once only: the reason may end
    # on a colon too, and what follows it is the MTA's own ("retry timeout exceeded").
    last = current.lines[-1].rstrip() if current.lines else ""
    return (
        current.gap == 0
        and last.endswith(":")
        and line[:1] in (" ", "\t")
        and not ECHO_MARKED.match(line.strip())
        and not ECHO_BARE.match(line.strip())
        and not HEADER_FIELD_START.match(line.strip())
    )


def _said_indented(current: _Building, line: str) -> bool:
    # Postfix's bounce re-wraps "host x said: 550 …" at about 75 columns and indents every
    # line after the first by four spaces up to "(in reply to … command)": an indented line
    # carries the reply on even after a sentence ended ("… weren't sent." / "    Please
    # contact your Internet service provider since part of their network is on our block
    # list."; github.com/mailcow/mailcow/issues/374).
    stripped = line.strip()
    return (
        current.gap < _MAX_CONTINUATION
        and current.first_wrapper.rstrip().endswith("said:")
        # Postfix's "(in reply to … command)", wrapped or not, ends the reply.
        and not _IN_REPLY_TO_TAIL.search(" ".join(current.raw[-2:]))
        # Indented as Postfix writes it, or re-wrapped by a paste that lost the indent:
        # both lines near the wrap width ("… weren't sent." / "Please contact your
        # Internet service provider since part of their network").
        and (
            line[:2].isspace() or (len(current.raw[-1]) >= _WRAP_WIDTH + 10 and len(stripped) >= 40)
        )
        and bool(stripped)
        and not DSN_FIELD.match(stripped)
        and not ECHO_MARKED.match(stripped)
        and not HEADER_FIELD_START.match(stripped)
    )


# A new line of a program's log: "msmtp: could not send mail (account …)" after its
# "msmtp: server message: 554 …", "postfix/smtp[123]: …".
# Only ever matched at a line's start; the \A says so, and keeps a search of a long
# line from trying the 31-character run at every position.
_PROGRAM_PREFIX = GuardedPattern(r"\A[A-Za-z][\w./-]{0,30}(?:\[\d{1,10}\])?: ")
# Exim's own words under the reply of an address it gave up on (src/src/retry.c and
# transports/smtp.c), not the server's.
_EXIM_GAVE_UP = GuardedPattern(r"\Aretry (?:timeout exceeded|time not reached for any host)")


def _continues(line: str) -> bool:
    # After the final line only a short tail belongs to the reply: Gmail's
    # "… - gsmtp" id and Postfix's "(in reply to … command)" — not the next command of
    # a transcript ("send: 'quit'").
    if (
        ECHO_MARKED.match(line)
        or ECHO_BARE.match(line)
        or _PROGRAM_PREFIX.match(line)
        or _EXIM_GAVE_UP.match(line)
    ):
        return False
    return bool(_CONTINUES.search(line)) or (
        len(line) < 80 and not _SENTENCE_END.search(line) and line[:1].islower()
    )


def _reply_of(building: _Building, dsn: DsnBlocks) -> Reply:
    """The reply ``building`` holds, as the server sent it."""
    message_lines = [_strip_inline_codes(line, building.code) for line in building.lines]
    # Postfix appends "(in reply to RCPT TO command)" to the server's words;
    # it names the stage (kept in ``stage``) and is not part of the reply.
    message = _IN_REPLY_TO_TAIL.sub("", _balanced("\n".join(message_lines)))
    message = _GMAIL_CODE_TAIL.sub("", message)
    message = _POSTFIX_LOG_TAIL.sub("", message)
    message = _balanced(message.strip("\n"))
    reply = _without_bare_prefixes(from_code_and_message(building.code, message))
    if reply.enhanced is None:
        reply = _qmail_enhanced(reply)
    status = dsn.at(building.index).get("status", "")
    if reply.enhanced is None and status[:1] == str(building.code)[0]:
        reply = replace(reply, enhanced=status)
    return reply


def _finish(
    building: _Building,
    reply: Reply,
    lines: list[str],
    starts: list[Start | None],
    send_mail_as: bool,
    dsn: DsnBlocks,
    floor: int,
    ceiling: int,
) -> Found:
    low = max(floor, building.index - 4)
    high = min(ceiling, building.last + _MAX_TRAILING + 1)
    window = "\n".join(lines[low:high])
    recipient = recipient_named(window)
    fields = dsn.about(building.index, recipient)
    return Found(
        reply=reply,
        stage=_stage(building, lines, starts, low, window),
        host=host_named(window) or fields.get("remote-mta"),
        recipient=recipient or fields.get("final-recipient"),
        status=fields.get("status"),
        wrapper=building.first_wrapper,
        send_mail_as=send_mail_as,
        code_inferred=building.inferred,
    )


_OPENERS = {")": "(", "]": "[", ">": "<", "}": "{"}


def _balanced(text: str) -> str:
    """``text`` without the closing brackets and quotes it ends with but never opened: what
    a wrapper around the reply left ("(reason: 550 Host unknown)", "…')", "…]")."""
    counts = {char: text.count(char) for char in "()[]<>{}'\""}
    end = len(text)
    while end:
        last = text[end - 1]
        unopened = last in _OPENERS and counts[last] > counts[_OPENERS[last]]
        if unopened or (last in "'\"" and counts[last] % 2 == 1):
            counts[last] -= 1
        elif not (last.isspace() or (last in ",;" and text[end - 2 : end - 1] in "'\")]}")):
            break
        end -= 1
    return text[:end]


def _qmail_enhanced(reply: Reply) -> Reply:
    """The enhanced code written "552 #5.3.4 …" or "… (#5.7.1)" (qmail), when it fits."""
    if not reply.lines:
        return reply
    head = _HASH_ENHANCED.match(reply.lines[0])
    if head is not None and head.group("enhanced")[0] == str(reply.code)[0]:
        lines = (reply.lines[0][head.end() :], *reply.lines[1:])
        return replace(reply, enhanced=head.group("enhanced"), lines=lines)
    tail = QMAIL_TAIL.search(reply.lines[-1])
    if tail is not None and tail.group("enhanced")[0] == str(reply.code)[0]:
        return replace(reply, enhanced=tail.group("enhanced"))
    return reply


def _without_bare_prefixes(reply: Reply) -> Reply:
    """``reply`` without its own enhanced code repeated between words.

    A multi-line reply re-wrapped into a sentence keeps each line's enhanced code where
    the basic code was lost ("this message has been 5.7.1 blocked"): such a copy is a
    line prefix, not a word, and would otherwise join the words around it ("1 blocked").
    """
    if reply.enhanced is None:
        return reply
    pattern = re.compile(rf"(?<=\s){re.escape(reply.enhanced)}(?=\s|$)")
    lines = tuple(" ".join(pattern.sub("", line).split()) for line in reply.lines)
    return reply if lines == reply.lines else replace(reply, lines=lines)


def _strip_inline_codes(line: str, code: int) -> str:
    def drop(match: re.Match[str]) -> str:
        return "" if int(match.group(1)) == code else match.group(0)

    return " ".join(_INLINE_CODE.sub(drop, line).split())


def _stage(
    building: _Building, lines: list[str], starts: list[Start | None], low: int, window: str
) -> str | None:
    """The stage the reply answered: what its own lines say, else the command the
    transcript shows before it, else what the lines around it (``window``, from line
    ``low``) say."""
    own_from = sum(len(line) + 1 for line in lines[low : building.index])
    own_to = own_from + sum(len(line) + 1 for line in lines[building.index : building.last + 1])
    named: list[str] = []
    own: list[str] = []
    # A hint may be wrapped over two lines ("(in reply to MAIL\nFROM command)").
    for match in STAGE_HINT.finditer(window.replace("\n", " ")):
        if match.lastgroup is not None:
            named.append(match.lastgroup)
            if own_from <= match.start() < own_to:
                own.append(match.lastgroup)
    return (
        first_stage(own)
        or keyed_stage(window[own_from:own_to])
        or echoed_stage(lines, starts, building.index)
        or keyed_stage(window)
        or first_stage(named)
    )


def _specific(
    kept: list[int],
    replies: list[Reply],
    built: list[_Building],
    spans: list[tuple[int, int]],
) -> list[int]:
    """``kept`` without the summaries a program writes before the reply it summarises.

    Twisted's "SMTPDeliveryError: 450 No recipients accepted" is followed by the server's own
    "450 4.1.8 <…>: Sender address rejected: …". A server that sends enhanced status codes
    sends one with (almost) every reply (RFC 2034 section 3), so a reply of the same code
    without one just before a reply with one, which says more, is the program's summary: the
    more specific reply decides. The other way round (sendmail's transcript "<<< 554 Service
    unavailable; Client host … blocked using …" before its own "554 5.0.0 Service unavailable")
    the first reply says more, and both stay. A library's known summary words
    (``_PROGRAM_SUMMARIES``) give way to any later reply of the same code: the server's own.
    A one-line reply that is the first line of a later multi-line reply of the same codes
    is that reply cut short: sendmail's "(reason: 550-5.7.1 …)" quotes only the first line
    of the reply its transcript then gives whole ("<<< 550-5.7.1 …").
    """
    result: list[int] = []
    for index in kept:
        reply = replies[index]
        if _cut_short(index, replies, spans):
            continue
        if reply.enhanced is None and not built[index].inferred:
            last, later = spans[index][1], index + 1
            summary = False
            # A library's own summary words need no enhanced code on the reply they sum up.
            known = _normal(reply.text) in _PROGRAM_SUMMARIES
            # Replies are in order: only those starting within _SUMMARY_NEAR lines count.
            while later < len(replies) and spans[later][0] - last <= _SUMMARY_NEAR:
                other = replies[later]
                if other.code == reply.code and (
                    known or (other.enhanced is not None and len(other.text) > len(reply.text))
                ):
                    summary = True
                    break
                later += 1
            if summary:
                continue
        result.append(index)
    return result


def _cut_short(index: int, replies: list[Reply], spans: list[tuple[int, int]]) -> bool:
    """Whether the one line of the reply at ``index`` is the first line of a reply of the
    same codes starting within ``_CUT_NEAR`` lines after it, a reply of more lines that each
    carried the enhanced code (a server's own multi-line reply, not a program's words
    appended to a copy of it)."""
    reply, last = replies[index], spans[index][1]
    if reply.enhanced is None or len(reply.lines) != 1:
        return False
    words = _normal(reply.text)
    for later in range(index + 1, len(replies)):
        if spans[later][0] - last > _CUT_NEAR:
            break
        other = replies[later]
        if (
            other.code == reply.code
            and other.enhanced == reply.enhanced
            and len(other.lines) > 1
            and other.marked is None
            and _normal(other.lines[0]) == words
        ):
            return True
    return False


def _normal(text: str) -> str:
    return _NON_WORDS.sub(" ", text).strip().lower()
