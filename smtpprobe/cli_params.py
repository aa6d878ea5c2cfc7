"""The command line's options, declared once, and their translation into values.

Names, metavars, help texts and examples of every command (``cli`` only wires
them), and ``check_options`` and ``read_paste``, which turn what was typed into
what ``smtpprobe.api`` takes. ``check`` and ``compare`` share most options;
declaring each one here keeps their names and help texts from drifting apart.
Option names are an interface (users' scripts depend on them): rename none.
Cheap to import, as ``--help`` needs it.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from typer.core import TyperCommand

from smtpprobe import __version__
from smtpprobe.core.lazyre import LazyPattern

if TYPE_CHECKING:
    from smtpprobe.api import CheckOptions, Route
    from smtpprobe.core.spec import PasswordSource
    from smtpprobe.render.nagios import Thresholds

__all__ = [
    "ENVIRONMENT",
    "CheckCommand",
    "ForWhom",
    "Lang",
    "OutputFormat",
    "ProbeSecurity",
    "SecurityChoice",
    "check_options",
    "lang_of",
    "nagios_errors",
    "output_format",
    "parse_routes",
    "read_paste",
    "thresholds",
    "warn_config",
    "warn_problems",
]


class SecurityChoice(StrEnum):
    """``--security`` of the double: its three modes."""

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


class OutputFormat(StrEnum):
    """``check --format``: the transcript and verdict, one JSON document, or a Nagios plugin's."""

    text = "text"
    json = "json"
    nagios = "nagios"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"smtpprobe {__version__}")
        raise typer.Exit()


ENVIRONMENT = """\b
Environment:
  SMTPPROBE_PASSWORD          the password; a profile may name its own variable
                              (password_env, e.g. OCN_MAIL_PASSWORD: see
                              'smtpprobe profiles show NAME'); with neither, a
                              hidden prompt on a terminal
  SMTPPROBE_CONFIG_DIR        your profiles/ and rules/ folders
                              (default: $XDG_CONFIG_HOME/smtpprobe or ~/.config/smtpprobe)
  SMTPPROBE_EGRESS_RESOLVERS  HOST:PORT,... servers to ask for the public address
  SMTPPROBE_NAMESERVERS       IP[:PORT],... resolvers for the DNS checks
                              (dns, spf, check; default: the system's)
  SMTPPROBE_CACHE_DIR         the compiled rules and profiles (default:
                              $XDG_CACHE_HOME/smtpprobe or ~/.cache/smtpprobe)
  NO_COLOR                    no colour on a terminal

The public-address (egress) lookup sends two DNS queries, from the probe's own
address: to Google's ns1.google.com (216.239.32.10) and to OpenDNS's resolver
(208.67.222.222). --no-egress-lookup turns it off.
"""

