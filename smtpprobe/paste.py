"""``explain``: every SMTP reply in a pasted text, bounce or DSN, explained.

Input checks (size, emptiness, binary data, byte-order marks) happen here; the
finding is ``smtpprobe.core.bounce`` and the explaining ``smtpprobe.core.explain``,
with the same rules as a probe (a profile's first when the bounce names its server).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from smtpprobe.core.bounce import Pasted, decode_pasted, find_replies
from smtpprobe.core.explain import Explanation, explain_found
from smtpprobe.core.rules import Rule
from smtpprobe.errors import ConfigError
from smtpprobe.loading import load_profiles, load_rulebook

__all__ = ["MAX_PASTE_BYTES", "Explained", "explain"]

MAX_PASTE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Explained:
    """What ``explain`` found in a paste: the decoded input and one explanation per reply."""

    pasted: Pasted
    explanations: list[Explanation]


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
        raise ConfigError(
            f"the input is {len(raw) / 1048576:.1f} MB, over the "
            f"{MAX_PASTE_BYTES // 1048576} MB limit: paste only the bounce message or the reply"
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Windows' "Unicode" text is UTF-16
        raw = raw.decode("utf-16", errors="replace").encode("utf-8")
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark is not text
    if not raw.strip():
        raise ConfigError("the input is empty: paste the error text or the bounce message")
    if _looks_binary(raw):
        raise ConfigError(
            "the input looks like binary data, not text: paste the bounce as text "
            "(or save the message as .eml and pipe it in)"
        )
    profiles = load_profiles(profile_files)
    chosen = profiles.get(profile) if profile else None
    rulebook_cache: dict[str | None, list[Rule]] = {}

    def rules_for(name: str | None) -> list[Rule]:
        if name not in rulebook_cache:
            owner = profiles.profiles.get(name) if name else None
            rulebook_cache[name] = load_rulebook(owner, rule_files)
        return rulebook_cache[name]

    def profile_for_host(host: str) -> str | None:
        match = profiles.for_host(host)
        return match.name if match else None

    pasted = decode_pasted(raw)
    explanations = []
    for found in find_replies(pasted.text):
        name = chosen.name if chosen else profile_for_host(found.host) if found.host else None
        explanations.append(explain_found(found, rules_for(name), profile=name))
    return Explained(pasted=pasted, explanations=explanations)


def _looks_binary(raw: bytes) -> bool:
    """NUL bytes, or more than 5 % control characters in the first 64 KB (ESC is ISO-2022-JP's)."""
    sample = raw[:65536]
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(
        sample.translate(None, bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)))
    )
    return controls > len(sample) // 20
