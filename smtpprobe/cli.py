"""The command line, wiring only: options (``cli_params``) → ``smtpprobe.api`` → ``render``.

Cheap to import (heavy modules load inside the commands, so ``--help`` is fast). Results
go to stdout, diagnostics to stderr; every ``SmtpprobeError`` becomes one line and exit
code 2 in ``cli_support.guard`` (with ``--format nagios``: ``SMTP UNKNOWN`` on stdout,
exit 3). Exit codes: ``smtpprobe.core.exitcode.ExitCode``.
"""

from __future__ import annotations

import gc
import sys
from contextlib import nullcontext
from typing import Any

# A command's start-up allocates many objects and frees few (imports, typer's parameters):
# the cycle collector's pass every 700 allocations costs ~6 ms of it (8 % of the imports).
gc.set_threshold(20_000, 20, 20)

import typer

from smtpprobe import cli_params as opt
from smtpprobe.cli_dns import NoDnsChecks, dns_flag
from smtpprobe.cli_params import warn_problems
from smtpprobe.cli_support import emit, guard, lean_app
from smtpprobe.core.exitcode import ExitCode

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
app.add_typer(rules_app := typer.Typer(help=opt.RULES_HELP), name="rules")


@rules_app.callback()
def _rules(version: opt.Version = False) -> None:
    """Work with rule files (``opt.RULES_HELP``)."""


@app.callback()
def _root(version: opt.Version = False) -> None:
    """The options of ``smtpprobe`` itself."""


@app.command(help=opt.CHECK_HELP, epilog=opt.ENVIRONMENT, cls=opt.CheckCommand)
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
    output_format: opt.Format = None,
    warning: opt.NagiosWarning = None,
    critical: opt.NagiosCritical = None,
    lang: opt.Language = None,
    proxy: opt.Proxy = None,
    no_egress_lookup: opt.NoEgressLookup = False,
    egress_timeout: opt.EgressTimeout = 2.0,
    no_dns_checks: NoDnsChecks = False,
    for_whom: opt.For = None,
    version: opt.Version = False,
) -> None:
    from smtpprobe.tls import warm_client_context

    if security != "plain":
        warm_client_context(ca_file)  # read on another core while the rest loads

    from smtpprobe.api import check as run_check
    from smtpprobe.core.redact import Redactor
    from smtpprobe.render import format_json
    from smtpprobe.render.terminal import status_line
    from smtpprobe.render.text import text_lines

    chosen, secrets, form = opt.lang_of(lang), list[str](), opt.output_format(ctx.params)
    with guard(lambda t: Redactor(secrets)(t), chosen), opt.nagios_errors(form, secrets):
        warn, crit = opt.thresholds(ctx.params)
        options, source = opt.check_options(ctx.params, secrets, chosen)
        options = dns_flag(options, ctx.params)
        status = status_line(sys.stderr, chosen) if form is opt.OutputFormat.text else None
        with status or nullcontext():
            report = run_check(options, source, on_phase=status.on_phase if status else None)
        if form is not opt.OutputFormat.text:  # nagios: SMTP OK|WARNING|CRITICAL - …
            from smtpprobe.render.nagios import nagios

            nagios_out = nagios(report, warning=warn, critical=crit) if form == "nagios" else None
            out, code = nagios_out or (format_json(report), report.exit_code)
            typer.echo(out)
            raise typer.Exit(code)
        emit(text_lines(report, chosen), report.exit_code)


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
    from smtpprobe.render.tone import redact

    chosen, secrets = opt.lang_of(lang), list[str]()
    with guard(lambda text: Redactor(secrets)(text), chosen):
        routes = opt.parse_routes(route, secrets)
        options, source = opt.check_options(ctx.params, secrets, chosen)
        result = asyncio.run(compare_routes(options, routes, source))
        # Each route's own redactor knows what its AUTH exchange put on the wire.
        scrubbers = (*(report.redactor for report in result.reports), Redactor(secrets))
        if json_output:
            typer.echo(format_compare_json(result, *scrubbers))
            raise typer.Exit(result.exit_code)
        emit(redact(compare_lines(result, chosen), *scrubbers), result.exit_code)


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

    with guard(lang=(chosen := opt.lang_of(lang))):
        profiles = load_profiles(tuple(profile_file or ()))
        opt.warn_problems(profiles.problems, chosen)
        typer.echo(format_profile_list(profiles, chosen))


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
    with guard(lang=chosen):
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
    lang: opt.Language = None,
    version: opt.Version = False,
) -> None:
    from smtpprobe.pipes import quiet_on_broken_pipe
    from smtpprobe.testing.serve import scenario_lines, serve_double

    chosen = opt.lang_of(lang)
    with guard(lang=chosen), quiet_on_broken_pipe():
        if list_scenarios:
            typer.echo("\n".join(scenario_lines(chosen)))
            return
        serve_double(scenario, host=host, port=port, security=security, duration=duration,
                     echo=typer.echo, lang=chosen)  # fmt: skip


@app.command()
def demo(lang: opt.Language = None, version: opt.Version = False) -> None:
    """Start the test double, probe several scenarios for real and print each verdict with
    its remedy (offline, a few seconds)."""
    from smtpprobe.demo import demo_lines, run_demo

    chosen = opt.lang_of(lang)
    with guard(lang=chosen):
        emit(demo_lines(run_demo(), chosen), ExitCode.ACCEPTED)


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
    with guard(lang=chosen):
        files = (profile_file,) if profile_file else ()
        opt.warn_config(files, chosen)
        paste, rule_files = opt.read_paste(text, chosen), tuple(rules or ())
        result = explain_paste(paste, profile=provider, rule_files=rule_files, profile_files=files)
    code = ExitCode.ACCEPTED if result.recognised else ExitCode.REFUSED
    if json_output:
        typer.echo(format_explain_json(result.pasted, result.explanations, result.hints))
        raise typer.Exit(code)
    lines = explain_lines(result.explanations, chosen, result.hints, len(result.pasted.text))
    emit(lines, code, err=not result.explanations)


@rules_app.command("check", help=opt.RULES_CHECK_HELP)
def rules_check(
    file: opt.RuleFile, lang: opt.Language = None, version: opt.Version = False
) -> None:
    from smtpprobe.rulecheck import check_rule_file

    with guard(lang=(chosen := opt.lang_of(lang))):
        found = check_rule_file(file)
    typer.echo("\n".join(found.lines(chosen)))
    raise typer.Exit(ExitCode.REFUSED if found.problems else ExitCode.ACCEPTED)


from smtpprobe import cli_dns, cli_history, cli_run, cli_serve  # cheap: each loads on use

for _module in (cli_run, cli_serve, cli_history, cli_dns):
    _module.register(app)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point. Output into a closed pipe (``| head``) ends quietly (141)."""
    from smtpprobe.pipes import run_quietly_on_broken_pipe

    args = sys.argv[1:] if argv is None else argv
    chosen = lean_app(app, args)  # and click's usage errors as one line (cli_usage)
    return run_quietly_on_broken_pipe(lambda: chosen(args=args, prog_name="smtpprobe"))
