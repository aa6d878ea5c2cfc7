"""Every one-line error message smtpprobe can print has its Japanese (``--lang ja``).

The messages are collected from the source with ``ast``, not listed by hand: each string
or f-string given to one of smtpprobe's error classes (and to the two helpers that make
one: ``loading.read_yaml``'s ``error`` and a checks file's ``_At.error``). An f-string's
values become sample values (``x``, ``--from``, ``/tmp/f``, ``3``; a local variable's own
strings; both sides of a conditional), and ``error_ja`` of each sample must be Japanese:
no run of three English words, which is what a message without an entry gives (its
English inside 「」). A new ``raise ConfigError(f"...")`` without an entry in
``smtpprobe/data/errors_ja.yaml`` fails here, with every uncovered template listed.

Not collected, as no user sees them as an error line:

- the RuleErrors of ``core/client_errors.py`` (``SKIPPED``): they validate
  ``smtpprobe/data/client_errors.yaml``, the package's own data, which no option or
  configuration replaces and whose tests load it;
- the errors that are not ``SmtpprobeError``: internal errors and assertions
  (``AssertionError``, ``RuntimeError``, ``TypeError``, ``KeyError``, ``AttributeError``,
  the ``ValueError`` of the library API and of ``smtpprobe.testing``), which reach the user
  only as "internal error, please report it: …" (translated as a whole), and the findings
  of the DNS checks (``_PermError``, ``_TempError``, ``DkimError``, ``DmarcError``,
  ``DnsError``, ``MalformedReply``), which are results in a report, put in Japanese with the
  report (``render.labels.note``).
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import smtpprobe
from smtpprobe.checks import _as_key
from smtpprobe.cli_usage import _range_ja, usage_line
from smtpprobe.render import errors_ja
from smtpprobe.render.errors_ja import error_ja

PACKAGE = Path(smtpprobe.__file__).parent
ROOT = PACKAGE.parent


@functools.cache
def _trees() -> dict[Path, ast.Module]:
    """Every source file of the package, parsed once (on first use, not at collection:
    parsing and walking them all takes seconds, which every xdist worker would pay)."""
    return {
        path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(PACKAGE.rglob("*.py"))
    }


@functools.cache
def error_classes() -> frozenset[str]:
    """SmtpprobeError and every class of the source that derives from it: the errors that
    reach the one error line (a new subclass is found, not listed)."""
    bases: dict[str, set[str]] = {}
    for tree in _trees().values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                named = {b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in node.bases}
                bases.setdefault(node.name, set()).update(named)
    found = {"SmtpprobeError"}
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return frozenset(found)
        found |= more


# Not a user's: the signature file is smtpprobe's own data (see the module's docstring).
SKIPPED = frozenset({"smtpprobe/core/client_errors.py"})
# Calls whose message is no template of their own: a re-raise of a message collected at
# its own site, or one made elsewhere (``derived`` gives their samples).
NOT_TEMPLATES = frozenset(
    {
        ("smtpprobe/loading.py", "str(self.broken[name])"),  # a broken profile's own error
        ("smtpprobe/core/profile.py", "str(exc)"),  # a profile's rule's RuleError
        ("smtpprobe/routes.py", "message"),  # transport's bind error, named by the route
        ("smtpprobe/cli_run.py", "problem"),  # notify.ping_url_problem's words
        # validate_host's words for a checks file's host, the option left out
        ("smtpprobe/core/checks.py", "str(exc).removeprefix('host').strip(' :')"),
        # worded in the language asked for already
        ("smtpprobe/cli_history.py", "_unknown(wanted, path, known, chosen)"),
    }
)
# Templates that are frames around another message (``derived`` gives real samples).
DERIVED_SITES = frozenset(
    {
        ("smtpprobe/routes.py", "--route {shown!r}: {reason}"),
        ("smtpprobe/checks.py", "{check.where()}: {_as_key(str(exc))}"),
        ("smtpprobe/core/checks.py", "{': '.join(parts)}: {_short(message)}"),  # _At's frame
    }
)

# A value's sample by what the expression names (first match); anything else is "x".
_BY_NAME: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\boption\b|\bflag\b"), "--from"),
    (re.compile(r"path|source|where|(?<![a-z])file|_PACKAGE"), "/tmp/f"),
    (
        re.compile(
            r"port|len\(|number|tries|limit|MAX|bits|index|line_no|version|VERSION|timeout"
            r"|ord\(|returncode|_BYTES"
        ),
        "3",
    ),
)
# Samples where the name misleads: (file, function or "*", expression) -> the values.
_OVERRIDES: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("smtpprobe/checks.py", "*", "where"): ("/tmp/f: check 'x': key 'password'",),
    ("smtpprobe/core/rules.py", "*", "where"): ("/tmp/f: rule 'x'", "/tmp/f: rule #3"),
    ("smtpprobe/core/rules.py", "_check_placeholders", "where"): ("/tmp/f: rule 'x': 'cause.en'",),
    ("smtpprobe/core/profile.py", "*", "where"): ("/tmp/f", "/tmp/f: alternatives[0]"),
    ("smtpprobe/passwords.py", "*", "source"): ("", " (the password_env of profile x)"),
    ("smtpprobe/passwords.py", "*", "name"): ("SMTPPROBE_PASSWORD",),
    ("*", "*", "_suggest(key, _TOP_KEYS)"): ("", " (did you mean 'checks'?)"),
    ("*", "*", "_suggest(key, _DEFAULT_KEYS)"): ("", " (did you mean 'host'?)"),
    ("*", "*", "_suggest(key, CHECK_KEYS)"): ("", " (did you mean 'host'?)"),
    ("smtpprobe/egress.py", "*", "ENV_RESOLVERS"): ("SMTPPROBE_EGRESS_RESOLVERS",),
    ("smtpprobe/transport.py", "*", "which"): (
        "of the same family as x",
        "from which the proxy x can be reached",
    ),
    ("smtpprobe/transport.py", "*", "zone"): ("eth9",),
    ("smtpprobe/testing/serve.py", "*", "lost"): (  # Scenario.point_lost_in's words
        "it is about STARTTLS being mandatory; give --security plain or starttls",
        "it is about the certificate; give --security implicit-tls or starttls",
    ),
    ("smtpprobe/core/spec.py", "*", "what"): ("the password", "the OAuth token"),
    ("smtpprobe/loading.py", "*", "what"): ("profile or rule file", "checks file"),
    ("smtpprobe/render/nagios.py", "*", "what"): ("--warning time",),
    ("smtpprobe/render/nagios.py", "*", "key"): ("time",),
    ("smtpprobe/render/nagios.py", "*", "_EXAMPLE[key]"): ("5",),
    ("smtpprobe/render/nagios.py", "*", "example"): ("time=5,cert_days=14",),
    ("smtpprobe/cli_params.py", "*", "chosen"): ("text",),
}
# Messages with a library's words in them (SQLite, shlex, PyYAML, parse_reply, the OS),
# the ones a user meets, which the table has too.
LIBRARY_REASONS = (
    "history /tmp/f: database is locked; another program holds the file; try again, or give "
    "another --history",
    "history /tmp/f: attempt to write a readonly database; the file or its folder cannot be "
    "written; give a writable --history file",
    "history /tmp/f: cannot open it (unable to open database file)",
    "history /tmp/f: not a usable smtpprobe history database (file is not a database); give "
    "another --history file",
    "history /tmp/f: not a usable smtpprobe history database (database disk image is "
    "malformed); give another --history file",
    "history /dev/null: disk I/O error; give another --history file",
    "history /tmp/f: database or disk is full; give another --history file",
    "history /tmp/f: database table is locked; give another --history file",
    "/tmp/f: check 'x': key 'password': command '\"x': No closing quotation",
    "/tmp/f: check 'x': key 'password': command 'x\\': No escaped character",
    "/tmp/f:3:1: malformed YAML: the key 'host' is given twice",
    *(
        f"/tmp/f:3:1: malformed YAML: {problem}"
        for problem in (
            "mapping values are not allowed in this context",
            "did not find expected key",
            "did not find expected '-' indicator",
            "did not find expected ',' or ']'",
            "did not find expected ',' or '}'",
            "found unexpected end of stream",
            "found unknown escape character",
            "found character that cannot start any token",
            "found a tab character that violates indentation",
            "found undefined alias",
            "did not find expected alphabetic or numeric character",
            "but found another document",
            "could not determine a constructor for the tag '!x'",
            "found unhashable key",
            "second occurrence",
        )
    ),
    "/tmp/f: rule 'x': example reply '5.7.1 x': no line starts with a three-digit SMTP reply code",
    "/tmp/f: cannot read it (Permission denied)",
)
_MAX_VARIANTS = 32

# An English word, quoted or not, before a comma or a stop: "「must", "'id'", "string」".
_WORD = re.compile(r"""[「（("']*[A-Za-z]+[」）)"',.;:!?]*""")


def english_run(text: str) -> str | None:
    """The first run of three or more ASCII words in a row (separated by spaces), or None.

    An option (``--from``), a path, a hyphenated name or a word joined to Japanese is no
    word here: what is left is English prose, which is what a message without an entry
    gives (its English inside 「」)."""
    run: list[str] = []
    for token in text.split():
        run = [*run, token] if _WORD.fullmatch(token) else []
        if len(run) >= 3:
            return " ".join(run)
    return None


# --------------------------------------------------------------------------- collecting


@dataclass(frozen=True)
class Site:
    """One message template at a call of an error class, and its samples."""

    file: str
    line: int
    template: str  # the source's string, for the failure message
    samples: tuple[str, ...]


def _scope_of(tree: ast.Module) -> dict[int, ast.AST]:
    """Each node's innermost function (the module for top-level code), by id()."""
    scope: dict[int, ast.AST] = {}

    def visit(node: ast.AST, owner: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else owner
            scope[id(child)] = inner
            visit(child, inner)

    visit(tree, tree)
    return scope


class _Sampler:
    """The sample strings of an expression inside one function of one file."""

    def __init__(self, file: str, function: ast.AST) -> None:
        self.file, self.function = file, function
        self.name = getattr(function, "name", "<module>")

    def values(self, node: ast.expr, depth: int = 0) -> list[str]:
        if isinstance(node, ast.Constant):
            return [node.value if isinstance(node.value, str) else repr(node.value)]
        if isinstance(node, ast.JoinedStr):
            parts = [self._part(v, depth) for v in node.values]
            return ["".join(p) for p in itertools.islice(itertools.product(*parts), _MAX_VARIANTS)]
        if isinstance(node, ast.IfExp):
            return self.values(node.body, depth) + self.values(node.orelse, depth)
        source = ast.unparse(node)
        for key in ((self.file, self.name, source), (self.file, "*", source), ("*", "*", source)):
            if key in _OVERRIDES:
                return list(_OVERRIDES[key])
        if isinstance(node, ast.Name) and depth < 3:
            assigned = self._assigned(node.id, depth)
            if assigned:
                return assigned
        return [next((s for pattern, s in _BY_NAME if pattern.search(source)), "x")]

    def _part(self, value: ast.expr, depth: int) -> list[str]:
        if isinstance(value, ast.Constant):
            return [str(value.value)]
        assert isinstance(value, ast.FormattedValue)
        spec = ast.unparse(value.format_spec)[2:-1] if value.format_spec else ""
        out = []
        for item in self.values(value.value, depth + 1):
            shown: Any = int(item) if item.isdigit() and spec else item
            shown = format(shown, spec) if spec else shown
            out.append(repr(shown) if value.conversion == ord("r") else str(shown))
        return out

    def _assigned(self, name: str, depth: int) -> list[str]:
        """The strings a local variable is given in the function (every assignment)."""
        found: list[str] = []
        for node in ast.walk(self.function):
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
                and isinstance(node.value, ast.Constant | ast.JoinedStr | ast.IfExp)
            ):
                found += self.values(node.value, depth + 1)
        return found


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _is_message(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.IfExp) and _is_message(node.body) and _is_message(node.orelse)
    )


def _f_text(node: ast.expr) -> str:
    """A string as written, without its quotes (``--route {shown!r}: {reason}``)."""
    text = ast.unparse(node)
    return text[2:-1] if text.startswith(("f'", 'f"')) else text[1:-1]


def collect() -> tuple[list[Site], list[str]]:
    """Every message template at a call of an error class, and the calls that hold none."""
    sites: list[Site] = []
    strays: list[str] = []
    classes = error_classes()
    for path, tree in _trees().items():
        file = path.relative_to(ROOT).as_posix()
        if file in SKIPPED:
            continue
        scope = _scope_of(tree)
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or not call.args:
                continue
            name = _callee(call)
            # _At.error: "FILE: check 'NAME': key 'KEY': " + its message (a checks file)
            checks_key = file == "smtpprobe/core/checks.py" and name == "error"
            read_yaml = file == "smtpprobe/loading.py" and name == "error"  # the class given
            if name not in classes and not checks_key and not read_yaml:
                continue
            message = call.args[0]
            sampler = _Sampler(file, scope.get(id(call), tree))
            if not _is_message(message):
                if checks_key and isinstance(message, ast.Name):
                    continue  # _At.error's own ChecksError(...) of its message
                if (file, ast.unparse(message)) in NOT_TEMPLATES:
                    continue
                if not (isinstance(message, ast.Name) and sampler.values(message) != ["x"]):
                    strays.append(f"{file}:{call.lineno}: {ast.unparse(call)}")
                    continue
            if (file, _f_text(message)) in DERIVED_SITES:
                continue
            samples = sampler.values(message)
            if checks_key:
                samples = [f"/tmp/f: check 'x': key 'port': {s}" for s in samples] + [
                    f"/tmp/f: key 'port': {s}"
                    for s in samples  # a default's key
                ]
            sites.append(
                Site(file, call.lineno, ast.unparse(message), tuple(dict.fromkeys(samples)))
            )
    return sites, strays


def _samples_of(sites: list[Site], file: str) -> list[str]:
    return [s for site in sites if site.file == file for s in site.samples]


def derived(sites: list[Site]) -> list[Site]:
    """Messages made of other messages: a checks file's words for ``check``'s options
    (``checks._as_key``, ``core.checks._host``), compare's ``--route`` for ``--proxy`` and
    ``--source-address``, ``$SMTPPROBE_NAMESERVERS`` for ``--nameserver`` (``dnsauth``),
    ``notify``'s ping URL problems (raised by ``run``), ``guard``'s own two lines, and the
    library reasons."""
    out: list[Site] = []
    spec = _samples_of(sites, "smtpprobe/core/spec.py") + _samples_of(sites, "smtpprobe/api.py")
    # (a checks file never sends a message: --send's words are not among them)
    checks_file = [f"/tmp/f: check 'x': {_as_key(s)}" for s in spec if "--send" not in s]
    out.append(Site("smtpprobe/checks.py", 0, "validate_checks: _as_key(...)", tuple(checks_file)))
    hosts = [
        f"/tmp/f: check 'x': key 'host': {s.removeprefix('--from').strip(' :')}"
        for s in spec
        if s.startswith("--from") and "host name" in s
    ]
    out.append(Site("smtpprobe/core/checks.py", 0, "_host: validate_host(...)", tuple(hosts)))
    proxy = [s.split(": ", 1)[-1] for s in spec if s.startswith("--proxy")]
    routes = [f"--route 'proxy:x': {reason}" for reason in proxy]
    routes += [
        s.replace("--source-address /tmp/f", "--route 'source:x'")
        for s in _samples_of(sites, "smtpprobe/transport.py")
        if s.startswith("--source-address")
    ]
    out.append(Site("smtpprobe/routes.py", 0, "--route {shown!r}: {reason}", tuple(routes)))
    nameservers = [
        s.replace("--nameserver", "SMTPPROBE_NAMESERVERS", 1)
        for s in _samples_of(sites, "smtpprobe/resolver.py")
        if s.startswith("--nameserver")
    ]
    out.append(Site("smtpprobe/dnsauth.py", 0, "SMTPPROBE_NAMESERVERS", tuple(nameservers)))
    out.append(Site("smtpprobe/notify.py", 0, "ping_url_problem", tuple(_ping_problems())))
    out.append(Site("smtpprobe/notify.py", 0, "HookOutcome(False, ...)", tuple(_hook_failures())))
    guard = ("interrupted", "internal error, please report it: ValueError: x")
    out.append(Site("smtpprobe/cli_support.py", 0, "guard", guard))
    out.append(Site("(libraries)", 0, "a library's reason in a message", LIBRARY_REASONS))
    return out


def _ping_problems() -> list[str]:
    """What ``notify.ping_url_problem`` returns (raised as a ConfigError by ``run``)."""
    tree = ast.parse((PACKAGE / "notify.py").read_text(encoding="utf-8"))
    function = next(
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "ping_url_problem"
    )
    sampler = _Sampler("smtpprobe/notify.py", function)
    return [
        s
        for node in ast.walk(function)
        if isinstance(node, ast.Return) and node.value is not None and _is_message(node.value)
        for s in sampler.values(node.value)
    ]


def _hook_failures() -> list[str]:
    """The failures of ``--on-change`` and ``--ping`` (``HookOutcome(False, message)``), which
    ``run`` warns of after the run."""
    tree = ast.parse((PACKAGE / "notify.py").read_text(encoding="utf-8"))
    sampler = _Sampler("smtpprobe/notify.py", tree)
    return [
        s
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "HookOutcome"
        and len(node.args) == 2
        and _is_message(node.args[1])
        for s in sampler.values(node.args[1])
    ]


@functools.cache
def collected() -> tuple[tuple[Site, ...], tuple[str, ...], tuple[Site, ...]]:
    """``collect()``'s sites and strays, and the sites with the derived ones: once per run."""
    sites, strays = collect()
    return tuple(sites), tuple(strays), tuple(sites + derived(sites))


def _all_samples() -> Iterator[tuple[Site, str]]:
    for site in collected()[2]:
        for sample in site.samples:
            yield site, sample


# --------------------------------------------------------------------------- the tests


def test_the_collector_finds_the_messages() -> None:
    # A collector that found nothing would pass everything: the count is a floor, and the
    # best-known messages of each kind are among the samples.
    assert {
        "SmtpprobeError", "ConfigError", "ChecksError", "HistoryError", "ThresholdError",
        "ProfileError", "RuleError",
    } <= error_classes()  # fmt: skip
    sites = collected()[0]
    assert len(sites) > 250, len(sites)
    samples = {s for _, s in _all_samples()}
    for known in (
        "no server to probe: name a PROFILE or give --host",
        "/tmp/f: no such file",
        "/tmp/f: check 'x': key 'port': must be a non-empty string",
        "/tmp/f: rule 'x': 'id' is required",
        "history /tmp/f: cannot create it (x)",
        "--ping '': give the http:// or https:// URL to ping",
        "/tmp/f: check 'x': key 'from': 'x': give a mail address such as you@example.jp",
    ):
        assert known in samples, known


def test_every_error_call_holds_a_template() -> None:
    # An error made of a variable or a call escapes the collector: it is named in
    # NOT_TEMPLATES (with where its words are checked) rather than left unchecked.
    assert collected()[1] == ()


def test_the_english_finder() -> None:
    assert english_run("「/nonexistent: no such file」") == "no such file」"
    assert english_run("キー「port」: 「'id' is required」") == "「'id' is required」"
    assert english_run("/tmp/f: ファイルがありません") is None
    assert english_run("--security starttls か implicit-tls を指定") is None
    assert english_run("--from ADDRESS が必要です") is None


def test_every_message_has_its_japanese() -> None:
    uncovered: dict[tuple[str, int, str], str] = {}
    for site, sample in _all_samples():
        ja = error_ja(sample)
        unfilled = [p for p in re.findall(r"\{\w+\}", ja) if p not in sample]
        if english_run(ja) is not None or unfilled:
            uncovered.setdefault((site.file, site.line, site.template), f"{sample!r} -> {ja}")
    listed = "\n".join(f"{f}:{n}: {t}\n    {said}" for (f, n, t), said in uncovered.items())
    assert not uncovered, f"{len(uncovered)} messages without Japanese:\n{listed}"


def test_a_message_without_an_entry_is_found() -> None:
    # What test_every_message_has_its_japanese does with a message no entry knows.
    said = error_ja("--from x: a brand new problem nobody translated")
    assert said == "「--from x: a brand new problem nobody translated」"
    assert english_run(said) is not None
    framed = error_ja("/tmp/c.yaml: check 'a': key 'to': a brand new problem")
    assert framed == "/tmp/c.yaml: チェック「a」のキー「to」: 「a brand new problem」"


class _Spy:
    """An entry's pattern that notes each time it matched."""

    def __init__(self, pattern: re.Pattern[str], used: set[str]) -> None:
        self.pattern, self.used = pattern, used

    def fullmatch(self, text: str) -> re.Match[str] | None:
        match = self.pattern.fullmatch(text)
        if match is not None:
            self.used.add(self.pattern.pattern)
        return match


def test_every_entry_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # An entry no message matches is for words the source no longer has: it is stale.
    used: set[str] = set()
    table = errors_ja._table()
    monkeypatch.setattr(errors_ja, "_table", lambda: tuple((_Spy(p, used), ja) for p, ja in table))
    for _, sample in _all_samples():
        error_ja(sample)
    assert [p.pattern for p, _ in table if p.pattern not in used] == []


def test_the_table_is_well_formed() -> None:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    entries = yaml.load((PACKAGE / "data" / "errors_ja.yaml").read_text("utf-8"), Loader=loader)
    assert isinstance(entries, list) and len(entries) > 100
    seen: set[str] = set()
    for entry in entries:
        assert set(entry) == {"en", "ja"}, entry
        assert entry["en"] not in seen, entry["en"]
        seen.add(entry["en"])
        pattern = re.compile(entry["en"], re.DOTALL)
        assert set(re.findall(r"\{(\w+)\}", entry["ja"])) <= set(pattern.groupindex), entry
        assert re.search("[\u3040-\u30ff\u4e00-\u9fff]", entry["ja"]), entry


@pytest.mark.parametrize(
    ("english", "japanese"),
    [
        ("/nonexistent: no such file", "/nonexistent: ファイルがありません"),
        (
            "/tmp/c.yaml: check 'a': key 'password': environment variable PW is not set",
            "/tmp/c.yaml: チェック「a」のキー「password」: 環境変数 PW が設定されていません",
        ),
        (  # check's message for a checks file's key (checks._as_key), the option left out
            "c.yaml: check 'a': key 'port': 'x': a port is a number from 1 to 65535",
            "c.yaml: チェック「a」のキー「port」: 'x': ポート番号は 1〜65535 の数です",
        ),
        ("c.yaml: rule #2: 'id' is required", "c.yaml: 2 番目のルール: 「id」は必須です"),
        (  # a system's reason in Japanese too (smtpprobe.render.system_ja)
            "/tmp/f: cannot read it (Permission denied)",
            "/tmp/f: 読み込めません（権限がありません）",
        ),
        ("interrupted", "中断しました"),
        ("すでに日本語のメッセージ", "すでに日本語のメッセージ"),
    ],
)
def test_examples(english: str, japanese: str) -> None:
    assert error_ja(english) == japanese


def test_the_table_is_read_on_the_first_japanese_error_only() -> None:
    # Importing the module (as every command's error path does) reads no YAML.
    code = (
        "import smtpprobe.render.errors_ja as m; "
        "assert m._table.cache_info().currsize == 0; m.error_ja('interrupted'); "
        "assert m._table.cache_info().currsize == 1"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_table_is_in_the_wheel() -> None:
    # hatch's wheel holds every file under smtpprobe/ (pyproject: packages = ["smtpprobe"]),
    # as it does rules.yaml beside it; the loader finds it beside the package's code.
    assert errors_ja._TABLE_FILE == PACKAGE / "data" / "errors_ja.yaml"
    assert errors_ja._TABLE_FILE.is_file()


# --------------------------------------------------------------------------- click's words


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["check", "--port", "99999"], "99999 は範囲外です。1〜65535 の値を指定してください"),
        (["check", "--port", "abc"], "'abc' は整数ではありません"),
        (["check", "--timeout", "abc"], "'abc' は数ではありません"),
        (["check", "--security", "bogus"], "'bogus' は使えません。次のいずれかを指定してください"),
        (["run", "c.yaml", "--jitter", "-1"], "-1.0 は範囲外です。0〜3600 の値を指定してください"),
        (["run", "c.yaml", "--concurrency", "0"], "0 は範囲外です。1〜1024 の値を指定してください"),
    ],
    ids=["range", "integer", "float", "choice", "float-range", "int-range"],
)
def test_click_value_errors_in_japanese(cli: Any, args: list[str], words: str) -> None:
    # click's own words (the installed click: typer's copy of it), as smtpprobe prints them.
    result = cli.run(*args, "--lang", "ja")
    assert result.code == 2, result
    line = result.err.strip()
    assert words in line and "「" not in line, line
    assert english_run(line) is None, line


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("1<=x<=65535", "1〜65535 の値"),
        ("0<x<3600", "0 より大きく 3600 未満の値"),
        ("0<=x<1", "0 以上 1 未満の値"),
        ("x>=0", "0 以上の値"),
        ("x>1", "1 より大きい値"),
        ("x<5", "5 未満の値"),
    ],
)
def test_click_ranges_in_words(given: str, said: str) -> None:
    assert _range_ja(given) == said


