"""The last line of defence: remove secrets and their encodings from any text.

Commands are recorded redacted at the source (``smtpprobe.core.auth``); this
scrubber runs over everything that leaves the program anyway (rendered text,
JSON, error messages), because a server may echo what it was sent and an
exception may quote a buffer.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

__all__ = ["Redactor"]

MASK = "********"


def _b64_forms(data: bytes) -> set[str]:
    """Base64 of ``data`` at each of the three byte alignments it can sit at.

    A secret embedded in a longer blob (PLAIN's ``\\0user\\0pass``) is encoded
    at an offset; the stable middle of its encoding at each alignment still
    appears verbatim in the blob's base64, so we search for those.
    """
    forms: set[str] = set()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + data).decode("ascii")
        # Drop characters influenced by the padding prefix and by whatever follows.
        start = (pad * 4 + 2) // 3 if pad else 0
        core = encoded[start:]
        core = core.rstrip("=")
        if len(data) % 3 or pad:
            core = core[:-2] if len(core) > 6 else core
        if len(core) >= 4:
            forms.add(core)
    return forms


class Redactor:
    """Replace each known secret, and every base64/hex form of it, by a mask."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        needles: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            raw = secret.encode("utf-8")
            needles.add(secret)
            needles.update(_b64_forms(raw))
            needles.add(base64.b64encode(raw).decode("ascii"))
            needles.add(raw.hex())
        # Longest first, so a short needle never splits a longer one.
        self._needles = sorted((n for n in needles if len(n) >= 3), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """``text`` with every secret form masked."""
        for needle in self._needles:
            if needle in text:
                text = text.replace(needle, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._needles)
