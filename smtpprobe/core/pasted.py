"""Reading what a user pastes: bytes or text in, one plain text out.

A paste arrives as UTF-8 (with or without a byte order mark), UTF-16 or UTF-32 (what
Windows calls "Unicode" text), ISO-2022-JP, Shift_JIS or EUC-JP; as lines of text, or as a
whole message (an ``.eml`` bounce, RFC 3464 delivery status notification with MIME parts and
encoded words). ``decode_pasted`` reduces it to the text that ``smtpprobe.core.bounce``
searches for replies and ``smtpprobe.core.client_errors`` for client-side errors, with the
forms that typing and typography swap for one another read as one (``PLAIN_FORMS``,
full-width letters and digits, half-width katakana), and what programs and pages wrap
around the text they print read through: JSON's and Python's escaped characters, HTML's
character references, and a service prefix on every line (Docker Compose, PM2).
Everything here is pure and never raises on garbage.
"""

from __future__ import annotations

import binascii
import codecs
import html
import re
import unicodedata
from typing import TYPE_CHECKING

from smtpprobe.core.lazyre import GuardedPattern
from smtpprobe.core.record import record
from smtpprobe.core.reply import decode_reply_text, guess_encoding

if TYPE_CHECKING:
    from email.message import Message

__all__ = ["HEADER_FIELD_START", "PLAIN_FORMS", "Pasted", "decode_pasted", "utf16_text"]

