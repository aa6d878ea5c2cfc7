"""A small SOCKS5 proxy for tests (RFC 1928, with RFC 1929 user/password): loopback only.

It listens on a loopback address, relays CONNECTs to loopback destinations only
(anything else gets reply 0x02 "not allowed by ruleset", so a test can never
reach the Internet through it), and can leave from another loopback address
(``exit_address``) so that a probe through it reaches a server from a
different source, as a proxy abroad would. Connections are bounded.

>>> with SocksProxy(username="u", password="p") as proxy:
...     proxy.url  # doctest: +SKIP
'socks5://u:p@127.0.0.1:40123'
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct

from smtpprobe.testing.loopback import LoopbackServer, require_loopback

__all__ = ["SocksProxy"]

_VERSION = 5
_NO_AUTH, _USER_PASS, _NO_ACCEPTABLE = 0x00, 0x02, 0xFF
_SUCCEEDED, _NOT_ALLOWED, _HOST_UNREACHABLE, _REFUSED = 0x00, 0x02, 0x04, 0x05
_COMMAND_NOT_SUPPORTED, _ATYP_NOT_SUPPORTED = 0x07, 0x08
_HANDSHAKE_TIMEOUT = 10.0
_MAX_CONNECTIONS = 32


class SocksProxy(LoopbackServer):
    """A SOCKS5 server on loopback, run from its own thread and event loop."""

    _backlog = _MAX_CONNECTIONS

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        username: str | None = None,
        password: str | None = None,
        exit_address: str | None = None,
    ) -> None:
        for name, value in (("host", host), ("exit_address", exit_address)):
            if value is not None:
                require_loopback("SocksProxy", name, value)
        super().__init__(host, port)
        self.username = username
        self.password = password
        self.exit_address = exit_address
        self.connections: list[tuple[str, str, int]] = []  # (client, destination, port)
        self.auth_failures = 0

    def __repr__(self) -> str:
        return f"SocksProxy(host={self.host!r}, port={self.port})"

    @property
    def url(self) -> str:
        """``socks5://[user:password@]host:port`` for ``--proxy``."""
        auth = f"{self.username}:{self.password}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"socks5://{auth}{host}:{self.port}"

    async def _listen(self, sock: socket.socket) -> asyncio.Server:
        limit = asyncio.Semaphore(_MAX_CONNECTIONS)

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if limit.locked():
                writer.close()
                return
            async with limit:
                try:
                    await self._client(reader, writer)
                except (OSError, asyncio.IncompleteReadError, TimeoutError):
                    pass
                finally:
                    writer.close()

        return await asyncio.start_server(on_client, sock=sock)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = str(writer.get_extra_info("peername")[0])
        async with asyncio.timeout(_HANDSHAKE_TIMEOUT):
            version, count = await reader.readexactly(2)
            methods = await reader.readexactly(count)
            if version != _VERSION:
                return
            wanted = _USER_PASS if self.username is not None else _NO_AUTH
            if wanted not in methods:
                writer.write(bytes([_VERSION, _NO_ACCEPTABLE]))
                return
            writer.write(bytes([_VERSION, wanted]))
            if wanted == _USER_PASS and not await self._authenticate(reader, writer):
                return
            _, command, _, atyp = await reader.readexactly(4)
            host = await self._address(reader, atyp)
            (port,) = struct.unpack("!H", await reader.readexactly(2))
            if host is None:
                await self._reply(writer, _ATYP_NOT_SUPPORTED)
                return
            if command != 1:  # CONNECT only
                await self._reply(writer, _COMMAND_NOT_SUPPORTED)
                return
            if host == "localhost":
                host = "127.0.0.1"
            try:
                allowed = ipaddress.ip_address(host).is_loopback
            except ValueError:
                allowed = False  # a name other than localhost: never resolved, never reached
            if not allowed:
                await self._reply(writer, _NOT_ALLOWED)
                return
            local = (self.exit_address, 0) if self.exit_address else None
            try:
                up_reader, up_writer = await asyncio.open_connection(host, port, local_addr=local)
            except ConnectionRefusedError:
                await self._reply(writer, _REFUSED)
                return
            except OSError:
                await self._reply(writer, _HOST_UNREACHABLE)
                return
            self.connections.append((client, host, port))
            await self._reply(writer, _SUCCEEDED, up_writer.get_extra_info("sockname"))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()

    async def _authenticate(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        # RFC 1929: VER=1, ULEN, UNAME, PLEN, PASSWD; reply VER=1, STATUS (0 = success).
        _, ulen = await reader.readexactly(2)
        user = (await reader.readexactly(ulen)).decode("utf-8", "replace")
        (plen,) = await reader.readexactly(1)
        secret = (await reader.readexactly(plen)).decode("utf-8", "replace")
        ok = user == self.username and secret == self.password
        writer.write(bytes([1, 0 if ok else 1]))
        await writer.drain()
        if not ok:
            self.auth_failures += 1
        return ok

    @staticmethod
    async def _address(reader: asyncio.StreamReader, atyp: int) -> str | None:
        if atyp == 1:
            return str(ipaddress.IPv4Address(await reader.readexactly(4)))
        if atyp == 4:
            return str(ipaddress.IPv6Address(await reader.readexactly(16)))
        if atyp == 3:
            (length,) = await reader.readexactly(1)
            return (await reader.readexactly(length)).decode("ascii", "replace")
        return None

    @staticmethod
    async def _reply(
        writer: asyncio.StreamWriter, code: int, bound: tuple[str, int] | None = None
    ) -> None:
        address, port = bound[:2] if bound else ("0.0.0.0", 0)
        ip = ipaddress.ip_address(address)
        atyp = 1 if ip.version == 4 else 4
        writer.write(bytes([_VERSION, code, 0, atyp]) + ip.packed + struct.pack("!H", port))
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(OSError):
            if writer.can_write_eof():
                writer.write_eof()
