"""The least a Python client does for smtpprobe's dialogue: the benchmark's floor row.

The same dialogue as ``smtpprobe check`` to RCPT (EHLO, STARTTLS or implicit TLS with the
certificate verified against the system store and one CA file, EHLO, AUTH PLAIN, MAIL, RCPT,
RSET, QUIT) on blocking ``socket`` and ``ssl``, as ``smtpprobe check`` runs it
(``smtpprobe.blocking``), and nothing else: no CLI, profiles, rules, transcript or report,
one command per round trip and no error handling beyond a refusal. Its wall time is what the
interpreter, the socket and ssl modules and the server cost before any of smtpprobe's own
work, so the start-up table can say how much of smtpprobe's time is its own.

Run by ``bench_rtt.py``:
    python floor_client.py HOST PORT starttls|implicit-tls CA_FILE USER RECIPIENT
with the password in SMTPPROBE_PASSWORD (loopback servers only).
"""

from __future__ import annotations

import base64
import os
import socket
import ssl
import sys
from typing import BinaryIO


def _reply(stream: BinaryIO) -> None:
    """Read one whole reply (every line of a multi-line one); exit unless it is 2xx or 3xx."""
    line = stream.readline()
    while line[3:4] == b"-":
        line = stream.readline()
    if line[:1] not in (b"2", b"3"):
        raise SystemExit(f"refused: {line!r}")


def _system_store() -> str | None:
    """The system's hashed certificate directory where it holds the default bundle's
    certificates (Debian's /etc/ssl/certs): smtpprobe reads the store from there, so that
    OpenSSL loads only the certificate a chain names, not all ~150 of the bundle (25-35 ms).
    """
    paths = ssl.get_default_verify_paths()
    bundle = os.environ.get(paths.openssl_cafile_env) or paths.openssl_cafile
    directory = os.environ.get(paths.openssl_capath_env) or paths.openssl_capath
    if not bundle or not directory:
        return None
    real = os.path.realpath(directory)
    if os.path.realpath(bundle) != os.path.join(real, "ca-certificates.crt"):
        return None
    return real


def dialogue(host: str, port: int, mode: str, ca_file: str, user: str, to: str) -> None:
    """One probe to RCPT, then RSET and QUIT."""
    context = ssl.create_default_context(capath=_system_store())  # None: the default paths
    context.load_verify_locations(cafile=ca_file)
    sock = socket.create_connection((host, port), timeout=15)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if mode == "implicit-tls":
        sock = context.wrap_socket(sock, server_hostname=host)
    stream = sock.makefile("rb")

    def send(line: str) -> None:
        sock.sendall(line.encode() + b"\r\n")
        _reply(stream)

    _reply(stream)
    send("EHLO [127.0.0.1]")
    if mode == "starttls":
        send("STARTTLS")
        sock = context.wrap_socket(sock, server_hostname=host)
        stream = sock.makefile("rb")
        send("EHLO [127.0.0.1]")
    secret = f"\0{user}\0{os.environ['SMTPPROBE_PASSWORD']}".encode()
    send("AUTH PLAIN " + base64.b64encode(secret).decode())
    for command in (f"MAIL FROM:<{user}>", f"RCPT TO:<{to}>", "RSET", "QUIT"):
        send(command)
    sock.close()


def main(argv: list[str]) -> int:
    host, port, mode, ca_file, user, to = argv
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise SystemExit("floor_client talks to loopback servers only")
    dialogue(host, int(port), mode, ca_file, user, to)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
