"""Reading SMTP replies off the wire, strictly (RFC 5321 section 4.2).

A reply is one or more lines ``CODE-text`` ... ``CODE text`` ending in CRLF.
The reply code is exactly three digits: the first 2-5, the second 0-5, the
third 0-9 (section 4.2.1; 1yz is never used by SMTP). Every line of one reply
carries the same code (section 4.2.1: "the same reply code"), and a code is
followed by a hyphen (more lines follow), a space, or the end of the line
(section 4.2: ``Reply-code [ SP textstring ] CRLF``).

Anything else is a protocol violation, and the probe must say so rather than
guess: a lenient reader that takes ``" 250"`` as code 25 or keeps only the
last line's code turns a broken server into a false pass. ``ReplyReader`` is
pure and incremental: feed it bytes as they arrive, take whole replies out,
in order, so several pipelined replies (RFC 2920) that arrive in one read are
all kept.
"""

from __future__ import annotations

from smtpprobe.core.record import record

__all__ = ["MAX_LINE", "MAX_REPLY", "MalformedReply", "ReplyReader", "WireReply"]

# RFC 5321 section 4.5.3.1.5 allows 512 octets per reply line, and section
# 4.5.3.1 asks clients to be liberal; real servers send long EHLO and
# Microsoft 365 replies, so allow far more while still bounding memory.
MAX_LINE = 8192
MAX_REPLY = 64 * 1024


class MalformedReply(ValueError):
    """The server sent something that is not an SMTP reply; ``str()`` says what."""


@record
class WireReply:
    """One whole reply as read: the code and each line's text (after ``CODE-``/``CODE ``)."""

    code: int
    lines: tuple[bytes, ...]


def _shown(line: bytes) -> str:
    text = line[:60].decode("utf-8", "replace")
    return repr(text + ("…" if len(line) > 60 else ""))


def _code_of(line: bytes) -> tuple[int, bytes, bytes]:
    """(code, separator, text) of one reply line, or MalformedReply."""
    head = line[:3]
    if not (len(head) == 3 and head.isdigit()):
        raise MalformedReply(f"{_shown(line)} does not start with a three-digit reply code")
    if head[:1] not in b"2345" or head[1:2] not in b"012345":
        raise MalformedReply(
            f"{_shown(line)}: {head.decode()} is not a valid reply code "
            "(first digit 2-5, second 0-5, RFC 5321 section 4.2.1)"
        )
    separator = line[3:4]
    if separator not in (b"", b" ", b"-"):
        raise MalformedReply(
            f"{_shown(line)}: the code must be followed by a space or '-' (RFC 5321 section 4.2)"
        )
    return int(head), separator, line[4:]


class ReplyReader:
    """Incremental, strict reply parser: ``feed(bytes) -> ([WireReply, …], error)``.

    A line that breaks section 4.2, a continuation line with another code, a
    line over ``MAX_LINE`` bytes (even before its end arrives) or a reply
    over ``MAX_REPLY`` bytes is a ``MalformedReply``. After one the reader is
    spent: the connection cannot be trusted any more.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # bytes of _buffer already known to hold no newline
        self._code: int | None = None
        self._lines: list[bytes] = []
        self._size = 0
        self._crlf = False  # a line ended with CR LF: the server ends its lines so
        self.error: MalformedReply | None = None

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a complete reply."""
        return len(self._buffer) + self._size

    @property
    def bare_cr(self) -> bool:
        """Whether the unfinished line holds a CR that no LF has followed. Asked when a wait
        ran out: its LF had the whole wait to come, so the server ends lines with CR alone
        (RFC 5321 section 2.3.8 asks for CRLF), and no wait would complete the reply.

        Not a CR that ends what arrived from a server that ended its earlier lines with CR
        LF: that server stalled between the two (a timeout, and retrying may help)."""
        if b"\r" in self._buffer[:-1]:
            return True
        return self._buffer.endswith(b"\r") and not self._crlf

    @property
    def head(self) -> bytes:
        """The first bytes of an unfinished line (what arrived and is not a reply yet)."""
        return bytes(self._buffer[:8])

    def feed(self, data: bytes) -> tuple[list[WireReply], MalformedReply | None]:
        """Add received bytes; return the replies they complete, in order, and any error.

        Replies completed before a malformed line are still returned: they
        answered earlier commands. After an error the reader is spent.
        """
        if self.error is not None:
            return [], self.error
        self._buffer.extend(data)
        replies: list[WireReply] = []
        start = 0
        try:
            while True:
                end = self._buffer.find(b"\n", max(start, self._scanned))
                if end < 0:
                    break
                line = bytes(self._buffer[start:end])
                if line.endswith(b"\r"):
                    self._crlf = True
                    line = line.rstrip(b"\r")
                start = end + 1
                reply = self._line(line)
                if reply is not None:
                    replies.append(reply)
            unfinished = len(self._buffer) - start
            if unfinished > MAX_LINE and self._buffer.endswith(b"\r"):
                unfinished -= 1  # the CR of a CRLF whose LF is still on its way: not text
            if unfinished > MAX_LINE:
                raise MalformedReply(
                    f"a reply line longer than {MAX_LINE} bytes "
                    f"({_shown(bytes(self._buffer[start : start + 60]))})"
                )
        except MalformedReply as exc:
            self.error = exc
            self._buffer.clear()
            return replies, exc
        del self._buffer[:start]
        self._scanned = len(self._buffer)  # what is left holds no newline
        return replies, None

    def _line(self, line: bytes) -> WireReply | None:
        if len(line) > MAX_LINE:
            raise MalformedReply(f"a reply line longer than {MAX_LINE} bytes ({_shown(line)})")
        code, separator, text = _code_of(line)
        if self._code is not None and code != self._code:
            raise MalformedReply(
                f"{_shown(line)}: a continuation of a {self._code} reply carries another code "
                "(RFC 5321 section 4.2.1)"
            )
        self._code = code
        self._lines.append(text)
        self._size += len(line)
        if self._size > MAX_REPLY:
            raise MalformedReply(f"a reply longer than {MAX_REPLY} bytes")
        if separator == b"-":
            return None
        reply = WireReply(code=code, lines=tuple(self._lines))
        self._code, self._lines, self._size = None, [], 0
        return reply