Version = Annotated[
    bool,
    typer.Option(
        "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
]
ProfileName = Annotated[
    str | None,
    typer.Argument(metavar="PROFILE", help="Provider profile name (see 'smtpprobe profiles')."),
]
Host = Annotated[
    str | None,
    typer.Option(metavar="HOST", help="SMTP server: a name, an IP address, [IPv6] or HOST:PORT."),
]
Port = Annotated[int | None, typer.Option(metavar="PORT", min=1, max=65535, help="Port.")]
Security = Annotated[
    ProbeSecurity | None,
    typer.Option(
        metavar="MODE",
        help="implicit-tls (465; Gmail's 'SSL'), starttls (587; Gmail's 'TLS') or plain; "
        "Gmail's words ssl and tls are accepted too.",
    ),
]
User = Annotated[str | None, typer.Option("--user", "-u", metavar="NAME", help="AUTH user name.")]
PasswordEnv = Annotated[
    str | None,
    typer.Option(metavar="VAR", help="Read the password from this environment variable."),
]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]
OauthTokenEnv = Annotated[
    str | None,
    typer.Option(metavar="VAR", help="Read an OAuth 2.0 token (XOAUTH2) from this variable."),
]
Sender = Annotated[
    str | None,
    typer.Option("--from", metavar="ADDRESS", help="MAIL FROM (default: the user name)."),
]
Recipient = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="ADDRESS",
        help="RCPT TO (default: postmaster@gmail.com, outside your domain; nothing is sent).",
    ),
]
NoAuth = Annotated[
    bool,
    typer.Option("--no-auth", help="Probe without AUTH (relay test; see --expect relay-denied)."),
]
Send = Annotated[bool, typer.Option("--send", help="Really send one minimal test message to --to.")]
Timeout = Annotated[float, typer.Option(metavar="SECONDS", help="Time limit for the whole probe.")]
PhaseTimeout = Annotated[
    float,
    typer.Option(metavar="SECONDS", help="Time limit for each step (connect, TLS, each reply)."),
]
CaFile = Annotated[
    Path | None,
    typer.Option(metavar="PEM", help="Also trust the CA certificates in this PEM file."),
]
Insecure = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="Go on after an invalid certificate to test the later stages; the verdict "
        "still names the certificate (exit 1).",
    ),
]
SourceAddress = Annotated[
    str | None, typer.Option(metavar="IP", help="Connect from this local IP address.")
]
Ipv4 = Annotated[bool, typer.Option("--ipv4", "-4", help="Use IPv4 only.")]
Ipv6 = Annotated[bool, typer.Option("--ipv6", "-6", help="Use IPv6 only.")]
Ehlo = Annotated[
    str | None,
    typer.Option(metavar="NAME", help="EHLO name (default: the local address literal)."),
]
AllowPlaintextAuth = Annotated[
    bool,
    typer.Option("--allow-plaintext-auth", help="Allow AUTH over an unencrypted connection."),
]
NoPipelining = Annotated[
    bool,
    typer.Option(
        "--no-pipelining",
        help="Send one command at a time even when the server offers PIPELINING (RFC 2920).",
    ),
]
ProfileFile = Annotated[
    Path | None,
    typer.Option("--profile", metavar="FILE", help="Use the profile in this YAML file."),
]
ExtraProfileFile = Annotated[
    Path | None,
    typer.Option("--profile", metavar="FILE", help="Also load this profile file."),
]
ProfileFiles = Annotated[
    list[Path] | None,
    typer.Option("--profile", metavar="FILE", help="Also load this profile file."),
]
Rules = Annotated[
    list[Path] | None,
    typer.Option("--rules", metavar="FILE", help="Extra rule file, tried first (repeatable)."),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Format = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        metavar="text|json|nagios",
        help="text (default), json (as --json) or nagios: a Nagios / Icinga plugin's status "
        "line with perfdata, in English only, and its exit codes 0 OK, 1 WARNING, 2 CRITICAL, "
        "3 UNKNOWN (Monitoring Plugins guidelines). A refusal or an incomplete dialogue is "
        "CRITICAL; a bad option is UNKNOWN.",
    ),
]
_THRESHOLD_HELP = (
    "With --format nagios: {level} when the whole probe takes longer than time=SECONDS, "
    "or the certificate has fewer than cert_days=DAYS days left; e.g. {example} (commas, "
    "or repeat the option). A value with ':', '~' or '@' is a Monitoring Plugins range "
    "(10:20 alerts outside 10..20, @10:20 inside)."
)
NagiosWarning = Annotated[
    list[str] | None,
    typer.Option(
        "--warning",
        metavar="KEY=LIMIT[,…]",
        help=_THRESHOLD_HELP.format(level="WARNING", example="time=5,cert_days=21"),
    ),
]
NagiosCritical = Annotated[
    list[str] | None,
    typer.Option(
        "--critical",
        metavar="KEY=LIMIT[,…]",
        help=_THRESHOLD_HELP.format(level="CRITICAL", example="time=10,cert_days=7"),
    ),
]
Language = Annotated[
    Lang | None,
    typer.Option(metavar="en|ja", help="Language of the output (default: from the locale)."),
]
Proxy = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        help="Connect through this proxy: socks5://, socks5h:// (the proxy resolves the "
        "server name), socks4://, socks4a:// or http:// (CONNECT); USER:PASS@ allowed.",
    ),
]
NoEgressLookup = Annotated[
    bool,
    typer.Option(
        "--no-egress-lookup",
        help="Do not ask Google's and OpenDNS's DNS servers for the public address.",
    ),
]
EgressTimeout = Annotated[
    float,
    typer.Option(metavar="SECONDS", help="Time limit for the public-address lookup."),
]
For = Annotated[
    ForWhom | None,
    typer.Option("--for", metavar="gmail", help="Also judge readiness for Gmail's 'Send mail as'."),
]
Expect = Annotated[
    list[str] | None,
    typer.Option(
        "--expect",
        metavar="CATEGORY[,CATEGORY…]",
        help="Exit 0 only when the verdict is one of these categories (e.g. relay-denied "
        "with --no-auth); otherwise 1, or 3 when the dialogue could not be completed.",
    ),
]
Routes = Annotated[
    list[str] | None,
    typer.Option(
        "--route",
        metavar="ROUTE",
        help="A route to probe from: direct, source:IP or proxy:URL (give two or more).",
    ),
]
Scenario = Annotated[str, typer.Option(metavar="NAME", help="Scenario (see --list).")]
DoublePort = Annotated[int, typer.Option(metavar="PORT", min=0, max=65535, help="0: any free.")]
DoubleHost = Annotated[str, typer.Option(metavar="IP", help="Loopback address to listen on.")]
DoubleSecurity = Annotated[
    SecurityChoice | None,
    typer.Option(metavar="MODE", help="implicit-tls, starttls or plain (default: the scenario's)."),
]
ListScenarios = Annotated[bool, typer.Option("--list", help="List the scenarios and exit.")]
Duration = Annotated[
    float | None,
    typer.Option(
        metavar="SECONDS", help="Stop after this long (default: at Ctrl-C, SIGTERM or SIGHUP)."
    ),
]
Paste = Annotated[
    str | None,
    typer.Argument(
        metavar="TEXT|FILE",
        help="The reply or bounce text, or a file that holds it (a path that exists is read "
        "as a file); '-' or nothing to read standard input.",
    ),
]
Provider = Annotated[
    str | None,
    typer.Option(metavar="PROFILE", help="Profile of the server that sent it (e.g. sakura)."),
]
ProfileToShow = Annotated[str, typer.Argument(metavar="NAME", help="Profile name.")]
RuleFile = Annotated[Path, typer.Argument(metavar="FILE", help="The rule file to validate.")]

