"""A private, throwaway Postfix on loopback for the benchmarks: submission with STARTTLS
and implicit TLS, SASL PLAIN/LOGIN from a Cyrus sasldb, a certificate from a trustme CA.

Everything lives in one temporary folder (configuration, queue, data, log, TLS files,
password database) and goes when the context ends; nothing under /etc is read or
written beyond what the Debian package installed. Needs Debian's ``postfix`` and
``sasl2-bin`` packages, and root: Postfix's master starts as root and runs its
daemons as the ``postfix`` user the package created.

It can never send mail anywhere: it listens on 127.0.0.1 only, has no SMTP client in
its master.cf, discards anything that would be queued, and makes no DNS lookups
(``smtpd_peername_lookup = no``, ``smtp_dns_support_level = disabled``). The probes
stop after RCPT, so nothing is ever queued in the first place.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BenchServer",
    "PostfixUnavailable",
    "double_server",
    "postfix_server",
    "postfix_unavailable",
]

USER = "bench@bench.test"
_REALM = "bench.test"


class PostfixUnavailable(RuntimeError):
    """Postfix cannot run here; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class BenchServer:
    """Where the benchmark's clients connect, and with what."""

    description: str
    host: str
    ports: dict[str, int]  # security mode ("starttls", "implicit-tls") -> port
    ca_files: dict[str, Path]  # security mode -> the CA that signed that port's certificate
    user: str
    password: str


