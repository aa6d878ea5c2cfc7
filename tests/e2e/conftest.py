"""End-to-end fixtures: a loopback DNS responder for the egress lookup.

The ``cli`` (in process) and ``installed_cli`` (a real process) fixtures are in tests/conftest.py.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from ..conftest import CLI, InstalledCLI, Result

__all__ = ["CLI", "DNSResponder", "InstalledCLI", "Result"]


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
