"""The command line: options → ``smtpprobe.api`` → ``smtpprobe.render`` → exit code.

Kept thin and cheap to import: heavy modules (asyncio, aiosmtpd, ssl,
cryptography) load inside the commands, so ``smtpprobe --help`` is fast.
Results go to stdout, diagnostics to stderr; every ``SmtpprobeError`` becomes
one line and exit code 2 in ``_guard``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from smtpprobe.core.profile import Profile

__all__ = ["app", "main"]

app = typer.Typer(
    name="smtpprobe",
    help=(
        "Probe an SMTP submission server for real (EHLO, TLS, AUTH, MAIL, RCPT; never DATA "
        "unless --send) and explain any rejection in English and Japanese."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
profiles_app = typer.Typer(
    help="List the provider profiles, or show one.", invoke_without_command=True
)
app.add_typer(profiles_app, name="profiles")
rules_app = typer.Typer(help="Work with rule files: validate one and run its examples.")
app.add_typer(rules_app, name="rules")

EXIT_USAGE = 2
EXIT_INTERNAL = 4


class SecurityChoice(StrEnum):
    implicit_tls = "implicit-tls"
    starttls = "starttls"
    plain = "plain"


class ProbeSecurity(StrEnum):
    """``--security`` of check/compare: the three modes, and Gmail's words for two of them."""

    implicit_tls = "implicit-tls"
    starttls = "starttls"
    plain = "plain"
    ssl = "ssl"  # Gmail's "Secured connection using SSL": implicit TLS
    tls = "tls"  # Gmail's "Secured connection using TLS": STARTTLS


class Lang(StrEnum):
    en = "en"
    ja = "ja"


class ForWhom(StrEnum):
    gmail = "gmail"