# The commands' help: what each does, examples, exit codes. (``\b`` keeps click
# from re-wrapping the paragraph that follows.)
ROOT_HELP = """Probe an SMTP submission server for real (EHLO, TLS, AUTH, MAIL, RCPT; never
DATA unless --send) and explain any rejection in English and Japanese.

\b
Examples:
  smtpprobe demo                    # the test double on loopback, offline
  smtpprobe check ocn --user you@example.ocn.ne.jp
  smtpprobe explain "550 5.7.1 <you@example.jp>... Command rejected"
  smtpprobe dns example.jp --server www1234.sakura.ne.jp   # Gmail's 5.7.26?
  smtpprobe run checks.yaml         # health checks (history, serve)
  smtpprobe profiles show sakura --lang ja

Exit codes: 0 accepted, 1 refused, 2 usage error, 3 the dialogue could not be
completed, 4 internal error (see each command's help).

\b
Shell completion:
  smtpprobe --install-completion      # bash, zsh, fish or PowerShell
  smtpprobe --show-completion bash    # print it, to install it by hand
"""

CHECK_HELP = """Run one real SMTP dialogue and print the transcript and the verdict.

\b
Examples:
  smtpprobe check ocn --user you@example.ocn.ne.jp        # asks for the password
  SMTPPROBE_PASSWORD=... smtpprobe check sakura --host www1234.sakura.ne.jp \\
      --user you@example.jp --lang ja
  smtpprobe check --host smtp.example.jp --port 465 --security ssl --user you@example.jp
  smtpprobe check --host smtp.example.jp --no-auth --from probe@example.jp \\
      --expect relay-denied                               # open-relay monitoring
  smtpprobe check ocn --user you@example.ocn.ne.jp --format nagios \\
      --warning time=5,cert_days=21 --critical time=10,cert_days=7   # Nagios/Icinga

Exit codes: 0 accepted (with --expect: the verdict is one of those), 1 refused by
the server, 2 usage or configuration error, 3 the dialogue could not be completed
(DNS, connect, TLS, proxy, timeout, a reply that breaks the protocol), 4 internal
error. With --format nagios: 0 OK, 1 WARNING, 2 CRITICAL (refused, or not
completed), 3 UNKNOWN (usage or configuration error), one line on stdout.
"""

