"""The classifier on recorded transcripts: plain data, no network.

``tests/data/transcripts/*.json`` are ``smtpprobe check --json`` reports recorded
against the test double (the double's public test password; nothing secret).
Each is rebuilt into a Transcript and classified again with the rules of its
profile; the verdict must be the recorded one. Rules changes that alter a
verdict show up here first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smtpprobe.core.classify import ExitCode, classify
from smtpprobe.loading import load_profiles, load_rulebook
from smtpprobe.render.json import SCHEMA, transcript_from_dict

RECORDED = sorted((Path(__file__).parents[1] / "data" / "transcripts").glob("*.json"))

EXPECTED = {
    # recording: category, stage, exit code
    "auth-failed": ("auth-failed", "auth", ExitCode.REFUSED),
    "hang-after-connect": ("timeout", "greeting", ExitCode.INCOMPLETE),
    "ocn-e041": ("relay-denied", "rcpt", ExitCode.REFUSED),
    "ok-starttls": ("ok", None, ExitCode.ACCEPTED),
    "open-relay": ("ok", None, ExitCode.ACCEPTED),
    "sakura-geo-filter": ("client-ip-rejected", "mail", ExitCode.REFUSED),
    "sjis-reply": ("recipient-unknown", "rcpt", ExitCode.REFUSED),
    "ssl-on-starttls-port": ("wrong-security-mode", "tls", ExitCode.INCOMPLETE),
    "tls-required": ("tls-required", "auth", ExitCode.REFUSED),
}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_recording_has_an_expectation() -> None:
    assert {p.stem for p in RECORDED} == set(EXPECTED)


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_recorded_transcript_classifies_as_recorded(path: Path) -> None:
    document = _load(path)
    transcript = transcript_from_dict(document)
    profile = load_profiles().get(document["profile"]) if document["profile"] else None
    verdict = classify(transcript, load_rulebook(profile))
    assert (verdict.category, verdict.stage, verdict.exit_code) == EXPECTED[path.stem]
    assert verdict.rule_id == document["verdict"]["rule"]
    assert verdict.cause.en and verdict.cause.ja and verdict.remedy.en and verdict.remedy.ja


def test_provider_rules_sharpen_the_verdict() -> None:
    # The same transcript read without its profile falls to the generic rule.
    document = _load(next(p for p in RECORDED if p.stem == "sakura-geo-filter"))
    transcript = transcript_from_dict(document)
    with_profile = classify(transcript, load_rulebook(load_profiles().get("sakura")))
    generic = classify(transcript, load_rulebook())
    assert with_profile.rule_id == "sakura-foreign-ip-filter"
    assert "国外IPアドレスフィルタ" in with_profile.remedy.ja
    assert generic.category == with_profile.category == "client-ip-rejected"
    assert generic.rule_id != with_profile.rule_id


def test_relay_without_auth_states_both_readings() -> None:
    # Accepted without AUTH: an IP-authorised relay or an open relay; only another
    # route tells them apart, and the verdict says so (issue 7, item 3).
    document = _load(next(p for p in RECORDED if p.stem == "open-relay"))
    verdict = classify(transcript_from_dict(document), load_rulebook())
    assert [f.id for f in verdict.findings] == ["relay-without-auth"]
    assert "smtp-relay.gmail.com" in verdict.cause.en and "OPEN RELAY" in verdict.cause.en
    assert "compare" in verdict.remedy.en and "--expect relay-denied" in verdict.remedy.en
    assert "オープンリレー" in verdict.cause.ja and "compare" in verdict.remedy.ja


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_recordings_follow_the_documented_schema(path: Path) -> None:
    document = _load(path)
    assert document["schema"] == SCHEMA
    assert {"schema", "target", "tls", "steps", "verdict", "exit_code"} <= set(document)
    assert {"host", "port", "security", "address_used"} <= set(document["target"])
    for step in document["steps"]:
        assert {"phase", "command", "reply", "elapsed_ms"} <= set(step)
        if step["reply"] is not None:
            assert set(step["reply"]) == {"code", "enhanced", "lines"}
    assert {"category", "stage", "retryable", "cause", "remedy"} <= set(document["verdict"])
    for key in ("cause", "remedy"):
        assert set(document["verdict"][key]) == {"en", "ja"}


def test_a_value_that_ends_its_sentence_takes_the_templates_full_stop() -> None:
    # OpenSSL's "… certificate is not valid for '127.0.0.1'." in "…: {detail}." read "'..".
    from smtpprobe.core.classify import fill
    from smtpprobe.core.rules import Text

    detail = "Hostname mismatch, certificate is not valid for '127.0.0.1'."
    filled = fill(
        Text(en="It failed: {detail}. Check it.", ja="失敗（{detail}）。"), {"detail": detail}
    )
    assert filled.en == f"It failed: {detail} Check it."
    assert filled.ja == f"失敗（{detail}）。"
    assert fill(Text(en="{detail}.", ja="-"), {"detail": "no stop"}).en == "no stop."
    # Japanese: no "。" straight after the English value's own ".", a space instead (Gmail's
    # "421 4.3.0 Temporary System Problem. Try again later." in "（{detail}。RFC 3463 …）").
    gmail = "Temporary System Problem. Try again later."
    ja = fill(Text(en="-", ja="（{detail}。RFC 3463 の 4.3.x）"), {"detail": gmail}).ja
    assert ja == f"（{gmail} RFC 3463 の 4.3.x）"
    assert fill(Text(en="-", ja="（{detail}。）"), {"detail": "no stop"}).ja == "（no stop。）"
