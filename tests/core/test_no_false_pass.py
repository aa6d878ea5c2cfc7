"""No false pass: "ok" only when every stage got the reply it needs (issue 7, item 1).

Plain transcripts, classified with the built-in rules: for every stage of a full
STARTTLS dialogue, every reply other than the one it requires stops the verdict
there, whether the reply is negative or positive.
"""

from __future__ import annotations

import pytest

from smtpprobe.core.classify import ExitCode, classify
from smtpprobe.core.reply import Reply
from smtpprobe.core.transcript import (
    REQUIRED,
    Failure,
    FailureKind,
    Phase,
    Security,
    Step,
    Target,
    Transcript,
)
from smtpprobe.loading import load_rulebook

RULES = load_rulebook()


def _full(send: bool = False) -> list[Step]:
    steps = [
        Step(Phase.RESOLVE, note="127.0.0.1"),
        Step(Phase.CONNECT, note="127.0.0.1 port 587"),
        Step(Phase.GREETING, reply=Reply(220, ("mx ESMTP",))),
        Step(Phase.EHLO, "EHLO [127.0.0.1]", Reply(250, ("mx", "STARTTLS"))),
        Step(Phase.STARTTLS, "STARTTLS", Reply(220, ("go ahead",))),
        Step(Phase.TLS, note="TLSv1.3"),
        Step(Phase.EHLO, "EHLO [127.0.0.1]", Reply(250, ("mx", "AUTH PLAIN"))),
        Step(Phase.AUTH, "AUTH PLAIN ********", Reply(235, ("ok",), "2.7.0")),
        Step(Phase.MAIL, "MAIL FROM:<u@example.jp>", Reply(250, ("ok",), "2.1.0")),
        Step(Phase.RCPT, "RCPT TO:<postmaster@gmail.com>", Reply(250, ("ok",), "2.1.5")),
    ]
    if send:
        steps += [
            Step(Phase.DATA, "DATA", Reply(354, ("go ahead",))),
            Step(Phase.DATA, "(message)", Reply(250, ("queued",), "2.0.0")),
        ]
    else:
        steps.append(Step(Phase.RSET, "RSET", Reply(250, ("ok",))))
    steps.append(Step(Phase.QUIT, "QUIT", Reply(221, ("bye",))))
    return steps


def _transcript(steps: list[Step], *, send: bool = False, no_auth: bool = False) -> Transcript:
    return Transcript(
        target=Target("mx.example.jp", 587, Security.STARTTLS),
        username=None if no_auth else "u@example.jp",
        sender="u@example.jp",
        recipient="postmaster@gmail.com",
        no_auth=no_auth,
        send=send,
        steps=steps,
    )


def test_the_full_dialogue_is_ok() -> None:
    verdict = classify(_transcript(_full()), RULES)
    assert (verdict.category, verdict.exit_code) == ("ok", ExitCode.ACCEPTED)
    verdict = classify(_transcript(_full(send=True), send=True), RULES)
    assert (verdict.category, verdict.exit_code) == ("ok", ExitCode.ACCEPTED)


_CLOSING = (Phase.RSET, Phase.QUIT)  # never refuse anything, but can show replies out of step
_DECIDING = [
    i
    for i, s in enumerate(_full(send=True))
    if s.reply is not None and s.required and s.phase not in _CLOSING
]
_CODES = (220, 221, 235, 250, 251, 334, 354, 421, 450, 500, 502, 535, 550, 554)


def _cases() -> list[tuple[int, int]]:
    cases = []
    for index in _DECIDING:
        step = _full(send=True)[index]
        assert step.required is not None
        cases += [(index, code) for code in _CODES if code not in step.required]
    return cases


@pytest.mark.parametrize(
    ("index", "code"),
    _cases(),
    ids=[f"{_full(send=True)[i].phase.value}{i}-{c}" for i, c in _cases()],
)
def test_any_other_reply_at_any_stage_is_not_ok(index: int, code: int) -> None:
    steps = _full(send=True)
    stage = steps[index]
    # The dialogue stops at the first wrong reply: the plan sends QUIT next.
    cut = [*steps[:index], Step(stage.phase, stage.command, Reply(code, ("text",)))]
    cut.append(Step(Phase.QUIT, "QUIT", Reply(221, ("bye",))))
    verdict = classify(_transcript(cut, send=True), RULES)
    assert verdict.category != "ok"
    assert verdict.stage == stage.phase.value
    if code < 400:
        assert verdict.category == "protocol-error"
        assert verdict.exit_code is ExitCode.INCOMPLETE
    else:
        assert verdict.exit_code is ExitCode.REFUSED


