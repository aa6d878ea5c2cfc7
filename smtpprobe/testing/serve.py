"""``smtpprobe double``: one scenario served in the foreground, with a banner to copy from.

The banner (scenario, address, CA file, credentials, a ready-made ``smtpprobe check``
line) is printed line by line through ``echo``; the server runs until ``duration``
or a stop signal, then stops and removes its temporary CA folder.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING

from smtpprobe.errors import ConfigError

if TYPE_CHECKING:
    from smtpprobe.testing.server import Scenario

__all__ = ["scenario_lines", "serve_double"]


def scenario_lines(lang: str = "en") -> list[str]:
    """Per scenario: name, security mode, summary (in Japanese with ``lang`` "ja"), in 80
    columns."""
    from smtpprobe.testing import load_scenarios

    def summary(s: Scenario) -> str:
        return s.summary_ja if lang == "ja" and s.summary_ja else s.summary

    from smtpprobe.render.columns import wrap

    lines: list[str] = []
    for s in load_scenarios().values():
        head = f"{s.name:<20} {s.security:<13} "
        # The summary wraps under itself, so that the list fits 80 columns.
        first, *rest = wrap(summary(s), 80 - len(head)) or [""]
        lines += [head + first, *(" " * len(head) + more for more in rest)]
    return lines


# The labels of the lines `smtpprobe double` prints, aligned as the English ones are.
_LABELS = {
    "en": ("scenario ", "listening", "CA file  ", "user     ", "try      ", "note     "),
    "ja": ("シナリオ ", "待ち受け ", "CA ファイル", "ユーザー ", "試す     ", "注意     "),
}
_PASSWORD = {"en": "password {} (test double only)", "ja": "パスワード {}（テスト用サーバー専用）"}


def serve_double(
    scenario: str,
    *,
    host: str,
    port: int,
    security: object | None,
    duration: float | None,
    echo: Callable[[str], None],
    lang: str = "en",
) -> None:
    """Serve ``scenario`` on ``host:port`` until ``duration`` or Ctrl-C, SIGTERM or SIGHUP."""
    from smtpprobe.core.transcript import Security
    from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER, DoubleServer, load_scenarios
    from smtpprobe.testing.commands import check_command
    from smtpprobe.testing.foreground import stop_on_signals

    security = str(security) if security else None  # an enum from typer, or its string
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
            key = "ja" if lang == "ja" else "en"
            name, listening, ca, user, try_, note_ = _LABELS[key]
            summary = chosen.summary_ja if key == "ja" and chosen.summary_ja else chosen.summary
            echo(f"{name} {scenario}: {summary}")
            echo(f"{listening} {server.host}:{server.port} ({server.security})")
            echo(f"{ca} {server.ca_file}")
            echo(f"{user} {DEFAULT_USER}  {_PASSWORD[key].format(DEFAULT_PASSWORD)}")
            echo(f"{try_} {command.shell()}")
            if command.note:
                echo(f"{note_} {command.note}")
            stop.wait(duration)
        finally:
            server.stop()