COMPARE_HELP = """Run the same check over several routes at once and say what a disagreement means.

Prints one table (route, egress address, country, where the dialogue stopped,
verdict) and a conclusion: refused only from outside Japan is a geo-IP filter;
refused only from one address means that address is block-listed or not allowed.

\b
Examples:
  ssh -D 1080 -N you@host-abroad &    # a SOCKS proxy whose exit is abroad
  smtpprobe compare sakura --host www1234.sakura.ne.jp --user you@example.jp \\
      --route direct --route proxy:socks5h://127.0.0.1:1080
  smtpprobe compare --host smtp.example.jp --no-auth --from probe@example.jp \\
      --route direct --route source:192.0.2.7

Exit codes: 0 every route accepted, 1 some route refused, 2 usage error, 3 some
route could not complete the dialogue.
"""

PROFILES_HELP = """List the provider profiles (name, server, port, security, title), or show one.

\b
Examples:
  smtpprobe profiles
  smtpprobe profiles show sakura --lang ja
  smtpprobe profiles --profile mine.yaml show mine
"""

DOUBLE_HELP = """Serve the offline test double: an aiosmtpd server emulating a provider's behaviour.

Prints a ready-made `smtpprobe check` line that shows the scenario's point and stays
on loopback. Runs until --duration, Ctrl-C, SIGTERM or SIGHUP, then stops, removes its
temporary CA folder and exits 0.

\b
Examples:
  smtpprobe double --list
  smtpprobe double --scenario geo-filter-sakura --security starttls
"""

EXPLAIN_HELP = """Explain a pasted SMTP reply, Gmail bounce or delivery status notification.

Finds every reply in the text (UTF-8, ISO-2022-JP, Shift_JIS or EUC-JP, MIME or
plain), classifies each with the probe's rules and says who refused, whether
retrying can help, the cause and the remedy.

\b
Examples:
  smtpprobe explain "550 5.7.1 <you@example.jp>... Command rejected"
  smtpprobe explain --lang ja - < bounce.eml
  smtpprobe explain bounce.eml
  pbpaste | smtpprobe explain --json -

Exit codes: 0 explained, 1 no SMTP reply found, 2 usage error (empty, binary or
oversized input, bad rule file).
"""

RULES_HELP = "Work with rule files: validate one and run its examples."

RULES_CHECK_HELP = """Validate a rule file and check that every rule matches each of its examples.

\b
Example:
  smtpprobe rules check ~/.config/smtpprobe/rules/mine.yaml

Exit codes: 0 valid and every example matches; 1 some example is not matched by its
rule, or a rule of another category above it takes it; 2 the file is malformed.
"""


def check_options(
    p: Mapping[str, Any], secrets: list[str], lang: str
) -> tuple[CheckOptions, PasswordSource]:
    """check's and compare's parsed options → (CheckOptions, the password source).

    Every secret found (a proxy's password, the token, later the password) is
    appended to ``secrets``, which scrubs error messages. Options that ``compare``
    does not have (``--send``, ``--proxy``, ``--source-address``, ``--expect``) may be
    missing from ``p``.
    """
    from smtpprobe.api import CheckOptions
    from smtpprobe.core.spec import parse_proxy
    from smtpprobe.errors import ConfigError
    from smtpprobe.passwords import password_source, read_token

    if p["ipv4"] and p["ipv6"]:
        raise ConfigError("use only one of -4 and -6")
    if p.get("proxy") and (proxy_password := parse_proxy(p["proxy"]).password):
        secrets.append(proxy_password)
    options = CheckOptions(
        profile=p["profile"],
        host=p["host"],
        port=p["port"],
        security=str(p["security"]) if p["security"] else None,
        user=p["user"],
        oauth_token=None if p["no_auth"] else read_token(p["oauth_token_env"], secrets),
        sender=p["sender"],
        recipient=p["recipient"],
        no_auth=p["no_auth"],
        send=p.get("send", False),
        timeout=p["timeout"],
        phase_timeout=p["phase_timeout"],
        ca_file=p["ca_file"],
        insecure=p["insecure"],
        source_address=p.get("source_address"),
        ehlo_name=p["ehlo"],
        allow_plaintext_auth=p["allow_plaintext_auth"],
        profile_files=(p["profile_file"],) if p["profile_file"] is not None else (),
        rule_files=tuple(p["rules"] or ()),
        family="ipv4" if p["ipv4"] else "ipv6" if p["ipv6"] else "any",
        proxy=p.get("proxy"),
        egress_lookup=not p["no_egress_lookup"],
        egress_timeout=p["egress_timeout"],
        for_gmail=p["for_whom"] == ForWhom.gmail,
        expect=tuple(p.get("expect") or ()),
        pipelining=not p["no_pipelining"],
    )
    warn_config(options.profile_files, lang)
    source = password_source(p["password_env"], p["password_stdin"], p["user"], secrets, lang)
    return options, source