_MAX_MIME_DEPTH = 32  # nested multiparts followed; a real DSN nests two or three
_CONTENT_TYPE_LINE = GuardedPattern(r"^content-type[ \t]*:", re.I | re.M)
HEADER_FIELD_START = GuardedPattern(r"[A-Za-z][A-Za-z0-9-]{0,75}+[ \t]*+:")
_HTML_BREAK = GuardedPattern(r"<br\s{0,8}/?>|</p>|</div>|</tr>", re.I)
_HTML_TAG = GuardedPattern(r"<[^<>]*>")
_HTML_SPACE = GuardedPattern(r"&nbsp;", re.I)
# RFC 2047 encoded words; adjacent ones are one run (the space between them is not text,
# section 6.2). A word's charset may carry an RFC 2231 language ("utf-8*ja").
_ENCODED_WORD = GuardedPattern(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=")
_ENCODED_RUN = GuardedPattern(
    r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=(?:[ \t\r\n]*=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)*"
)
_NOT_BASE64 = GuardedPattern(r"[^A-Za-z0-9+/]")
_SURROGATE = GuardedPattern(r"[\ud800-\udfff]")


@record
class Pasted:
    """Decoded input: the text to search and how it was read."""

    text: str
    encoding: str
    kind: str  # "text" or "mime"
    size: int


def decode_pasted(data: bytes | str) -> Pasted:
    """Decode pasted bytes (UTF-8, UTF-16, ISO-2022-JP, Shift_JIS, EUC-JP) and unwrap MIME.

    A byte order mark is dropped; UTF-16 (what Windows calls "Unicode" text) is
    read with or without one. A whole message (headers, then a body, possibly multipart with a
    ``message/delivery-status`` part) is reduced to its decoded text parts and
    status fields; MIME encoded words (``=?ISO-2022-JP?B?…?=``) are decoded.
    Never raises: a part in an unknown or bogus charset (``punycode``,
    ``base64``, a made-up name) is decoded as if it had none, broken base64 or
    quoted-printable as far as it goes.
    """
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that never was a byte
            raw = data.encode("utf-8", "replace")
        text, encoding = _clean(data), "utf-8"
    else:
        raw = data
        wide = utf16_text(raw)
        if wide is not None:
            text, encoding = wide
            raw = text.encode("utf-8", "replace")  # what MIME parsing reads below
        else:
            raw = raw.removeprefix(codecs.BOM_UTF8)
            encoding = guess_encoding(raw)
            text = raw.decode(encoding, errors="replace")
    kind = "text"
    if _looks_like_message(text):
        unwrapped = _mime_text(raw)
        if unwrapped is not None:
            text, kind = unwrapped, "mime"
    if "=?" in text:
        text = _decode_encoded_words(text)
    if "\\u" in text or "\\x" in text:
        text = _unescaped(text)
    if "&" in text and _HTML_ENTITY.search(text):
        text = _HTML_ENTITY.sub(_entity, text)
    if "|" in text:
        text = _without_service_prefix(text)
    if ":" in text and "\n" in text:
        text = _without_log_stamp(text)
    if "-" in text and ":" in text:
        text = _dsn_fields_on_their_lines(text)
    if not text.isascii():
        text = _narrowed(text)
    return Pasted(text=text, encoding=encoding, kind=kind, size=len(raw))


# Full-width digits, Latin letters and the ideographic space, as a Japanese input method
# types them ("５５０　５．１．１", "Ｒｅｌａｙ ａｃｃｅｓｓ ｄｅｎｉｅｄ"): the code and the
# words are the same (Unicode's compatibility mappings, UAX #15 NFKC, for just these
# characters; full-width punctuation, which Japanese prose and the rules' Japanese words use,
# and the rest of a Japanese text stay as they are).
# Likewise the no-break spaces a web page or French typography puts between words, and the
# typographic apostrophe a page or a retyping puts for the straight one: the words are the
# same words (client_errors.fold reads its patterns, and texts that were not decoded here,
# with the same table).
PLAIN_FORMS = {0x00A0: " ", 0x202F: " ", 0x2009: " ", 0x2019: "'", 0x2018: "'", 0x02BC: "'"}
_NARROW = {
    **{0xFF10 + d: str(d) for d in range(10)},
    **{0xFF21 + i: chr(0x41 + i) for i in range(26)},
    **{0xFF41 + i: chr(0x61 + i) for i in range(26)},
    0x3000: " ",
    **PLAIN_FORMS,
}
_FULL_STOP_IN_CODE = GuardedPattern(r"(?<=\d)．(?=\d)")
# Half-width katakana and Japanese punctuation, as older Japanese programs, mobile carriers'
# bounces and a Japanese Windows console write them ("ｻｰﾊﾞｰに接続できません｡"): read in
# their usual full-width forms, a voiced mark joined to its letter (ｶﾞ as ガ; NFKC, for just
# these characters).
_HALF_WIDTH_KANA = GuardedPattern(r"[\uff61-\uff9f]+")


def _full_width_kana(run: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", run.group())


def _narrowed(text: str) -> str:
    text = text.translate(_NARROW)
    if _HALF_WIDTH_KANA.search(text):
        text = _HALF_WIDTH_KANA.sub(_full_width_kana, text)
    return _FULL_STOP_IN_CODE.sub(".", text) if "．" in text else text


# Non-ASCII text as programs escape it in the strings they print: JSON's "\u30b5" (PHP's
# json_encode and Python's json.dumps by default, so a Japanese app's JSON log or API answer
# reads '{"message":"\u30b5\u30fc\u30d0\u30fc..."}'; a pair of surrogates for a character
# beyond the BMP), and the UTF-8 bytes of Python's bytes repr ("SMTPAuthenticationError(535,
# b'5.7.8 \xe8\xaa\x8d\xe8\xa8\xbc...')"). Each is read as the character it stands for; an
# escape of a control character other than a line break or tab, a lone surrogate and bytes
# that are no UTF-8 are left as written. An escaped backslash (two backslashes) is matched
# first, as a pair, and kept: a "u" or "x" after it is a letter.
_JSON_ESCAPE = GuardedPattern(
    r"\\\\|\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})"
)
_BYTE_ESCAPES = GuardedPattern(r"\\\\|(?:\\x[89a-fA-F][0-9a-fA-F]){2,}")
_ESCAPED_CONTROLS = {0x09: "\t", 0x0A: "\n", 0x0D: "\r"}


def _json_character(match: re.Match[str]) -> str:
    if match.group(1) is None and match.group(3) is None:  # an escaped backslash
        return match.group()
    if match.group(3) is None:  # a surrogate pair
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    code = int(match.group(3), 16)
    if 0xD800 <= code <= 0xDFFF or (code < 0x20 and code not in _ESCAPED_CONTROLS) or code == 0x7F:
        return match.group()
    return _ESCAPED_CONTROLS.get(code, chr(code))


def _utf8_run(match: re.Match[str]) -> str:
    run = match.group()
    if run == "\\\\":  # an escaped backslash
        return run
    try:
        return bytes.fromhex(run.replace("\\x", "")).decode("utf-8")
    except UnicodeDecodeError:
        return run


def _unescaped(text: str) -> str:
    if "\\u" in text:
        text = _JSON_ESCAPE.sub(_json_character, text)
    if "\\x" in text:
        text = _BYTE_ESCAPES.sub(_utf8_run, text)
    return text


# Text copied from a web page's source or an HTML-escaped log ("&lt;user@example.jp&gt;:
# Recipient address rejected", "Can&#x27;t send mail"): each character reference read as its
# character (HTML's named and numeric references, with their semicolon only, so that a URL's
# "&copy=1" stays).
_HTML_ENTITY = GuardedPattern(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")


def _entity(match: re.Match[str]) -> str:
    character = html.unescape(match.group())
    return character if character.isprintable() or character in "\t\n" else match.group()


# Docker Compose writes each line of a service's output after the service's name and a bar
# ("emailer_1 | code: 'EAUTH',", pastebin.com/index/CAKEe17E), PM2 after the process's number
# and name ("0|main  | Error: Invalid login: 535 …", github.com/xuess/puppeteer-sign/issues/2);
# a reply's lines go on after the same prefix on each line. When every line of a paste has
# the same one, it is dropped.
_SERVICE_PREFIX = GuardedPattern(
    r"(?:\d{1,4}\|[^|\n]{1,64}?|[A-Za-z0-9][\w.-]{0,63})[ \t]*\|[ \t]?"
)


def _without_service_prefix(text: str) -> str:
    lines = text.split("\n")
    names: set[str] = set()
    cut: list[int] = []
    for line in lines:
        if not line.strip():
            cut.append(0)
            continue
        prefix = _SERVICE_PREFIX.match(line)
        if prefix is None:
            return text
        names.add(prefix.group().rstrip(" \t|"))
        if len(names) > 1:
            return text
        cut.append(prefix.end())
    if sum(1 for c in cut if c) < 2:
        return text
    return "\n".join(line[c:] for line, c in zip(lines, cut, strict=True))


# A logger that writes each line of a message as its own entry puts the same time stamp
# (and level) before every line of it: "[14:56:56 WARN]: javax.mail.MessagingException: …"
# then "[14:56:56 WARN]:   nested exception is:" (a Bukkit server's log,
# github.com/CatSeed/CatSeedLogin/issues/33), "2022-04-04 10:25:35,358 - " before a DEBUG
# and a WARNING line (github.com/dgtlmoon/changedetection.io/issues/518). A reply's or a
# traceback's lines go on after it. When every line of a paste starts with the same stamp,
# it is dropped; a program's name and process number after it stay (Postfix's
# "postfix/smtp[…]:" says which side spoke).
_LOG_STAMP = GuardedPattern(
    r"\[?(?:\d{2,4}[/.-]\d{1,2}[/.-]\d{1,4}(?:T|\s{1,2}))?\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:[.,]\d{1,9})?(?:Z|\s?[+-]\d{2}:?\d{2}|\sUTC)?\]?"
    r"(?:\s{1,8}\[?(?:ERROR|ERR|WARN(?:ING)?|INFO|DEBUG|FATAL|CRITICAL|NOTICE|TRACE)\]?)?\]?"
    r"(?:\s{0,8}:)?(?:\s{1,8}\[[\w.:-]{1,30}\])?(?:\s{0,8}[-|:])?\s{1,8}"
)


def _without_log_stamp(text: str) -> str:
    # The first line with words is looked at before the paste is split: most have no stamp.
    start = len(text) - len(text.lstrip()) if text[:1].isspace() else 0
    stamp = _LOG_STAMP.match(text, start)
    if stamp is None:
        return text
    prefix = stamp.group()
    lines = text.split("\n")
    filled = [line for line in lines if line.strip()]
    if len(filled) < 2:
        return text
    if not all(line.startswith(prefix) for line in filled):
        return text
    return "\n".join(line[len(prefix) :] if line.strip() else line for line in lines)


# A delivery report's status fields (RFC 3464 section 2.3) pasted into a form or a forum that
# joined its lines: "Final-Recipient: rfc822; u@example.cz Action: failed Status: 5.4.4
# Diagnostic-Code: X-Postfix; Host or domain name not found …" (support.mozilla.org and
# pastes in the development corpus). A line that holds three of the fields, one of them a
# field no prose says (Diagnostic-Code, Final-Recipient …), is split before each, so the
# report is read field by field as it was written.
_DSN_FIELD = GuardedPattern(
    r"\b(?:Final-Recipient|Original-Recipient|Diagnostic-Code|Remote-MTA|Reporting-MTA"
    r"|Received-From-MTA|Arrival-Date|Last-Attempt-Date|Will-Retry-Until|Action|Status)"
    r"[ \t]{0,4}:[ \t]",
    re.I,
)
_DSN_ONLY_FIELD = GuardedPattern(r"\A[A-Za-z]+-[A-Za-z]")
# One pass over the paste first: most hold none of the hyphenated fields, and are not split.
_ANY_DSN_ONLY_FIELD = GuardedPattern(
    r"\b(?:Final-Recipient|Original-Recipient|Diagnostic-Code|Remote-MTA|Reporting-MTA"
    r"|Received-From-MTA|Arrival-Date|Last-Attempt-Date|Will-Retry-Until)[ \t]{0,4}:",
    re.I,
)


def _dsn_fields_on_their_lines(text: str) -> str:
    if not _ANY_DSN_ONLY_FIELD.search(text):
        return text

    def split(line: str) -> str:
        fields = list(_DSN_FIELD.finditer(line))
        if len(fields) < 3 or not any(_DSN_ONLY_FIELD.match(f.group()) for f in fields):
            return line
        out, last = [], 0
        for field in fields:
            if field.start() > last and line[last : field.start()].strip():
                out.append(line[last : field.start()].rstrip())
                last = field.start()
        out.append(line[last:])
        return "\n".join(out)

    return "\n".join(split(line) for line in text.split("\n"))


def utf16_text(raw: bytes) -> tuple[str, str] | None:
    """``(text, codec)`` when ``raw`` is UTF-16 or UTF-32: a byte order mark, or (without
    one) the NUL byte of every other position that ASCII text has in UTF-16."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's: FF FE 00 00 starts with FF FE
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(bom):
            return raw.decode(codec, errors="replace"), codec
    sample = raw[:4096]
    half = len(sample) // 2
    if half < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for codec, nuls, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nuls * 4 >= half and others * 20 <= half:
            try:
                return raw[: len(raw) - len(raw) % 2].decode(codec), codec
            except UnicodeDecodeError:  # NUL bytes, but not UTF-16: left to the binary check
                return None
    return None


def _looks_like_message(text: str) -> bool:
    head = text.lstrip()[:4000]
    return bool(_CONTENT_TYPE_LINE.search(head)) and bool(HEADER_FIELD_START.match(head))


def _mime_text(raw: bytes) -> str | None:
    # The email package loads only for a pasted message (.eml): most pastes are lines of
    # text, and importing it costs more than explaining one.
    import email
    import email.policy

    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        if not message.keys():
            return None
        parts: list[str] = []
        subject = message.get("Subject")
        if subject:
            parts.append(f"Subject: {_decode_encoded_words(str(subject))}")
        _collect(message, parts, 0)
    except Exception:  # the email package raises many kinds on garbage: keep the plain text
        return None
    return _clean("\n".join(parts)) if parts else None


def _collect(part: Message, parts: list[str], depth: int) -> None:
    from email.message import Message

    if depth > _MAX_MIME_DEPTH:
        return
    content_type = part.get_content_type()
    if content_type in ("message/rfc822", "text/rfc822-headers"):
        return  # the returned original is the user's own mail, not the bounce
    if content_type == "message/delivery-status":
        payload = part.get_payload()
        for block in payload if isinstance(payload, list) else [payload]:
            # A blank line after each block, as on the wire: each recipient's Status,
            # Remote-MTA and Diagnostic-Code belong together (RFC 3464 section 2.1).
            text = _fields_text(block) if isinstance(block, Message) else str(block)
            parts.append(text + "\n")
        return
    if part.is_multipart():
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            if isinstance(sub, Message):
                _collect(sub, parts, depth + 1)
        return
    if content_type in ("text/plain", "text/html"):
        parts.append(_part_text(part, content_type))


def _fields_text(block: Message) -> str:
    # A DSN's per-message and per-recipient fields (RFC 3464 section 2.1), one per line;
    # read as items, not re-serialised, so a malformed field cannot stop the rest.
    return "\n".join(f"{name}: {value}" for name, value in block.items())


def _part_text(part: Message, content_type: str) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a transfer encoding the email package cannot undo
        payload = None
    if not isinstance(payload, bytes):
        return str(part.get_payload())
    try:
        charset = part.get_content_charset() or ""
    except Exception:  # a Content-Type parameter the email package cannot parse
        charset = ""
    text = _decode_bytes(payload, charset)
    if content_type == "text/html":
        text = _HTML_BREAK.sub("\n", text)
        text = _HTML_TAG.sub("", text)
        text = _HTML_SPACE.sub(" ", text)
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text


# Codecs Python knows that are not a MIME charset: they either refuse
# ``errors="replace"`` (idna, undefined) or read the bytes as something other
# than text (punycode, backslash escapes). Non-text codecs (base64, zlib, rot13)
# are told by codecs' own flag.
_NOT_CHARSETS = frozenset(
    {"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "mbcs", "oem"}
)
# Labels whose text is in practice the wider Microsoft table: servers call cp932 "Shift_JIS".
_WIDER = {"shift_jis": "cp932"}


def _charset_codec(charset: str) -> str | None:
    """Python's codec for a MIME charset name, or None when there is no usable one."""
    name = charset.strip().strip('"').lower()
    if not name or len(name) > 64:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return _WIDER.get(info.name, info.name)


def _decode_bytes(payload: bytes, charset: str) -> str:
    """Text of a part or an encoded word in its declared charset, else the best guess."""
    codec = _charset_codec(charset)
    if codec is not None:
        try:
            return payload.decode(codec)
        except Exception:  # UnicodeDecodeError, or worse from an exotic codec: guess instead
            pass
    return decode_reply_text(payload)


def _clean(text: str) -> str:
    """Text without lone surrogates (the email package keeps undecodable bytes as them)."""
    if not _SURROGATE.search(text):
        return text
    try:
        return decode_reply_text(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # surrogates that never were bytes
        return text.encode("utf-8", "replace").decode("utf-8")


def _decode_encoded_words(text: str) -> str:
    return _ENCODED_RUN.sub(_decode_run, text)


def _decode_run(run: re.Match[str]) -> str:
    # Adjacent words in one charset are joined before decoding: a character may be
    # split across two of them (forbidden by RFC 2047 section 5, common in practice).
    chunks: list[tuple[str, bytearray]] = []
    for word in _ENCODED_WORD.finditer(run.group(0)):
        charset, kind, data = word.group(1).lower(), word.group(2), word.group(3)
        raw = _b_decode(data) if kind in "Bb" else _q_decode(data)
        if chunks and chunks[-1][0] == charset:
            chunks[-1][1].extend(raw)
        else:
            chunks.append((charset, bytearray(raw)))
    return "".join(_decode_bytes(bytes(data), charset) for charset, data in chunks)


def _b_decode(data: str) -> bytes:
    # Lenient base64 (RFC 2047 section 4.1): stray characters dropped, padding repaired.
    cleaned = _NOT_BASE64.sub("", data.split("=", 1)[0])
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]  # one leftover character carries no whole byte
    try:
        return binascii.a2b_base64(cleaned + "=" * (-len(cleaned) % 4))
    except binascii.Error:
        return b""


def _q_decode(data: str) -> bytes:
    # RFC 2047 section 4.2: "_" is a space, "=XX" a byte; a broken escape stays as it is.
    return binascii.a2b_qp(data.encode("utf-8", "replace"), header=True)
