"""The last line of defence: remove secrets and their encodings from any text.

Commands are recorded redacted at the source (``smtpprobe.core.auth``); this
scrubber runs over everything that leaves the program anyway (rendered text,
JSON, error messages), because a server may echo what it was sent and an
exception may quote a buffer.

For each secret of ``MIN_SECRET_LENGTH`` characters or more, these forms are masked:

- the secret itself, also percent-encoded (``quote``, ``quote_plus``: ``%20`` or
  ``+`` for a space, upper- or lower-case escapes, any mix of escaped and literal
  characters) and as it appears inside a JSON string (``\\"``, ``\\\\``, ``\\u00e4``);
- its UTF-8 bytes in hex, in any letter case;
- its base64, standard or URL-safe alphabet, with or without padding, at each of
  the three byte alignments, so that it is found inside a longer blob (PLAIN's
  ``\\0user\\0pass``, XOAUTH2's ``user=…\\x01auth=Bearer …``).

A secret made only of hex digits (the CRAM-MD5 digest) is matched in any letter case.

What a server may have done to a secret it echoes is masked too (a red-team round made
one echo each): the secret in upper or lower case, in each Unicode normal form (NFD looks
the same on screen), in quoted-printable (RFC 2045), inside a JSON string that escapes
``/`` (PHP's default), and any run of 8 of its characters that holds a digit or a symbol
(a server's cut copy); a run of letters alone is left, so that a passphrase of words does
not mask those words everywhere; its UTF-16 in hex and its base32 too. Where a text was
cut ("…" or "..."), the end before the cut is masked when it is how the secret starts, also
as a repr shows it (``\\'``) and with a character the cut split in its UTF-8 bytes (shown as
U+FFFD). Not masked: a secret a server splits over lines or spaces in short pieces (under 8
characters each), or a password the server learned before the current one.

Shorter secrets cannot be masked in every form without wrecking the output
(masking every ``a`` or every ``61``): a secret of 1 to 3 characters is masked
as text (also percent-encoded or JSON-escaped) and in hex (from two bytes up)
only where it stands alone, touching no ASCII letter or digit, and its base64
is not masked. The AUTH lines that carry it are long secrets of their own
(``smtpprobe.core.auth.Line.secrets``) and are masked in every form.

Each form is one compiled regular expression without nested quantifiers that
starts with a literal or a small set of characters, so the engine skips ahead
cheaply; masking is a few passes over the text, linear in its length (at worst
a secret's length of work per character; about 0.05 s per secret over 10 MB),
and overlapping matches become one mask.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import quopri
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from smtpprobe.core.lazyre import LazyPattern
from smtpprobe.core.record import record

__all__ = ["MASK", "MIN_SECRET_LENGTH", "Redactor", "scrub_data"]

MASK = "********"
# A secret read from the environment or a pipe in another encoding holds its undecodable bytes
# as lone surrogates: they are masked as the bytes they stand for, never a crash.
_RAW = "surrogateescape"
_CUT = "…"  # where smtpprobe shortened a text it quotes
_CUTS = LazyPattern(r"…|\.\.\.")  # and where a server or a program did, in ASCII
_SPLIT_CHAR = "\ufffd"  # a character a cut split in its UTF-8 bytes, as decoded
_MAX_CUTS = 256  # smtpprobe's own cuts are a few; more is a server's text, looked at so far
MIN_SECRET_LENGTH = 4

_HEX_LETTERS = frozenset("abcdefABCDEF")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")  # string.hexdigits, without its import
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NOT_ALNUM_AFTER = "(?![A-Za-z0-9])"
# The URL-safe alphabet (RFC 4648 section 5) differs from the standard one in two places.
_URL_SAFE = {"+": "-", "/": "_"}


# How a text is looked at before a form's pattern is compiled: as it is, in lower case
# (hex in any case), or with the URL-safe base64 digits read as the standard ones.
_AS_IS, _LOWER, _B64 = "as-is", "lower", "b64"
_TO_STANDARD_B64 = str.maketrans({v: k for k, v in _URL_SAFE.items()})


@record
class _Form:
    """One way a secret can appear: a regex, and what to check around a match.

    ``anchor`` is a literal every match contains when the text is seen as ``view``
    says; a text without it cannot hold the form, and its regex is never compiled
    (building the patterns of a password cost more than the rest of a short report).
    An empty anchor means "no cheap test": the regex always runs.
    """

    pattern: str
    lead: frozenset[str] = frozenset()  # a digit just before the match is part of it
    alone: bool = False  # only where no ASCII letter or digit touches it
    anchor: str = ""
    view: str = _AS_IS


def _any_case(text: str) -> str:
    """``text`` as a regex whose hex letters match in either case (``[aA]``)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c in _HEX_LETTERS else re.escape(c) for c in text)