def output_format(p: Mapping[str, Any]) -> OutputFormat:
    """``check``'s output: ``--format``, else json with ``--json``, else text (never raises:
    errors are reported in this format, so a conflict is told by ``thresholds``)."""
    chosen = p.get("output_format")
    if chosen is not None:
        return OutputFormat(chosen)
    return OutputFormat.json if p.get("json_output") else OutputFormat.text


def thresholds(p: Mapping[str, Any]) -> tuple[Thresholds | None, Thresholds | None]:
    """``--warning`` and ``--critical``, validated; ConfigError when they cannot apply."""
    from smtpprobe.errors import ConfigError

    chosen = p.get("output_format")
    if p.get("json_output") and chosen not in (None, OutputFormat.json):
        raise ConfigError(f"--json and --format {chosen} disagree: give only one of them")
    if not (p.get("warning") or p.get("critical")):
        return None, None
    from smtpprobe.render.nagios import parse_thresholds

    warning = parse_thresholds(p.get("warning") or (), option="--warning")
    critical = parse_thresholds(p.get("critical") or (), option="--critical")
    if (warning or critical) and output_format(p) is not OutputFormat.nagios:
        raise ConfigError("--warning and --critical need --format nagios")
    return warning, critical


@contextmanager
def nagios_errors(form: OutputFormat, secrets: list[str]) -> Iterator[None]:
    """With ``--format nagios``, any error is ``SMTP UNKNOWN - <one line>`` on stdout and
    exit code 3, as the Monitoring Plugins guidelines want for bad options and failures
    internal to the plugin (``cli_support.guard``'s exit 2 would read as CRITICAL, and Nagios
    reads stdout, not stderr). Without it, errors pass on to ``guard`` untouched."""
    if form is not OutputFormat.nagios:
        yield
        return
    from smtpprobe.core.redact import Redactor
    from smtpprobe.errors import SmtpprobeError
    from smtpprobe.render.nagios import unknown

    try:
        yield
    except (typer.Exit, typer.Abort, BrokenPipeError, KeyboardInterrupt):
        raise
    except SmtpprobeError as exc:
        message = str(exc)
    except Exception as exc:  # a bug: UNKNOWN too, in one line, without the secret
        message = f"internal error, please report it: {type(exc).__name__}: {exc}"
    else:
        return
    line, code = unknown(Redactor(secrets)(message))
    typer.echo(line)
    raise typer.Exit(code)


# click's UsageError (typer >= 0.22 carries its own copy of click): BadParameter's parent.
_UsageError = cast(
    "type[Exception]", next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
)


def _asks_nagios(args: Iterable[str]) -> bool:
    words = list(args)
    return "--format=nagios" in words or ("--format", "nagios") in itertools.pairwise(words)


