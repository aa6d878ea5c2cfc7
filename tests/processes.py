"""Helpers for tests that need a real process of the installed ``smtpprobe``.

The audit hook (PEP 578) that records, and refuses, every address that is not loopback;
the environment such a process gets; and the two real runs of ``smtpprobe demo`` that
tests/e2e/test_offline.py checks (started by the ``demo_runs`` fixture in
tests/conftest.py, at the same time as the demo's run in the test process).
None of these processes is told SMTPPROBE_EGRESS_RESOLVERS: they use their real defaults.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent / "smtpprobe"

# Runs smtpprobe's main() under the audit hook; argv[1] is the command line as JSON.
AUDITED = r"""
import ipaddress, json, os, sys

_fd = os.open(os.environ["SMTPPROBE_TEST_AUDIT_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
_ADDRESSED = {"socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind"}
_NAMED = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"}

def _loopback(host):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback

def _hook(event, args):
    if event in _ADDRESSED:
        address = args[1]
        if address is None:  # sendmsg on a connected socket: its connect was audited
            return
        host = address[0] if isinstance(address, tuple) else address
    elif event in _NAMED:
        host = args[0]
    elif event == "socket.getnameinfo":
        host = args[0][0]
    else:
        return
    local = _loopback(host)
    os.write(_fd, (json.dumps([event, repr(host), local]) + "\n").encode())
    if not local:
        raise PermissionError(f"audit hook: {event} to {host!r} refused (not loopback)")

sys.addaudithook(_hook)
from smtpprobe.cli import main
main(json.loads(sys.argv[1]))
"""


def environment(tmpdir: Path | None = None, **extra: str) -> dict[str, str]:
    """The caller's environment without SMTPPROBE_* and LC_ALL, with LANG=C.UTF-8, no user
    configuration, ``TMPDIR`` when given, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMTPPROBE_")}
    env.pop("LC_ALL", None)
    env.update({"LANG": "C.UTF-8", "SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config"})
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    env.update(extra)
    return env


def audited(argv: list[str], log: Path, **kwargs: Any) -> subprocess.Popen[str]:
    """``smtpprobe ARGV`` under the audit hook, writing its records to ``log``."""
    env = kwargs.pop("env", None) or environment()
    env["SMTPPROBE_TEST_AUDIT_LOG"] = str(log)
    return subprocess.Popen(
        [sys.executable, "-c", AUDITED, json.dumps(argv)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


# A guard against a hang, not a measure of speed: in a full run on a slow 2-core machine
# (every worker busy) a `check` in its own interpreter, parsing the rules and signatures
# cold, once took more than 15 s (CI from a clean clone, 2026-12-06); alone it takes ~1 s.
FINISH_TIMEOUT = 60.0


def finish(proc: subprocess.Popen[str], timeout: float = FINISH_TIMEOUT) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def start_demo_processes(log: Path) -> tuple[subprocess.Popen[str], subprocess.Popen[str]]:
    """``smtpprobe demo --lang en`` twice, at once: under the audit hook (recording to
    ``log``), and in a new network namespace whose only interface is ``lo`` up (no route
    off the machine exists at all)."""
    outside = audited(["demo", "--lang", "en"], log)
    inside = subprocess.Popen(
        ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" demo --lang en', BIN],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    return outside, inside
