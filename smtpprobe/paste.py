"""``explain``: every SMTP reply and client-side error in a pasted text, explained.

Input checks (size, emptiness, binary data, byte-order marks) happen here; the
finding is ``smtpprobe.core.bounce`` (replies) and ``smtpprobe.core.client_errors``
(errors that carry no reply, with the signatures of ``data/client_errors.yaml``),
the explaining ``smtpprobe.core.explain``, with the same rules as a probe (a
profile's first when the text names its server).
"""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path

from smtpprobe.core.client_errors import ClientErrors, Hint, find_hints
from smtpprobe.core.explain import GUESSED, Explanation, explain_text
from smtpprobe.core.guess import Guess, Guesser
from smtpprobe.core.pasted import Pasted, decode_pasted, utf16_text
from smtpprobe.core.record import record
from smtpprobe.core.rules import Rule
from smtpprobe.errors import ConfigError
from smtpprobe.loading import load_client_errors, load_profiles, load_rulebook

__all__ = [
    "CLIENT_ERRORS_FILE",
    "GUESS_MODEL_FILE",
    "MAX_PASTE_BYTES",
    "Explained",
    "client_errors",
    "explain",
    "guesser",
]

CLIENT_ERRORS_FILE = Path(__file__).resolve().parent / "data" / "client_errors.yaml"
GUESS_MODEL_FILE = Path(__file__).resolve().parent / "data" / "guess_model.json"

MAX_PASTE_BYTES = 16 * 1024 * 1024


@record
class Explained:
    """What ``explain`` found in a paste: the decoded input and one explanation per reply.

    ``hints`` are said where nothing was recognised (nothing explained, or only the
    learned guess): a message that only says something failed ("SMTP connect()
    failed."), what it covers and how to see the real error.
    """

    pasted: Pasted
    explanations: list[Explanation]
    hints: tuple[Hint, ...] = ()

    @property
    def recognised(self) -> bool:
        """True when a reply or a known error was found, not only guessed at."""
        return _recognised(self.explanations)


def _recognised(explanations: list[Explanation]) -> bool:
    return any(GUESSED not in e.found.facts for e in explanations)


def explain(
    data: bytes | str,
    *,
    profile: str | None = None,
    rule_files: tuple[Path, ...] = (),
    profile_files: tuple[Path, ...] = (),
) -> Explained:
    """Find every SMTP reply in a pasted text or bounce and explain each one.

    Raises ``ConfigError`` for input that cannot be a bounce: empty, binary,
    or larger than ``MAX_PASTE_BYTES`` (and ProfileError/RuleError for a bad
    file in ``profile_files``/``rule_files``). Any other text, however
    malformed or repetitive, is explained or found to hold no reply, in time
    linear in its size.
    """
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that never was a byte
            raw = data.encode("utf-8", "replace")
    else:
        raw = data
    if len(raw) > MAX_PASTE_BYTES:
        # Only the limit is known to be passed: a file or pipe is read one byte past it.
        raise ConfigError(
            f"the input is larger than the {MAX_PASTE_BYTES // 1048576} MB limit: "
            "paste only the bounce message or the reply"
        )
    size = len(raw)  # what was pasted, as the JSON's "input" says
    wide = utf16_text(raw)  # Windows' "Unicode" text, with or without a byte order mark
    if wide is not None:
        raw = wide[0].encode("utf-8", "replace")
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark is not text
    if not raw.strip():
        raise ConfigError("the input is empty: paste the error text or the bounce message")
    if _looks_binary(raw):
        raise ConfigError(
            "the input looks like binary data, not text: paste the bounce as text "
            "(or save the message as .eml and pipe it in)"
        )
    profiles = load_profiles(profile_files)
    chosen = profiles.get(profile) if profile is not None else None  # '' is no profile
    rulebook_cache: dict[str | None, tuple[Rule, ...]] = {}

    def rules_for(name: str | None) -> tuple[Rule, ...]:
        if name not in rulebook_cache:
            owner = profiles.profiles.get(name) if name else None
            rulebook_cache[name] = load_rulebook(owner, rule_files)
        return rulebook_cache[name]

    def profile_for_host(host: str) -> str | None:
        match = profiles.for_host(host)
        return match.name if match else None

    pasted = decode_pasted(raw)
    if wide is not None:  # read as UTF-16 above, decoded again from UTF-8 here
        pasted = replace(pasted, encoding=wide[1])
    pasted = replace(pasted, size=size)
    explanations = explain_text(
        pasted.text,
        rules_for,
        client_errors(),
        profile=chosen.name if chosen else None,
        profile_for_host=profile_for_host,
        guess=_guess,
    )
    hints = () if _recognised(explanations) else tuple(find_hints(pasted.text, client_errors()))
    return Explained(pasted=pasted, explanations=explanations, hints=hints)


@functools.cache
def client_errors() -> ClientErrors:
    """The built-in client-side error signatures (read once per process).

    From the compiled cache of ``smtpprobe.loading`` while the file is unchanged (no
    YAML, and each pattern compiled only when a paste holds its anchors); parsed and
    checked again otherwise. Raises RuleError for a malformed file, naming the file
    and the signature.
    """
    return load_client_errors(CLIENT_ERRORS_FILE)


def _guess(text: str, failures_only: bool = False) -> Guess | None:
    return guesser().guess(text, failures_only)  # the model is read at the first guess


@functools.cache
def guesser() -> Guesser:
    """The learned guess's model, read once per process at the first paste nothing explains."""
    return Guesser(json.loads(GUESS_MODEL_FILE.read_text(encoding="utf-8")))


def _looks_binary(raw: bytes) -> bool:
    """NUL bytes, or more than 5 % control characters in the first 64 KB (ESC is ISO-2022-JP's)."""
    sample = raw[:65536]
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(
        sample.translate(None, bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)))
    )
    return controls > len(sample) // 20