def default_lang() -> str:
    """Japanese when the locale says so (LC_ALL, LC_MESSAGES, LANG), else English."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"smtpprobe: error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _guard(scrub: Callable[[str], str] = lambda s: s) -> Iterator[None]:
    """Turn our errors into one line on stderr and exit code 2; never a traceback."""
    from smtpprobe.errors import SmtpprobeError

    try:
        yield
    except SmtpprobeError as exc:
        raise _fail(scrub(str(exc))) from None
    except KeyboardInterrupt:
        raise _fail("interrupted", 130) from None
    except (typer.Exit, typer.Abort, BrokenPipeError):
        raise  # a closed stdout is handled once, in main()
    except Exception as exc:  # a bug: say so in one line, without the secret
        message = scrub(f"{type(exc).__name__}: {exc}")
        raise _fail(f"internal error, please report it: {message}", EXIT_INTERNAL) from None


def _read_secret(env_name: str | None, from_stdin: bool) -> str | None:
    """The password from ``--password-env`` or ``--password-stdin``; never an empty one."""
    from smtpprobe.errors import ConfigError

    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            raise ConfigError(f"--password-env {env_name}: that environment variable is not set")
        if not value:
            raise ConfigError(
                f"--password-env {env_name}: that environment variable is empty; "
                "set it to the password"
            )
        return value
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ConfigError("--password-stdin: standard input was empty")
        password = line.rstrip("\r\n")
        if not password:
            raise ConfigError(
                "--password-stdin: the first line of standard input is empty; "
                "put the password on it"
            )
        return password
    return None


def _lookup_password(
    password_env: str | None, password_stdin: bool, profile: Profile | None, user: str | None
) -> str | None:
    """The password from the options, the environment or a hidden prompt; never empty.

    An empty value where a password was looked for is a usage error naming its
    source, not an attempt: sending AUTH with an empty password only counts as a
    failed login (and can lock the account).
    """
    from smtpprobe.errors import ConfigError

    if password_env and password_stdin:
        raise ConfigError("use only one of --password-env and --password-stdin")
    password = _read_secret(password_env, password_stdin)
    if password is not None:
        return password
    candidates = [("SMTPPROBE_PASSWORD", "")]
    if profile is not None and profile.password_env:
        # The chosen profile (built in, the user's, or --profile FILE) may name its own.
        source = f" (the password_env of profile {profile.name})"
        candidates.insert(0, (str(profile.password_env), source))
    for name, source in candidates:
        value = os.environ.get(name)
        if value is not None:
            if not value:
                raise ConfigError(
                    f"{name}{source} is set but empty; set it to the password or unset it"
                )
            return value
    if sys.stdin.isatty() and sys.stderr.isatty():
        import getpass

        tries = 3  # an empty answer is asked again: an empty password is never sent
        for _ in range(tries):
            answer = getpass.getpass(f"Password for {user}: ", stream=sys.stderr)
            if answer:
                return answer
        raise ConfigError(f"no password entered ({tries} empty answers at the prompt)")
    return None


# Options shared by `check`, `compare` (and `explain`), declared once so that their
# names and help texts cannot drift apart.
_ProfileOption = Annotated[
    str | None, typer.Argument(help="Provider profile name (see 'smtpprobe profiles').")
]
_HostOption = Annotated[
    str | None, typer.Option(help="SMTP server host name or IP address (HOST:PORT allowed).")
]
_PortOption = Annotated[int | None, typer.Option(min=1, max=65535, help="Server port.")]
_SecurityOption = Annotated[
    ProbeSecurity | None,
    typer.Option(
        help="implicit-tls (Gmail's 'SSL', 465), starttls (Gmail's 'TLS', 587) or plain; "
        "ssl and tls are accepted as Gmail's words."
    ),
]
_UserOption = Annotated[str | None, typer.Option("--user", "-u", help="AUTH user name.")]
_PasswordEnvOption = Annotated[
    str | None, typer.Option(help="Read the password from this environment variable.")
]
_PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
_OauthTokenEnvOption = Annotated[
    str | None, typer.Option(help="Read an OAuth 2.0 token (XOAUTH2) from this variable.")
]
_SenderOption = Annotated[
    str | None, typer.Option("--from", help="MAIL FROM address (default: the user name).")
]
_RecipientOption = Annotated[
    str | None,
    typer.Option("--to", help="RCPT TO address (default: outside the sender's domain)."),
]
_NoAuthOption = Annotated[
    bool,
    typer.Option("--no-auth", help="Probe without AUTH (relay test; see --expect relay-denied)."),
]
_PhaseTimeoutOption = Annotated[
    float, typer.Option(help="Time limit for each step (connect, TLS, each reply).")
]
_CaFileOption = Annotated[
    Path | None, typer.Option(help="Also trust the CA certificates in this PEM file.")
]
_InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="Go on after an invalid certificate to test the later stages; the verdict "
        "still names the certificate (exit 1).",
    ),
]
_Ipv4Option = Annotated[bool, typer.Option("--ipv4", "-4", help="Use IPv4 only.")]
_Ipv6Option = Annotated[bool, typer.Option("--ipv6", "-6", help="Use IPv6 only.")]
_EhloOption = Annotated[
    str | None, typer.Option(help="EHLO name (default: the local address literal).")
]
_AllowPlaintextAuthOption = Annotated[
    bool,
    typer.Option("--allow-plaintext-auth", help="Allow AUTH over an unencrypted connection."),
]
_ProfileFileOption = Annotated[
    Path | None, typer.Option("--profile", help="Use the profile in this YAML file.")
]
_RulesOption = Annotated[
    list[Path] | None, typer.Option("--rules", help="Extra rule file (takes precedence).")
]
_JsonOutputOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
_ForWhomOption = Annotated[
    ForWhom | None,
    typer.Option("--for", help="Also judge readiness for this sender (gmail: Send mail as)."),
]
_ExpectOption = Annotated[
    list[str] | None,
    typer.Option(
        "--expect",
        metavar="CATEGORY[,CATEGORY…]",
        help="Exit 0 only when the verdict is one of these categories (e.g. relay-denied "
        "with --no-auth); otherwise 1, or 3 when the dialogue could not be completed.",
    ),
]


@app.command()
def check(
    profile: _ProfileOption = None,
    host: _HostOption = None,
    port: _PortOption = None,
    security: _SecurityOption = None,
    user: _UserOption = None,
    password_env: _PasswordEnvOption = None,
    password_stdin: _PasswordStdinOption = False,
    oauth_token_env: _OauthTokenEnvOption = None,
    sender: _SenderOption = None,
    recipient: _RecipientOption = None,
    no_auth: _NoAuthOption = False,
    send: Annotated[
        bool, typer.Option("--send", help="Really send one minimal test message to --to.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Overall time limit for the whole probe, in seconds.")
    ] = 60.0,
    phase_timeout: _PhaseTimeoutOption = 15.0,
    ca_file: _CaFileOption = None,
    insecure: _InsecureOption = False,
    source_address: Annotated[
        str | None, typer.Option(help="Connect from this local IP address.")
    ] = None,
    ipv4: _Ipv4Option = False,
    ipv6: _Ipv6Option = False,
    ehlo: _EhloOption = None,
    allow_plaintext_auth: _AllowPlaintextAuthOption = False,
    profile_file: _ProfileFileOption = None,
    rules: _RulesOption = None,
    expect: _ExpectOption = None,
    json_output: _JsonOutputOption = False,
    lang: Annotated[
        Lang | None, typer.Option(help="Language of the verdict (default: from the locale).")
    ] = None,
    proxy: Annotated[
        str | None,
        typer.Option(
            help="Connect through this proxy: socks5://, socks5h:// (the proxy resolves the "
            "server name), socks4://, socks4a:// or http:// (CONNECT); USER:PASS@ allowed."
        ),
    ] = None,
    no_egress_lookup: Annotated[
        bool,
        typer.Option("--no-egress-lookup", help="Do not learn the public address over DNS."),
    ] = False,
    egress_timeout: Annotated[
        float, typer.Option(help="Time limit for the public-address lookup, in seconds.")
    ] = 2.0,
    for_whom: _ForWhomOption = None,
) -> None:
    """Run one real SMTP dialogue and print the transcript and the verdict.

    Exit codes: 0 accepted (with --expect: the verdict is one of those), 1 refused
    by the server, 2 usage or configuration error, 3 the dialogue could not be
    completed (DNS, connect, TLS, proxy, timeout, a reply that breaks the protocol).
    """
    from smtpprobe.api import probe
    from smtpprobe.core.redact import Redactor
    from smtpprobe.render import format_json, format_text

    secrets: list[str] = []
    with _guard(lambda text: Redactor(secrets)(text)):
        options, password_source = _check_options(
            secrets,
            profile=profile,
            host=host,
            port=port,
            security=security,
            user=user,
            password_env=password_env,
            password_stdin=password_stdin,
            oauth_token_env=oauth_token_env,
            sender=sender,
            recipient=recipient,
            no_auth=no_auth,
            send=send,
            timeout=timeout,
            phase_timeout=phase_timeout,
            ca_file=ca_file,
            insecure=insecure,
            source_address=source_address,
            ipv4=ipv4,
            ipv6=ipv6,
            ehlo_name=ehlo,
            allow_plaintext_auth=allow_plaintext_auth,
            profile_file=profile_file,
            rules=rules,
            proxy=proxy,
            egress_lookup=not no_egress_lookup,
            egress_timeout=egress_timeout,
            for_gmail=for_whom is ForWhom.gmail,
            expect=tuple(expect or ()),
        )
        _warn_config(options)
        import asyncio

        report = asyncio.run(probe(options, password_source))
        chosen = lang.value if lang else default_lang()
        output = format_json(report) if json_output else format_text(report, chosen)
    typer.echo(output)
    raise typer.Exit(report.exit_code)


def _check_options(
    secrets: list[str],
    *,
    user: str | None,
    password_env: str | None,
    password_stdin: bool,
    oauth_token_env: str | None,
    no_auth: bool,
    profile: str | None,
    security: ProbeSecurity | None,
    ipv4: bool,
    ipv6: bool,
    profile_file: Path | None,
    rules: list[Path] | None,
    proxy: str | None,
    **rest: Any,
) -> tuple[Any, Callable[[Profile | None], str | None]]:
    """Options shared by check and compare → (CheckOptions, password source).

    The password is read only once the profile is chosen (a profile may name its
    own ``password_env``); every secret found goes into ``secrets`` for the scrubber.
    """
    from smtpprobe.api import CheckOptions
    from smtpprobe.core.spec import parse_proxy
    from smtpprobe.errors import ConfigError

    if ipv4 and ipv6:
        raise ConfigError("use only one of -4 and -6")
    if proxy:
        proxy_password = parse_proxy(proxy).password
        if proxy_password:
            secrets.append(proxy_password)
    token = None
    if not no_auth and oauth_token_env:
        token = os.environ.get(oauth_token_env)
        if token is None:
            raise ConfigError(
                f"--oauth-token-env {oauth_token_env}: that environment variable is not set"
            )
        secrets.append(token)

    def password_source(chosen: Profile | None) -> str | None:
        password = _lookup_password(password_env, password_stdin, chosen, user)
        if password:
            secrets.append(password)
        return password

    options = CheckOptions(
        profile=profile,
        security=security.value if security else None,
        user=user,
        oauth_token=token,
        no_auth=no_auth,
        profile_files=(profile_file,) if profile_file else (),
        rule_files=tuple(rules or ()),
        family="ipv4" if ipv4 else "ipv6" if ipv6 else "any",
        proxy=proxy,
        **rest,
    )
    return options, password_source


def _warn_config(options: Any) -> None:
    """Say which of the user's profile and rule files were skipped as broken (stderr)."""
    from smtpprobe.loading import load_profiles, rule_problems

    warn_problems((*load_profiles(options.profile_files).problems, *rule_problems()))


