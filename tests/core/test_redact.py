"""The redactor masks a secret and every base64/hex form of it."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpprobe.core.redact import Redactor


@given(
    secret=st.text(min_size=6, max_size=40).filter(lambda s: s.strip() == s and "\0" not in s),
    user=st.text(alphabet="abcdefghijklmnopqrstuvwxyz@.", min_size=1, max_size=30),
)
def test_plain_blob_never_survives(secret: str, user: str) -> None:
    redact = Redactor([secret])
    blob = base64.b64encode(f"\0{user}\0{secret}".encode()).decode()
    out = redact(f"AUTH PLAIN {blob}")
    assert blob not in out
    assert base64.b64encode(secret.encode()).decode() not in out


@pytest.mark.parametrize(
    "wrap",
    [
        lambda s: s,
        lambda s: base64.b64encode(s.encode()).decode(),
        lambda s: s.encode().hex(),
        lambda s: base64.b64encode(f"user=a@b\x01auth=Bearer {s}\x01\x01".encode()).decode(),
    ],
    ids=["raw", "base64", "hex", "xoauth2"],
)
def test_forms(wrap) -> None:  # type: ignore[no-untyped-def]
    secret = "correct-horse-battery-staple"
    out = Redactor([secret])(f"error text: {wrap(secret)} end")
    assert wrap(secret) not in out


def test_empty_redactor_is_identity() -> None:
    assert Redactor([])("text") == "text"
    assert not Redactor([None or ""])
