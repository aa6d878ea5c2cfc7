"""The timeline of a check, from plain rows: states, dialogue changes, lockout and backoff.

Replies here are synthetic test texts, not any provider's real wording.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from smtpprobe.core.timeline import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    Change,
    ChangeKind,
    HistoryRow,
    backoff_delay,
    changes,
    lockout_tag,
    new_changes,
    normalise,
    refused_tags,
    short_time,
    states,
    transient_streak,
)

REJECTED = "550 5.7.1 <me@example.jp>... Command rejected"
OK_CAPS = ("PIPELINING", "AUTH PLAIN LOGIN")


def row(minute: int, category: str = "ok", **kw: Any) -> HistoryRow:
    """One result at 2026-01-30 10:MM UTC; an ok result reached the final EHLO."""
    base: dict[str, Any] = {
        "name": "ocn-main",
        "at": f"2026-01-30T10:{minute:02d}:00Z",
        "category": category,
        "exit_code": 0 if category == "ok" else 1,
        "capabilities": OK_CAPS,
        "auth_mechanisms": ("PLAIN", "LOGIN"),
        "tls_version": "TLSv1.3",
        "cert_fingerprint": "aa" * 32,
        "cert_not_after": "2027-01-01T00:00:00Z",
        "banner": "220 smtp.example.jp ESMTP",
        "egress_country": "JP",
    }
    if category != "ok":
        base.update(stage="mail", reply=REJECTED)
    base.update(kw)
    return HistoryRow(**base)


def kinds(found: list[Change]) -> list[str]:
    return [c.kind.value for c in found]


# --------------------------------------------------------------------------- states


def test_one_blip_does_not_change_the_state() -> None:
    rows = [row(0), row(1), row(2, "client-ip-rejected"), row(3), row(4)]
    found = states(rows, confirm=2)
    assert [s.category for s in found] == ["ok"]
    assert found[0].results == 4 and found[0].since == rows[0].at and found[0].last == rows[4].at
    assert changes(rows, confirm=2) == []


def test_two_in_a_row_change_the_state_from_the_first_of_them() -> None:
    rows = [row(0), row(1), row(2, "client-ip-rejected"), row(3, "client-ip-rejected")]
    found = states(rows, confirm=2)
    assert [(s.category, s.since, s.results) for s in found] == [
        ("ok", rows[0].at, 2),
        ("client-ip-rejected", rows[2].at, 2),
    ]
    assert found[1].reply == REJECTED
    text = found[1].text()
    assert text.en == (
        f"client-ip-rejected since 2026-01-30 10:02 UTC, reply {REJECTED} (2 results)"
    )
    assert text.ja == f"2026-01-30 10:02 UTC から client-ip-rejected、応答「{REJECTED}」（2 回）"
    [change] = changes(rows, confirm=2)
    assert change.kind is ChangeKind.STATE
    assert (change.before, change.after, change.at, change.reply) == (
        "ok",
        "client-ip-rejected",
        rows[2].at,
        REJECTED,
    )
    assert change.text().en.startswith("2026-01-30 10:02 UTC: state changed from ok to ")
    assert "状態が ok から client-ip-rejected に変わりました" in change.text().ja


def test_confirm_one_changes_at_once_and_confirm_three_waits() -> None:
    rows = [row(0), row(1, "auth-failed"), row(2, "auth-failed")]
    assert [s.category for s in states(rows, confirm=1)] == ["ok", "auth-failed"]
    assert [s.category for s in states(rows, confirm=3)] == ["ok"]
    assert [s.category for s in states([*rows, row(3, "auth-failed")], confirm=3)] == [
        "ok",
        "auth-failed",
    ]


def test_a_run_of_another_category_resets_the_count() -> None:
    rows = [row(0), row(1, "timeout"), row(2, "auth-failed"), row(3, "timeout"), row(4)]
    assert [s.category for s in states(rows, confirm=2)] == ["ok"]


def test_skipped_rows_are_no_results() -> None:
    skipped = row(2, "skipped", skipped="lockout")
    rows = [row(0), row(1, "auth-failed"), skipped, row(3, "auth-failed")]
    assert [s.category for s in states(rows, confirm=2)] == ["ok", "auth-failed"]
    assert states([skipped]) == []


def test_an_error_row_quotes_its_error() -> None:
    rows = [row(0, "config-error", reply=None, error="check 'x': OCN_PASSWORD is not set")]
    [state] = states(rows)
    assert state.reply == "check 'x': OCN_PASSWORD is not set"
    assert state.to_dict()["message"]["en"].startswith("config-error since 2026-01-30 10:00 UTC")


# --------------------------------------------------------------------------- dialogue


def test_certificate_replaced() -> None:
    rows = [row(0), row(1, cert_fingerprint="bb" * 32, cert_not_after="2028-01-01T00:00:00Z")]
    [change] = changes(rows, confirm=1)
    assert change.kind is ChangeKind.CERTIFICATE
    assert (change.before, change.after) == ("aa" * 32, "bb" * 32)
    assert change.not_after == "2028-01-01T00:00:00Z"
    assert "certificate replaced" in change.text().en and "証明書が替わりました" in change.text().ja
    assert changes(rows, confirm=2) == []  # not yet confirmed


def test_auth_mechanisms_dropped_and_added() -> None:
    rows = [row(0), row(1, auth_mechanisms=("LOGIN", "XOAUTH2"))]
    [change] = changes(rows, confirm=1)
    assert change.kind is ChangeKind.AUTH_MECHANISMS
    assert change.dropped == ("PLAIN",) and change.added == ("XOAUTH2",)
    assert change.text().en.endswith(
        "AUTH mechanisms dropped: PLAIN; AUTH mechanisms added: XOAUTH2 (now LOGIN XOAUTH2)"
    )
    assert "AUTH 方式がなくなりました: PLAIN" in change.text().ja


def test_auth_list_before_the_final_ehlo_is_not_a_change() -> None:
    # A STARTTLS that failed leaves only the pre-TLS EHLO, which hides AUTH: not a drop.
    rows = [
        row(0),
        row(1, "tls-handshake-failed", stage="starttls", auth_mechanisms=()),
        row(2, "tls-handshake-failed", stage="starttls", auth_mechanisms=()),
    ]
    assert kinds(changes(rows, confirm=1)) == ["state"]


def test_tls_version_banner_and_country() -> None:
    rows = [
        row(0),
        row(1, tls_version="TLSv1.2", banner="220 mx2.example.jp ESMTP", egress_country="US"),
    ]
    found = changes(rows, confirm=1)
    assert kinds(found) == ["tls-version", "banner", "egress-country"]
    assert found[0].text().ja.endswith("TLS のバージョンが TLSv1.3 から TLSv1.2 に変わりました")
    assert found[1].after == "220 mx2.example.jp ESMTP"
    assert found[2].text().en.endswith("egress country changed from JP to US")
    assert found[2].text().ja.endswith("送信元の国が JP から US に変わりました")


def test_a_date_or_session_id_in_the_banner_is_no_change() -> None:
    rows = [
        row(0, banner="220 mx.example.jp ESMTP Sendmail; Fri, 30 Jan 2026 19:00:01 +0900"),
        row(1, banner="220 mx.example.jp ESMTP Sendmail; Fri, 30 Jan 2026 19:01:02 +0900"),
        row(2, banner="220 mx.example.jp ESMTP ready [203.0.113.7] id 4f9a2c1b7e"),
        row(3, banner="220 mx.example.jp ESMTP ready [203.0.113.9] id 77aa01bc3d"),
    ]
    found = changes(rows, confirm=1)
    assert kinds(found) == ["banner"]  # only the one real change, from Sendmail to "ready"
    assert found[0].before is not None and "19:00:01" in found[0].before  # the server's text
    assert normalise(rows[2].banner) == normalise(rows[3].banner)


def test_round_robin_banners_are_no_change_with_confirm() -> None:
    a, b = "220 mx1.example.jp ESMTP", "220 mx2.example.jp ESMTP"
    rows = [row(i, banner=a if i % 2 else b) for i in range(6)]
    assert changes(rows, confirm=2) == []
    assert len(changes(rows, confirm=1)) == 5


def test_new_reply_text_within_a_category() -> None:
    other = "550 5.7.1 Access from abroad is refused"
    rows = [row(i, "client-ip-rejected") for i in range(2)]
    rows += [row(i, "client-ip-rejected", reply=other) for i in range(2, 4)]
    found = changes(rows, confirm=2)
    assert kinds(found) == ["reply"]
    assert (found[0].before, found[0].after, found[0].category) == (
        REJECTED,
        other,
        "client-ip-rejected",
    )
    assert "client-ip-rejected の応答文が変わりました" in found[0].text().ja


def test_state_change_also_in_json() -> None:
    rows = [row(0), row(1, "auth-failed"), row(2, "auth-failed")]
    document = changes(rows)[0].to_dict()
    assert document["schema"] == "smtpprobe/change/v1"
    assert document["check"] == "ocn-main" and document["kind"] == "state"
    assert document["before"] == "ok" and document["after"] == "auth-failed"
    assert set(document["message"]) == {"en", "ja"}


# --------------------------------------------------------------------------- one run


def test_new_changes_reports_a_change_once() -> None:
    history = [row(0), row(1), row(2, "client-ip-rejected")]
    confirming = [row(3, "client-ip-rejected")]
    found = new_changes(history, confirming, confirm=2)
    assert kinds(found) == ["state"] and found[0].at == history[2].at
    # The next run in the same state changes nothing.
    assert new_changes([*history, *confirming], [row(4, "client-ip-rejected")], confirm=2) == []
    # The blip alone changed nothing.
    assert new_changes(history[:2], history[2:], confirm=2) == []


# --------------------------------------------------------------------------- lockout


def test_lockout_follows_the_failed_tag() -> None:
    failed = row(0, "auth-failed", stage="auth", credential_tag="t1")
    assert lockout_tag([failed]) == "t1"
    # A timeout with another tag says nothing of the credential.
    timeout = row(1, "timeout", stage="connect", exit_code=3, credential_tag="t2")
    assert lockout_tag([failed, timeout]) == "t1"
    # A new secret that the server accepted ends it (here: past AUTH, refused at RCPT).
    accepted = row(2, "relay-denied", stage="rcpt", credential_tag="t2")
    assert lockout_tag([failed, timeout, accepted]) is None
    assert lockout_tag([failed, row(3, credential_tag="t2")]) is None
    # A new secret that failed too moves the lockout to it.
    assert lockout_tag([failed, row(4, "auth-failed", stage="auth", credential_tag="t3")]) == "t3"
    # Skipped rows change nothing; no tag, no lockout.
    assert lockout_tag([failed, row(5, "skipped", skipped="lockout", credential_tag="t1")]) == "t1"
    assert lockout_tag([row(6, "auth-failed", stage="auth")]) is None
    assert lockout_tag([]) is None


def test_every_refused_tag_stays_refused_until_a_login_is_accepted() -> None:
    # A red-team round: two wrong passwords in turn (cron's and serve's secrets over one
    # history) were each sent again, since the lockout remembered only the last one.
    first = row(0, "auth-failed", stage="auth", credential_tag="old")
    second = row(1, "auth-failed", stage="auth", credential_tag="new")
    assert refused_tags([first, second]) == {"old", "new"}
    assert refused_tags(
        [first, second, row(2, "timeout", stage="connect", exit_code=3, credential_tag="x")]
    ) == {
        "old",
        "new",
    }
    # An accepted login (a third secret) clears them all, as it ends the lockout.
    assert refused_tags([first, second, row(3, credential_tag="good")]) == frozenset()
    assert refused_tags([]) == frozenset()


# --------------------------------------------------------------------------- backoff


def test_backoff_doubles_and_is_capped() -> None:
    assert backoff_delay(0) == 0.0
    assert backoff_delay(1) == BACKOFF_BASE
    assert backoff_delay(2) == 2 * BACKOFF_BASE
    assert backoff_delay(3) == 4 * BACKOFF_BASE
    assert backoff_delay(10_000) == BACKOFF_CAP
    assert backoff_delay(4, base=10, cap=50) == 50


def test_transient_streak_counts_backwards_to_the_last_non_transient_result() -> None:
    hang = row(0, "timeout", stage="greeting", exit_code=3)
    busy = row(0, "server-busy", exit_code=1, retryable=True)
    rows = [
        row(0),
        replace(hang, at="2026-01-30T10:01:00Z"),
        replace(busy, at="2026-01-30T10:02:00Z"),
        row(3, "skipped", skipped="backoff", exit_code=3),
        replace(hang, at="2026-01-30T10:04:00Z"),
    ]
    count, newest = transient_streak(rows)
    assert count == 3 and newest is not None and newest.at == "2026-01-30T10:04:00Z"
    assert transient_streak([*rows, row(5)]) == (0, None)
    assert transient_streak([]) == (0, None)


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        ("2026-01-30T10:02:00Z", "2026-01-30 10:02 UTC"),
        ("2026-01-30T10:02:00.123+00:00", "2026-01-30 10:02 UTC"),
        ("2026-01-30T19:02:00+09:00", "2026-01-30 19:02 +09:00"),
        ("yesterday", "yesterday"),
    ],
)
def test_short_time(at: str, shown: str) -> None:
    assert short_time(at) == shown


def test_a_flapping_server_is_never_shown_as_an_unbroken_state() -> None:
    # A red-team server refused every other probe: with --confirm 2 no refusal was
    # confirmed, and the history said "ok since … (7 results)" of 12, the 5 refusals nowhere.
    rows = [row(0), row(1)] + [row(2 + i, "ok" if i % 2 else "relay-denied") for i in range(10)]
    (state,) = states(rows, confirm=2)
    assert (state.category, state.results) == ("ok", 7)
    assert state.blips == (("relay-denied", 5),)
    assert "5 others in between: relay-denied 5" in state.text().en
    assert "間に連続しない別の結果: relay-denied 5 回" in state.text().ja
    assert state.to_dict()["blips"] == {"relay-denied": 5}


def test_smtpprobes_own_error_is_not_called_a_reply() -> None:
    # A red-team round: "設定エラー（config-error）、応答「…」" called our own words a reply.
    message = "checks.yaml: check 'a': key 'password': environment variable X is not set"
    rows = [row(m, "config-error", error=message, reply=None, stage=None) for m in range(3)]
    (state,) = states(rows)
    line = state.text()
    assert f"error: {message}" in line.en and "reply" not in line.en
    assert f"エラー「{message}」" in line.ja and "応答" not in line.ja
