"""Finding SMTP replies in whatever a user pastes: a reply, a bounce, a whole DSN.

Input arrives as bytes or text: one reply line, a multi-line reply
(``550-5.7.26 …`` continuations, often re-wrapped by the mail client), a Gmail
bounce in English or Japanese with its wrapper text ("The response from the
remote server was:" / "リモート サーバーからの応答:"), a Postfix or Exim bounce
("host X said: … (in reply to RCPT TO command)"), or a full RFC 3464 delivery
status notification with MIME parts, in UTF-8, ISO-2022-JP, Shift_JIS or EUC-JP.

``find_replies`` returns every negative reply (4xx/5xx) it can see, each with
what the surrounding text says about it: the SMTP stage it answered, the host
that sent it, the DSN ``Status:``, and whether the bounce comes from Gmail's
"Send mail as" (which means your own provider's server refused Gmail).
Everything here is pure: bytes in, values out.

Whatever is pasted, nothing here raises and nothing takes more than linear time:
bogus MIME charsets and broken base64 fall back to guessing the encoding, and
every pattern runs on lines of at most ``MAX_LINE`` characters (longer ones are
wrapped) or scans the text once without backtracking across it. The tests in
``tests/core/test_regex_safety.py`` hold each pattern to that.
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import Message

from smtpprobe.core.reply import Reply, decode_reply_text, from_code_and_message, guess_encoding

__all__ = ["MAX_LINE", "MAX_REPLIES", "Found", "Pasted", "decode_pasted", "find_replies"]

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
_MAX_MIME_DEPTH = 32  # nested multiparts followed; a real DSN nests two or three

# A reply code where a reply can start: at the beginning of a line, or after a
# wrapper that ends in ":" or ";" ("said:", "応答:", "smtp;", "was:"). RFC 5321
# section 4.2.1 limits the second digit to 0-5; that keeps "465 SSL" out.
_START = re.compile(r"(?:^|(?<=[:;：]))\s*([2-5][0-5]\d)([ -]|$)")
# Exchange NDRs and DSN fields often quote only the enhanced code: "5.7.57 SMTP; …".
_START_ENHANCED = re.compile(r"(?:^|(?<=[:;：]))\s*([45])\.(\d{1,3})\.(\d{1,3})\s+(?=\S)")
# Positive replies are only taken where they cannot be prose: with an enhanced
# code, or one of the replies a dialogue shows (RFC 5321 section 4.2.3).
_POSITIVE = frozenset({211, 214, 220, 221, 235, 250, 251, 252, 334, 354})
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$|[,;:])")
# A code repeated inside a re-wrapped or folded reply: "... did not 550-5.7.26 pass".
_INLINE_CODE = re.compile(r"(?<![\w.])([2-5][0-5]\d)[ -]([245]\.\d{1,3}\.\d{1,3})?(?=\s|$)")
_STAGE_HINTS = (
    # Postfix: "(in reply to RCPT TO command)"; Exim: "SMTP error from remote mail
    # server after RCPT TO:<x>:"; Sendmail: ">>> RCPT To:<x>" before "<<< 550 …".
    (re.compile(r"in reply to (?:the )?rcpt to|after rcpt to|>>> rcpt to", re.I), "rcpt"),
    (re.compile(r"in reply to (?:the )?mail from|after mail from|>>> mail from", re.I), "mail"),
    (re.compile(r"end of data|after (?:end of )?data|in reply to data|>>> data", re.I), "data"),
    (re.compile(r"in reply to (?:the )?(?:ehlo|helo)|after (?:ehlo|helo)", re.I), "ehlo"),
    (re.compile(r"in reply to (?:the )?auth|after auth", re.I), "auth"),
    (re.compile(r"initial connection|in reply to initial|after connect", re.I), "greeting"),
)
# A host name (RFC 1035 section 2.3.4: at most 253 characters) and an address
# literal such as [192.0.2.1] or [IPv6:2001:db8::1], bounded so no text makes it backtrack.
_HOST_SAID = re.compile(
    r"host\s{1,8}([A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63})(?:\[[^\]\s]{0,64}\])?\s{1,8}said", re.I
)
_DSN_FIELD = re.compile(
    r"^(Status|Remote-MTA|Reporting-MTA|Diagnostic-Code|Action|Final-Recipient)\s*:\s*(.*)$",
    re.I,
)
# Gmail's bounce when a "Send mail as" address's own SMTP server refused Gmail:
# the refusing server is the user's provider, not the recipient's.
_SEND_MAIL_AS = re.compile(
    r"send mail as|different address or alias|「名前」の機能|の機能を使用して別のアドレス|"
    r"送信元アドレス|他のメールアドレス|エイリアスから送信",
    re.I,
)
# Patterns used inside the functions below, compiled once and listed here so that the
# regex-safety test sees every pattern of this module.
_QUOTE_MARKERS = re.compile(r"^(?:[ \t]*>)+[ \t]?")  # "> " quoting in replies and forwards
_WRAPPER_END = re.compile(r"[:;：]$")
_LETTER = re.compile(r"[^\W\d_]")
_CONTENT_TYPE_LINE = re.compile(r"^content-type[ \t]*:", re.I | re.M)
_HEADER_START = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,75}[ \t]*:")
_HTML_BREAK = re.compile(r"<br\s{0,8}/?>|</p>|</div>|</tr>", re.I)
_HTML_TAG = re.compile(r"<[^<>]*>")
_HTML_SPACE = re.compile(r"&nbsp;", re.I)
# RFC 2047 encoded words; adjacent ones are one run (the space between them is not text,
# section 6.2). A word's charset may carry an RFC 2231 language ("utf-8*ja").
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=")
_ENCODED_RUN = re.compile(
    r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=(?:[ \t\r\n]*=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)*"
)
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_IN_REPLY_TO_TAIL = re.compile(r"\s{0,8}\(in reply to\b[^)]{0,200}\)?\s{0,8}$", re.I)
_CONTINUES = re.compile(r"gsmtp|in reply to|^\(", re.I)
_SENTENCE_END = re.compile(r"[。．]$")
_NON_WORDS = re.compile(r"\W+")

_MAX_REPLY_LINES = 100  # lines kept of one reply; a server's longest (EHLO) has about 20
_MAX_CONTINUATION = 30  # non-code lines absorbed into one reply before it is cut off
_MAX_TRAILING = 3  # lines after the final line, e.g. "… gsmtp (in reply to end of DATA command)"


@dataclass(frozen=True, slots=True)
class Pasted:
    """Decoded input: the text to search and how it was read."""

    text: str
    encoding: str
    kind: str  # "text" or "mime"
    size: int


@dataclass(frozen=True, slots=True)
class Found:
    """One reply found in the input, with what its surroundings say about it."""

    reply: Reply
    stage: str | None = None  # the SMTP phase it answered, when the text says so
    host: str | None = None  # the server that sent it ("host X said", Remote-MTA)
    recipient: str | None = None  # the address it was about (Final-Recipient, "<x>: host")
    status: str | None = None  # the DSN "Status:" field
    wrapper: str = ""  # the words before it on its line ("said:", "応答:")
    send_mail_as: bool = False  # a Gmail "Send mail as" bounce
    code_inferred: bool = False  # only an enhanced code was given; ``reply.code`` is X50


def decode_pasted(data: bytes | str) -> Pasted:
    """Decode pasted bytes (UTF-8, ISO-2022-JP, Shift_JIS, EUC-JP) and unwrap MIME.

    A whole message (headers, then a body, possibly multipart with a
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
        encoding = guess_encoding(raw)
        text = raw.decode(encoding, errors="replace")
    kind = "text"
    if _looks_like_message(text):
        unwrapped = _mime_text(raw)
        if unwrapped is not None:
            text, kind = unwrapped, "mime"
    if "=?" in text:
        text = _decode_encoded_words(text)
    return Pasted(text=text, encoding=encoding, kind=kind, size=len(raw))


def _looks_like_message(text: str) -> bool:
    head = text.lstrip()[:4000]
    return bool(_CONTENT_TYPE_LINE.search(head)) and bool(_HEADER_START.match(head))


def _mime_text(raw: bytes) -> str | None:
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
    if depth > _MAX_MIME_DEPTH:
        return
    content_type = part.get_content_type()
    if content_type in ("message/rfc822", "text/rfc822-headers"):
        return  # the returned original is the user's own mail, not the bounce
    if content_type == "message/delivery-status":
        payload = part.get_payload()
        for block in payload if isinstance(payload, list) else [payload]:
            parts.append(_fields_text(block) if isinstance(block, Message) else str(block))
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


@dataclass(slots=True)
class _Building:
    code: int
    enhanced: str | None
    first_wrapper: str
    lines: list[str]
    raw: list[str]
    index: int  # line number where it started
    inferred: bool = False  # the text had only an enhanced code
    final: bool = False  # the last line (code + space) has been seen
    trailing: int = 0
    gap: int = 0


def _unfold(text: str) -> list[str]:
    """Lines of at most ``MAX_LINE`` characters, with RFC 5322 folded DSN fields
    joined (while they fit) and quote markers removed."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        for index, line in enumerate(_wrapped(raw)):
            if index == 0:
                line = _QUOTE_MARKERS.sub("", line)
            if (
                index == 0
                and lines
                and line[:1] in (" ", "\t")
                and len(lines[-1]) + len(line) < MAX_LINE
                and _DSN_FIELD.match(lines[-1])
                and not _START.match(line.strip())
            ):
                lines[-1] = f"{lines[-1]} {line.strip()}"
                continue
            lines.append(line.rstrip())
    return lines


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


def _split_reply_start(line: str) -> tuple[str, int, str, str, bool] | None:
    """``(wrapper, code, separator, rest, code_inferred)`` when a reply starts on this line."""
    stripped = line.strip()
    for match in _START.finditer(stripped):
        wrapper = stripped[: match.start()].strip()
        if wrapper and not _WRAPPER_END.search(wrapper):
            continue
        rest = stripped[match.end() :].strip()
        enhanced = _ENHANCED.match(rest)
        code = int(match.group(1))
        # A bare "550" alone on a line, or followed by digits only, is not a reply.
        if not rest or (not enhanced and not _LETTER.search(rest)):
            continue
        if code < 400 and not (enhanced or (code in _POSITIVE and not wrapper)):
            continue
        return wrapper, code, match.group(2), rest, False
    for match in _START_ENHANCED.finditer(stripped):
        wrapper = stripped[: match.start()].strip()
        if wrapper and not _WRAPPER_END.search(wrapper):
            continue
        # No basic code in the text: take the usual one of the enhanced class
        # (X.Y.Z class 4 or 5, RFC 3463 section 3.1); Found.code_inferred says so.
        code = int(match.group(1)) * 100 + 50
        return wrapper, code, " ", stripped[match.start() :].strip(), True
    return None


def find_replies(text: str) -> list[Found]:
    """Every SMTP reply in ``text``, in order, duplicates removed (at most ``MAX_REPLIES``).

    Negative replies (4xx, 5xx) are found wherever a reply can start; positive
    ones only where they cannot be prose (see ``_POSITIVE``).
    """
    lines = _unfold(text)
    send_mail_as = bool(_SEND_MAIL_AS.search(text))
    dsn = _dsn_fields(lines)
    found: list[Found] = []
    current: _Building | None = None

    def close() -> None:
        nonlocal current
        if current is not None:
            found.append(_finish(current, lines, send_mail_as, dsn))
        current = None

    for index, line in enumerate(lines):
        if len(found) >= _MAX_FOUND:
            break
        start = _split_reply_start(line)
        if start is not None:
            wrapper, code, separator, rest, inferred = start
            enhanced_match = _ENHANCED.match(rest)
            enhanced = enhanced_match.group(0) if enhanced_match else None
            same = (
                current is not None
                and not current.final
                and current.code == code
                and (enhanced is None or current.enhanced in (None, enhanced))
                and not wrapper
            )
            if not same:
                close()
                current = _Building(code, enhanced, wrapper, [], [], index, inferred=inferred)
            assert current is not None
            if current.enhanced is None:
                current.enhanced = enhanced
            if len(current.lines) < _MAX_REPLY_LINES:
                current.lines.append(rest)
                current.raw.append(line.strip())
            current.final = separator != "-"
            current.gap = 0
            continue
        if current is None:
            continue
        stripped = line.strip()
        if not stripped and not current.final and current.gap < _MAX_CONTINUATION:
            current.gap += 1  # a re-wrapped bounce may put blank lines inside a reply
            continue
        if not stripped or _DSN_FIELD.match(stripped) or _is_prose(stripped, current):
            close()
            continue
        if current.final:
            current.trailing += 1
            if current.trailing > _MAX_TRAILING or not _continues(stripped):
                close()
                continue
        else:
            current.gap += 1
            if current.gap > _MAX_CONTINUATION:
                close()
                continue
        if len(current.lines) < _MAX_REPLY_LINES:
            current.lines.append(stripped)
            current.raw.append(stripped)
    close()
    return _unique(found)[:MAX_REPLIES]


_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _is_prose(line: str, building: _Building) -> bool:
    # Japanese commentary after an English reply (an article or a forwarded
    # bounce with a note) is not part of the reply; a Japanese reply is kept.
    return bool(_CJK.search(line)) and not any(_CJK.search(part) for part in building.lines)


def _continues(line: str) -> bool:
    # After the final line only a short tail belongs to the reply: Gmail's
    # "… - gsmtp" id and Postfix's "(in reply to … command)".
    return bool(_CONTINUES.search(line)) or (
        len(line) < 80 and not _SENTENCE_END.search(line) and line[:1].islower()
    )


def _finish(
    building: _Building, lines: list[str], send_mail_as: bool, dsn: dict[str, str]
) -> Found:
    message_lines = [_strip_inline_codes(line, building.code) for line in building.lines]
    # Postfix appends "(in reply to RCPT TO command)" to the server's words;
    # it names the stage (kept in ``stage``) and is not part of the reply.
    message = _IN_REPLY_TO_TAIL.sub("", "\n".join(message_lines)).strip("\n")
    reply = from_code_and_message(building.code, message)
    if reply.enhanced is None and dsn.get("status", "")[:1] == str(building.code)[0]:
        reply = replace(reply, enhanced=dsn["status"])
    window = "\n".join(
        lines[max(0, building.index - 4) : building.index + len(building.raw) + _MAX_TRAILING + 1]
    )
    return Found(
        reply=reply,
        stage=_stage(window, building.first_wrapper),
        host=_host(window) or dsn.get("remote-mta"),
        recipient=_recipient(window) or dsn.get("final-recipient"),
        status=dsn.get("status"),
        wrapper=building.first_wrapper,
        send_mail_as=send_mail_as,
        code_inferred=building.inferred,
    )


def _strip_inline_codes(line: str, code: int) -> str:
    def drop(match: re.Match[str]) -> str:
        return "" if int(match.group(1)) == code else match.group(0)

    return " ".join(_INLINE_CODE.sub(drop, line).split())


def _stage(window: str, wrapper: str) -> str | None:
    for pattern, stage in _STAGE_HINTS:
        if pattern.search(window) or pattern.search(wrapper):
            return stage
    return None


_ADDRESS = re.compile(r"<([^<>@\s]+@[^<>@\s]+)>")


def _recipient(window: str) -> str | None:
    match = _ADDRESS.search(window)
    return match.group(1) if match else None


def _host(window: str) -> str | None:
    match = _HOST_SAID.search(window)
    return match.group(1).lower() if match else None


def _dsn_fields(lines: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in lines:
        match = _DSN_FIELD.match(line.strip())
        if not match:
            continue
        name, value = match.group(1).lower(), match.group(2).strip()
        if name in ("remote-mta", "reporting-mta", "final-recipient"):
            value = value.split(";", 1)[-1].strip().lower()
        if name == "status":
            status = _ENHANCED.match(value)
            if not status:
                continue
            value = status.group(0)
        fields.setdefault(name, value)
    return fields


def _unique(found: list[Found]) -> list[Found]:
    seen: dict[tuple[int, str | None, str], int] = {}
    result: list[Found] = []
    for item in found:
        key = (item.reply.code, item.reply.enhanced, _normal(item.reply.text))
        if key in seen:
            # The same reply twice (the human part and the DSN): keep what each knows.
            kept = result[seen[key]]
            result[seen[key]] = replace(
                kept,
                stage=kept.stage or item.stage,
                host=kept.host or item.host,
                recipient=kept.recipient or item.recipient,
                status=kept.status or item.status,
            )
            continue
        seen[key] = len(result)
        result.append(item)
    return result


def _normal(text: str) -> str:
    return _NON_WORDS.sub(" ", text).strip().lower()
