"""The ``smtpprobe check`` line that ``smtpprobe double`` prints: the probe that shows the point.

A line to try must reproduce what the scenario is about (``geo-filter-sakura`` is a client
abroad being refused, not a pass) and must stay on the machine: it always turns the
egress-address lookup off, because that lookup asks public DNS servers (egress.py).
tests/testing/test_double_cli.py runs the line for every scenario and checks the verdict.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from smtpprobe.testing.server import DEFAULT_PASSWORD, DEFAULT_USER, DoubleServer, Security

__all__ = ["CheckCommand", "check_command"]


@dataclass(frozen=True, slots=True)
class CheckCommand:
    """``smtpprobe`` arguments and the environment to run them with; ``note`` says what the
    line cannot show as the double is served (empty when it shows everything)."""

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    note: str = ""

    @property
    def environ(self) -> Mapping[str, str]:
        """The environment variables to set, as a mapping."""
        return dict(self.env)

    def shell(self) -> str:
        """The line for a POSIX shell: ``VAR=value smtpprobe check …``, quoted."""
        words = [f"{name}={shlex.quote(value)}" for name, value in self.env]
        words += ["smtpprobe", *(shlex.quote(arg) for arg in self.argv)]
        return " ".join(words)


def check_command(server: DoubleServer, *extra: str) -> CheckCommand:
    """The ``smtpprobe check`` line that shows ``server``'s scenario, plus ``extra`` options.

    The connection options come from the server, the scenario's own from its ``check:`` list
    in scenarios.yaml; later options win, so ``extra`` can shorten the timeouts in a test.
    """
    scenario_options, note = _fitting(list(server.scenario.check_options), server.host)
    authenticated = "--no-auth" not in scenario_options
    argv = [
        "check",
        "--host", server.host,
        "--port", str(server.port),
        "--security", str(server.security),
        "--ca-file", str(server.ca_file),
        # The lookup would ask Google's and OpenDNS's servers for our public address.
        "--no-egress-lookup",
    ]  # fmt: skip
    env: tuple[tuple[str, str], ...] = ()
    if authenticated:
        argv += ["--user", DEFAULT_USER]
        env = (("SMTPPROBE_PASSWORD", DEFAULT_PASSWORD),)
        if server.security is Security.PLAIN:
            # The double's own password, on loopback: the point of a plain scenario (e.g.
            # tls-required's 530 to AUTH) shows only if the probe sends AUTH in clear.
            argv.append("--allow-plaintext-auth")
    elif "--from" not in scenario_options:
        argv += ["--from", DEFAULT_USER]  # without a login, the sender must be named
    return CheckCommand(argv=(*argv, *scenario_options, *extra), env=env, note=note)


def _fitting(options: list[str], host: str) -> tuple[list[str], str]:
    """Drop a ``--source-address`` that cannot reach ``host`` (IPv4 source, IPv6 listener)."""
    if "--source-address" not in options:
        return options, ""
    at = options.index("--source-address")
    source = options[at + 1]
    try:
        same_family = ipaddress.ip_address(source).version == ipaddress.ip_address(host).version
    except ValueError:
        return options, ""
    if same_family:
        return options, ""
    kept = options[:at] + options[at + 2 :]
    return kept, (
        f"this line cannot show the scenario: it needs --source-address {source}, "
        f"which cannot reach {host}; serve the double on 127.0.0.1"
    )
