"""SMTP replies as values, and parsing them from the wire or from pasted text.

A reply (RFC 5321 section 4.2) is a three-digit code and one or more text
lines; the enhanced status code (RFC 3463/RFC 2034), when the server sends
one, opens the text of each line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Reply", "decode_reply_text", "parse_reply"]

# RFC 3463 section 2: class "." subject "." detail; class is 2, 4 or 5.
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")
_LINE = re.compile(r"^(\d{3})([ -]?)(.*)$")


@dataclass(frozen=True, slots=True)
class Reply:
    """One complete server reply: basic code, enhanced code (or None), text lines."""

    code: int
    lines: tuple[str, ...]
    enhanced: str | None = None

    @property
    def text(self) -> str:
        """All text lines joined by a space: what rules match against."""
        return " ".join(line for line in self.lines if line)

    @property
    def is_positive(self) -> bool:
        """2xx and 3xx replies: the command went through (RFC 5321 section 4.2.1)."""
        return 200 <= self.code < 400

    @property
    def is_transient(self) -> bool:
        """4xx: a transient negative reply; the same command may work later."""
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        """5xx: a permanent negative reply."""
        return 500 <= self.code < 600

    def display(self) -> str:
        """The reply as it appeared on the wire, one line per text line."""
        if not self.lines:
            return str(self.code)
        last = len(self.lines) - 1
        prefix = f"{self.enhanced} " if self.enhanced else ""
        return "\n".join(
            f"{self.code}{' ' if i == last else '-'}{prefix}{line}".rstrip()
            for i, line in enumerate(self.lines)
        )


def _split_enhanced(line: str) -> tuple[str | None, str]:
    match = _ENHANCED.match(line)
    if not match:
        return None, line
    return match.group(0), line[match.end() :].lstrip()


def from_code_and_message(code: int, message: str) -> Reply:
    """Build a Reply from a code and a newline-joined message (aiosmtplib's shape).

    The enhanced code is taken from the first line; it is stripped from every
    line that repeats it, so ``lines`` holds only the human text.
    """
    raw_lines = message.split("\n") if message else []
    enhanced: str | None = None
    lines: list[str] = []
    for i, raw in enumerate(raw_lines):
        found, rest = _split_enhanced(raw.rstrip("\r"))
        if i == 0:
            enhanced = found
            lines.append(rest if found else raw.rstrip("\r"))
        elif found is not None and found == enhanced:
            lines.append(rest)
        else:
            lines.append(raw.rstrip("\r"))
    return Reply(code=code, lines=tuple(lines), enhanced=enhanced)


def parse_reply(text: str) -> Reply:
    """Parse a reply as written on the wire: ``550-5.7.26 first`` ... ``550 5.7.26 last``.

    Lines that do not start with a code continue the previous line (replies
    pasted from bounces are often re-wrapped). Raises ValueError when no line
    starts with a three-digit code.
    """
    code: int | None = None
    message_lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            continue
        match = _LINE.match(line)
        if match and (code is None or int(match.group(1)) == code):
            code = int(match.group(1))
            message_lines.append(match.group(3).strip())
        elif code is not None:
            message_lines.append(line)
    if code is None:
        raise ValueError("no line starts with a three-digit SMTP reply code")
    return from_code_and_message(code, "\n".join(message_lines))


def decode_reply_text(raw: bytes) -> str:
    """Decode reply bytes that may not be UTF-8.

    RFC 5321 replies are ASCII and RFC 6531 allows UTF-8, but Japanese servers
    in the wild still answer in ISO-2022-JP or Shift_JIS; try those before
    falling back to replacement characters, so nothing is lost silently.
    """
    if b"\x1b$" in raw or b"\x1b(" in raw:
        try:
            return raw.decode("iso-2022-jp")
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for encoding in ("cp932", "euc-jp"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        # cp932 maps almost any byte to something; private-use or control
        # characters mean the guess was wrong.
        if not any(_implausible(ch) for ch in text):
            return text
    return raw.decode("utf-8", errors="replace")


def _implausible(ch: str) -> bool:
    return "\ue000" <= ch <= "\uf8ff" or (ch < " " and ch not in "\t\r\n")
