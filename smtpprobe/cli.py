"""The command line, wiring only: options (``cli_params``) → ``smtpprobe.api`` → ``render``.

Cheap to import (heavy modules load inside the commands, so ``--help`` is fast). Results
go to stdout, diagnostics to stderr; every ``SmtpprobeError`` becomes one line and exit
code 2 in ``_guard``. Exit codes: ``smtpprobe.core.exitcode.ExitCode``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from smtpprobe import cli_params as opt
from smtpprobe.cli_params import warn_problems
from smtpprobe.core.exitcode import ExitCode

if TYPE_CHECKING:
    from smtpprobe.render.tone import Line

__all__ = ["app", "main", "warn_problems"]

app = typer.Typer(
    name="smtpprobe",
    help=opt.ROOT_HELP,
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},  # children inherit it
)
profiles_app = typer.Typer(help=opt.PROFILES_HELP, invoke_without_command=True)
app.add_typer(profiles_app, name="profiles")
rules_app = typer.Typer(help="Work with rule files: validate one and run its examples.")
app.add_typer(rules_app, name="rules")


@app.callback()
def _root(version: opt.Version = False) -> None:
    """The options of ``smtpprobe`` itself."""


@contextmanager
def _guard(scrub: Callable[[str], str] = lambda s: s) -> Iterator[None]:
    """Turn our errors into one line on stderr and exit code 2; never a traceback."""
    from smtpprobe.errors import SmtpprobeError

    try:
        yield
    except (typer.Exit, typer.Abort, BrokenPipeError):
        raise  # a closed stdout is handled once, in main()
    except SmtpprobeError as exc:
        message, code = scrub(str(exc)), ExitCode.USAGE
    except KeyboardInterrupt:
        message, code = "interrupted", ExitCode.INTERRUPTED
    except Exception as exc:  # a bug: say so in one line, without the secret
        message = "internal error, please report it: " + scrub(f"{type(exc).__name__}: {exc}")
        code = ExitCode.INTERNAL
    else:
        return
    typer.echo(f"smtpprobe: error: {message}", err=True)
    raise typer.Exit(code)


def _emit(lines: Sequence[Line], code: int, *, err: bool = False) -> NoReturn:
    """Print the lines, coloured when they go to a terminal, and exit with ``code``."""
    from smtpprobe.render.terminal import for_stream

    typer.echo(for_stream(lines, sys.stderr if err else sys.stdout), err=err, color=True)
    raise typer.Exit(code)


@app.command(help=opt.CHECK_HELP, epilog=opt.ENVIRONMENT)
def check(
    ctx: typer.Context,
    profile: opt.ProfileName = None,
    host: opt.Host = None,
    port: opt.Port = None,
    security: opt.Security = None,
    user: opt.User = None,
    password_env: opt.PasswordEnv = None,
    password_stdin: opt.PasswordStdin = False,
    oauth_token_env: opt.OauthTokenEnv = None,
    sender: opt.Sender = None,
    recipient: opt.Recipient = None,
    no_auth: opt.NoAuth = False,
    send: opt.Send = False,
    timeout: opt.Timeout = 60.0,
    phase_timeout: opt.PhaseTimeout = 15.0,
    ca_file: opt.CaFile = None,
    insecure: opt.Insecure = False,
    source_address: opt.SourceAddress = None,
    ipv4: opt.Ipv4 = False,
    ipv6: opt.Ipv6 = False,
    ehlo: opt.Ehlo = None,
    allow_plaintext_auth: opt.AllowPlaintextAuth = False,
    no_pipelining: opt.NoPipelining = False,
    profile_file: opt.ProfileFile = None,
    rules: opt.Rules = None,
    expect: opt.Expect = None,
    json_output: opt.Json = False,
    lang: opt.Language = None,
    proxy: opt.Proxy = None,
    no_egress_lookup: opt.NoEgressLookup = False,
    egress_timeout: opt.EgressTimeout = 2.0,
    for_whom: opt.For = None,
    version: opt.Version = False,
) -> None:
    import asyncio

    from smtpprobe.api import probe
    from smtpprobe.core.redact import Redactor
    from smtpprobe.render import format_json
    from smtpprobe.render.terminal import status_line
    from smtpprobe.render.text import text_lines

    chosen, secrets = opt.lang_of(lang), list[str]()
    with _guard(lambda text: Redactor(secrets)(text)):
        options, source = opt.check_options(ctx.params, secrets, chosen)
        status = None if json_output else status_line(sys.stderr, chosen)  # never in JSON
        with status or nullcontext():
            report = asyncio.run(
                probe(options, source, on_phase=status.on_phase if status else None)
            )
        if json_output:
            typer.echo(format_json(report))
            raise typer.Exit(report.exit_code)
        _emit(text_lines(report, chosen), report.exit_code)


@app.command(help=opt.COMPARE_HELP, epilog=opt.ENVIRONMENT)
def compare(
    ctx: typer.Context,
    profile: opt.ProfileName = None,
    route: opt.Routes = None,
    host: opt.Host = None,
    port: opt.Port = None,
    security: opt.Security = None,
    user: opt.User = None,
    password_env: opt.PasswordEnv = None,
    password_stdin: opt.PasswordStdin = False,
    oauth_token_env: opt.OauthTokenEnv = None,
    sender: opt.Sender = None,
    recipient: opt.Recipient = None,
    no_auth: opt.NoAuth = False,
    timeout: opt.Timeout = 60.0,
    phase_timeout: opt.PhaseTimeout = 15.0,
    ca_file: opt.CaFile = None,
    insecure: opt.Insecure = False,
    ipv4: opt.Ipv4 = False,
    ipv6: opt.Ipv6 = False,
    ehlo: opt.Ehlo = None,
    allow_plaintext_auth: opt.AllowPlaintextAuth = False,
    no_pipelining: opt.NoPipelining = False,
    profile_file: opt.ProfileFile = None,
    rules: opt.Rules = None,
    no_egress_lookup: opt.NoEgressLookup = False,
    egress_timeout: opt.EgressTimeout = 2.0,
    for_whom: opt.For = None,
    json_output: opt.Json = False,
    lang: opt.Language = None,
    version: opt.Version = False,
) -> None:
    import asyncio

    from smtpprobe.api import compare as compare_routes
    from smtpprobe.core.redact import Redactor
    from smtpprobe.render.compare import compare_lines, format_compare_json
    from smtpprobe.render.tone import Line, join, redact

    chosen, secrets = opt.lang_of(lang), list[str]()
    with _guard(lambda text: Redactor(secrets)(text)):
        routes = opt.parse_routes(route, secrets)
        options, source = opt.check_options(ctx.params, secrets, chosen)
        result = asyncio.run(compare_routes(options, routes, source))
        # Each route's own redactor knows what its AUTH exchange put on the wire.
        scrubbers = (*(report.redactor for report in result.reports), Redactor(secrets))
        if json_output:
            typer.echo(join(redact([Line(format_compare_json(result))], *scrubbers)))
            raise typer.Exit(result.exit_code)
        _emit(redact(compare_lines(result, chosen), *scrubbers), result.exit_code)


@profiles_app.callback()
def profiles_list(
    ctx: typer.Context,
    profile_file: opt.ProfileFiles = None,
    lang: opt.Language = None,
    version: opt.Version = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return  # `profiles --profile FILE show NAME`: show reads the options from here
    from smtpprobe.loading import load_profiles
    from smtpprobe.render.profiles import format_profile_list

    with _guard():
        profiles = load_profiles(tuple(profile_file or ()))
        opt.warn_problems(profiles.problems, opt.lang_of(lang))
        typer.echo(format_profile_list(profiles))


@profiles_app.command("show")
def profiles_show(
    ctx: typer.Context,
    name: opt.ProfileToShow,
    lang: opt.Language = None,
    profile_file: opt.ProfileFiles = None,
    version: opt.Version = False,
) -> None:
    """Show one profile in full: settings, notes, Gmail hints, sources and its own rules."""
    from smtpprobe.loading import load_profiles
    from smtpprobe.render.profiles import format_profile

    # --profile FILE and --lang before `show` belong to the group; after it, to this command.
    group = ctx.parent.params if ctx.parent is not None else {}
    chosen = opt.lang_of(lang or group.get("lang"))
    with _guard():
        profiles = load_profiles(opt.profile_paths(group.get("profile_file"), profile_file))
        opt.warn_problems(profiles.problems, chosen)
        typer.echo(format_profile(profiles.get(name), chosen))


@app.command(help=opt.DOUBLE_HELP)
def double(
    scenario: opt.Scenario = "ok",
    port: opt.DoublePort = 0,
    host: opt.DoubleHost = "127.0.0.1",
    security: opt.DoubleSecurity = None,
    list_scenarios: opt.ListScenarios = False,
    duration: opt.Duration = None,
    version: opt.Version = False,
) -> None:
    from smtpprobe.pipes import quiet_on_broken_pipe
    from smtpprobe.testing.serve import scenario_lines, serve_double

    with _guard(), quiet_on_broken_pipe():
        if list_scenarios:
            typer.echo("\n".join(scenario_lines()))
            return
        mode = str(security) if security else None  # typer < 0.29 passes the plain string
        serve_double(
            scenario, host=host, port=port, security=mode, duration=duration, echo=typer.echo
        )


@app.command()
def demo(lang: opt.Language = None, version: opt.Version = False) -> None:
    """Start the test double, probe several scenarios for real and print each verdict with
    its remedy (offline, a few seconds)."""
    from smtpprobe.demo import demo_lines, run_demo

    chosen = opt.lang_of(lang)
    with _guard():
        _emit(demo_lines(run_demo(), chosen), ExitCode.ACCEPTED)


@app.command(help=opt.EXPLAIN_HELP)
def explain(
    text: opt.Paste = None,
    provider: opt.Provider = None,
    profile_file: opt.ExtraProfileFile = None,
    rules: opt.Rules = None,
    json_output: opt.Json = False,
    lang: opt.Language = None,
    version: opt.Version = False,
) -> None:
    from smtpprobe.paste import explain as explain_paste  # not api: no asyncio, ssl, spec
    from smtpprobe.render.explain import explain_lines, format_explain_json

    chosen = opt.lang_of(lang)
    with _guard():
        files = (profile_file,) if profile_file else ()
        opt.warn_config(files, chosen)
        paste, rule_files = opt.read_paste(text, chosen), tuple(rules or ())
        result = explain_paste(paste, profile=provider, rule_files=rule_files, profile_files=files)
    code = ExitCode.ACCEPTED if result.explanations else ExitCode.REFUSED
    if json_output:
        typer.echo(format_explain_json(result.pasted, result.explanations))
        raise typer.Exit(code)
    _emit(explain_lines(result.explanations, chosen), code, err=not result.explanations)


@rules_app.command("check", help=opt.RULES_CHECK_HELP)
def rules_check(file: opt.RuleFile, version: opt.Version = False) -> None:
    from smtpprobe.rulecheck import check_rule_file

    with _guard():
        found = check_rule_file(file)
    typer.echo("\n".join(found.lines()))
    raise typer.Exit(ExitCode.REFUSED if found.problems else ExitCode.ACCEPTED)


# ---- health-check commands (issue 10): each module registers its own command ----
# ---- end of health-check commands ----


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point. Output into a closed pipe (``| head``) ends quietly (141)."""
    from smtpprobe.pipes import run_quietly_on_broken_pipe

    return run_quietly_on_broken_pipe(lambda: app(args=argv, prog_name="smtpprobe"))
