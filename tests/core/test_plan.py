"""The dialogue plan, driven by scripted outcomes instead of a server."""

from __future__ import annotations

import pytest

from smtpprobe.core import plan
from smtpprobe.core.auth import Credentials
from smtpprobe.core.reply import Reply, from_code_and_message
from smtpprobe.core.spec import ProbeSpec
from smtpprobe.core.transcript import Failure, FailureKind, Phase, Security

CREDS = Credentials("user@example.jp", "pw")
EHLO_PRE = from_code_and_message(250, "mx\nSTARTTLS\nPIPELINING")
EHLO_POST = from_code_and_message(250, "mx\nAUTH PLAIN LOGIN")


def _options(message: bytes | None = None, **kw: object) -> tuple[ProbeSpec, bytes | None]:
    base: dict[str, object] = {
        "host": "smtp.example.jp",
        "port": 587,
        "security": Security.STARTTLS,
        "sender": "user@example.jp",
        "recipient": "postmaster@gmail.com",
        "credentials": CREDS,
        "send": message is not None,
    }
    base.update(kw)
    return ProbeSpec(**base), message  # type: ignore[arg-type]


def _drive(
    options: tuple[ProbeSpec, bytes | None], outcomes: dict[type, list[plan.Outcome]]
) -> list[object]:
    """Run the plan; each action type takes its next outcome from ``outcomes``."""
    flow = plan.dialogue(*options)
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


OK = {
    plan.Open: [Reply(220, ("mx ESMTP",))],
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
    actions = _drive(_options(), _copy(OK))
    assert _names(actions) == [
        "Open",
        "Ehlo",
        "StartTLS",
        "Ehlo",
        "Authenticate",
        "Mail",
        "Rcpt",
        "Rset",
        "Quit",
    ]
    assert actions[4] == plan.Authenticate("PLAIN")


def test_implicit_tls_skips_starttls() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_POST]
    actions = _drive(_options(security=Security.IMPLICIT_TLS), outcomes)
    assert "StartTLS" not in _names(actions)


def test_send_adds_data_and_no_rset() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Data] = [Reply(250, ("queued",))]
    actions = _drive(_options(message=b"hi"), outcomes)
    assert _names(actions)[-2:] == ["Data", "Quit"]


def test_starttls_not_offered_stops() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_POST]
    actions = _drive(_options(), outcomes)
    stop = actions[2]
    assert isinstance(stop, plan.Stop) and stop.phase is Phase.STARTTLS
    assert stop.failure.kind is FailureKind.STARTTLS_NOT_OFFERED
    assert _names(actions)[-1] == "Quit"


def test_auth_not_offered_and_no_common_mechanism() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_PRE, from_code_and_message(250, "mx\nSIZE 100")]
    stop = _drive(_options(), outcomes)[4]
    assert isinstance(stop, plan.Stop) and stop.failure.kind is FailureKind.AUTH_NOT_OFFERED
    outcomes = _copy(OK)
    outcomes[plan.Ehlo] = [EHLO_PRE, from_code_and_message(250, "mx\nAUTH GSSAPI NTLM")]
    stop = _drive(_options(), outcomes)[4]
    assert isinstance(stop, plan.Stop) and stop.failure.kind is FailureKind.NO_COMMON_MECHANISM


def test_no_auth_skips_authenticate() -> None:
    actions = _drive(_options(credentials=None), _copy(OK))
    assert "Authenticate" not in _names(actions)


def test_rejection_at_mail_resets_and_quits() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Mail] = [Reply(550, ("Command rejected",), "5.7.1")]
    assert _names(_drive(_options(), outcomes))[-3:] == ["Mail", "Rset", "Quit"]


def test_transport_failure_ends_without_quit() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Open] = [Failure(FailureKind.TIMEOUT, "silence")]
    assert _names(_drive(_options(), outcomes)) == ["Open"]
    outcomes = _copy(OK)
    outcomes[plan.Authenticate] = [Failure(FailureKind.CONNECTION_LOST, "reset")]
    assert _names(_drive(_options(), outcomes))[-1] == "Authenticate"


def test_bad_greeting_quits() -> None:
    outcomes = _copy(OK)
    outcomes[plan.Open] = [Reply(421, ("busy",), "4.3.2")]
    assert _names(_drive(_options(), outcomes)) == ["Open", "Quit"]


# Issue 7: a stage goes on only on the exact reply it needs (RFC 5321 section 4.3.2);
# a positive reply of the wrong kind stops the dialogue like a refusal would.
@pytest.mark.parametrize(
    ("action", "reply", "last"),
    [
        (plan.Open, Reply(250, ("hello",)), ["Open", "Quit"]),
        (plan.Ehlo, Reply(220, ("hello",)), ["Open", "Ehlo", "Quit"]),
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
    names = _names(_drive(_options(), outcomes))
    assert names[-len(last) :] == last
    if action is not plan.Rcpt:
        assert "Rcpt" not in names
