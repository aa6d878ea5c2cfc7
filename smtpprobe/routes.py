"""``compare``: the same check over several routes at once, and what a disagreement means.

A route is ``direct``, ``source:IP`` (a local address to bind) or ``proxy:URL``.
Every route is validated before any connection is made; the routes then run
concurrently and ``smtpprobe.core.compare.conclude`` reads their verdicts
together (a geo-IP filter, an address filter, an IP-authorised or open relay).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import re
import socket
from collections.abc import Awaitable
from dataclasses import field
from typing import TYPE_CHECKING

from smtpprobe.core.compare import Conclusion, RouteOutcome, conclude, exit_code_of
from smtpprobe.core.record import record
from smtpprobe.core.spec import PasswordSource, parse_proxy
from smtpprobe.errors import ConfigError
from smtpprobe.report import Report

if TYPE_CHECKING:
    from smtpprobe.api import CheckOptions

__all__ = ["Comparison", "Route", "compare", "parse_route", "route_outcome"]


@record
class Route:
    """One way out: ``direct``, ``source:IP`` (bind) or ``proxy:URL``."""

    name: str
    source_address: str | None = None
    proxy: str | None = field(default=None, repr=False)


_USERINFO = re.compile(r"(?<=//)[^/@]*@")


def parse_route(text: str) -> Route:
    """Parse ``direct``, ``source:IP`` or ``proxy:URL``; raises ConfigError otherwise.

    Messages show a proxy URL without its user name and password.
    """
    shown = _USERINFO.sub("***@", text)
    kind, _, value = text.partition(":")
    kind = kind.strip().lower()
    if kind == "direct" and not value:
        return Route("direct")
    if kind == "source" and value:
        try:
            ipaddress.ip_address(value.strip())
        except ValueError:
            raise ConfigError(
                f"--route {shown!r}: source: takes an IP address of this machine "
                "(e.g. source:192.0.2.7)"
            ) from None
        return Route(f"source:{value}", source_address=value)
    if kind == "proxy" and value:
        try:
            proxy = parse_proxy(value)
        except ConfigError as exc:  # it names --proxy; the user wrote --route
            reason = str(exc).split(": ", 1)[-1]
            raise ConfigError(f"--route {shown!r}: {reason}") from None
        return Route(f"proxy:{proxy.display}", proxy=value)
    raise ConfigError(
        f"--route {shown!r}: use direct, source:IP (e.g. source:192.0.2.7) or proxy:URL "
        "(e.g. proxy:socks5h://127.0.0.1:1080)"
    )


@record
class Comparison:
    """Every route's report, what their agreement or disagreement means, and the exit code."""

    routes: tuple[Route, ...]
    reports: tuple[Report, ...]
    conclusion: Conclusion
    exit_code: int


def route_outcome(route: Route, report: Report) -> RouteOutcome:
    """A report reduced to what ``conclude`` compares."""
    origin = report.transcript.origin
    address = None
    if origin is not None:
        address = origin.public_address or origin.local_address
    return RouteOutcome(
        route=route.name,
        category=report.verdict.category,
        stage=report.verdict.stage,
        exit_code=int(report.verdict.exit_code),
        address=address,
        country=origin.country if origin else None,
        no_auth=report.transcript.no_auth,
    )


def _check_source(route: Route) -> None:
    """A ``source:IP`` route this machine cannot bind fails before any probe, by its name
    (the probe's own message named ``--source-address``, an option compare has not)."""
    if route.source_address is None:
        return
    family = socket.AF_INET6 if ":" in route.source_address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((route.source_address, 0))
    except OSError as exc:
        raise ConfigError(
            f"--route {route.name!r}: cannot bind {route.source_address} "
            f"({exc.strerror or exc}); use an address of this machine"
        ) from None


async def _named(route: Route, probing: Awaitable[Report]) -> Report:
    """``probing``'s report; a bind error names the route the user wrote, not the probe's
    ``--source-address`` (an option compare has not)."""
    try:
        return await probing
    except ConfigError as exc:
        if route.source_address is None:
            raise
        message = str(exc).replace(
            f"--source-address {route.source_address}", f"--route {route.name!r}"
        )
        raise ConfigError(message) from None


async def compare(
    options: CheckOptions,
    routes: tuple[Route, ...],
    password_source: PasswordSource | None = None,
) -> Comparison:
    """Run ``options`` over every route concurrently and compare the verdicts.

    Every route is validated before any connection is made; the password is
    asked for once.
    """
    if len(routes) < 2:
        raise ConfigError("compare needs at least two --route options (e.g. direct and a proxy)")
    names = [r.name for r in routes]
    if len(set(names)) != len(names):
        raise ConfigError("each --route must be different")
    if options.send:
        raise ConfigError("compare never sends a message: drop --send")
    for route in routes:
        _check_source(route)
    from smtpprobe.api import probe_spec, resolve

    first, _ = resolve(options, password_source)
    if first.credentials is not None:
        options = dataclasses.replace(
            options,
            password=first.credentials.password,
            oauth_token=first.credentials.oauth_token,
        )
    resolved = [
        resolve(
            dataclasses.replace(
                options, source_address=r.source_address, proxy=r.proxy, route=r.name
            )
        )
        for r in routes
    ]
    reports = await asyncio.gather(
        *(
            _named(r, probe_spec(spec, profile, dataclasses.replace(options, route=r.name)))
            for r, (spec, profile) in zip(routes, resolved, strict=True)
        )
    )
    outcomes = [route_outcome(r, rep) for r, rep in zip(routes, reports, strict=True)]
    return Comparison(
        routes=routes,
        reports=tuple(reports),
        conclusion=conclude(outcomes),
        exit_code=exit_code_of(outcomes),
    )
