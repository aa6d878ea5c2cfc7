"""DKIM public key records (RFC 6376 §3.6.1): parse, check, and measure the key.

Pure: the record comes through the injected ``Resolver``. Without a signed message a selector
can only be checked, not discovered (RFC 6376 §3.6.2.1: the name is ``<selector>._domainkey.
<domain>``, and the selector is only in a DKIM-Signature's ``s=``).

The RSA key size is read from the ``p=`` DER by hand (``_rsa_modulus_bits``): the record holds a
SubjectPublicKeyInfo (RFC 6376 §3.6.1, RFC 5280 §4.1.2.7) whose BIT STRING wraps an
RSAPublicKey (RFC 8017 §A.1.1); the size is the modulus INTEGER's bit length. That is a
few dozen lines of DER length decoding, so the check stays in the core with no ``cryptography``
import (tests compare it against ``cryptography`` on generated keys). Ed25519 keys (RFC 8463
§4) are the raw 32-byte public key: 256 bits.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import replace
from typing import Any, Literal

from smtpprobe.core.dnsdata import DnsError, DnsErrorKind, Resolver
from smtpprobe.core.record import record

__all__ = [
    "MIN_RSA_BITS",
    "DkimError",
    "DkimKey",
    "DkimProblem",
    "check_selector",
    "key_name",
    "parse_dkim",
]

MIN_RSA_BITS = 1024  # RFC 8301 §3.2: verifiers MUST NOT accept signatures by smaller RSA keys
RECOMMENDED_RSA_BITS = 2048  # RFC 8301 §3.2: signers SHOULD use at least 2048 bits
_ED25519_BYTES = 32  # RFC 8032 §5.1.5
_RSA_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption
_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_KNOWN_TAGS = {"v", "h", "k", "n", "p", "s", "t"}


class DkimError(ValueError):
    """The text is not a usable DKIM key record; the message says why, in one line."""


@record
class DkimKey:
    """A DKIM key record as published at ``<selector>._domainkey.<domain>``.

    ``bits`` is None for a revoked key (empty ``p=``). ``flags`` holds ``t=`` values
    (``y`` testing, ``s`` strict i=/d= match); ``hashes`` is None when ``h=`` is absent (every
    hash is allowed).
    """

    selector: str
    domain: str
    version: str | None
    key_type: str
    bits: int | None
    revoked: bool
    flags: tuple[str, ...] = ()
    hashes: tuple[str, ...] | None = None
    services: tuple[str, ...] = ("*",)
    notes: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def testing(self) -> bool:
        """``t=y``: the domain is testing DKIM (RFC 6376 §3.6.1)."""
        return "y" in self.flags

    @property
    def name(self) -> str:
        """The DNS name the record is published at."""
        return key_name(self.selector, self.domain)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "selector": self.selector,
            "domain": self.domain,
            "name": self.name,
            "version": self.version,
            "key_type": self.key_type,
            "bits": self.bits,
            "revoked": self.revoked,
            "flags": list(self.flags),
            "hashes": list(self.hashes) if self.hashes is not None else None,
            "services": list(self.services),
            "notes": self.notes,
            "warnings": list(self.warnings),
        }


ProblemKind = Literal["missing", "temporary", "invalid"]


@record
class DkimProblem:
    """No usable key at the selector: none published, a DNS failure, or an invalid record."""

    selector: str
    domain: str
    kind: ProblemKind
    reason: str

    @property
    def name(self) -> str:
        """The DNS name that was queried."""
        return key_name(self.selector, self.domain)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "selector": self.selector,
            "domain": self.domain,
            "name": self.name,
            "problem": self.kind,
            "reason": self.reason,
        }


def key_name(selector: str, domain: str) -> str:
    """``<selector>._domainkey.<domain>`` (RFC 6376 §3.6.2.1)."""
    return f"{selector.strip('.')}._domainkey.{domain.rstrip('.')}"


# ---- DER, just enough for an RSA public key


def _der(data: bytes, offset: int, tag: int) -> tuple[bytes, int]:
    """The content of the DER element of ``tag`` at ``offset``, and the offset after it."""
    if offset + 2 > len(data) or data[offset] != tag:
        raise DkimError("p= is not a DER public key")
    length = data[offset + 1]
    offset += 2
    if length & 0x80:  # long form: the low bits count the length octets (X.690 §8.1.3.5)
        count = length & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise DkimError("p= is not a DER public key (bad length)")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    if offset + length > len(data):
        raise DkimError("p= is truncated")
    return data[offset : offset + length], offset + length


def _integer_bits(content: bytes) -> int:
    """Bit length of a non-negative DER INTEGER's content (leading zero octet dropped)."""
    return int.from_bytes(content, "big").bit_length()


