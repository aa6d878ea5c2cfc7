"""Runs the plan (``smtpprobe.core.plan``) over a transport and records every step.

The plan decides; this module carries each action out on a ``Transport``
(``smtpprobe.transport``: the real network, or a mock in tests): resolving,
connecting (each address in turn, or through the proxy), the TLS handshake,
the greeting, a second look at the port, and the run loop with the overall
time limit. SMTP commands are ``smtpprobe.session``'s. Every exception
becomes a ``Failure`` through the one table in ``smtpprobe.failures``;
nothing here decides what a reply means.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Generator
from dataclasses import replace

from smtpprobe.core import plan
from smtpprobe.core.spec import ProbeSpec
from smtpprobe.core.transcript import RETRIED, Failure, FailureKind, Phase, Step, Transcript
from smtpprobe.failures import failure_from_exception, network_errors
from smtpprobe.session import PhaseListener, Session, elapsed_ms, reply_of
from smtpprobe.tls import client_context, unverified_context
from smtpprobe.transport import Address, NetworkTransport, Transport

__all__ = ["PhaseListener", "run_probe", "run_probe_blocking"]

_CHECK_WAIT = 3.0  # a second connection only explains a failure: keep it short


class _Run(Session):
    """A session that also connects, shakes hands and runs the plan's other actions."""

    # --- connect, TLS, greeting --------------------------------------------------------------

    async def connect(self) -> plan.Outcome:
        spec = self.spec
        if spec.proxy is not None and spec.proxy.remote_dns:
            self.record(Step(Phase.RESOLVE, note=f"(left to the proxy: {spec.proxy.scheme})"))
            addresses = [Address(spec.host, spec.port)]
        else:
            start = self.enter(Phase.RESOLVE)
            try:
                addresses = await self.transport.resolve(
                    spec.host, spec.port, spec.family, spec.phase_timeout
                )
            except (OSError, TimeoutError, UnicodeError) as exc:
                detail = getattr(exc, "strerror", None) or "the resolver did not answer in time"
                failure = Failure(FailureKind.DNS_FAILURE, detail)
                self.record(Step(Phase.RESOLVE, failure=failure, elapsed_ms=elapsed_ms(start)))
                return failure
            shown = tuple(a.host for a in addresses)
            self.transcript.target = replace(self.transcript.target, addresses=shown)
            self.record(Step(Phase.RESOLVE, elapsed_ms=elapsed_ms(start), note=" ".join(shown)))
        if spec.proxy is not None:
            self.transcript.target = replace(self.transcript.target, proxy=spec.proxy.display)
        last: Failure = Failure(FailureKind.DNS_FAILURE, "no address to connect to")
        for address in addresses:
            start = self.enter(Phase.CONNECT)
            try:
                self.conn = await self.transport.connect(
                    address, source=spec.source_address, proxy=spec.proxy,
                    timeout=spec.phase_timeout,
                )  # fmt: skip
            except network_errors() as exc:
                last = failure_from_exception(exc)
                if last.kind is FailureKind.TIMEOUT:
                    last = Failure(FailureKind.CONNECT_TIMEOUT, f"no answer from {address.host}")
                step = Step(
                    Phase.CONNECT, failure=last, elapsed_ms=elapsed_ms(start), note=address.host
                )
                self.record(step)
                if spec.proxy is not None and last.kind is not FailureKind.PROXY_TARGET_UNREACHABLE:
                    break  # the proxy itself failed: another server address will not help
                continue
            local, peer = self.conn.local_address, self.conn.peer_address
            via = f" via {spec.proxy.display} ({peer})" if spec.proxy is not None else ""
            self.address = None if spec.proxy is not None else address
            self.transcript.target = replace(
                self.transcript.target,
                address_used=address.host,
                source_address=local,
                proxy_address=peer if spec.proxy is not None else None,
            )
            note = f"{address.host} port {address.port}{via} from {local}"
            self.record(Step(Phase.CONNECT, elapsed_ms=elapsed_ms(start), note=note))
            return None
        return last

    async def handshake(self, verify: bool) -> plan.Outcome:
        assert self.conn is not None
        start = self.enter(Phase.TLS)
        context = client_context(ca_file=self.spec.ca_file) if verify else unverified_context()
        try:
            # The name the certificate must carry: an IPv6 literal without its zone (%eth0).
            name = self.spec.host.partition("%")[0]
            await self.conn.start_tls(context, name, self.spec.phase_timeout)
        except network_errors() as exc:
            failure = self.failed(Phase.TLS, exc, start)
            self.close()
            return failure
        # --insecure: say why verification failed on the first attempt.
        error = None if verify else self._certificate_error()
        info = self.conn.describe_tls(verified=verify, error=error)
        self.transcript.tls = info
        note = f"{info.version} {info.cipher}" + ("" if verify else ", not verified (--insecure)")
        self.record(Step(Phase.TLS, elapsed_ms=elapsed_ms(start), note=note))
        return None

    def _certificate_error(self) -> str | None:
        for step in reversed(self.transcript.steps):
            if (
                step.failure is not None
                and step.failure.kind is FailureKind.TLS_CERTIFICATE_INVALID
            ):
                return step.failure.detail
        return None

    async def greeting(self) -> plan.Outcome:
        assert self.conn is not None
        start = self.enter(Phase.GREETING)
        try:
            wire = await self.conn.read_reply(self.spec.phase_timeout)
        except network_errors() as exc:
            return self.failed(Phase.GREETING, exc, start)
        reply = reply_of(wire)
        self.record(Step(Phase.GREETING, reply=reply, elapsed_ms=elapsed_ms(start)))
        return reply

    async def check_port(self, check: plan.PortCheck) -> None:
        """A second, short connection to explain a failure; recorded, never decisive."""
        from smtpprobe.portcheck import look_again

        if self.address is None:
            return  # through a proxy a direct look would leave the route being probed
        # The first connection has failed and the dialogue ends after this look; closing it
        # first keeps a probe to one connection at a time (health checks' per-host limit).
        self.close()
        start = self.enter(Phase.SECURITY_CHECK, min(_CHECK_WAIT, self.spec.phase_timeout))
        step, tls = await look_again(
            self.transport,
            self.spec,
            self.address,
            check,
            min(_CHECK_WAIT, self.spec.phase_timeout),
        )
        if tls is not None:
            self.transcript.tls = replace(
                tls, verified=False, verify_error=self._certificate_error()
            )
        self.record(replace(step, elapsed_ms=elapsed_ms(start)))

    async def execute(self, action: plan.Action) -> plan.Outcome:
        match action:
            case plan.Connect():
                return await self.connect()
            case plan.Handshake(verify=verify):
                return await self.handshake(verify)
            case plan.Greeting():
                return await self.greeting()
            case plan.Ehlo(name=name):
                return await self.ehlo(name)
            case plan.StartTLS():
                return await self.exchange(Phase.STARTTLS, "STARTTLS", b"STARTTLS")
            case plan.Authenticate(mechanism=mechanism):
                return await self.authenticate(mechanism)
            case plan.Flight(actions=actions):
                return await self.flight(actions)
            case plan.Data(message=message):
                return await self.data(message)
            case plan.Mail() | plan.Rcpt() | plan.Rset() | plan.Quit():
                return await self.exchange(*self._command(action))
            case plan.CheckPort(check=check):
                await self.check_port(check)
                return None
            case plan.Retry():
                self.close()
                steps = self.transcript.steps
                steps[-1] = replace(steps[-1], note=RETRIED)  # the failure that cut the flight
                return None
            case plan.Stop(phase=phase, failure=failure):
                self.record(Step(phase, failure=failure))
                return None
        raise AssertionError(f"unknown action {action!r}")