def postfix_unavailable() -> str | None:
    """Why a private Postfix cannot run on this machine, or None when it can."""
    missing = [
        f"{tool} ({package})"
        for tool, package in (("postfix", "postfix"), ("saslpasswd2", "sasl2-bin"))
        if shutil.which(tool, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin") is None
    ]
    if missing:
        return "not installed: " + ", ".join(missing)
    if os.geteuid() != 0:
        return "needs root (Postfix's master starts as root)"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "no 'postfix' user (install Debian's postfix package)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tool(name: str) -> str:
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin") or name


def _version() -> str:
    result = subprocess.run(
        [_tool("postconf"), "-d", "-h", "mail_version"], capture_output=True, text=True
    )
    return result.stdout.strip() or "?"


def _write_tls(folder: Path) -> Path:
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    key = folder / "key.pem"
    key.touch(mode=0o600)
    leaf.private_key_pem.write_to_path(str(key))
    chain = folder / "cert.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    return folder / "ca.pem"


def _main_cf(root: Path) -> str:
    return f"""\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
myhostname = bench.localhost
mydomain = localhost
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
# no lookups anywhere: the client's name, MX records
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
# nothing leaves: anything queued (never, the probes stop at RCPT) is discarded
default_transport = discard:bench
relay_transport = discard:bench
local_transport = discard:bench
# submission: relaying only after AUTH, AUTH only after TLS
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = {root}/etc/sasl
smtpd_tls_cert_file = {root}/tls/cert.pem
smtpd_tls_key_file = {root}/tls/key.pem
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
# Postfix slows MAIL FROM by up to 1 s when mail arrives faster than it is delivered;
# every probe abandons its transaction, so without this each run after ~100 waits 1 s.
in_flow_delay = 0
biff = no
"""


def _master_cf(starttls: int, implicit: int) -> str:
    # No chroot (the folder is private), no smtp/relay client, no local delivery.
    services = [
        f"127.0.0.1:{starttls} inet n - n - - smtpd",
        f"127.0.0.1:{implicit} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes",
        "cleanup unix n - n - 0 cleanup",
        "qmgr unix n - n 300 1 qmgr",
        "tlsmgr unix - - n 1000? 1 tlsmgr",
        "rewrite unix - - n - - trivial-rewrite",
        "bounce unix - - n - 0 bounce",
        "defer unix - - n - 0 bounce",
        "trace unix - - n - 0 bounce",
        "verify unix - - n - 1 verify",
        "proxymap unix - - n - - proxymap",
        "discard unix - - n - - discard",
        "anvil unix - - n - 1 anvil",
        "scache unix - - n - 1 scache",
        "postlog unix-dgram n - n - 1 postlogd",
    ]
    return "\n".join(services) + "\n"


def _postfix(root: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool("postfix"), "-c", str(root / "etc"), command],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _log_tail(root: Path) -> str:
    try:
        lines = (root / "maillog").read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(lines[-5:])


def _wait_for(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.05)
    return False


def _master_pid(root: Path) -> int | None:
    try:
        return int((root / "spool" / "pid" / "master.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _stop(root: Path) -> None:
    pid = _master_pid(root)
    _postfix(root, "stop")
    deadline = time.monotonic() + 15
    while pid is not None and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)  # still there?
        except ProcessLookupError:
            return
        time.sleep(0.05)
    if pid is not None:
        _postfix(root, "abort")


@contextlib.contextmanager
def postfix_server() -> Iterator[BenchServer]:
    """Start a private Postfix on two free loopback ports; stop it and remove its folder."""
    reason = postfix_unavailable()
    if reason:
        raise PostfixUnavailable(reason)
    root = Path(tempfile.mkdtemp(prefix="smtpprobe-bench-postfix-"))
    started = False
    try:
        root.chmod(0o755)  # the postfix user walks into spool/ and reads the sasldb
        for name in ("etc/sasl", "spool", "data", "tls"):
            (root / name).mkdir(parents=True)
        postfix = pwd.getpwnam("postfix")
        os.chown(root / "data", postfix.pw_uid, postfix.pw_gid)
        ca_file = _write_tls(root / "tls")
        ports = {"starttls": _free_port(), "implicit-tls": _free_port()}
        (root / "etc" / "main.cf").write_text(_main_cf(root))
        (root / "etc" / "master.cf").write_text(
            _master_cf(ports["starttls"], ports["implicit-tls"])
        )
        sasldb = root / "sasldb2"
        (root / "etc" / "sasl" / "smtpd.conf").write_text(
            f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
            f"mech_list: PLAIN LOGIN\nsasldb_path: {sasldb}\n"
        )
        # A leading "-" reads as an option to swaks (Getopt): "Unknown option" (seen once in
        # 16 runs, as token_urlsafe allows it).
        password = "p" + secrets.token_urlsafe(12)
        local, _, realm = USER.partition("@")
        subprocess.run(
            [_tool("saslpasswd2"), "-c", "-p", "-f", str(sasldb), "-u", realm or _REALM, local],
            input=password,
            text=True,
            check=True,
            capture_output=True,
        )
        os.chown(sasldb, 0, postfix.pw_gid)
        sasldb.chmod(0o640)
        result = _postfix(root, "start")
        started = True
        deadline = time.monotonic() + 20
        if result.returncode != 0 or not all(_wait_for(p, deadline) for p in ports.values()):
            raise PostfixUnavailable(
                f"postfix did not start ({result.stderr.strip() or result.returncode}); "
                f"log: {_log_tail(root)}"
            )
        yield BenchServer(
            description=f"Postfix {_version()} (Debian package, private instance on loopback)",
            host="127.0.0.1",
            ports=ports,
            ca_files=dict.fromkeys(ports, ca_file),
            user=USER,
            password=password,
        )
    finally:
        if started:
            _stop(root)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def double_server() -> Iterator[BenchServer]:
    """The project's test double (aiosmtpd, in this process) for both security modes."""
    from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER, DoubleServer

    with (
        DoubleServer("ok", security="starttls") as starttls,
        DoubleServer("ok", security="implicit-tls") as implicit,
    ):
        yield BenchServer(
            description="smtpprobe.testing.DoubleServer (aiosmtpd, in the bench process)",
            host=starttls.host,
            ports={"starttls": starttls.port, "implicit-tls": implicit.port},
            ca_files={"starttls": starttls.ca_file, "implicit-tls": implicit.ca_file},
            user=DEFAULT_USER,
            password=DEFAULT_PASSWORD,
        )