@app.command()
def compare(
    profile: _ProfileOption = None,
    route: Annotated[
        list[str] | None,
        typer.Option(
            "--route",
            help="A route to probe from: direct, source:IP or proxy:URL (give two or more).",
        ),
    ] = None,
    host: _HostOption = None,
    port: _PortOption = None,
    security: _SecurityOption = None,
    user: _UserOption = None,
    password_env: _PasswordEnvOption = None,
    password_stdin: _PasswordStdinOption = False,
    oauth_token_env: _OauthTokenEnvOption = None,
    sender: _SenderOption = None,
    recipient: _RecipientOption = None,
    no_auth: _NoAuthOption = False,
    timeout: Annotated[
        float, typer.Option(help="Overall time limit for each route's probe, in seconds.")
    ] = 60.0,
    phase_timeout: _PhaseTimeoutOption = 15.0,
    ca_file: _CaFileOption = None,
    insecure: _InsecureOption = False,
    ipv4: _Ipv4Option = False,
    ipv6: _Ipv6Option = False,
    ehlo: _EhloOption = None,
    allow_plaintext_auth: _AllowPlaintextAuthOption = False,
    profile_file: _ProfileFileOption = None,
    rules: _RulesOption = None,
    no_egress_lookup: Annotated[
        bool,
        typer.Option("--no-egress-lookup", help="Do not learn the public addresses over DNS."),
    ] = False,
    egress_timeout: Annotated[
        float, typer.Option(help="Time limit for each public-address lookup, in seconds.")
    ] = 2.0,
    for_whom: _ForWhomOption = None,
    json_output: _JsonOutputOption = False,
    lang: Annotated[
        Lang | None, typer.Option(help="Language of the conclusion (default: from the locale).")
    ] = None,
) -> None:
    """Run the same check over several routes at once and say what a disagreement means.

    Prints one table (route, egress address, country, where the dialogue stopped,
    verdict) and a conclusion: refused only from outside Japan is a geo-IP filter;
    refused only from one address means that address is block-listed or not allowed.
    Exit codes: 0 every route accepted, 1 some route refused, 2 usage error,
    3 some route could not complete the dialogue.
    """
    from smtpprobe.api import compare as compare_routes
    from smtpprobe.api import parse_route
    from smtpprobe.core.redact import Redactor
    from smtpprobe.render.compare import format_compare_json, format_compare_text

    secrets: list[str] = []
    with _guard(lambda text: Redactor(secrets)(text)):
        routes = tuple(parse_route(r) for r in route or ())
        for r in routes:
            if r.proxy:
                from smtpprobe.core.spec import parse_proxy

                proxy_password = parse_proxy(r.proxy).password
                if proxy_password:
                    secrets.append(proxy_password)
        options, password_source = _check_options(
            secrets,
            profile=profile,
            host=host,
            port=port,
            security=security,
            user=user,
            password_env=password_env,
            password_stdin=password_stdin,
            oauth_token_env=oauth_token_env,
            sender=sender,
            recipient=recipient,
            no_auth=no_auth,
            timeout=timeout,
            phase_timeout=phase_timeout,
            ca_file=ca_file,
            insecure=insecure,
            ipv4=ipv4,
            ipv6=ipv6,
            ehlo_name=ehlo,
            allow_plaintext_auth=allow_plaintext_auth,
            profile_file=profile_file,
            rules=rules,
            proxy=None,
            egress_lookup=not no_egress_lookup,
            egress_timeout=egress_timeout,
            for_gmail=for_whom is ForWhom.gmail,
        )
        _warn_config(options)
        import asyncio

        result = asyncio.run(compare_routes(options, routes, password_source))
        chosen = lang.value if lang else default_lang()
        output = format_compare_json(result) if json_output else format_compare_text(result, chosen)
        # Each route's own redactor knows what its AUTH exchange put on the wire.
        for report in result.reports:
            output = report.redactor(output)
        output = Redactor(secrets)(output)
    typer.echo(output)
    raise typer.Exit(result.exit_code)