def _rsa_modulus_bits(der: bytes) -> tuple[int, str]:
    """The modulus size of an RSA key in SubjectPublicKeyInfo (or bare RSAPublicKey) DER.

    Returns (bits, warning); the warning is set for a bare RSAPublicKey, which RFC 6376
    §3.6.1 does not allow but some verifiers accept.
    """
    outer, end = _der(der, 0, 0x30)
    if end != len(der):
        raise DkimError("p= has data after the public key")
    if outer[:1] == b"\x30":  # SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING }
        algorithm, after = _der(outer, 0, 0x30)
        oid, _ = _der(algorithm, 0, 0x06)
        if oid != _RSA_OID:
            raise DkimError("p= holds a public key that is not RSA, but k=rsa")
        bits_content, _ = _der(outer, after, 0x03)
        if not bits_content or bits_content[0] != 0:
            raise DkimError("p= has a malformed BIT STRING")
        rsa_key, _ = _der(bits_content[1:], 0, 0x30)
        warning = ""
    else:  # RSAPublicKey alone: SEQUENCE { INTEGER n, INTEGER e }
        rsa_key = outer
        warning = (
            "p= is a bare RSAPublicKey, not the SubjectPublicKeyInfo RFC 6376 §3.6.1 requires; "
            "some verifiers reject it"
        )
    modulus, after = _der(rsa_key, 0, 0x02)
    _der(rsa_key, after, 0x02)  # the public exponent must follow
    return _integer_bits(modulus), warning


# ---- the record


