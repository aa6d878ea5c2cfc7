"""A server whose replies fall out of step with the commands never gets "ok".

A reply too many (``ExtraReply``) or one left out (``MissingReply``) shifts every later
reply onto another command: RCPT may then read MAIL's 250 while the real refusal lands on
RSET. The probe cannot tell which reply was whose, but the closing commands show it: QUIT
can only get 221 and RSET only 250 (RFC 5321 section 4.3.2), so any other positive reply
there decides the verdict, a protocol error, over every reply before it. A success code
with an enhanced code of failure (``250 5.1.1``) is no acceptance either. Real sockets on
loopback, through ``check`` (what ``smtpprobe check`` runs) and ``probe`` (event loop).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smtpprobe.api import CheckOptions, Report, check, probe
from smtpprobe.core.transcript import Security
from smtpprobe.testing.faults import (
    FAULT_PASSWORD,
    FAULT_USER,
    AcceptedBeforeMessage,
    AcceptThenGoAway,
    CloseWhenPipelined,
    Contradictory,
    DiscardPipelined,
    EarlyAcceptance,
    ExtraReply,
    Fault,
    FaultPhase,
    FaultServer,
    LateDuplicate,
    LoginAppliedLate,
    MissingReply,
    MissingReplyThenClose,
    RefusedFirstTime,
)

pytestmark = pytest.mark.network


def _run(
    fault: Fault,
    phase: FaultPhase,
    security: Security,
    *,
    pipelining: bool,
    loop: bool = False,
    send: bool = False,
) -> Report:
    with FaultServer(fault, phase, security) as server:
        options = CheckOptions(
            host=server.host,
            port=server.port,
            security=security,
            user=FAULT_USER,
            password=FAULT_PASSWORD,
            ca_file=Path(server.ca_file),
            # A missing reply is waited out: 1 s is ample for a loopback reply that does come
            # (the other fault tests wait 0.3-0.5 s).
            phase_timeout=1.0,
            timeout=6.0,
            egress_lookup=False,
            dns_checks=False,
            allow_plaintext_auth=security is Security.PLAIN,
            pipelining=pipelining,
            send=send,
            recipient="postmaster@example.net" if send else None,
        )
        return asyncio.run(probe(options)) if loop else check(options)


# A surplus reply already waiting when the next command is due is seen there, before that
# command goes out (rule reply-before-command); in a pipelined flight it is seen where a
# closing command gets a reply it can never get (rule replies-out-of-step).
EARLY, SHIFTED = "reply-before-command", "replies-out-of-step"
CASES = [
    # (fault, phase, security, pipelining, the stage that shows it, the rule)
    (ExtraReply(), FaultPhase.GREETING, Security.STARTTLS, True, "ehlo", EARLY),
    (ExtraReply(), FaultPhase.GREETING, Security.PLAIN, False, "ehlo", EARLY),
    (ExtraReply(), FaultPhase.AUTH, Security.IMPLICIT_TLS, True, "quit", SHIFTED),
    (ExtraReply(), FaultPhase.MAIL, Security.STARTTLS, True, "quit", SHIFTED),
    (ExtraReply(), FaultPhase.MAIL, Security.STARTTLS, False, "rcpt", EARLY),
    (MissingReply(), FaultPhase.RCPT, Security.STARTTLS, True, "rset", SHIFTED),
    (MissingReply(), FaultPhase.MAIL, Security.IMPLICIT_TLS, True, "rset", SHIFTED),
]


@pytest.mark.parametrize(
    ("fault", "phase", "security", "pipelining", "stage", "rule"),
    CASES,
    ids=[f"{f.name}-{p.value}-{s.value}-{'pipe' if pi else 'one'}" for f, p, s, pi, *_ in CASES],
)
def test_replies_out_of_step_are_a_protocol_error(
    fault: Fault, phase: FaultPhase, security: Security, pipelining: bool, stage: str, rule: str
) -> None:
    report = _run(fault, phase, security, pipelining=pipelining)
    verdict = report.verdict
    assert (verdict.category, verdict.stage, verdict.rule_id) == (
        "protocol-error",
        stage,
        rule,
    ), report.transcript.steps
    assert report.exit_code == 3
    assert not any(f.id == "relay-without-auth" for f in verdict.findings)
    assert "out of step" in verdict.cause.en and "ずれ" in verdict.cause.ja


def test_the_event_loop_transport_sees_the_same() -> None:
    report = _run(MissingReply(), FaultPhase.RCPT, Security.STARTTLS, pipelining=True, loop=True)
    assert (report.verdict.rule_id, report.verdict.stage) == ("replies-out-of-step", "rset")


def test_a_missing_reply_without_pipelining_is_a_timeout() -> None:
    # One command at a time, the client waits for the reply that never comes.
    report = _run(MissingReply(), FaultPhase.RCPT, Security.STARTTLS, pipelining=False)
    assert (report.verdict.category, report.verdict.stage) == ("timeout", "rcpt")


@pytest.mark.parametrize("phase", [FaultPhase.AUTH, FaultPhase.MAIL, FaultPhase.RCPT])
def test_a_success_code_with_a_failure_enhanced_code_is_no_acceptance(phase: FaultPhase) -> None:
    report = _run(Contradictory(), phase, Security.STARTTLS, pipelining=False)
    verdict = report.verdict
    assert (verdict.category, verdict.stage, verdict.rule_id) == (
        "protocol-error",
        phase.stage,
        "contradictory-reply",
    )
    assert report.exit_code == 3


@pytest.mark.parametrize("loop", [False, True], ids=["check", "probe"])
def test_plaintext_right_after_starttls_220_is_not_blamed_on_the_users_choice(loop: bool) -> None:
    # 220 to STARTTLS and more bytes with it: a server or a device in between that did not
    # start TLS (RFC 3207 section 4.2); STARTTLS was the right choice, so the verdict must
    # not say "SSL on a STARTTLS port".
    report = _run(ExtraReply(), FaultPhase.STARTTLS, Security.STARTTLS, pipelining=True, loop=loop)
    verdict = report.verdict
    assert (verdict.category, verdict.stage, verdict.rule_id) == (
        "tls-handshake-failed",
        "tls",
        "plaintext-after-starttls",
    )
    assert "the server sent plaintext where the TLS handshake should begin" in verdict.cause.en
    assert "('" not in verdict.cause.en  # once the repr of SSLError's args
    assert "STARTTLS" in verdict.cause.ja and "plaintext where" not in verdict.cause.ja


# A surplus reply that arrives only after the next command went out cannot be seen before
# that command: it is read as its answer. What shows it is the real answer, which reaches
# a later command: RSET or QUIT refused after every stage was accepted (a red-team server:
# MAIL's 250 written twice put RCPT's 421 on RSET; a 250 sent before the message arrived
# left the message's lines to be read as commands, and QUIT got their 500). Never "ok".
LATE = [
    (LateDuplicate(), FaultPhase.MAIL, False, False, "rset"),
    (LateDuplicate(), FaultPhase.MAIL, True, False, "rset"),
    (EarlyAcceptance(), FaultPhase.DATA, False, True, "quit"),
]


@pytest.mark.parametrize("loop", [False, True], ids=["check", "probe"])
@pytest.mark.parametrize(
    ("fault", "phase", "pipelining", "send", "stage"),
    LATE,
    ids=[f"{f.name}-{'pipe' if pi else 'one'}" for f, _, pi, *_ in LATE],
)
def test_a_refusal_after_every_acceptance_is_never_ok(
    fault: Fault, phase: FaultPhase, pipelining: bool, send: bool, stage: str, loop: bool
) -> None:
    report = _run(fault, phase, Security.IMPLICIT_TLS, pipelining=pipelining, loop=loop, send=send)
    verdict = report.verdict
    assert (verdict.category, verdict.stage, verdict.rule_id) == (
        "protocol-error",
        stage,
        "refused-after-acceptance",
    ), report.transcript.steps
    assert report.exit_code == 3
    assert "cannot be trusted" in verdict.cause.en and "信頼できません" in verdict.cause.ja


@pytest.mark.parametrize("phase", [FaultPhase.RCPT, FaultPhase.MAIL])
@pytest.mark.parametrize("pipelining", [True, False], ids=["pipe", "one"])
def test_a_reply_left_out_before_a_close_is_never_ok(phase: FaultPhase, pipelining: bool) -> None:
    # A red-team round: RCPT never answered, RSET's 250 read as RCPT's in the flight, then the
    # connection closed at QUIT: "ok", exit 0. RSET left without its reply, the flight's
    # replies cannot be matched to their commands: it is run again one command at a time,
    # where the reply left out is a timeout, as with --no-pipelining.
    report = _run(MissingReplyThenClose(), phase, Security.STARTTLS, pipelining=pipelining)
    verdict = report.verdict
    assert verdict.category != "ok", report.transcript.steps
    assert (verdict.category, verdict.stage) == ("timeout", phase.stage), report.transcript.steps
    assert report.exit_code == 3


@pytest.mark.parametrize("phase", [FaultPhase.RSET, FaultPhase.QUIT])
def test_a_close_refused_only_in_the_flight_is_broken_pipelining(phase: FaultPhase) -> None:
    # A red-team round: QUIT's 421 in the flight, then one command at a time accepted, gave
    # "ok" (the refusal that made it run again was set aside), RSET's the general
    # refused-after-acceptance answer; README promises pipelining-broken for both.
    report = _run(RefusedFirstTime(), phase, Security.STARTTLS, pipelining=True)
    verdict = report.verdict
    assert (verdict.category, verdict.rule_id) == (
        "protocol-error",
        "pipelining-broken-refused-close",
    ), report.transcript.steps
    assert report.exit_code == 3
    # One command at a time from the start, the refusal stands as it is.
    alone = _run(RefusedFirstTime(), phase, Security.STARTTLS, pipelining=False)
    assert alone.verdict.rule_id == "refused-after-acceptance", alone.transcript.steps


@pytest.mark.parametrize("phase", [FaultPhase.AUTH, FaultPhase.MAIL])
def test_a_flight_a_server_throws_away_is_run_again_one_at_a_time(phase: FaultPhase) -> None:
    # A red-team round: a server that empties its input after AUTH left MAIL unanswered in
    # the flight ("timeout at mail", exit 3) though it accepts the same commands one at a
    # time ("ok"): README says the verdict is the same either way.
    piped = _run(DiscardPipelined(), phase, Security.STARTTLS, pipelining=True)
    alone = _run(DiscardPipelined(), phase, Security.STARTTLS, pipelining=False)
    assert alone.verdict.category == "ok", alone.transcript.steps
    assert piped.verdict.category == "ok", piped.transcript.steps


def test_a_login_applied_after_the_flight_read_on_is_run_again_one_at_a_time() -> None:
    # A red-team round: AUTH PLAIN got 235 in the flight, and MAIL behind it "530 5.7.0
    # Authentication required" (a server that read ahead of its login): "auth-required"
    # under an accepted login. One command at a time, the same server accepts every stage.
    piped = _run(LoginAppliedLate(), FaultPhase.MAIL, Security.STARTTLS, pipelining=True)
    alone = _run(LoginAppliedLate(), FaultPhase.MAIL, Security.STARTTLS, pipelining=False)
    assert alone.verdict.category == "ok", alone.transcript.steps
    assert piped.verdict.category == "ok", piped.transcript.steps
    codes = [s.reply.code for s in piped.transcript.steps if s.reply is not None]
    assert 530 in codes  # the flight's refusal stays in the record


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipe", "one"])
def test_a_message_accepted_before_it_was_sent_is_never_ok(pipelining: bool) -> None:
    # A red-team round: 354 and "250 queued" in two writes, before any of the message; the
    # message's lines then read as commands. The 250 taken for the message's reply must not
    # make an "ok": the reply QUIT gets shows the replies out of step.
    report = _run(
        AcceptedBeforeMessage(), FaultPhase.DATA, Security.STARTTLS, pipelining=pipelining,
        send=True,
    )  # fmt: skip
    verdict = report.verdict
    assert verdict.category == "protocol-error", report.transcript.steps
    assert report.exit_code == 3


def test_a_421_after_the_message_was_accepted_is_the_server_going_away() -> None:
    # A red-team round: "250 queued", then an unsolicited 421 before QUIT went out, was called
    # an acceptance that cannot be trusted (the user might send it again: twice delivered).
    report = _run(
        AcceptThenGoAway(), FaultPhase.MESSAGE, Security.STARTTLS, pipelining=False, send=True
    )
    assert report.verdict.category == "ok", report.transcript.steps


def test_a_login_cut_in_a_flight_says_pipelining_may_be_the_cause() -> None:
    # A red-team round: a server that hangs up on commands behind AUTH was reported as a
    # wrong password only. smtpprobe does not send the password again to tell (a second
    # failed login counts toward a lockout); the answer names both causes and the test.
    piped = _run(CloseWhenPipelined(), FaultPhase.AUTH, Security.STARTTLS, pipelining=True)
    verdict = piped.verdict
    assert verdict.rule_id == "connection-lost-at-pipelined-auth", piped.transcript.steps
    assert "--no-pipelining" in verdict.remedy.en and "--no-pipelining" in verdict.remedy.ja
    alone = _run(CloseWhenPipelined(), FaultPhase.AUTH, Security.STARTTLS, pipelining=False)
    assert alone.verdict.category == "ok", alone.transcript.steps


def test_a_japanese_cause_names_the_stage_in_japanese() -> None:
    # A red-team round: "127.0.0.1 は ehlo の段階で…" (the id) under a header that says EHLO.
    report = _run(RefusedFirstTime(), FaultPhase.RSET, Security.STARTTLS, pipelining=False)
    assert report.verdict.rule_id == "refused-after-acceptance"
    assert "RSET に 421" in report.verdict.cause.ja, report.verdict.cause.ja
    assert "rset" not in report.verdict.cause.ja
