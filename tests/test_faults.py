"""Every fault at every phase in every security mode gets the verdict it deserves (issue 7).

A ``FaultServer`` (``smtpprobe.testing.faults``) is a well-behaved submission server except at
one phase, where it applies one fault: silence, a dropped or reset connection, garbage, a
malformed or unexpected reply code, an endless or 10 MB line, slow bytes, 421, plaintext
where TLS should start, a bad certificate, or a Japanese reply in a legacy encoding. The table
below is the contract: (fault, phase, mode) -> category, stage and exit code. Whatever the
verdict, "ok" needs RCPT accepted (and the message, with send); no case may raise or outlast
its overall timeout by more than 2 s.

The probes run in-process through the Python API: every case by ``check`` (blocking
sockets, ``smtpprobe.blocking``: what ``smtpprobe check`` runs), and the STARTTLS cases (two
of the malformed codes, one garbage) and implicit TLS's handshake cases again by ``probe`` on
an event loop
(``smtpprobe.transport.NetworkTransport``: compare, health checks), ids ending in ``-loop``;
both must meet the contract and give the same transcript. All selected cases run
once, concurrently (one server per case), in a module fixture; each parametrized test then
checks its own case, so a failure names it. A few cases also run through the command line
(``smtpprobe check``, in process: the ``cli`` fixture).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import queue
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from smtpprobe.api import CheckOptions, Report, check, probe
from smtpprobe.core.transcript import Security
from smtpprobe.testing.faults import (
    FAULT_PASSWORD,
    FAULT_USER,
    GARBAGE_BYTES,
    GARBAGE_TEXT,
    JAPANESE_REPLIES,
    LEGACY_TLS_ONLY,
    MALFORMED_CODES,
    NO_SHARED_CIPHER,
    SERVICE_CLOSING,
    SLOW_DRIP,
    SLOW_OK,
    UNRECOGNIZED_NAME,
    BadCertificate,
    CertificateStore,
    CertificateVariant,
    Close,
    Encoded,
    EndlessLine,
    Fault,
    FaultPhase,
    FaultServer,
    Hang,
    Inconsistent,
    LongLine,
    Malformed,
    PlaintextAfterStartTLS,
    Reset,
    SecondChallenge,
    TLSAlert,
    UnexpectedPositive,
    phases_for,
)

# One worker runs the whole table (its module fixture runs every case at once; the group
# "faults" of tests/conftest.py WORKER_GROUPS).
pytestmark = pytest.mark.network

TIMEOUT = 5.0  # the whole probe
PHASE_TIMEOUT = 2.0  # each step, where the case does not wait for a timeout
WAIT_TIMEOUT = 1.5  # each step, where the case does (hang, slow drip); above 1 s, so that
# a busy machine (the suite runs 4 workers on 2 cores) does not time out an earlier step
SLOW_OK_TIMEOUT = 3.0  # each step, where the reply trickles in but must be waited for
GRACE = 2.0  # how far past TIMEOUT a case may end
WORKERS = 16  # cases in flight at once
RUN_DEADLINE = 300.0  # the whole table; a case not done by then is reported as hung
RECIPIENT = "postmaster@example.net"
# The Japanese text of OCN_E041 (the seed's real reply), as the rcpt step must hold it.
JAPANESE_TEXT = "クライアントホストが拒否されました: リレーアクセスが拒否されました(E041)"
OK_CODES = {250, 251}

CERTIFICATES = tuple(
    BadCertificate(variant)
    for variant in CertificateVariant
    if variant is not CertificateVariant.VALID
)
FAULTS: tuple[Fault, ...] = (
    Hang(),
    Close(),
    Reset(),
    GARBAGE_TEXT,
    GARBAGE_BYTES,
    *MALFORMED_CODES,
    Inconsistent(),
    UnexpectedPositive(),
    SecondChallenge(),
    EndlessLine(),
    LongLine(),
    SLOW_OK,
    SLOW_DRIP,
    SERVICE_CLOSING,
    PlaintextAfterStartTLS(),
    LEGACY_TLS_ONLY,
    NO_SHARED_CIPHER,
    UNRECOGNIZED_NAME,
    *CERTIFICATES,
    *JAPANESE_REPLIES,
)
AFTER_THE_VERDICT = (FaultPhase.RSET, FaultPhase.QUIT)  # RCPT was accepted before these


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True, slots=True)
class Expect:
    """The contract for one case. ``category`` None: any category but "ok"."""

    category: str | None
    stage: str | None
    exit_code: int
    retryable: bool | None = None  # checked only when set


OK = Expect("ok", None, 0)


@dataclass(frozen=True, slots=True)
class Case:
    """One (fault, phase, mode) and how the probe is run against it."""

    id: str
    security: Security
    fault: Fault | None
    phase: FaultPhase | None
    expect: Expect
    insecure: bool = False
    send: bool = False
    loop: bool = False  # run by ``probe`` on an event loop rather than by ``check``

    @property
    def phase_timeout(self) -> float:
        if self.fault in (Hang(), SLOW_DRIP):
            return WAIT_TIMEOUT
        if self.fault == SLOW_OK:
            return SLOW_OK_TIMEOUT
        return PHASE_TIMEOUT


def expect(fault: Fault, phase: FaultPhase, insecure: bool) -> Expect:
    """What the contract says for ``fault`` at ``phase``."""
    stage = phase.stage
    if isinstance(fault, Encoded):
        return Expect(None, stage, 1)  # refused, whatever the rules call it
    if isinstance(fault, TLSAlert):
        # The server's own fatal alert: its TLS settings rule the client out on every try.
        return Expect("tls-handshake-failed", "tls", 3, retryable=False)
    if isinstance(fault, BadCertificate):
        # With --insecure the dialogue goes on, but the verdict still names the certificate.
        return Expect("tls-certificate-invalid", "tls", 1 if insecure else 3)
    if isinstance(fault, UnexpectedPositive) and phase in AFTER_THE_VERDICT:
        # QUIT answered 250, RSET 354: replies out of step, so RCPT's 250 may be another's.
        return Expect("protocol-error", stage, 3)
    if fault == SERVICE_CLOSING and phase in AFTER_THE_VERDICT:
        # 421 to RSET or QUIT after RCPT's 250: a server that accepted has no reason to;
        # more likely RCPT read another command's reply (rule refused-after-acceptance).
        return Expect("protocol-error", stage, 3)
    if fault == SLOW_OK or phase in AFTER_THE_VERDICT:
        return OK
    if isinstance(fault, Hang) or fault == SLOW_DRIP:
        return Expect("timeout", stage, 3)
    if isinstance(fault, Close | Reset):
        return Expect("connection-lost", stage, 3)
    if phase is FaultPhase.TLS:  # garbage or plaintext where the handshake should be
        return Expect("tls-handshake-failed", "tls", 3)
    if fault == SERVICE_CLOSING:
        return Expect("server-busy", stage, 1, retryable=True)
    return Expect("protocol-error", stage, 3)


def build_cases() -> list[Case]:
    cases: list[Case] = []
    for security in Security:
        mode = security.value
        cases.append(Case(f"{mode}-control", security, None, None, OK))
        cases.append(Case(f"{mode}-control-send", security, None, None, OK, send=True))
        for phase in phases_for(security):
            for fault in FAULTS:
                if not fault.allowed_at(phase, security):
                    continue
                if isinstance(fault, Encoded) and phase not in (FaultPhase.MAIL, FaultPhase.RCPT):
                    continue
                send = phase in (FaultPhase.DATA, FaultPhase.MESSAGE)
                base = f"{mode}-{phase.value}-{fault.name}"
                cases.append(
                    Case(base, security, fault, phase, expect(fault, phase, False), send=send)
                )
                if isinstance(fault, BadCertificate):
                    cases.append(
                        Case(
                            f"{base}-insecure", security, fault, phase,
                            expect(fault, phase, True), insecure=True,
                        )
                    )  # fmt: skip
    return cases + [
        dataclasses.replace(c, id=f"{c.id}-loop", loop=True) for c in cases if _twinned(c)
    ]


def _twinned(case: Case) -> bool:
    """Whether the case runs on the event loop too: every STARTTLS case (it has every phase
    and both TLS starts' code paths) and implicit TLS's own (its controls and handshake).
    Of the many malformed codes and the two garbages only two and one are twinned: they
    differ in what the shared reply reader parses, not in how a transport reads them."""
    if isinstance(case.fault, Malformed) and case.fault not in (
        MALFORMED_CODES[0],
        MALFORMED_CODES[3],
    ):
        return False
    if case.fault == GARBAGE_TEXT:
        return False
    if case.security is Security.STARTTLS:
        return True
    return case.security is Security.IMPLICIT_TLS and case.phase in (None, FaultPhase.TLS)


CASES = build_cases()


# --------------------------------------------------------------------------- running


@dataclass(slots=True)
class Outcome:
    """What running one case produced."""

    report: Report | None = None
    error: str | None = None
    elapsed: float = 0.0
    server_errors: list[str] = field(default_factory=list)


def options_for(case: Case, server: FaultServer) -> CheckOptions:
    return CheckOptions(
        host=server.host,
        port=server.port,
        security=case.security,
        user=FAULT_USER,
        password=FAULT_PASSWORD,
        ca_file=Path(server.ca_file),
        phase_timeout=case.phase_timeout,
        timeout=TIMEOUT,
        egress_lookup=False,
        allow_plaintext_auth=case.security is Security.PLAIN,
        send=case.send,
        recipient=RECIPIENT if case.send else None,
        insecure=case.insecure,
        # Readiness is then always judged, so "ready: false" can be checked.
        for_gmail=case.insecure,
    )


def run_case(case: Case, certificates: CertificateStore, *twins: Case) -> list[Outcome]:
    """Run ``case``, then each of its ``twins`` (the same case by another path), on one server."""
    outcomes = []
    server = FaultServer(case.fault, case.phase, case.security, certificates=certificates)
    try:
        server.start()
        for each in (case, *twins):
            outcome = Outcome()
            start = time.perf_counter()
            try:
                options = options_for(each, server)
                outcome.report = asyncio.run(probe(options)) if each.loop else check(options)
            except BaseException:  # every exception is a failure of this case, reported whole
                outcome.error = traceback.format_exc(limit=-8)
            outcome.elapsed = time.perf_counter() - start
            outcomes.append(outcome)
    finally:
        server.stop()
    for outcome in outcomes:
        outcome.server_errors = server.errors
    return outcomes


def run_all(cases: list[Case]) -> dict[str, Outcome]:
    """Run ``cases`` on WORKERS daemon threads; a case that never ends is simply missing.

    Daemon threads rather than an executor: a probe stuck in a loop must not keep the test
    process from exiting, and the others still finish.
    """
    results: dict[str, Outcome] = {}
    todo: queue.SimpleQueue[list[Case]] = queue.SimpleQueue()
    twins = {case.id: case for case in cases if case.loop}
    for case in cases:
        if not case.loop:
            todo.put([case, *filter(None, [twins.pop(f"{case.id}-loop", None)])])
    for twin in twins.values():  # selected without the case it twins
        todo.put([twin])
    certificates = CertificateStore()
    # Warm the caches first (rules, profiles, the trust store, every certificate): sixteen
    # cold probes would each parse them at once, and the CPU they take from each other
    # could push a 0.6 s step over its timeout.
    for variant in CertificateVariant:
        certificates.get(variant)
    run_case(Case("warm-up", Security.IMPLICIT_TLS, None, None, OK), certificates)

    def work() -> None:
        while True:
            try:
                group = todo.get_nowait()
            except queue.Empty:
                return
            try:
                for case, outcome in zip(
                    group, run_case(group[0], certificates, *group[1:]), strict=True
                ):
                    results[case.id] = outcome
            except BaseException:  # the server itself failed to start or stop
                for case in group:
                    results[case.id] = Outcome(error=traceback.format_exc(limit=-8))

    threads = [threading.Thread(target=work, daemon=True) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + RUN_DEADLINE
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if not any(thread.is_alive() for thread in threads):
        certificates.cleanup()
    return dict(results)


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> dict[str, Outcome]:
    """Every selected case of this module, run once and concurrently."""
    selected: dict[str, Case] = {}
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec is not None else None
        if isinstance(case, Case):
            selected[case.id] = case
    return run_all(list(selected.values()))


# --------------------------------------------------------------------------- checks


def describe(report: Report) -> str:
    """The transcript in one line: phase and reply code or failure kind of each step."""
    parts = []
    for step in report.transcript.steps:
        if step.reply is not None:
            parts.append(f"{step.phase.value}:{step.reply.code}")
        elif step.failure is not None:
            parts.append(f"{step.phase.value}:!{step.failure.kind.value}")
        else:
            parts.append(step.phase.value)
    return " ".join(parts)


def rcpt_accepted(report: Report) -> bool:
    return any(
        step.phase.value == "rcpt" and step.reply is not None and step.reply.code in OK_CODES
        for step in report.transcript.steps
    )


def message_accepted(report: Report) -> bool:
    return any(
        step.phase.value == "data"
        and step.command != "DATA"
        and step.reply is not None
        and step.reply.code == 250
        for step in report.transcript.steps
    )


def problems(case: Case, outcome: Outcome) -> list[str]:
    """Everything wrong with one case's outcome; empty when it meets the contract."""
    found: list[str] = []
    if outcome.server_errors:
        found.append(f"the fault server itself failed: {outcome.server_errors}")
    if outcome.error is not None:
        return [*found, f"raised:\n{outcome.error}"]
    report = outcome.report
    assert report is not None
    verdict = report.verdict
    want = case.expect
    got = (verdict.category, verdict.stage, int(verdict.exit_code))
    category_ok = (
        verdict.category != "ok" if want.category is None else verdict.category == want.category
    )
    if not category_ok or got[1:] != (want.stage, want.exit_code):
        wanted = want.category or "not ok"
        found.append(
            f"expected {wanted}/{want.stage}/{want.exit_code}, got {'/'.join(map(str, got))}"
        )
    if want.retryable is not None and verdict.retryable is not want.retryable:
        found.append(f"expected retryable={want.retryable}, got {verdict.retryable}")
    if verdict.category == "ok":
        if not rcpt_accepted(report):
            found.append("FALSE PASS: ok, but RCPT was never accepted")
        if case.send and not message_accepted(report):
            found.append("FALSE PASS: ok with send, but the message was never accepted")
    if outcome.elapsed > TIMEOUT + GRACE:
        found.append(f"took {outcome.elapsed:.1f} s, over timeout {TIMEOUT:g} s + {GRACE:g} s")
    if case.insecure:
        if not rcpt_accepted(report):
            found.append("with insecure the dialogue should go on to an accepted RCPT")
        readiness = report.gmail_readiness
        if readiness is not None and readiness.ready is not False:
            found.append(f"gmail_readiness.ready is {readiness.ready}, expected False")
        if report.gmail_settings is not None:
            found.append("gmail_settings printed for an invalid certificate")
    if isinstance(case.fault, Encoded):
        assert case.phase is not None
        lines = [
            " ".join(step.reply.lines)
            for step in report.transcript.steps
            if step.phase.value == case.phase.stage and step.reply is not None
        ]
        if not any(JAPANESE_TEXT in line for line in lines):
            found.append(f"the {case.phase.stage} reply was not decoded: {lines}")
    if found:
        found.append(f"transcript: {describe(report)}")
    return found


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes.get(case.id)
    assert outcome is not None, f"did not finish within {RUN_DEADLINE:g} s (a hang)"
    found = problems(case, outcome)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("case", [c for c in CASES if c.loop], ids=lambda c: c.id[: -len("-loop")])
def test_both_transports_give_the_same_transcript(case: Case, outcomes: dict[str, Outcome]) -> None:
    blocking, loop = outcomes.get(case.id[: -len("-loop")]), outcomes.get(case.id)
    assert blocking is not None and loop is not None
    assert blocking.report is not None and loop.report is not None
    shown = [(describe(o.report), o.report.verdict.category) for o in (blocking, loop)]
    assert shown[0] == shown[1]


def test_the_table_covers_every_fault_class() -> None:
    """Each fault appears, and each phase of each mode meets at least one fault."""
    names = {case.fault.name for case in CASES if case.fault is not None}
    assert names == {fault.name for fault in FAULTS}
    for security in Security:
        placed = {case.phase for case in CASES if case.security is security}
        assert placed >= set(phases_for(security))
    assert len({case.id for case in CASES}) == len(CASES)


# --------------------------------------------------------------------------- the command


@dataclass(frozen=True, slots=True)
class CliCase:
    id: str
    security: Security
    fault: Fault
    phase: FaultPhase
    category: str
    stage: str
    exit_code: int
    args: tuple[str, ...] = ()


CLI_CASES = [
    # A malformed code at RCPT: the worst false pass ("2500" reads as 250).
    CliCase("starttls-rcpt-code-four-digits", Security.STARTTLS, MALFORMED_CODES[3],
            FaultPhase.RCPT, "protocol-error", "rcpt", 3),
    CliCase("implicit-tls-auth-second-334", Security.IMPLICIT_TLS, SecondChallenge(),
            FaultPhase.AUTH, "protocol-error", "auth", 3),
    CliCase("plain-greeting-421", Security.PLAIN, SERVICE_CLOSING, FaultPhase.GREETING,
            "server-busy", "greeting", 1, ("--allow-plaintext-auth",)),
    CliCase("implicit-tls-tls-cert-expired-insecure", Security.IMPLICIT_TLS,
            BadCertificate(CertificateVariant.EXPIRED), FaultPhase.TLS,
            "tls-certificate-invalid", "tls", 1, ("--insecure",)),
    CliCase("starttls-rcpt-ja-iso-2022-jp", Security.STARTTLS, JAPANESE_REPLIES[2],
            FaultPhase.RCPT, "relay-denied", "rcpt", 1),
]  # fmt: skip


@pytest.fixture
def certificates() -> Iterator[CertificateStore]:
    store = CertificateStore()
    yield store
    store.cleanup()


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.id for case in CLI_CASES])
def test_command(case: CliCase, certificates: CertificateStore, cli: Any) -> None:
    with FaultServer(case.fault, case.phase, case.security, certificates=certificates) as server:
        proc = cli.run(
            "check", "--host", server.host, "--port", str(server.port),
            "--security", case.security.value, "--user", FAULT_USER,
            "--ca-file", str(server.ca_file), "--phase-timeout", str(PHASE_TIMEOUT),
            "--timeout", str(TIMEOUT), "--no-egress-lookup", "--json", *case.args,
            env={"SMTPPROBE_PASSWORD": FAULT_PASSWORD}, timeout=TIMEOUT + 30,
        )  # fmt: skip
    assert proc.out, f"no JSON on stdout (exit {proc.code}): {proc.err}"
    document: dict[str, Any] = json.loads(proc.out)
    verdict = document["verdict"]
    steps = document["steps"]
    shown = " ".join(
        f"{s['phase']}:{s['reply']['code'] if s['reply'] else s['failure']}" for s in steps
    )
    got = (verdict["category"], verdict["stage"], proc.code, document["exit_code"])
    want = (case.category, case.stage, case.exit_code, case.exit_code)
    assert got == want, f"transcript: {shown}\nstderr: {proc.err}"
    if "--insecure" in case.args:
        assert document["gmail_settings"] is None
        assert any(s["phase"] == "rcpt" and (s["reply"] or {}).get("code") == 250 for s in steps)
    if isinstance(case.fault, Encoded):
        rcpt = [" ".join(s["reply"]["lines"]) for s in steps if s["phase"] == "rcpt" and s["reply"]]
        assert any(JAPANESE_TEXT in line for line in rcpt), rcpt
