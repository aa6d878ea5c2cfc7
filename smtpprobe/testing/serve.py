"""``smtpprobe double``: one scenario served in the foreground, with a banner to copy from.

The banner (scenario, address, CA file, credentials, a ready-made ``smtpprobe check``
line) is printed line by line through ``echo``; the server runs until ``duration``
or a stop signal, then stops and removes its temporary CA folder.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from smtpprobe.errors import ConfigError

__all__ = ["scenario_lines", "serve_double"]


def scenario_lines() -> list[str]:
    """One line per scenario: name, security mode, summary."""
    from smtpprobe.testing import load_scenarios

    return [f"{s.name:<20} {s.security:<13} {s.summary}" for s in load_scenarios().values()]


def serve_double(
    scenario: str,
    *,
    host: str,
    port: int,
    security: str | None,
    duration: float | None,
    echo: Callable[[str], None],
) -> None:
    """Serve ``scenario`` on ``host:port`` until ``duration`` or Ctrl-C, SIGTERM or SIGHUP."""
    from smtpprobe.core.transcript import Security
    from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER, DoubleServer, load_scenarios
    from smtpprobe.testing.commands import check_command
    from smtpprobe.testing.foreground import stop_on_signals

    scenarios = load_scenarios()
    if scenario not in scenarios:
        raise ConfigError(f"unknown scenario '{scenario}'; known: {', '.join(scenarios)}")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"--host {host}: give a loopback IP address such as 127.0.0.1") from None
    if not address.is_loopback:  # (ConfigError is a ValueError: raised outside the try)
        raise ConfigError(f"--host {host}: the double only listens on loopback addresses")
    chosen = scenarios[scenario]
    if security is not None and (lost := chosen.point_lost_in(Security(security))) is not None:
        # Served anyway it would be a healthy server under the scenario's banner.
        raise ConfigError(
            f"--security {security}: scenario '{scenario}' would not show here: {lost}"
        )
    if duration is not None and not 0 <= duration < float("inf"):  # nan fails both
        raise ConfigError(f"--duration {duration}: give a finite number of seconds, 0 or more")
    # Handlers first: a signal must find them from the moment the CA folder exists.
    with stop_on_signals() as stop:
        server = DoubleServer(scenario, security=security, host=host, port=port)
        try:
            server.start()
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror})") from None
        try:
            command = check_command(server)
            echo(f"scenario  {scenario}: {scenarios[scenario].summary}")
            echo(f"listening {server.host}:{server.port} ({server.security})")
            echo(f"CA file   {server.ca_file}")
            echo(f"user      {DEFAULT_USER}  password {DEFAULT_PASSWORD} (test double only)")
            echo(f"try       {command.shell()}")
            if command.note:
                echo(f"note      {command.note}")
            stop.wait(duration)
        finally:
            server.stop()
