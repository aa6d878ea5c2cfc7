"""The dialogue plan, driven by scripted outcomes instead of a server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from smtpprobe.core import plan
from smtpprobe.core.auth import Credentials
from smtpprobe.core.reply import Reply, from_code_and_message
from smtpprobe.core.spec import ProbeSpec
from smtpprobe.core.transcript import Failure, FailureKind, Phase, Security

CREDS = Credentials("user@example.jp", "pw")
EHLO_PRE = from_code_and_message(250, "mx\nSTARTTLS\nPIPELINING")
EHLO_POST = from_code_and_message(250, "mx\nAUTH PLAIN LOGIN")
SPEC = ProbeSpec(
    host="smtp.example.jp",
    port=587,
    security=Security.STARTTLS,
    sender="user@example.jp",
    recipient="postmaster@gmail.com",
    credentials=CREDS,
)


def _drive(
    spec: ProbeSpec,
    outcomes: dict[type, list[plan.Outcome]],
    message: bytes | None = None,
) -> list[object]:
    """Run the plan; each action type takes its next outcome from ``outcomes``."""
    flow = plan.dialogue(spec, message)
    actions: list[object] = []
    action = next(flow)
    try:
        while True:
            actions.append(action)
            queue = outcomes.get(type(action), [])
            result = queue.pop(0) if queue else None
            action = flow.send(result)
    except StopIteration:
        pass
    return actions


def _names(actions: list[object]) -> list[str]:
    return [type(a).__name__ for a in actions]


OK: dict[type, list[plan.Outcome]] = {
    plan.Greeting: [Reply(220, ("mx ESMTP",))],
    plan.Ehlo: [EHLO_PRE, EHLO_POST],
    plan.StartTLS: [Reply(220, ("go ahead",))],
    plan.Authenticate: [Reply(235, ("ok",))],
    plan.Mail: [Reply(250, ("ok",))],
    plan.Rcpt: [Reply(250, ("ok",))],
    plan.Rset: [Reply(250, ("ok",))],
}


def _copy(outcomes: dict[type, list[plan.Outcome]]) -> dict[type, list[plan.Outcome]]:
    return {k: list(v) for k, v in outcomes.items()}


def test_full_starttls_dialogue_never_sends_data() -> None:
    actions = _drive(SPEC, _copy(OK))
    assert _names(actions) == [
        "Connect",
        "Greeting",
        "Ehlo",
        "StartTLS",
        "Handshake",
        "Ehlo",
        "Authenticate",
        "Mail",
        "Rcpt",
        "Rset",
        "Quit",
    ]
    assert actions[6] == plan.Authenticate("PLAIN")


def test_implicit_tls_handshakes_first_and_skips_starttls() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_POST]
    names = _names(_drive(replace(SPEC, security=Security.IMPLICIT_TLS), outcomes))
    assert names[:3] == ["Connect", "Handshake", "Greeting"]
    assert "StartTLS" not in names


def test_send_adds_data_and_no_rset() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Data] = [Reply(250, ("queued",))]
    assert _names(_drive(replace(SPEC, send=True), outcomes, b"hi"))[-2:] == ["Data", "Quit"]


def test_starttls_not_offered_stops() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_POST]
    actions = _drive(SPEC, outcomes)
    stop = actions[3]
    assert isinstance(stop, plan.Stop) and stop.phase is Phase.STARTTLS
    assert stop.failure.kind is FailureKind.STARTTLS_NOT_OFFERED
    assert _names(actions)[-1] == "Quit"


def test_auth_not_offered_and_no_common_mechanism() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_PRE, from_code_and_message(250, "mx\nSIZE 100")]
    stop = _drive(SPEC, outcomes)[6]
    assert isinstance(stop, plan.Stop) and stop.failure.kind is FailureKind.AUTH_NOT_OFFERED
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_PRE, from_code_and_message(250, "mx\nAUTH GSSAPI NTLM")]
    stop = _drive(SPEC, outcomes)[6]
    assert isinstance(stop, plan.Stop) and stop.failure.kind is FailureKind.NO_COMMON_MECHANISM


def test_no_auth_skips_authenticate() -> None:
    actions = _drive(replace(SPEC, credentials=None), _copy(OK))
    assert "Authenticate" not in _names(actions)


def test_rejection_at_mail_resets_and_quits() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Mail] = [Reply(550, ("Command rejected",), "5.7.1")]
    assert _names(_drive(SPEC, outcomes))[-3:] == ["Mail", "Rset", "Quit"]


def test_transport_failure_ends_without_quit() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Connect] = [Failure(FailureKind.CONNECT_REFUSED, "refused")]
    assert _names(_drive(SPEC, outcomes)) == ["Connect"]
    outcomes = _copy(OK)
    outcomes[plan.Authenticate] = [Failure(FailureKind.CONNECTION_LOST, "reset")]
    assert _names(_drive(SPEC, outcomes))[-1] == "Authenticate"


def test_bad_greeting_quits() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Greeting] = [Reply(421, ("busy",), "4.3.2")]
    assert _names(_drive(SPEC, outcomes)) == ["Connect", "Greeting", "Quit"]


# Issue 7: a stage goes on only on the exact reply it needs (RFC 5321 section 4.3.2);
# a positive reply of the wrong kind stops the dialogue like a refusal would.
@pytest.mark.parametrize(
    ("action", "reply", "last"),
    [
        (plan.Greeting, Reply(250, ("hello",)), ["Greeting", "Quit"]),
        (plan.Ehlo, Reply(220, ("hello",)), ["Greeting", "Ehlo", "Quit"]),
        (plan.StartTLS, Reply(250, ("ok",)), ["StartTLS", "Quit"]),
        (plan.Authenticate, Reply(250, ("ok",)), ["Authenticate", "Quit"]),
        (plan.Authenticate, Reply(334, ("",)), ["Authenticate", "Quit"]),
        (plan.Mail, Reply(220, ("ok",)), ["Mail", "Rset", "Quit"]),
        (plan.Rcpt, Reply(354, ("go on",)), ["Rcpt", "Rset", "Quit"]),
    ],
    ids=lambda v: getattr(v, "__name__", None) or str(getattr(v, "code", v)),
)
def test_a_wrong_positive_reply_stops_the_dialogue(
    action: type, reply: Reply, last: list[str]
) -> None:
    outcomes = _copy(OK)
    outcomes[action] = [reply]
    names = _names(_drive(SPEC, outcomes))
    assert names[-len(last) :] == last
    if action is not plan.Rcpt:
        assert "Rcpt" not in names


# RFC 2920 pipelining: the plan sends one flight after the last EHLO.
EHLO_PIPE = from_code_and_message(250, "mx\nPIPELINING\nAUTH PLAIN LOGIN")


def test_pipelining_sends_auth_plain_and_the_envelope_in_one_flight() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_PRE, EHLO_PIPE]
    actions = _drive(SPEC, outcomes)
    assert _names(actions)[-1] == "Flight"
    flight = actions[-1]
    assert isinstance(flight, plan.Flight)
    assert [type(a).__name__ for a in flight.actions] == [
        "Authenticate",
        "Mail",
        "Rcpt",
        "Rset",
        "Quit",
    ]


def test_login_goes_first_then_the_envelope_flies() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_PRE, EHLO_PIPE]
    actions = _drive(replace(SPEC, preferred_mechanisms=("LOGIN",)), outcomes)
    assert _names(actions)[-2:] == ["Authenticate", "Flight"]
    flight = actions[-1]
    assert isinstance(flight, plan.Flight)
    assert [type(a).__name__ for a in flight.actions] == ["Mail", "Rcpt", "Rset", "Quit"]


def test_no_flight_without_the_servers_pipelining_or_with_no_pipelining_or_send() -> None:
    outcomes = _copy(OK)
    assert "Flight" not in _names(_drive(SPEC, outcomes))  # EHLO_POST lacks PIPELINING
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_PRE, EHLO_PIPE]
    assert "Flight" not in _names(_drive(replace(SPEC, pipelining=False), outcomes))
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_PRE, EHLO_PIPE]
    outcomes[plan.Data] = [Reply(250, ("queued",))]
    assert "Flight" not in _names(_drive(replace(SPEC, send=True), outcomes, b"hi"))


# A second look at the port, and --insecure's second attempt, are plan decisions too.
def test_a_silent_plaintext_port_is_checked_for_implicit_tls() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Greeting] = [Failure(FailureKind.TIMEOUT, "silence")]
    actions = _drive(SPEC, outcomes)
    assert actions[-1] == plan.CheckPort(plan.PortCheck.IMPLICIT_TLS)


def test_a_failed_implicit_handshake_is_checked_for_plaintext() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Handshake] = [Failure(FailureKind.TLS_HANDSHAKE_FAILED, "wrong version")]
    actions = _drive(replace(SPEC, security=Security.IMPLICIT_TLS), outcomes)
    assert actions[-1] == plan.CheckPort(plan.PortCheck.PLAINTEXT)


def test_an_invalid_certificate_is_looked_at_or_with_insecure_passed_by() -> None:
    bad = Failure(FailureKind.TLS_CERTIFICATE_INVALID, "certificate has expired")
    outcomes = _copy(OK)
    outcomes[plan.Handshake] = [bad]
    actions = _drive(SPEC, outcomes)
    assert actions[-1] == plan.CheckPort(plan.PortCheck.CERTIFICATE_STARTTLS)
    outcomes = _copy(OK)
    outcomes[plan.Handshake] = [bad, None]
    outcomes[plan.Greeting] = [Reply(220, ("mx",)), Reply(220, ("mx",))]
    outcomes[plan.Ehlo] = [EHLO_PRE, EHLO_PRE, EHLO_POST]
    outcomes[plan.StartTLS] = [Reply(220, ("go",)), Reply(220, ("go",))]
    actions = _drive(replace(SPEC, insecure=True), outcomes)
    handshakes = [a for a in actions if isinstance(a, plan.Handshake)]
    assert handshakes == [plan.Handshake(verify=True), plan.Handshake(verify=False)]
    assert _names(actions).count("Connect") == 2
    assert _names(actions)[-1] == "Quit"