def _json_escapes(char: str) -> set[str]:
    """How ``char`` may look inside a JSON string (both ``ensure_ascii`` settings)."""
    forms = {json.dumps(char, ensure_ascii=flag)[1:-1] for flag in (False, True)}
    if char == "/":
        forms.add("\\/")  # PHP's json_encode escapes the slash by default
    forms.discard(char)
    return forms


def _json_form(escaped: str) -> str:
    r"""A JSON escape as a regex; the hex digits of ``\uXXXX`` in either case."""
    if escaped.startswith("\\u"):
        return "".join(
            re.escape("\\u") + _any_case(escaped[i + 2 : i + 6]) for i in range(0, len(escaped), 6)
        )
    return re.escape(escaped)


def _text_pattern(secret: str) -> str:
    """The secret with each character literal, percent-encoded or JSON-escaped.

    Each character is a group of literal alternatives (``[aA]`` is written
    ``a|A``), so that the regex engine can skip ahead on the first character.
    """
    any_case = all(c in _HEX_DIGITS for c in secret)
    return "".join(_char_pattern(char, any_case) for char in secret)


def _python_escapes(char: str) -> set[str]:
    """How ``char`` may look in a Python repr: of a str (``\\'``, ``\\\\``, ``\\x1b``), of
    its ``ascii()`` (``\\xe9``, ``\\u30d1``) or of its UTF-8 bytes (``\\xc3\\xa9``), and each of
    those again inside a JSON string (a repr quoted in JSON output: ``\\\\xc3``)."""
    forms = {repr(char)[1:-1], ascii(char)[1:-1], repr(char.encode("utf-8", _RAW))[2:-1]}
    if char in "'\"":
        forms.add("\\" + char)  # a repr that holds both quotes escapes its delimiter
    forms = {f for f in forms if "\\" in f}
    forms |= {json.dumps(f, ensure_ascii=False)[1:-1] for f in forms}
    forms.discard(char)
    return forms


@functools.cache
def _char_pattern(char: str, any_case: bool) -> str:
    """One character of ``_text_pattern`` (cached: secrets share their characters)."""
    cases = {char.lower(), char.upper()} if any_case else {char}
    options = {re.escape(c) for c in sorted(cases)}
    # Percent-encoding (RFC 3986 section 2.1) of each UTF-8 byte; hex in either case.
    options.add("".join("%" + _any_case(f"{b:02X}") for b in char.encode("utf-8", _RAW)))
    if char == " ":
        options.add(r"\+")  # application/x-www-form-urlencoded, urllib's quote_plus
    options.update(_json_form(e) for e in _json_escapes(char))
    # A server's reply quoted in a Python repr (a malformed line in an error message,
    # bytes in a traceback) escapes quotes, backslashes and non-ASCII characters.
    options.update(re.escape(e) for e in _python_escapes(char))
    # Longest first: "%" must not stop at the literal "%" of its own "%25", nor "\\" at
    # the first backslash of "\\\\" (a JSON-quoted repr of one backslash).
    return "(?:" + "|".join(sorted(options, key=lambda o: (-len(o), o))) + ")"


@functools.cache
def _b64_class(chars: str) -> str:
    """A character class of base64 digits in both alphabets (cached: there are 64 digits)."""
    members = set(chars)
    members.update(_URL_SAFE[c] for c in list(members) if c in _URL_SAFE)
    body = "".join(re.escape(c) for c in sorted(members))
    return body if len(members) == 1 else f"[{body}]"