def test_a_334_that_continues_auth_is_fine_and_one_that_ends_it_is_not() -> None:
    steps = _full()
    login = [
        Step(Phase.AUTH, "AUTH LOGIN", Reply(334, ("VXNlcm5hbWU6",))),
        Step(Phase.AUTH, "dXNlcg==", Reply(334, ("UGFzc3dvcmQ6",))),
        Step(Phase.AUTH, "********", Reply(235, ("ok",))),
    ]
    verdict = classify(_transcript([*steps[:7], *login, *steps[8:]]), RULES)
    assert verdict.category == "ok"
    # AUTH PLAIN with its initial response, answered by a second 334: the exchange
    # ended on a challenge, which RFC 4954 section 4 does not allow.
    plain = [Step(Phase.AUTH, "AUTH PLAIN ********", Reply(334, ("",)))]
    quit_ = [Step(Phase.QUIT, "QUIT", Reply(221, ("bye",)))]
    verdict = classify(_transcript([*steps[:7], *plain, *quit_]), RULES)
    assert (verdict.category, verdict.stage) == ("protocol-error", "auth")
    assert verdict.exit_code is ExitCode.INCOMPLETE
    assert "235" in verdict.cause.en and "334" in verdict.cause.en


@pytest.mark.parametrize("stop", range(2, 10))
def test_a_dialogue_that_ends_early_without_a_failure_is_not_ok(stop: int) -> None:
    # Defence in depth: whatever cut the record short, "ok" needs an accepted RCPT.
    verdict = classify(_transcript(_full()[:stop]), RULES)
    assert verdict.category == "protocol-error"
    assert verdict.exit_code is ExitCode.INCOMPLETE


def test_send_needs_the_message_accepted() -> None:
    steps = _full(send=True)
    no_message = [s for s in steps if s.command != "(message)"]
    verdict = classify(_transcript(no_message, send=True), RULES)
    assert verdict.category != "ok" and verdict.exit_code is ExitCode.INCOMPLETE


def test_required_codes_are_those_of_rfc_5321() -> None:
    assert REQUIRED[Phase.GREETING] == {220}
    assert REQUIRED[Phase.EHLO] == {250}
    assert REQUIRED[Phase.STARTTLS] == {220}
    assert REQUIRED[Phase.AUTH] == {235}
    assert REQUIRED[Phase.MAIL] == {250}
    assert REQUIRED[Phase.RCPT] == {250, 251}
    assert REQUIRED[Phase.DATA] == {354}


def test_an_invalid_certificate_with_insecure_is_refused_not_ok() -> None:
    # --insecure: verification failed, the dialogue went on over a new connection and
    # passed. The verdict still names the certificate, exit 1 (issue 7, item 4).
    failed = [
        *_full()[:5],
        Step(
            Phase.TLS,
            failure=Failure(FailureKind.TLS_CERTIFICATE_INVALID, "certificate has expired"),
        ),
        Step(Phase.CONNECT, note="again, certificate checking off (--insecure)"),
    ]
    verdict = classify(_transcript([*failed, *_full()[2:]]), RULES)
    assert verdict.category == "tls-certificate-invalid"
    assert verdict.exit_code is ExitCode.REFUSED
    assert [f.id for f in verdict.findings] == ["insecure-continued"]
    assert "ok" in verdict.findings[0].message.en
    # Without --insecure the dialogue stops there: it could not be completed (exit 3).
    verdict = classify(_transcript(failed[:-1]), RULES)
    assert verdict.exit_code is ExitCode.INCOMPLETE


@pytest.mark.parametrize("phase", _CLOSING)
@pytest.mark.parametrize("code", _CODES)
def test_a_closing_reply_decides_only_when_it_shows_replies_out_of_step(
    phase: Phase, code: int
) -> None:
    # After RCPT's 250, RSET and QUIT may go unanswered: still "ok". A reply they can never
    # get (QUIT answered 250, RSET 550) means every reply may be another command's, RCPT's
    # 250 too: a protocol error, decided at that step (RFC 5321 section 4.3.2). The errors any
    # command may get (421, 500, 501, 502, 504) are no reason to refuse them after an
    # acceptance either: a red-team server's MAIL reply written twice put RCPT's real 421 on
    # RSET. Never "ok" then (rule refused-after-acceptance).
    steps = [s for s in _full() if s.phase not in _CLOSING]
    wanted = {Phase.RSET: 250, Phase.QUIT: 221}[phase]
    closing = [
        Step(Phase.RSET, "RSET", Reply(code if phase is Phase.RSET else 250, ("text",))),
        Step(Phase.QUIT, "QUIT", Reply(code if phase is Phase.QUIT else 221, ("text",))),
    ]
    verdict = classify(_transcript([*steps, *closing]), RULES)
    if code == wanted:
        assert verdict.category == "ok"
    else:
        rule = "refused-after-acceptance" if code in (421, 500, 501, 502, 504) else None
        assert (verdict.category, verdict.stage) == ("protocol-error", phase.value)
        assert verdict.rule_id == (rule or "replies-out-of-step")
        assert verdict.exit_code == ExitCode.INCOMPLETE


