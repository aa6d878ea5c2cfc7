"""DKIM key records (RFC 6376 §3.6.1): parsing, key type and size, the selector check.

Keys are generated at test time with ``cryptography`` and published in ZoneResolver zones;
the core's hand-written DER reader must agree with ``cryptography``'s key sizes.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from smtpprobe.core.dkim import (
    DkimError,
    DkimKey,
    DkimProblem,
    check_selector,
    key_name,
    parse_dkim,
)
from smtpprobe.testing.zone import ZoneResolver

SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
DER = serialization.Encoding.DER


def rsa_key(bits: int) -> rsa.RSAPublicKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def rsa_p(bits: int) -> str:
    return b64(rsa_key(bits).public_bytes(DER, SPKI))


def der(tag: int, content: bytes) -> bytes:
    """A DER element, long-form length when needed (X.690 §8.1.3)."""
    if len(content) < 0x80:
        return bytes([tag, len(content)]) + content
    size = len(content).to_bytes((len(content).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def integer(value: int) -> bytes:
    return der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def spki_for_modulus(modulus: int) -> bytes:
    """A SubjectPublicKeyInfo for an RSA modulus cryptography would refuse to generate."""
    algorithm = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
    rsa_public_key = der(0x30, integer(modulus) + integer(65537))
    return der(0x30, algorithm + der(0x03, b"\x00" + rsa_public_key))


@pytest.fixture(scope="module")
def key2048() -> str:
    return rsa_p(2048)


def parse(text: str) -> DkimKey:
    return parse_dkim(text, selector="s1", domain="example.jp")


@pytest.mark.parametrize("bits", [1024, 1536, 2048, 3072])
def test_rsa_key_size_matches_cryptography(bits: int) -> None:
    public = rsa_key(bits)
    key = parse(f"v=DKIM1; k=rsa; p={b64(public.public_bytes(DER, SPKI))}")
    assert key.bits == public.key_size == bits
    assert (key.key_type, key.version, key.revoked) == ("rsa", "DKIM1", False)


def test_rsa_4096_and_bare_rsapublickey() -> None:
    public = rsa_key(4096)
    assert parse(f"p={b64(public.public_bytes(DER, SPKI))}").bits == 4096
    pkcs1 = public.public_bytes(DER, serialization.PublicFormat.PKCS1)
    key = parse(f"k=rsa; p={b64(pkcs1)}")
    assert key.bits == 4096
    assert any("bare RSAPublicKey" in w for w in key.warnings)


def test_ed25519_is_256_bits() -> None:
    raw = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    key = parse(f"v=DKIM1; k=ed25519; p={b64(raw)}")
    assert (key.key_type, key.bits) == ("ed25519", 256)
    with pytest.raises(DkimError, match="32"):
        parse(f"k=ed25519; p={b64(raw + b'x')}")


def test_defaults_and_whitespace_in_p(key2048: str) -> None:
    folded = " ".join(key2048[i : i + 60] for i in range(0, len(key2048), 60))
    key = parse(f" p = {folded} ")
    assert (key.version, key.key_type, key.bits, key.hashes, key.services) == (
        None,
        "rsa",
        2048,
        None,
        ("*",),
    )
    assert key.flags == () and not key.testing and key.warnings == ()
    assert key.name == "s1._domainkey.example.jp"


def test_all_tags(key2048: str) -> None:
    key = parse(f"v=DKIM1; h=sha256; k=rsa; n=rotated 2026; s=email; t=y:s; p={key2048}")
    assert key.hashes == ("sha256",) and key.services == ("email",)
    assert key.flags == ("y", "s") and key.testing
    assert key.notes == "rotated 2026"
    assert any("t=y" in w for w in key.warnings)
    assert key.to_dict()["bits"] == 2048


def test_empty_p_is_revoked() -> None:
    key = parse("v=DKIM1; k=rsa; p=")
    assert key.revoked and key.bits is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("v=DKIM2; p=", "v=DKIM1"),
        ("k=dsa; p=", "unknown key type"),
        ("v=DKIM1; k=rsa", "no p= tag"),
        ("p=abc; p=def", "appears twice"),
        ("p=!!!notbase64", "base64"),
        ("p=" + b64(b"\x30\x03\x02\x01\x05"), "INTEGER|DER|truncated|public key"),
        ("s=tls; p=", "not for email"),
        ("h=md5; p=", "hash"),
        ("garbage", "tag=value"),
    ],
)
def test_invalid_records(text: str, reason: str) -> None:
    with pytest.raises(DkimError, match=reason):
        parse(text)


def test_small_rsa_key_is_rejected_and_1024_is_warned() -> None:
    small = spki_for_modulus((1 << 511) | 1)
    with pytest.raises(DkimError, match="512 bits"):
        parse(f"p={b64(small)}")
    exact = parse(f"p={b64(spki_for_modulus((1 << 1023) | 1))}")
    assert exact.bits == 1024
    assert any("recommends 2048" in w for w in exact.warnings)


def test_non_rsa_key_under_k_rsa() -> None:
    ed = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(DER, SPKI)
    with pytest.raises(DkimError, match="not RSA"):
        parse(f"p={b64(ed)}")


def test_unknown_tags_warn(key2048: str) -> None:
    key = parse(f"p={key2048}; x=1; t=q; v=DKIM1")
    joined = " | ".join(key.warnings)
    assert "unknown tag x" in joined and "t=q" in joined
    assert "not the first tag" in joined


def test_a_sha1_only_key_verifies_nothing(key2048: str) -> None:
    # RFC 6376 §6.1.2 (a sha256 signature fails against h=sha1) and RFC 8301 §3.1 (sha1 must
    # not be used to verify): found by a red-team zone, where it counted as a usable key.
    with pytest.raises(DkimError, match="allows only sha1"):
        parse(f"v=DKIM1; h=sha1; k=rsa; p={key2048}")
    assert parse(f"v=DKIM1; h=sha1:sha256; p={key2048}").hashes == ("sha1", "sha256")


# ---- check_selector over a zone


def check(zone: dict[str, Any], selector: str = "google") -> DkimKey | DkimProblem:
    return asyncio.run(check_selector("example.jp", selector, ZoneResolver(zone)))


def test_check_selector_finds_the_key(key2048: str) -> None:
    zone = {key_name("google", "example.jp"): {"TXT": [f"v=DKIM1; k=rsa; p={key2048}"]}}
    result = check(zone)
    assert isinstance(result, DkimKey) and result.bits == 2048
    assert result.selector == "google" and result.domain == "example.jp"


def test_long_key_record_split_into_strings(key2048: str) -> None:
    text = f"v=DKIM1; k=rsa; p={key2048}"
    strings = [text[i : i + 255] for i in range(0, len(text), 255)]
    result = check({"google._domainkey.example.jp": {"TXT": [strings]}})
    assert isinstance(result, DkimKey) and result.bits == 2048


def test_check_selector_problems(key2048: str) -> None:
    missing = check({})
    assert isinstance(missing, DkimProblem) and missing.kind == "missing"
    assert missing.name == "google._domainkey.example.jp"
    failing = check({"google._domainkey.example.jp": "SERVFAIL"})
    assert isinstance(failing, DkimProblem) and failing.kind == "temporary"
    invalid = check({"google._domainkey.example.jp": {"TXT": ["k=rsa; p=%%%"]}})
    assert isinstance(invalid, DkimProblem) and invalid.kind == "invalid"
    assert "base64" in invalid.reason
    bad_selector = check({}, selector="bad selector")
    assert isinstance(bad_selector, DkimProblem) and bad_selector.kind == "invalid"
    assert bad_selector.to_dict()["problem"] == "invalid"


def test_revoked_selector_is_a_key_with_revoked_set() -> None:
    result = check({"google._domainkey.example.jp": {"TXT": ["v=DKIM1; p="]}})
    assert isinstance(result, DkimKey) and result.revoked


def test_several_equal_records_are_one_key(key2048: str) -> None:
    zone = {"google._domainkey.example.jp": {"TXT": [f"p={key2048}", f"v=DKIM1; p={key2048}"]}}
    result = check(zone)
    assert isinstance(result, DkimKey) and result.bits == 2048
    assert any("2 TXT records" in w for w in result.warnings)


@pytest.mark.parametrize("other", ["not a key", "v=DKIM1; p="])
def test_several_different_records_are_undefined_in_any_order(key2048: str, other: str) -> None:
    # RFC 6376 §3.6.2.2: the result is undefined, and an RRset has no order (RFC 2181 §5): a
    # red-team zone got ok in one order and a refusal in the other.
    for records in ([other, f"p={key2048}"], [f"p={key2048}", other]):
        result = check({"google._domainkey.example.jp": {"TXT": records}})
        assert isinstance(result, DkimProblem) and result.kind == "invalid", records
        assert "undefined" in result.reason