def _tag_list(text: str) -> dict[str, str]:
    """RFC 6376 §3.2 tag-list; a repeated tag makes the whole list invalid."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, equals, value = part.partition("=")
        name = name.strip()
        if not equals or not _TAG_NAME.match(name):
            raise DkimError(f"{part.strip()!r} is not a tag=value pair (RFC 6376 §3.2)")
        if name in tags:
            raise DkimError(f"tag {name} appears twice: the record is invalid (RFC 6376 §3.2)")
        tags[name] = value.strip()
    return tags


def _colon_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip().lower() for item in value.split(":") if item.strip())


def parse_dkim(text: str, *, selector: str, domain: str) -> DkimKey:
    """Parse a DKIM key record (RFC 6376 §3.6.1); DkimError with a one-line reason."""
    tags = _tag_list(text)
    warnings: list[str] = []
    version = tags.get("v")
    if version is not None:
        # §3.6.1 v=: "If specified, this tag MUST be set to "DKIM1" ... MUST be the first tag".
        if version != "DKIM1":
            raise DkimError(f"v={version}: a DKIM key record must say v=DKIM1")
        if next(iter(tags)) != "v":
            warnings.append("v=DKIM1 is not the first tag (RFC 6376 §3.6.1)")
    key_type = tags.get("k", "rsa").lower()
    if key_type not in ("rsa", "ed25519"):
        raise DkimError(f"k={key_type}: unknown key type (rsa or ed25519, RFC 8463)")
    if "p" not in tags:
        raise DkimError("no p= tag: a DKIM key record must have one (RFC 6376 §3.6.1)")
    hashes = _colon_list(tags["h"]) if "h" in tags else None
    if hashes is not None:
        if not any(h in ("sha1", "sha256") for h in hashes):
            raise DkimError(f"h={tags['h']}: no hash algorithm a verifier knows (sha256)")
        if "sha256" not in hashes:
            # RFC 6376 §6.1.2: a signature whose hash h= does not list fails (PERMFAIL), and
            # RFC 8301 §3.1 forbids verifying with sha1: no signature verifies with this key.
            raise DkimError(
                f"h={tags['h']} allows only sha1, which RFC 8301 §3.1 forbids for verifying: "
                "no signature verifies with this key"
            )
    services = _colon_list(tags["s"]) if "s" in tags else ("*",)
    if not {"*", "email"} & set(services):
        raise DkimError(f"s={tags['s']}: the key is not for email (s=email or s=*)")
    flags = _colon_list(tags.get("t", ""))
    for flag in flags:
        if flag not in ("y", "s"):
            warnings.append(f"t={flag}: unknown flag, ignored (RFC 6376 §3.6.1)")
    if "y" in flags:
        # §3.6.1: "Verifiers MUST NOT treat messages from Signers in testing mode differently
        # from unsigned email" (a red-team round: "may" said the opposite of the checklist).
        warnings.append(
            "t=y: the domain is testing DKIM; verifiers must treat its mail as unsigned "
            "(RFC 6376 §3.6.1)"
        )
    for name in tags:
        if name not in _KNOWN_TAGS:
            warnings.append(f"unknown tag {name}: ignored (RFC 6376 §3.2)")

    data = re.sub(r"\s+", "", tags["p"])
    if not data:  # §3.6.1 p=: "An empty value means that this public key has been revoked."
        bits: int | None = None
    else:
        try:
            der = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as error:
            raise DkimError("p= is not valid base64") from error
        if key_type == "ed25519":
            if len(der) != _ED25519_BYTES:
                raise DkimError(f"p= holds {len(der)} bytes; an Ed25519 key is 32 (RFC 8463 §4)")
            bits = 256
        else:
            bits, warning = _rsa_modulus_bits(der)
            if warning:
                warnings.append(warning)
            if bits < MIN_RSA_BITS:
                raise DkimError(
                    f"RSA key of {bits} bits: verifiers reject keys under {MIN_RSA_BITS} bits "
                    "(RFC 8301 §3.2)"
                )
            if bits < RECOMMENDED_RSA_BITS:
                warnings.append(f"RSA key of {bits} bits: RFC 8301 §3.2 recommends 2048 or more")
    return DkimKey(
        selector=selector,
        domain=domain,
        version=version,
        key_type=key_type,
        bits=bits,
        revoked=bits is None,
        flags=flags,
        hashes=hashes,
        services=services,
        notes=tags.get("n", ""),
        warnings=tuple(warnings),
    )


async def check_selector(domain: str, selector: str, resolver: Resolver) -> DkimKey | DkimProblem:
    """Fetch and check the key at ``<selector>._domainkey.<domain>`` (RFC 6376 §3.6.2).

    A revoked key is a DkimKey with ``revoked`` set; no record, a DNS failure or no valid
    record is a DkimProblem. Of several valid records the first is used (§3.6.2.2 lets the
    verifier choose), with a warning.
    """
    domain = domain.rstrip(".")
    if not selector or not all(_LABEL.match(label) for label in selector.split(".")):
        return DkimProblem(selector, domain, "invalid", "the selector is not a DNS name")
    try:
        texts = await resolver.txt(key_name(selector, domain))
    except DnsError as error:
        if error.kind is DnsErrorKind.TEMPORARY:
            return DkimProblem(selector, domain, "temporary", f"DNS failure: {error.detail}")
        return DkimProblem(selector, domain, "missing", "no key record at this selector")
    keys: list[DkimKey] = []
    errors: list[str] = []
    for text in texts:
        try:
            keys.append(parse_dkim(text, selector=selector, domain=domain))
        except DkimError as error:
            errors.append(str(error))
    if not keys:
        reason = errors[0] if errors else "no key record at this selector"
        return DkimProblem(selector, domain, "invalid" if errors else "missing", reason)
    first = keys[0]
    if errors or len({(k.key_type, k.bits, k.revoked, k.hashes) for k in keys}) > 1:
        # Records that differ (one revoked or broken beside a valid one): RFC 6376 §3.6.2.2
        # calls the result undefined, and a resolver returns them in any order (RFC 2181
        # §5), so a verdict drawn from the first one would change from query to query.
        return DkimProblem(
            selector,
            domain,
            "invalid",
            f"{len(texts)} different TXT records at {first.name}: a verifier may use any of "
            "them, so the result is undefined (RFC 6376 §3.6.2.2); publish one",
        )
    if len(keys) > 1:
        extra = f"{len(texts)} TXT records at {first.name}; verifiers may use any (§3.6.2.2)"
        return replace(first, warnings=(*first.warnings, extra))
    return first