def warn_problems(problems: Iterable[str]) -> None:
    """Print each configuration problem once on stderr, as ``smtpprobe: warning: …``.

    The problems are the user's broken profile and rule files that were skipped
    (``ProfileSet.problems``, ``smtpprobe.loading.rule_problems()``): the command
    goes on without them.
    """
    for problem in dict.fromkeys(" ".join(p.split()) for p in problems):
        typer.echo(f"smtpprobe: warning: {problem}", err=True)


_ProfileFilesOption = Annotated[
    list[Path] | None, typer.Option("--profile", help="Also load this profile file.")
]


@profiles_app.callback()
def profiles_list(ctx: typer.Context, profile_file: _ProfileFilesOption = None) -> None:
    """List every known profile: name, server, port, security."""
    if ctx.invoked_subcommand is not None:
        return  # `profiles --profile FILE show NAME`: show reads the option from here
    with _guard():
        from smtpprobe.loading import load_profiles

        profiles = load_profiles(tuple(profile_file or ()))
        warn_problems(profiles.problems)
        rows = [
            (p.name, p.host or p.host_pattern or "", str(p.port), p.security.value, p.title)
            for p in profiles
        ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)] if rows else [0] * 4
    for row in rows:
        typer.echo("  ".join(col.ljust(widths[i]) for i, col in enumerate(row[:4])) + "  " + row[4])