class CheckCommand(TyperCommand):
    """``check``'s command: with ``--format nagios``, a usage error that click finds while
    parsing (an unknown option, a value that is not a number) is ``SMTP UNKNOWN - …`` on
    stdout and exit code 3, like every other error in that mode (``nagios_errors``)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        asks_nagios = _asks_nagios(args)
        try:
            return super().parse_args(ctx, args)
        except _UsageError as exc:
            if not asks_nagios:
                raise
            from smtpprobe.render.nagios import unknown

            message = getattr(exc, "format_message", exc.__str__)()  # names the option
            line, code = unknown(message)  # without click's usage lines
            typer.echo(line)
            raise typer.Exit(code) from None


def parse_routes(values: list[str] | None, secrets: list[str]) -> tuple[Route, ...]:
    """``compare``'s ``--route`` values; a proxy's password goes to ``secrets``."""
    from smtpprobe.core.spec import parse_proxy
    from smtpprobe.routes import parse_route

    routes = tuple(parse_route(value) for value in values or ())
    secrets += [pw for r in routes if r.proxy and (pw := parse_proxy(r.proxy).password)]
    return routes


def profile_paths(*values: Iterable[object] | None) -> tuple[Path, ...]:
    """``--profile FILE`` values of the group and the command, as paths (a group's
    parameters are the raw strings: typer converts only the running command's own)."""
    return tuple(Path(str(v)) for group in values for v in (group or ()))


def lang_of(lang: Lang | None) -> str:
    """``--lang``, or the locale's language when it is not given."""
    from smtpprobe.render.labels import default_lang

    return str(lang) if lang else default_lang()


def warn_problems(problems: Iterable[str], lang: str = "en") -> None:
    """Print each configuration problem once on stderr, as ``smtpprobe: warning: …``.

    The problems are the user's broken profile and rule files that were skipped
    (``ProfileSet.problems``, ``smtpprobe.loading.rule_problems()``): the command
    goes on without them.
    """
    for problem in dict.fromkeys(" ".join(p.split()) for p in problems):
        if lang == "ja":
            from smtpprobe.render.errors_ja import error_ja  # quotes what it cannot say

            line = f"警告: 読み込めない設定ファイルを飛ばしました: {error_ja(problem)}"
        else:
            line = f"warning: {problem}"
        typer.echo(f"smtpprobe: {line}", err=True)


def warn_config(profile_files: tuple[Path, ...], lang: str) -> None:
    """Warn about the user's broken profile and rule files (a file named with ``--profile``
    or ``--rules`` is not skipped: it fails the command where it is loaded)."""
    from smtpprobe.loading import load_profiles, rule_problems

    warn_problems((*load_profiles(profile_files).problems, *rule_problems()), lang)


# One word that names a file (a path, or a mail or log file's name), not a reply or a URL.
_LOOKS_LIKE_A_FILE = LazyPattern(
    r"(?:~|\.{1,2})?/[^\s:]*|[^\s/:]+\.(?:eml|msg|txt|log|mbox|html?)", re.IGNORECASE
)


def read_paste(text: str | None, lang: str = "en") -> bytes:
    """``explain``'s input: a file the argument names, the argument itself, or standard input.

    Precedence: ``-`` or no argument reads standard input; an argument that names a path
    that exists is that file (its bytes, so any encoding is read as ``explain`` reads a
    pipe); any other argument is the text itself. A text that happens to be a file's name
    can still be explained through standard input (``echo TEXT | smtpprobe explain -``),
    so no option is needed to tell the two apart. At a terminal, standard input is read
    after a one-line hint on how to end the paste.
    """
    from smtpprobe.errors import ConfigError
    from smtpprobe.paste import MAX_PASTE_BYTES

    if text is not None and text != "-":
        path = _existing_path(text)
        if path is None and _LOOKS_LIKE_A_FILE.fullmatch(text):
            # "/tmp/bounce.eml" mistyped was explained as a text: "no SMTP reply found".
            raise ConfigError(
                f"{text}: no such file; give the file that holds the error text, or the text itself"
            )
        if path is None:
            return text.encode("utf-8", "surrogateescape")
        if path.is_dir():
            raise ConfigError(
                f"{text} is a directory: give the file that holds the error text or bounce"
            )
        try:
            with path.open("rb") as handle:
                # One byte past the limit, so that an oversized file is told, not truncated.
                return handle.read(MAX_PASTE_BYTES + 1)
        except OSError as exc:
            reason = " ".join(str(exc.strerror or exc).split())
            raise ConfigError(
                f"cannot read {text}: {reason}; check the file, or paste its text with '-'"
            ) from None
    if sys.stdin is None:  # started with standard input closed
        raise ConfigError(
            "nothing to explain: standard input is closed; give the error text as an argument"
        )
    if sys.stdin.isatty():
        # Nothing was piped in: the user is to paste now, and needs to know how to stop.
        hint = (
            "テキストを貼り付けてから Ctrl-D を押してください（Windows では Ctrl-Z のあと Enter）"
            if lang == "ja"
            else "paste the text, then press Ctrl-D (Ctrl-Z Enter on Windows)"
        )
        typer.echo(f"smtpprobe: {hint}", err=True)
    # Read one byte past the limit so an oversized paste is told, not truncated silently.
    return sys.stdin.buffer.read(MAX_PASTE_BYTES + 1)


def _existing_path(text: str) -> Path | None:
    """The path ``text`` names when something exists there (a pasted reply never does)."""
    if not text.strip() or "\n" in text or "\0" in text or len(text) > 4096:
        return None  # empty, a multi-line paste, or longer than any path: text, not a name
    path = Path(text)
    try:
        return path if path.exists() else None
    except (OSError, ValueError):  # a name the system refuses (too long, unreadable parent)
        return None
