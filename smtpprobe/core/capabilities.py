"""EHLO replies as capabilities (RFC 5321 section 4.1.1.1, RFC 1869)."""

from __future__ import annotations

from smtpprobe.core.record import record
from smtpprobe.core.reply import Reply

__all__ = ["Capabilities", "parse_ehlo"]


@record
class Capabilities:
    """What a server advertised in one EHLO reply."""

    keywords: tuple[str, ...] = ()  # every extension line, as sent (upper-cased keyword)
    auth_mechanisms: tuple[str, ...] = ()
    starttls: bool = False
    size: int | None = None
    pipelining: bool = False
    smtputf8: bool = False

    @property
    def auth_offered(self) -> bool:
        """Whether the server advertised AUTH at all."""
        return bool(self.auth_mechanisms)


def parse_ehlo(reply: Reply) -> Capabilities:
    """Read the extension lines of a 250 EHLO reply; the first line is the greeting."""
    keywords: list[str] = []
    mechanisms: list[str] = []
    size: int | None = None
    for line in reply.lines[1:]:
        parts = line.split()
        if not parts:
            continue
        keyword = parts[0].upper()
        keywords.append(" ".join([keyword, *parts[1:]]))
        # "AUTH=PLAIN LOGIN" is the pre-RFC 4954 form some old servers still send.
        if keyword == "AUTH" or keyword.startswith("AUTH="):
            params = parts[1:] if keyword == "AUTH" else [keyword[5:], *parts[1:]]
            for mech in params:
                mech = mech.upper()
                if mech and mech not in mechanisms:
                    mechanisms.append(mech)
        elif keyword == "SIZE" and len(parts) > 1 and parts[1].isdigit():
            size = int(parts[1])
    names = {k.split()[0] for k in keywords}
    return Capabilities(
        keywords=tuple(keywords),
        auth_mechanisms=tuple(mechanisms),
        starttls="STARTTLS" in names,
        size=size,
        pipelining="PIPELINING" in names,
        smtputf8="SMTPUTF8" in names,
    )