@profiles_app.command("show")
def profiles_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Profile name.")],
    lang: Annotated[Lang | None, typer.Option(help="Language of the notes.")] = None,
    profile_file: _ProfileFilesOption = None,
) -> None:
    """Show one profile in full: settings, notes, sources and its own rules."""
    chosen = lang.value if lang else default_lang()
    # --profile FILE before `show` belongs to the group; after it, to this command.
    group = ctx.parent.params.get("profile_file") if ctx.parent is not None else None
    files = (*(group or ()), *(profile_file or ()))
    with _guard():
        from smtpprobe.loading import load_profiles

        profiles = load_profiles(files)
        warn_problems(profiles.problems)
        p = profiles.get(name)
    typer.echo(f"{p.name}: {p.title}")
    typer.echo(f"  server    {p.host or f'{p.host_pattern} (give yours with --host)'}")
    typer.echo(f"  port      {p.port} ({p.security.value})")
    for alt in p.alternatives:
        typer.echo(f"  also      {alt.port} ({alt.security.value})")
    typer.echo(f"  user name {p.username}")
    typer.echo(f"  AUTH      {' '.join(p.auth_mechanisms)}")
    if p.password_env:
        typer.echo(f"  password  from ${p.password_env} (or --password-env / --password-stdin)")
    if p.geo_ip_filter:
        typer.echo("  geo-IP    this provider can reject clients outside Japan")
    if p.notes:
        typer.echo(f"  notes     {p.notes.get(chosen)}")
    if p.gmail_notes:
        typer.echo(f"  gmail     {p.gmail_notes.get(chosen)}")
    for rule in p.rules:
        typer.echo(f"  rule      {rule.id} → {rule.category}")
    for source in p.sources:
        typer.echo(f"  source    {source}")
    typer.echo(f"  file      {p.source}")


