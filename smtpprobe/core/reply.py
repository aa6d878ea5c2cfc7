"""SMTP replies as values, and parsing them from the wire or from pasted text.

A reply (RFC 5321 section 4.2) is a three-digit code and one or more text
lines; the enhanced status code (RFC 3463/RFC 2034), when the server sends
one, opens the text of each line.
"""

from __future__ import annotations

import re
from dataclasses import field

from smtpprobe.core.record import record

__all__ = ["Reply", "decode_reply_text", "guess_encoding", "parse_reply"]

# RFC 3463 section 2: class "." subject "." detail; class is 2, 4 or 5. Some servers put a
# colon after it ("250 2.0.0: Ok", "451 4.3.0: Temporary lookup failure"): the colon is no
# part of the text.
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$|:(?:\s|$))")
_LINE = re.compile(r"^(\d{3})([ -]?)(.*)$")


@record
class Reply:
    """One complete server reply: basic code, enhanced code (or None), text lines."""

    code: int
    lines: tuple[str, ...]
    enhanced: str | None = None
    # Which lines carried ``enhanced`` on the wire (its text stripped from them); None:
    # every line did. Only ``display`` reads it: two replies are the same reply whatever it says.
    marked: tuple[bool, ...] | None = field(default=None, compare=False, repr=False)
    # Whether a colon followed ``enhanced`` on the wire ("451 4.3.0: …"); only ``display`` reads it.
    colon: bool = field(default=False, compare=False, repr=False)

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
        prefix = f"{self.enhanced}{':' if self.colon else ''} " if self.enhanced else ""
        marked = self.marked or (True,) * len(self.lines)
        return "\n".join(
            f"{self.code}{' ' if i == last else '-'}{prefix if marked[i] else ''}{line}".rstrip()
            for i, line in enumerate(self.lines)
        )


def _split_enhanced(line: str) -> tuple[str | None, bool, str]:
    """The enhanced code at the line's start, whether a colon followed it, and the words."""
    match = _ENHANCED.match(line)
    if not match:
        return None, False, line
    rest = line[match.end() :]
    colon = rest.startswith(":")
    return match.group(0), colon, (rest[1:] if colon else rest).lstrip()


def from_code_and_message(code: int, message: str) -> Reply:
    """Build a Reply from a code and a newline-joined message (aiosmtplib's shape).

    The enhanced code is taken from the first line; it is stripped from every
    line that repeats it, so ``lines`` holds only the human text.
    """
    raw_lines = message.split("\n") if message else []
    enhanced: str | None = None
    colon = False
    lines: list[str] = []
    marked: list[bool] = []
    for i, raw in enumerate(raw_lines):
        found, has_colon, rest = _split_enhanced(raw.rstrip("\r"))
        if i == 0:
            enhanced, colon = found, has_colon
        if found is not None and found == enhanced:
            lines.append(rest)
            marked.append(True)
        else:
            lines.append(raw.rstrip("\r"))
            marked.append(False)
    return Reply(
        code=code,
        lines=tuple(lines),
        enhanced=enhanced,
        marked=None if enhanced is None or all(marked) else tuple(marked),
        colon=colon,
    )


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
    in the wild still answer in ISO-2022-JP, Shift_JIS or EUC-JP; the encoding
    is chosen by ``guess_encoding``. Bytes no candidate reads become
    replacement characters, so nothing is lost silently and nothing raises.
    """
    encoding = guess_encoding(raw)
    return raw.decode(encoding, errors="replace")


# ISO-2022-JP is 7-bit, so it is told by its escape sequences (RFC 1468 section 2);
# the -2 and -ext variants add JIS X 0212 and half-width katakana.
_ISO_2022_JP = ("iso-2022-jp", "iso-2022-jp-2", "iso-2022-jp-ext")
_ISO_2022_ESCAPES = (b"\x1b$@", b"\x1b$B", b"\x1b$(D", b"\x1b(B", b"\x1b(J", b"\x1b(I")
# 8-bit Japanese encodings in order of preference on a tie: cp932 (Microsoft's
# Shift_JIS, what Windows servers send) before EUC-JP (older Unix servers).
_EIGHT_BIT = ("cp932", "euc-jp")
_SCORED = 65536  # characters weighed: plenty to tell, and a 16 MB paste stays quick


def guess_encoding(raw: bytes) -> str:
    """The codec that reads ``raw`` as the most plausible text.

    UTF-8 and ISO-2022-JP are unambiguous when they decode. Shift_JIS (cp932)
    and EUC-JP bytes often both decode, one of them as nonsense: EUC-JP read as
    cp932 becomes half-width katakana among rare kanji, so each candidate is
    scored by how Japanese its characters look (``_plausibility``). ``utf-8``
    (with replacement characters) when nothing fits.
    """
    if b"\x1b" in raw and any(escape in raw for escape in _ISO_2022_ESCAPES):
        for encoding in _ISO_2022_JP:
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            return encoding
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    best: tuple[int, str] | None = None
    for encoding in _EIGHT_BIT:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text[:_SCORED])
        if score is not None and (best is None or score > best[0]):
            best = (score, encoding)
    return best[1] if best is not None else "utf-8"


def _plausibility(text: str) -> int | None:
    """How much ``text`` looks like real Japanese; None when it cannot be (see below)."""
    score = inside_words = 0
    for index, ch in enumerate(text):
        code = ord(ch)
        if code < 0x80:
            if code < 0x20 and ch not in "\t\r\n\x1b":
                return None  # control characters: the guess was wrong
        elif 0x3040 <= code <= 0x30FF or 0x3000 <= code <= 0x303F:
            score += 3  # hiragana, katakana, Japanese punctuation: most of any real text
        elif 0x4E00 <= code <= 0x9FFF or 0xFF01 <= code <= 0xFF60:
            score += 1  # kanji and full-width forms: real, but also what garbage decodes to
            if _between_letters(text, index):
                # A European letter and the one after it read as cp932 ("Empf\xe4nger":
                # "\xe4n" is one kanji): inside a Latin word, seldom in Japanese text.
                inside_words += 1
                score -= 3
        elif 0xFF61 <= code <= 0xFF9F:
            score -= 2  # half-width katakana: rare in replies, typical of EUC-JP read as cp932
        elif 0xE000 <= code <= 0xF8FF:
            return None  # private use (cp932 user-defined area): not a reply's text
        else:
            score -= 1  # Greek, Cyrillic, box drawing, symbols: unlikely in a reply
    if inside_words and score <= 0:
        return None  # only letters of another language, not Japanese
    return score


def _between_letters(text: str, index: int) -> bool:
    before = text[index - 1 : index]
    after = text[index + 1 : index + 2]
    return before.isascii() and before.isalpha() and after.isascii() and after.isalpha()