def test_replies_out_of_step_decide_over_an_earlier_refusal() -> None:
    # An extra reply earlier put AUTH's real answer (535) on MAIL, MAIL's 530 on RSET and
    # RSET's 250 on QUIT: the 535 is no refusal of MAIL; RSET's 530 shows it first.
    steps = [s for s in _full() if s.phase not in (*_CLOSING, Phase.RCPT, Phase.MAIL)]
    steps += [
        Step(Phase.MAIL, "MAIL FROM:<u@example.jp>", Reply(535, ("5.7.8 bad",), "5.7.8")),
        Step(Phase.RSET, "RSET", Reply(530, ("5.7.0 auth first",), "5.7.0")),
        Step(Phase.QUIT, "QUIT", Reply(250, ("2.0.0 Ok",), "2.0.0")),
    ]
    verdict = classify(_transcript(steps), RULES)
    assert (verdict.category, verdict.stage) == ("protocol-error", "rset")


def test_a_success_code_with_a_failure_enhanced_code_is_not_ok() -> None:
    steps = [s for s in _full() if s.phase not in _CLOSING]
    rcpt = next(i for i, s in enumerate(steps) if s.phase is Phase.RCPT)
    steps[rcpt] = Step(Phase.RCPT, steps[rcpt].command, Reply(250, ("User unknown",), "5.1.1"))
    verdict = classify(_transcript(steps), RULES)
    assert (verdict.category, verdict.stage, verdict.rule_id) == (
        "protocol-error",
        "rcpt",
        "contradictory-reply",
    )
    # The greeting and EHLO carry no enhanced codes (RFC 2034 section 3): "220 5.x" there
    # is only text.
    steps[0] = Step(Phase.GREETING, None, Reply(220, ("ready",), "5.0.0"))
    steps[rcpt] = Step(Phase.RCPT, steps[rcpt].command, Reply(250, ("ok",), "2.1.5"))
    assert classify(_transcript(steps), RULES).category == "ok"


def test_a_334_that_ends_auth_is_decided_at_auth_not_at_quit() -> None:
    # The server answered every AUTH LOGIN line with 334 and then read QUIT as one more SASL
    # line: the 334 that ended the exchange is the protocol error, not QUIT's odd reply.
    steps = [
        s for s in _full() if s.phase in (Phase.GREETING, Phase.EHLO, Phase.STARTTLS, Phase.TLS)
    ]
    steps += [
        Step(Phase.AUTH, "AUTH LOGIN", Reply(334, ("VXNlcm5hbWU6",))),
        Step(Phase.AUTH, "********", Reply(334, ("UGFzc3dvcmQ6",))),
        Step(Phase.AUTH, "********", Reply(334, ("UGFzc3dvcmQ6",))),
        Step(Phase.QUIT, "QUIT", Reply(334, ("UGFzc3dvcmQ6",))),
    ]
    verdict = classify(_transcript(steps), RULES)
    assert (verdict.category, verdict.stage) == ("protocol-error", "auth")
    assert verdict.rule_id != "replies-out-of-step"


def test_a_retry_whose_connection_is_refused_is_connect_refused() -> None:
    # A pipelined flight cut short is retried on a new connection; when that one is refused,
    # the refusal is the answer, though the first attempt had connected.
    from smtpprobe.core.transcript import RETRIED, Failure, FailureKind

    steps = [s for s in _full() if s.phase in (Phase.CONNECT, Phase.GREETING, Phase.EHLO)]
    steps += [
        Step(Phase.MAIL, "MAIL FROM:<u@example.jp>", Reply(250, ("ok",), "2.1.0")),
        Step(Phase.RCPT, "RCPT TO:<x@example.net>", failure=Failure(FailureKind.CONNECTION_LOST,
             "the server closed the connection"), note=RETRIED),
        Step(Phase.CONNECT, failure=Failure(FailureKind.CONNECT_REFUSED, "Connection refused")),
    ]  # fmt: skip
    verdict = classify(_transcript(steps), RULES)
    assert (verdict.category, verdict.stage) == ("connect-refused", "connect")


def test_the_replies_a_stage_needs_are_named_in_japanese_words() -> None:
    # A red-team server answered RCPT 252: "この段階で必要な応答は 250 or 251 です".
    steps = [
        s if s.phase is not Phase.RCPT else Step(Phase.RCPT, s.command, Reply(252, ("maybe",)))
        for s in _full()
    ]
    verdict = classify(_transcript(steps), RULES)
    assert "250 or 251" in verdict.cause.en
    assert "250 か 251" in verdict.cause.ja and " or " not in verdict.cause.ja
