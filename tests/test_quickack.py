"""After the TLS handshake the next segment is acknowledged at once (both transports).

An implicit-TLS server greets right after its TLS 1.3 session tickets; one that holds the
small greeting until the tickets are acknowledged (Postfix: Nagle's algorithm) waited for
the client's delayed ACK, ~40 ms on Linux: the benchmark's Postfix greeted 35 ms after the
handshake through ``check`` and 41 ms through ``probe``. ``transport.acknowledge_at_once``
puts the socket in quick-ACK mode after each handshake; these tests see the mode on a real
TLS connection on loopback (no timing: the mode is what the kernel reports).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpprobe.blocking import BlockingTransport, drive
from smtpprobe.connection import SMTPConnection, open_connection
from smtpprobe.testing.ca import TLSMaterial, make_tls_material
from smtpprobe.transport import literal_address

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="Linux's TCP_QUICKACK"),
]


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, TLSMaterial]]:
    """A TLS server on loopback that greets after the handshake, then waits for the close."""
    material = make_tls_material(tmp_path)
    listener = socket.create_server(("127.0.0.1", 0))
    server_context = material.server_context()

    def serve() -> None:
        conn, _ = listener.accept()
        with server_context.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"220 ready\r\n")
            tls.recv(1024)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1], material
    finally:
        listener.close()
        material.cleanup()


def _quickack(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK)


def test_check_s_blocking_connection(tls_server: tuple[int, TLSMaterial]) -> None:
    port, material = tls_server
    address = literal_address("127.0.0.1", port)
    assert address is not None
    transport = BlockingTransport(time.monotonic() + 5)
    conn = drive(transport.connect(address, source=None, proxy=None, timeout=2.0))
    assert conn.sock is not None
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
    drive(conn.start_tls(material.client_context(), "localhost", 2.0))
    assert _quickack(conn.sock) == 1
    assert drive(conn.read_reply(2.0)).code == 220
    conn.close()


def test_probe_s_event_loop_connection(tls_server: tuple[int, TLSMaterial]) -> None:
    port, material = tls_server

    async def run() -> int:
        sock = socket.create_connection(("127.0.0.1", port), timeout=2.0)
        sock.setblocking(False)
        conn: SMTPConnection = await open_connection(sock, timeout=2.0)
        raw = conn.transport.get_extra_info("socket") if conn.transport else None
        assert raw is not None
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
        await conn.start_tls(material.client_context(), "localhost", 2.0)
        assert conn.transport is not None
        mode = _quickack(conn.transport.get_extra_info("socket"))
        assert (await conn.read_reply(2.0)).code == 220
        conn.close()
        return int(mode)

    assert asyncio.run(run()) == 1
