"""End-to-end fixtures: run the installed ``smtpprobe`` console script as a user would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER

BIN = Path(sys.executable).parent / "smtpprobe"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)

    @property
    def both(self) -> str:
        return self.out + self.err


def unused_udp_port() -> int:
    """A loopback UDP port with nothing listening on it (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DNSResponder:
    """A real DNS server on 127.0.0.1 answering the two egress questions.

    ``address`` is served as the answer; ``None`` echoes the querying address back,
    as Google's ``o-o.myaddr.l.google.com`` does. ``silent`` never answers (a black hole).
    """

    def __init__(self, address: str | None = None, *, silent: bool = False) -> None:
        self.address = address
        self.silent = silent
        self.queries: list[tuple[str, str, str]] = []  # (client, name, type)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def spec(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while self._running:
            try:
                wire, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(wire)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True)
            rdtype = dns.rdatatype.to_text(question.rdtype)
            self.queries.append((peer[0], name, rdtype))
            if self.silent:
                continue
            answer = self.address or peer[0]
            response = dns.message.make_response(query)
            if (name, rdtype) == ("o-o.myaddr.l.google.com", "TXT"):
                data = f'"{answer}"'
            elif (name, rdtype) == ("myip.opendns.com", "A"):
                data = answer
            else:
                response.set_rcode(dns.rcode.REFUSED)
                data = ""
            if data:
                response.answer.append(dns.rrset.from_text(question.name, 0, "IN", rdtype, data))
            self._sock.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self._running = False
        self._thread.join(2)
        self._sock.close()


@pytest.fixture
def dns_responder() -> Iterator[Callable[..., DNSResponder]]:
    """A factory of loopback DNS responders, all stopped when the test ends."""
    started: list[DNSResponder] = []

    def start(address: str | None = None, *, silent: bool = False) -> DNSResponder:
        responder = DNSResponder(address, silent=silent)
        started.append(responder)
        return responder

    try:
        yield start
    finally:
        for responder in started:
            responder.stop()


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60
) -> Result:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMTPPROBE_")}
    full_env.update(
        {
            "LANG": "C.UTF-8",
            "SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config",
            # Never ask Google's or OpenDNS's servers from a test: an unused loopback port
            # answers with ICMP "port unreachable", so the lookup ends at once.
            "SMTPPROBE_EGRESS_RESOLVERS": f"127.0.0.1:{unused_udp_port()}",
        }
    )
    full_env.pop("LC_ALL", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [str(BIN), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def probe(
    server: Any,
    *args: str,
    password: str = DEFAULT_PASSWORD,
    user: str = DEFAULT_USER,
    security: str | None = None,
    json_out: bool = True,
    **kw: Any,
) -> Result:
    """``smtpprobe check`` against a running double, trusting its CA."""
    argv = [
        "check",
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--security",
        security or server.security,
        "--ca-file",
        str(server.ca_file),
        "--phase-timeout",
        "2",
        "--timeout",
        "10",
    ]
    if user:
        argv += ["--user", user]
    if json_out:
        argv.append("--json")
    env = {"SMTPPROBE_PASSWORD": password} if password else {}
    env.update(kw.pop("env", {}))
    return run(*argv, *args, env=env, **kw)


class CLI:
    """The ``cli`` fixture: ``cli.run(...)`` and ``cli.probe(server, ...)``."""

    run = staticmethod(run)
    probe = staticmethod(probe)


@pytest.fixture
def cli() -> CLI:
    return CLI()