async def run_probe(
    spec: ProbeSpec,
    secrets: list[str] | None = None,
    *,
    transport: Transport | None = None,
    on_phase: PhaseListener | None = None,
) -> Transcript:
    """Run one probe and return its transcript. Never raises for anything the server does.

    Raises ``ConfigError`` for problems on this side (a source address that
    cannot be bound). ``spec.timeout`` bounds the whole probe. ``secrets``
    receives the derived secrets sent on the wire (the AUTH payloads), for the
    redactor; ``on_phase`` hears each wait begin (for a status line).
    """
    import asyncio

    run, steps = _start(spec, transport or NetworkTransport(), secrets, on_phase)
    try:
        async with asyncio.timeout(spec.timeout):
            await _follow(run, steps)
    except TimeoutError:
        _overall_timeout(run)
    finally:
        run.close()
    return run.transcript


def run_probe_blocking(
    spec: ProbeSpec, secrets: list[str] | None = None, *, on_phase: PhaseListener | None = None
) -> Transcript:
    """``run_probe`` on blocking sockets, with no event loop: for one probe per process.

    The same plan, steps and verdicts (``smtpprobe.blocking`` says how); the overall
    time limit is a deadline that every wait is cut to.
    """
    from smtpprobe.blocking import BlockingTransport, ProbeDeadline, drive

    transport = BlockingTransport(time.monotonic() + spec.timeout)
    run, steps = _start(spec, transport, secrets, on_phase)
    try:
        drive(_follow(run, steps))
    except ProbeDeadline:
        _overall_timeout(run)
    finally:
        run.close()
    return run.transcript


def _start(
    spec: ProbeSpec,
    transport: Transport,
    secrets: list[str] | None,
    on_phase: PhaseListener | None,
) -> tuple[_Run, Generator[plan.Action, plan.Outcome, None]]:
    run = _Run(spec, transport, secrets if secrets is not None else [], on_phase)
    message = None
    if spec.send:
        now = dt.datetime.now(dt.UTC)
        message = plan.probe_message(
            spec.sender,
            spec.recipient,
            date=now.strftime("%a, %d %b %Y %H:%M:%S +0000"),
            message_id=f"smtpprobe.{now.strftime('%Y%m%dT%H%M%S.%f')}",
        )
    return run, plan.dialogue(spec, message)


async def _follow(run: _Run, steps: Generator[plan.Action, plan.Outcome, None]) -> None:
    """Carry out the plan's actions, each outcome deciding the next, until it ends."""
    try:
        action = next(steps)
        while True:
            action = steps.send(await run.execute(action))
    except StopIteration:
        pass


def _overall_timeout(run: _Run) -> None:
    detail = f"the whole probe took longer than --timeout {run.spec.timeout:g} s"
    # The command already sent, if the wait was for its reply: the transcript shows it.
    # Its time is the phase's so far: without it, the total (Nagios's time=, the
    # transcript's sum) left out the wait that ran into the limit.
    failure = Failure(FailureKind.TIMEOUT, detail)
    run.record(
        Step(run.phase, run.shown, failure=failure, elapsed_ms=elapsed_ms(run.phase_started))
    )