@app.command()
def double(
    scenario: Annotated[str, typer.Option(help="Scenario name (see --list).")] = "ok",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free).")] = 0,
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
    security: Annotated[
        SecurityChoice | None, typer.Option(help="Override the scenario's security mode.")
    ] = None,
    list_scenarios: Annotated[
        bool, typer.Option("--list", help="List the scenarios and exit.")
    ] = False,
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: Ctrl-C, SIGTERM or SIGHUP)."),
    ] = None,
) -> None:
    """Serve the offline test double: an aiosmtpd server emulating a provider's behaviour.

    Prints a ready-made `smtpprobe check` line that shows the scenario's point and stays on
    loopback. Runs until --duration, Ctrl-C, SIGTERM or SIGHUP, then stops, removes its
    temporary CA folder and exits 0.
    """
    import ipaddress

    from smtpprobe.pipes import quiet_on_broken_pipe

    with _guard(), quiet_on_broken_pipe():
        from smtpprobe.errors import ConfigError
        from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER, DoubleServer, load_scenarios
        from smtpprobe.testing.commands import check_command
        from smtpprobe.testing.foreground import stop_on_signals

        scenarios = load_scenarios()
        if list_scenarios:
            for s in scenarios.values():
                typer.echo(f"{s.name:<20} {s.security:<13} {s.summary}")
            return
        if scenario not in scenarios:
            raise ConfigError(f"unknown scenario '{scenario}'; known: {', '.join(scenarios)}")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError(
                f"--host {host}: give a loopback IP address such as 127.0.0.1"
            ) from None
        if not address.is_loopback:  # (ConfigError is a ValueError: raised outside the try)
            raise ConfigError(f"--host {host}: the double only listens on loopback addresses")
        # Handlers first: a signal must find them from the moment the CA folder exists.
        with stop_on_signals() as stop:
            server = DoubleServer(
                scenario, security=security.value if security else None, host=host, port=port
            )
            try:
                server.start()
            except OSError as exc:
                raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror})") from None
            try:
                command = check_command(server)
                typer.echo(f"scenario  {scenario}: {scenarios[scenario].summary}")
                typer.echo(f"listening {server.host}:{server.port} ({server.security})")
                typer.echo(f"CA file   {server.ca_file}")
                typer.echo(
                    f"user      {DEFAULT_USER}  password {DEFAULT_PASSWORD} (test double only)"
                )
                typer.echo(f"try       {command.shell()}")
                if command.note:
                    typer.echo(f"note      {command.note}")
                sys.stdout.flush()
                stop.wait(duration)
            finally:
                server.stop()


@app.command()
def demo(
    lang: Annotated[Lang | None, typer.Option(help="Language of the causes.")] = None,
) -> None:
    """Start the test double, probe several scenarios, and print each verdict (offline)."""
    chosen = lang.value if lang else default_lang()
    with _guard():
        from smtpprobe.demo import format_demo, run_demo

        rows = run_demo()
    typer.echo(format_demo(rows, chosen))


def _read_paste(text: str | None) -> bytes:
    from smtpprobe.api import MAX_PASTE_BYTES
    from smtpprobe.errors import ConfigError

    if text is not None and text != "-":
        return text.encode("utf-8", "surrogateescape")
    if sys.stdin is None:  # started with standard input closed
        raise ConfigError(
            "nothing to explain: standard input is closed; give the error text as an argument"
        )
    if text is None and sys.stdin.isatty():
        raise ConfigError(
            "nothing to explain: give the error text as an argument, or pipe it in "
            "(smtpprobe explain - < bounce.txt)"
        )
    # Read one byte past the limit so an oversized paste is told, not truncated silently.
    return sys.stdin.buffer.read(MAX_PASTE_BYTES + 1)


