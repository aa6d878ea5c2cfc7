"""The least a Python asyncio client does for smtpprobe's dialogue: the benchmark's floor row.

The same dialogue as ``smtpprobe check`` to RCPT (EHLO, STARTTLS or implicit TLS with the
certificate verified against one CA file, EHLO, AUTH PLAIN, MAIL, RCPT, RSET, QUIT) on
asyncio's streams and nothing else: no CLI, no profiles, no rules, no transcript, no report,
one command per round trip and no error handling beyond a refusal. Its wall time is what the
interpreter, asyncio and ssl cost before any of smtpprobe's own work, so the start-up table can
say how much of smtpprobe's time is its own and how close to swaks any tool on this stack
(Python and asyncio, smtpprobe's since it replaced aiosmtplib) can get.

Run by ``bench_rtt.py``:
    python floor_client.py HOST PORT starttls|implicit-tls CA_FILE USER RECIPIENT
with the password in SMTPPROBE_PASSWORD (loopback servers only).
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import sys


async def _reply(reader: asyncio.StreamReader) -> str:
    """One whole reply (every line of a multi-line one); raises unless it is 2xx or 3xx."""
    lines = [await reader.readline()]
    while lines[-1][3:4] == b"-":
        lines.append(await reader.readline())
    if lines[-1][:1] not in (b"2", b"3"):
        raise SystemExit(f"refused: {b''.join(lines)!r}")
    return b"".join(lines).decode("utf-8", "replace")


async def dialogue(host: str, port: int, mode: str, ca_file: str, user: str, to: str) -> None:
    """One probe to RCPT, then RSET and QUIT."""
    context = ssl.create_default_context(cafile=ca_file)
    implicit = mode == "implicit-tls"
    reader, writer = await asyncio.open_connection(
        host, port, ssl=context if implicit else None, server_hostname=host if implicit else None
    )

    async def send(line: str) -> str:
        writer.write(line.encode() + b"\r\n")
        return await _reply(reader)

    await _reply(reader)
    await send("EHLO [127.0.0.1]")
    if not implicit:
        await send("STARTTLS")
        await writer.start_tls(context, server_hostname=host)
        await send("EHLO [127.0.0.1]")
    secret = f"\0{user}\0{os.environ['SMTPPROBE_PASSWORD']}".encode()
    await send("AUTH PLAIN " + base64.b64encode(secret).decode())
    await send(f"MAIL FROM:<{user}>")
    await send(f"RCPT TO:<{to}>")
    await send("RSET")
    await send("QUIT")
    writer.close()


def main(argv: list[str]) -> int:
    host, port, mode, ca_file, user, to = argv
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise SystemExit("floor_client talks to loopback servers only")
    asyncio.run(dialogue(host, int(port), mode, ca_file, user, to))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