def _b64_forms(raw: bytes) -> list[_Form]:
    """Base64 of ``raw`` at each byte alignment (0, 1, 2 bytes into a 3-byte group).

    The digits that carry only the secret's bits are fixed. The digit at each end
    that shares bits with a neighbouring byte can be any digit those known bits
    allow: masked too when present, but not required, so a cut blob is still found.
    """
    forms: list[_Form] = []
    for pad in range(3):
        start_bit, end_bit = 8 * pad, 8 * (pad + len(raw))
        first_full = -(-start_bit // 6)
        end_full = end_bit // 6  # digits first_full .. end_full - 1 hold only secret bits
        digits = base64.b64encode(b"\0" * pad + raw + b"\0\0").decode("ascii")
        pattern = "".join(_b64_class(d) for d in digits[first_full:end_full])
        lead: frozenset[str] = frozenset()
        if start_bit % 6:  # the digit shared with the byte(s) before the secret
            # Only the low (start_bit % 6) bits of the byte before reach that digit, so
            # those values of it give every digit possible there.
            shared = {
                base64.b64encode(bytes([x]) * pad + raw).decode("ascii")[start_bit // 6]
                for x in range(1 << (start_bit % 6))
            }
            lead = frozenset(shared | {_URL_SAFE[c] for c in shared if c in _URL_SAFE})
        if end_bit % 6:  # the digit shared with the byte after (or the zero padding)
            # Only the top (6 - end_bit % 6) bits of the byte after reach that digit.
            free = 6 - end_bit % 6
            trail = {
                base64.b64encode(b"\0" * pad + raw + bytes([y, y])).decode("ascii")[end_full]
                for y in (k << (8 - free) for k in range(1 << free))
            }
            pattern = f"{pattern}{_b64_class(''.join(sorted(trail)))}?"
        # The digits that hold only secret bits are fixed, up to the URL-safe alphabet.
        fixed = digits[first_full:end_full]
        forms.append(_Form(pattern, lead=lead, anchor=fixed, view=_B64))
    return forms


def _forms(secret: str, altered: bool = True) -> list[_Form]:
    """Every form of one secret (``altered``: also as a server may have altered it)."""
    raw = secret.encode("utf-8", _RAW)
    if len(secret) < MIN_SECRET_LENGTH:
        # Alone only: inside a word it would mask ordinary text. Base64 is left out
        # (2 to 4 digits, found in any blob); hex only from 2 bytes (4 digits) up.
        forms = [_Form(_text_pattern(secret) + _NOT_ALNUM_AFTER, alone=True)]
        if len(raw) >= 2:
            forms.append(
                _Form(
                    _any_case(raw.hex()) + _NOT_ALNUM_AFTER,
                    alone=True,
                    anchor=raw.hex(),
                    view=_LOWER,
                )
            )
        return forms
    return [
        _Form(_text_pattern(secret)),
        _Form(_any_case(raw.hex()), anchor=raw.hex(), view=_LOWER),
        *_b64_forms(raw),
        *_misread_forms(secret, raw),
        *(_altered_forms(secret, raw) if altered else ()),
    ]


_FRAGMENT = 8  # characters of a secret that are masked wherever they stand (with a non-letter)


def _altered_forms(secret: str, raw: bytes) -> list[_Form]:
    """The secret as a server may have altered it: its case, its Unicode normal form, its
    quoted-printable (RFC 2045 section 6.7), and runs of ``_FRAGMENT`` of its characters that
    hold a digit or a symbol (a cut copy), each a literal."""
    variants = {secret.upper(), secret.lower()}
    variants.update(unicodedata.normalize(form, secret) for form in ("NFC", "NFD", "NFKC", "NFKD"))
    quoted = quopri.encodestring(raw).decode("ascii", "replace").replace("=\n", "").rstrip("\n")
    variants.add(quoted)
    if len(secret) > _FRAGMENT:
        for start in range(len(secret) - _FRAGMENT + 1):
            run = secret[start : start + _FRAGMENT]
            if not all(c.isalpha() or c == " " for c in run):
                variants.add(run)
    variants.discard(secret)
    forms = [
        _Form(_text_pattern(v), anchor=v) for v in sorted(variants) if len(v) >= MIN_SECRET_LENGTH
    ]
    # Other encodings of its bytes: UTF-16's in hex (either byte order), base32 (RFC 4648).
    for wide in ("utf-16-be", "utf-16-le"):
        digits = secret.encode(wide, "surrogatepass").hex()  # lone surrogates: as they are
        forms.append(_Form(_any_case(digits), anchor=digits, view=_LOWER))
    b32 = base64.b32encode(raw).decode("ascii").rstrip("=")
    forms.append(_Form(re.escape(b32), anchor=b32))
    return forms


# The codecs smtpprobe itself may read a reply's bytes with (core.reply.guess_encoding):
# a server that echoes the password's UTF-8 bytes inside a Shift_JIS reply has them shown
# as cp932 mojibake ("pﾃ､sswﾃｶrd" for "pässwörd"), which converts straight back.
_MISREADINGS = ("cp932", "euc-jp")


def _misread_forms(secret: str, raw: bytes) -> list[_Form]:
    """A non-ASCII secret's UTF-8 bytes as the reply decoder's other codecs read them, whole
    and without the first and last character (a neighbouring byte can pair with an edge)."""
    if secret.isascii():
        return []
    forms: list[_Form] = []
    for codec in _MISREADINGS:
        misread = raw.decode(codec, "replace")
        for text in (misread, misread[1:-1]):
            if text != secret and len(text) >= MIN_SECRET_LENGTH:
                forms.append(_Form(_text_pattern(text), anchor=text))
    return forms


def _may_hold(form: _Form, secret: str, views: dict[str, str]) -> bool:
    """False only when ``text`` (seen through ``views``) cannot contain ``form``."""
    text = views[_AS_IS]
    if form.view == _AS_IS and not form.anchor:
        # The text form: with no escape character in the text, only the literal
        # secret (in any case for a hex-only one) can match.
        if "%" in text or "\\" in text or ("+" in text and " " in secret):
            return True
        if all(c in _HEX_DIGITS for c in secret):
            return secret.lower() in _view(views, _LOWER)
        return secret in text
    return not form.anchor or form.anchor in _view(views, form.view)


def _view(views: dict[str, str], view: str) -> str:
    if view not in views:
        text = views[_AS_IS]
        views[view] = text.lower() if view == _LOWER else text.translate(_TO_STANDARD_B64)
    return views[view]


class Redactor:
    """Replace each known secret, and every encoded form of it, by ``MASK``.

    ``secrets`` are the password, the token and any secret derived from them
    (the AUTH lines, the CRAM-MD5 digest); empty strings are ignored.
    """

    __slots__ = ("_compiled", "_forms", "_secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # The forms are built on first use and each pattern is compiled only for a text
        # that may hold it: a probe makes a Redactor for its report whether or not
        # anything is rendered, and compiling every pattern costs milliseconds.
        self._secrets = tuple(dict.fromkeys(s for s in secrets if s))
        self._forms: tuple[tuple[_Form, str], ...] | None = None  # (form, its secret)
        self._compiled: dict[str, re.Pattern[str]] = {}

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def __reduce__(self) -> tuple[object, ...]:
        # A pickle of a report would carry the password (and the replies of a server that
        # echoed it) to wherever the bytes go: a report leaves the process only rendered.
        raise TypeError(
            "a Redactor (and the Report that holds it) is not pickled: it holds the password; "
            "send the rendered text or JSON instead (smtpprobe.render)"
        )

    def _all_forms(self) -> tuple[tuple[_Form, str], ...]:
        if self._forms is None:
            unique: dict[str, tuple[_Form, str]] = {}
            # The AUTH lines are a password's encodings (PLAIN's "\0user\0pass" and its
            # base64): masked in every form already, never altered by a server on their own.
            derived = {
                base64.b64encode(s.encode("utf-8", _RAW)).decode("ascii") for s in self._secrets
            }
            for secret in self._secrets:
                altered = "\0" not in secret and secret not in derived
                for form in _forms(secret, altered):
                    unique.setdefault(form.pattern, (form, secret))
            self._forms = tuple(unique.values())
        return self._forms

    def _regex(self, form: _Form) -> re.Pattern[str]:
        regex = self._compiled.get(form.pattern)
        if regex is None:
            regex = self._compiled[form.pattern] = re.compile(form.pattern)
        return regex

    def __call__(self, text: str, *, prefilter: bool = True) -> str:
        """``text`` with every secret form masked; overlapping forms become one mask.

        ``prefilter=False`` runs every pattern, whatever the text (for tests that hold
        the prefilter to the patterns).
        """
        cut = _CUT in text or "..." in text
        spans: list[tuple[int, int]] = self._cut_short(text) if cut else []
        views = {_AS_IS: text}
        for form, secret in self._all_forms():
            if prefilter and not _may_hold(form, secret, views):
                continue
            lead, alone = form.lead, form.alone
            for match in self._regex(form).finditer(text):
                start, end = match.span()
                before = text[start - 1] if start else ""
                if alone and before and before in _ALNUM:
                    continue
                if before and before in lead:
                    start -= 1
                spans.append((start, end))
        if not spans:
            return text
        spans.sort()
        pieces: list[str] = []
        done = 0  # text[:done] is copied or masked already
        for start, end in spans:
            if start > done or not pieces:
                pieces += [text[done:start], MASK]
            done = max(done, end)  # an overlapping or touching span joins the last mask
        pieces.append(text[done:])
        return "".join(pieces)

    def _cut_short(self, text: str) -> list[tuple[int, int]]:
        """Spans of secrets cut short where a text was shortened ("…"): a quoted line cut
        at 60 characters ends in the first part of a password no whole form matches."""
        spans: list[tuple[int, int]] = []
        literals = [
            form
            for secret in self._secrets
            for form in (
                secret,
                repr(secret)[1:-1],  # a quoted repr: \\ and \' (a malformed line's quote)
                repr(secret.encode("utf-8", _RAW))[2:-1],
                json.dumps(repr(secret)[1:-1], ensure_ascii=False)[1:-1],  # that, in JSON
                base64.b64encode(secret.encode("utf-8", _RAW)).decode(),
                secret.encode("utf-8", _RAW).hex(),
            )
            if len(form) >= MIN_SECRET_LENGTH
        ]
        if not literals:
            return spans
        reach = max(len(form) for form in literals)
        for cut in itertools.islice(_CUTS.finditer(text), _MAX_CUTS):
            end = cut.start()
            while end > 0 and text[end - 1] == _SPLIT_CHAR:
                end -= 1  # the bytes of a character the cut split
            before = text[max(end - reach, 0) : end]
            longest = max(
                (
                    k
                    for form in literals
                    for k in range(len(form), 2, -1)
                    if before.endswith(form[:k])
                ),
                default=0,
            )
            if longest:
                spans.append((end - longest, cut.start()))
        return spans

    def __bool__(self) -> bool:
        return bool(self._secrets) and bool(self._all_forms())

    def data(self, value: Any) -> Any:
        """``scrub_data(value, self)``: JSON-ready data with every string masked."""
        return scrub_data(value, self)


def scrub_data(value: Any, *scrubbers: Callable[[str], str]) -> Any:
    """``value`` (JSON-ready data) with every string value passed through each scrubber.

    Mask the data, then serialise it: masking a serialised document could mask its syntax
    (a password ``:`` or ``"``, ``true``, a digit), and the JSON would no longer parse.
    Keys are the program's own words and are kept.
    """
    if isinstance(value, str):
        for scrub in scrubbers:
            value = scrub(value)
        return value
    if isinstance(value, dict):
        return {key: scrub_data(item, *scrubbers) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(item, *scrubbers) for item in value]
    return value