@app.command()
def explain(
    text: Annotated[
        str | None,
        typer.Argument(help="The reply or bounce text; '-' or nothing to read standard input."),
    ] = None,
    provider: Annotated[
        str | None, typer.Option(help="Profile of the server that sent it (e.g. sakura, ocn).")
    ] = None,
    profile_file: Annotated[
        Path | None, typer.Option("--profile", help="Also load this profile file.")
    ] = None,
    rules: _RulesOption = None,
    json_output: _JsonOutputOption = False,
    lang: Annotated[
        Lang | None, typer.Option(help="Language of the verdicts (default: from the locale).")
    ] = None,
) -> None:
    """Explain a pasted SMTP reply, Gmail bounce or delivery status notification.

    Finds every reply in the text (UTF-8, ISO-2022-JP, Shift_JIS or EUC-JP, MIME or plain),
    classifies each with the probe's rules and says who refused, whether retrying
    can help, the cause and the remedy. Exit codes: 0 explained, 1 no SMTP reply
    found, 2 usage error (empty, binary or oversized input, bad rule file).
    """
    chosen = lang.value if lang else default_lang()
    with _guard():
        from smtpprobe.api import explain as explain_paste
        from smtpprobe.loading import load_profiles, rule_problems
        from smtpprobe.render.explain import format_explain_json, format_explain_text

        profile_files = (profile_file,) if profile_file else ()
        # A broken file in the user's folders is skipped with a warning; one named
        # with --profile or --rules fails the command (in load_profiles or explain).
        warn_problems((*load_profiles(profile_files).problems, *rule_problems()))
        result = explain_paste(
            _read_paste(text),
            profile=provider,
            rule_files=tuple(rules or ()),
            profile_files=profile_files,
        )
    if json_output:
        typer.echo(format_explain_json(result.pasted, result.explanations))
    else:
        output = format_explain_text(result.explanations, chosen)
        typer.echo(output, err=not result.explanations)
    raise typer.Exit(0 if result.explanations else 1)


@rules_app.command("check")
def rules_check(
    file: Annotated[Path, typer.Argument(help="The rule file to validate.")],
) -> None:
    """Validate a rule file and check that every rule matches each of its own examples.

    Exit codes: 0 valid and every example matches; 1 some example is not matched
    by its rule, or a rule of another category above it takes it; 2 the file is malformed.
    """
    with _guard():
        from smtpprobe.core.rules import first_match
        from smtpprobe.loading import load_rule_file

        rules_in_file = load_rule_file(file)
    problems: list[str] = []
    examples = 0
    for rule in rules_in_file:
        for example in rule.examples:
            examples += 1
            shown = example.reply or example.situation.failure or "?"
            if not rule.matches(example.situation):
                problems.append(f"rule '{rule.id}' does not match its example {shown!r}")
                continue
            # A rule above of the same category may take it; another category may not.
            winner = first_match(rules_in_file, example.situation)
            if winner is not None and winner[0].category != rule.category:
                problems.append(
                    f"rule '{rule.id}' ({rule.category}): its example {shown!r} is taken "
                    f"first by rule '{winner[0].id}' ({winner[0].category}) above it"
                )
    for problem in problems:
        typer.echo(f"{file}: {problem}")
    typer.echo(
        f"{file}: {len(rules_in_file)} rules, {examples} examples, "
        f"{'all match' if not problems else f'{len(problems)} problem(s)'}"
    )
    raise typer.Exit(1 if problems else 0)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point. Output into a closed pipe (``| head``) ends quietly (141)."""
    from smtpprobe.pipes import run_quietly_on_broken_pipe

    return run_quietly_on_broken_pipe(lambda: app(args=argv, prog_name="smtpprobe"))