def test_an_unknown_click_value_message_is_quoted() -> None:
    line = usage_line("Invalid value for '--x': something new.", "smtpprobe check", "ja")
    assert line.startswith(
        "smtpprobe check: エラー: --x の値が正しくありません: 「something new.」"
    )


# --------------------------------------------------------------------------- end to end


@pytest.mark.parametrize(
    ("args", "content", "words"),
    [
        (["run", "{file}"], "checks:\n  - name: a\n    host: mail.example.jp\n    porrt: 587\n",
         "チェック「a」のキー「porrt」: 不明なキーです（「port」の間違いでは？）"),
        (["run", "{file}"], "checks:\n  - name: a\n    host: mail.example.jp\n    port: x\n"
         "    no_auth: true\n", "チェック「a」のキー「port」: 1〜65535 の数を指定してください"),
        (["run", "{file}"], "checks:\n  - name: a\n    host: mail.example.jp\n    user: u\n"
         "    password: {env: SMTPPROBE_TEST_UNSET}\n",
         "キー「from」: ユーザー名がメールアドレスでないときは送信者のアドレスが必要です"),
        (["rules", "check", "{file}"], "rules:\n  - category: relay-denied\n",
         "1 番目のルール: 「id」は必須です"),
        (["check", "--profile", "{file}", "--no-auth", "--from", "a@example.jp"],
         "name: p\nhost: [a\n", "YAML の形式が正しくありません: 「,」か「]」がありません"),
        (["explain", "/nonexistent-smtpprobe/bounce.eml"], None,
         "/nonexistent-smtpprobe/bounce.eml: ファイルがありません"),
    ],
    ids=["checks-key", "checks-port", "checks-from", "rule", "yaml", "explain-file"],
)  # fmt: skip
def test_error_lines_in_japanese(
    cli: Any, tmp_path: Path, args: list[str], content: str | None, words: str
) -> None:
    file = tmp_path / "f.yaml"
    if content is not None:
        file.write_text(content, encoding="utf-8")
    result = cli.run(*(a.format(file=file) for a in args), "--lang", "ja")
    assert result.code == 2, result
    line = result.err.strip()
    assert len(line.splitlines()) == 1 and line.startswith("smtpprobe: エラー: "), line
    assert words in line, line
    assert english_run(line) is None, line


def test_an_english_message_quoting_a_japanese_value_is_translated() -> None:
    # A red-team round: any Japanese character made the message count as Japanese already,
    # so the users most likely to type Japanese values got English.
    from smtpprobe.render.errors_ja import error_ja

    said = error_ja(
        "--from 'ユーザー@例え.jp': a non-ASCII local part needs SMTPUTF8 (RFC 6531), "
        "which smtpprobe does not send; use the ASCII form of the address"
    )
    assert "SMTPUTF8（RFC 6531）が必要" in said and "needs" not in said
    own = "プロファイル「さくら」はありません"
    assert error_ja(own) == own  # a message worded in Japanese stays as it is
