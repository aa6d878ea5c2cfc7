"""``--lang ja`` is Japanese throughout (issue 9, item 7).

Every text output — the demo, ``check`` against the double (success, refusals,
a timeout with its security check, an expired certificate, a broken reply, a
relay check, a geo-IP filter with Gmail readiness), ``compare``, ``explain`` and
``profiles`` — is searched for English sentences outside what stays as it is:
quoted server replies and commands (``S:``/``C:`` lines), shell commands (``$``),
quotations (「…」, "…"), option names, host names, addresses and ids. The
heuristic: no run of three or more lowercase English words.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from typer.testing import CliRunner

from smtpprobe.cli import app
from smtpprobe.render.labels import CATEGORY_JA, category_label, note, stage_label
from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER

ENV = {
    "SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config",
    "SMTPPROBE_PASSWORD": DEFAULT_PASSWORD,
    "NO_COLOR": "1",
}
_QUOTED = re.compile(r"「[^」]*」|\"[^\"]*\"|`[^`]*`|'[^'\s][^']*'")
# Tokens that are names, not words: options, ids, hosts, addresses, paths, key=value.
_NAMES = re.compile(r"\S*[-./@:_=<>\[\]#$*]\S*")
_ENGLISH = re.compile(r"\b[a-z]+(?:\s+[a-z]+){2,}\b")


def english_sentences(output: str) -> list[str]:
    """Runs of 3+ lowercase English words outside replies, commands, quotes and names."""
    found = []
    for line in output.splitlines():
        if line.strip().startswith(("S:", "C:", "$ ")):
            continue
        text = _NAMES.sub(" ", _QUOTED.sub(" ", line))
        found += [f"{m.group()!r} in {line.strip()!r}" for m in _ENGLISH.finditer(text)]
    return found


def _run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, [*args, "--lang", "ja"], env={**ENV, **(env or {})})


def _check(server: Any, *extra: str, env: dict[str, str] | None = None) -> Any:
    return _run(
        "check", "--host", server.host, "--port", str(server.port), "--security", server.security,
        "--ca-file", str(server.ca_file), "--user", DEFAULT_USER, "--phase-timeout", "1",
        "--timeout", "10", *extra, env={"SMTPPROBE_EGRESS_RESOLVERS": "127.0.0.1:9", **(env or {})},
    )  # fmt: skip


def test_the_heuristic_finds_english_and_spares_what_stays() -> None:
    assert english_sentences("  原因: the server closed the connection")
    assert not english_sentences("  S: 550 5.7.1 Relay access denied for this host")
    assert not english_sentences("判定: 中継の拒否（relay-denied）、段階 rcpt")
    assert not english_sentences("  ! tls  tls-certificate-invalid: 「certificate has expired」")
    assert not english_sentences("    $ smtpprobe compare sakura --host www1.sakura.ne.jp")


def test_demo_in_japanese(demo_once: Any) -> None:
    result = _run("demo")  # renders the session's one real demo run (tests/conftest.py)
    assert result.exit_code == 0, result.output
    assert "デモ" in result.stdout and "中継の拒否" in result.stdout
    assert english_sentences(result.stdout) == []


@pytest.mark.parametrize(
    ("scenario", "security", "extra", "code"),
    [
        ("ok", "starttls", [], 0),
        ("auth-failed", "starttls", [], 1),
        ("relay-denied-ocn", "implicit-tls", ["--no-egress-lookup"], 1),
        ("geo-filter-sakura", "starttls", ["--no-egress-lookup"], 0),
        ("hang-after-connect", "starttls", ["--phase-timeout", "0.3"], 3),  # waits twice
        ("tls-cert-expired", "implicit-tls", [], 3),
        ("garbage-reply", "starttls", [], 3),
        ("drop-after-ehlo", "starttls", [], 3),
        ("no-auth-offered", "starttls", [], 1),
        ("greeting-421", "starttls", [], 1),
        # Wrong security mode: waits for a greeting the TLS port never sends in clear, then
        # the second look at the port must complete a TLS handshake in time.
        ("ok", "implicit-tls", ["--security", "starttls", "--phase-timeout", "0.5"], 3),
        ("ok", "starttls", ["--no-auth", "--from", "probe@example.jp"], 1),  # relay check
        ("open-relay", "starttls", ["--no-auth", "--expect", "relay-denied"], 1),
        ("tls-cert-expired", "starttls", ["--insecure"], 1),
    ],
    ids=[
        "ok", "auth-failed", "relay-denied", "geo-filter", "hang", "cert-expired", "garbage",
        "dropped", "no-auth-offered", "greeting-421", "wrong-mode", "relay-check", "open-relay",
        "insecure",
    ],
)  # fmt: skip
def test_check_in_japanese(
    smtp_double: Any, scenario: str, security: str, extra: list[str], code: int
) -> None:
    server = smtp_double(scenario, security=security)
    if scenario == "geo-filter-sakura":
        extra = ["sakura", *extra]  # the profile: Gmail readiness is shown too
    result = _check(server, *extra)
    assert result.exit_code == code, result.output
    assert "判定: " in result.stdout
    assert english_sentences(result.stdout + result.stderr) == []


def test_json_carries_every_note_in_japanese_too(smtp_double: Any) -> None:
    # A red-team finding: with --json the cause and remedy came in both languages, the
    # notes (where the probe came from, each step's) in English only.
    import json

    server = smtp_double("ok", security="starttls")
    result = _check(server, "--json", "--no-egress-lookup")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    origin = document["origin"]
    assert len(origin["notes_ja"]) == len(origin["notes"]) > 0
    notes = [s["note_ja"] for s in document["steps"] if s["note"]]
    assert notes and len(notes) == sum(1 for s in document["steps"] if s["note"])
    assert english_sentences("\n".join(origin["notes_ja"] + notes)) == []
    assert "pipelined" not in notes


def test_compare_in_japanese(smtp_double: Any) -> None:
    server = smtp_double("geo-filter-sakura", security="starttls")
    result = _run(
        "compare", "sakura", "--host", server.host, "--port", str(server.port),
        "--ca-file", str(server.ca_file), "--user", DEFAULT_USER, "--no-egress-lookup",
        "--route", "direct", "--route", "source:127.0.0.2",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "経路" in result.stdout and "接続元 IP の拒否" in result.stdout
    assert english_sentences(result.stdout) == []
    from smtpprobe.render.columns import width

    # The table names stage and verdict in Japanese alone, to fit 80 columns (it was 97).
    table = result.stdout.split("\n\n")[0].splitlines()
    assert max(width(line) for line in table) <= 80 and "送信者の指定" in table[3], table


@pytest.mark.parametrize(
    "paste",
    [
        "550 5.7.1 <you@example.jp>... Command rejected",
        "553 5.7.1 <postmaster@gmail.com>: Client host rejected: Relay access denied (E041)",
        "421 4.7.0 Try again later, closing connection.",
    ],
    ids=["sakura", "ocn", "temporary"],
)
def test_explain_in_japanese(paste: str) -> None:
    result = _run("explain", paste)
    assert result.exit_code == 0, result.output
    assert "分類: " in result.stdout
    assert english_sentences(result.stdout) == []


def test_explain_without_a_reply_in_japanese() -> None:
    result = _run("explain", "hello there, nothing to see")
    assert result.exit_code == 1
    assert "見つかりませんでした" in result.stderr and english_sentences(result.stderr) == []


@pytest.mark.parametrize(
    "args",
    [["profiles"], ["profiles", "show", "sakura"], ["profiles", "show", "ocn"]],
    ids=["list", "sakura", "ocn"],
)
def test_profiles_in_japanese(args: list[str]) -> None:
    from smtpprobe.loading import load_profiles

    result = _run(*args)
    assert result.exit_code == 0, result.output
    shown = result.stdout
    for profile in load_profiles():  # a title is a name ("au one net"), not a sentence
        shown = shown.replace(profile.title, "")
    assert english_sentences(shown) == []
    if args[-1] == "sakura":
        for label in ("サーバー", "ポート", "ユーザー名", "パスワード", "国外制限", "出典"):
            assert label in result.stdout


def test_a_warning_in_japanese(tmp_path: Any) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    result = _run("profiles", env={"SMTPPROBE_CONFIG_DIR": str(tmp_path)})
    assert result.exit_code == 0
    assert "警告" in result.stderr and english_sentences(result.stderr) == []


def test_stages_are_named_in_japanese() -> None:
    assert stage_label("rcpt", "ja") == "宛先の指定（rcpt）"
    assert stage_label("ehlo", "ja") == "EHLO"
    assert stage_label("rcpt", "en") == "rcpt"
    result = _run("explain", "Connection timed out connecting to smtp.example.jp port 587")
    assert "失敗した段階: 接続（connect）" in result.stdout, result.stdout


def test_every_category_has_a_japanese_name() -> None:
    from smtpprobe.core.rules import CATEGORIES

    assert set(CATEGORIES) <= set(CATEGORY_JA)
    assert category_label("relay-denied", "ja") == "中継の拒否（relay-denied）"
    assert category_label("relay-denied", "en") == "relay-denied"


@pytest.mark.parametrize(
    ("english", "japanese"),
    [
        ("no reply within 2 s", "2 秒以内に応答がありません"),
        ("127.0.0.1 port 587 from 127.0.0.1", "127.0.0.1 のポート 587（接続元 127.0.0.1）"),
        (
            "egress lookup off (--no-egress-lookup)",
            "接続元の調査はしていません（--no-egress-lookup）",
        ),
        (
            "connection lost (Connection reset by peer)",
            "接続が切れました（相手側から接続がリセットされました）",
        ),
        ("Connection refused", "接続が拒否されました"),  # the OS's words (os.strerror)
        ("certificate has expired", "証明書の有効期限が切れています"),  # OpenSSL's words
        (
            "Hostname mismatch, certificate is not valid for 'smtp.example.jp'.",
            "証明書は smtp.example.jp のホスト名に対して有効ではありません",
        ),
        ("tlsv1 alert unknown ca", "「tlsv1 alert unknown ca」"),  # not in the table: quoted
        ("127.0.0.1 ::1", "127.0.0.1 ::1"),  # nothing to translate
    ],
)
def test_notes_in_japanese(english: str, japanese: str) -> None:
    assert note(english, "ja") == japanese
    assert note(english, "en") == english


def test_the_password_prompt_in_japanese(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass
    import sys

    from smtpprobe.passwords import lookup_password

    prompts: list[str] = []
    monkeypatch.delenv("SMTPPROBE_PASSWORD", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(
        getpass, "getpass", lambda prompt, stream=None: prompts.append(prompt) or "pw"
    )
    assert lookup_password(None, False, None, "you@example.jp", "ja") == "pw"
    assert lookup_password(None, False, None, "you@example.jp", "en") == "pw"
    assert prompts == ["you@example.jp のパスワード: ", "Password for you@example.jp: "]


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--host", "a b", "--user", "u@example.jp"],
        ["check", "nosuchprofile", "--user", "u@example.jp"],
        ["check"],
        ["check", "--host", "127.0.0.1", "--security", "plain", "--user", "u@example.jp"],
        ["check", "--host", "256.1.1.1", "--no-auth", "--from", "a@example.jp"],
        ["explain", ""],
        ["history", "--history", "/nonexistent-smtpprobe/history.db"],
        ["history", "--history", "/dev/null"],  # SQLite's "disk I/O error"
        ["dns", "192.0.2.1", "--ip", "127.0.0.1"],
    ],
    ids=["host-space", "profile", "no-server", "plaintext-auth", "bad-ip", "empty", "history",
         "history-dev-null", "dns-ip-as-domain"],
)  # fmt: skip
def test_error_lines_in_japanese(args: list[str]) -> None:
    # One line on stderr, exit 2, and in Japanese: not an English sentence in a Japanese frame.
    result = CliRunner().invoke(app, [*args, "--lang", "ja"], env=ENV)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("smtpprobe: エラー: "), result.stderr
    assert english_sentences(lines[0]) == [], lines[0]
    assert "「" not in lines[0].split("エラー: ", 1)[1][:1]  # not the untranslated fallback


def test_an_error_without_a_translation_is_quoted_not_bare_english() -> None:
    from smtpprobe.render.errors_ja import error_ja

    assert error_ja("some message no table knows") == "「some message no table knows」"
    assert error_ja("interrupted") == "中断しました"


@pytest.mark.parametrize(
    "args",
    [
        ["dns", "example.jp", "--ip", "127.0.0.1"],
        ["spf", "--ip", "127.0.0.1", "--sender", "a@example.jp"],
    ],
    ids=["dns", "spf"],
)
def test_dns_failures_in_japanese(args: list[str]) -> None:
    # A resolver that never answers (nothing listens on 127.0.0.1:1): the temporary
    # failure's reasons, the DMARC note, the cause and the SPF chain are all Japanese.
    extra = ["--nameserver", "127.0.0.1:1", "--dns-timeout", "0.5", "--lang", "ja"]
    result = CliRunner().invoke(app, [*args, *extra], env=ENV)
    assert result.exit_code == 3, result.output
    assert english_sentences(result.stdout) == [], result.stdout
    assert "応答がありません" in result.stdout


def test_run_table_in_japanese(tmp_path: Any) -> None:
    # A refused connection and a check that cannot run: the failure and the error are in
    # Japanese in the table (the system's own words quoted), not "connect-refused: …".
    checks = tmp_path / "checks.yaml"
    checks.write_text(
        "checks:\n"
        "  - {name: down, host: 127.0.0.1, port: 1, no_auth: true, from: a@example.jp,"
        " egress_lookup: false}\n"
        "  - {name: nopw, host: 127.0.0.1, port: 1, user: u@example.jp,"
        " password: {env: SMTPPROBE_TEST_UNSET_PW}, egress_lookup: false}\n",
        encoding="utf-8",
    )
    args = ["run", "--no-history", str(checks), "--lang", "ja"]
    result = CliRunner().invoke(app, args, env={**ENV, "SMTPPROBE_TEST_UNSET_PW": None})
    assert result.exit_code == 2, result.output
    assert english_sentences(result.stdout) == [], result.stdout
    assert "接続の拒否（connect-refused）" in result.stdout
    from smtpprobe.render.columns import width

    # The reply column made this table 160 columns wide; now the reply or error is under
    # its row, wrapped, and nothing is lost.
    wide = [line for line in result.stdout.splitlines() if width(line) > 80]
    assert all(len(line.split()) == 1 for line in wide), result.stdout  # a long path alone
    assert "SMTPPROBE_TEST_UNSET_PW" in result.stdout


def test_double_in_japanese() -> None:
    # Every scenario has its summary in Japanese; the lines the double prints are Japanese.
    from smtpprobe.testing import load_scenarios

    assert all(s.summary_ja for s in load_scenarios().values())
    result = CliRunner().invoke(app, ["double", "--list", "--lang", "ja"], env=ENV)
    assert result.exit_code == 0 and english_sentences(result.stdout) == [], result.stdout
    args = ["double", "--scenario", "ok", "--duration", "0", "--lang", "ja"]
    result = CliRunner().invoke(app, args, env=ENV)
    assert result.exit_code == 0, result.output
    assert english_sentences(result.stdout) == [], result.stdout
    assert "待ち受け" in result.stdout and "テスト用サーバー専用" in result.stdout


def test_profile_titles_in_japanese() -> None:
    # "Sakura Internet rental server" was English in Japanese output: titles with words have
    # a Japanese title; the list and `profiles show` use it.
    result = CliRunner().invoke(app, ["profiles", "--lang", "ja"], env=ENV)
    assert result.exit_code == 0
    assert "rental server" not in result.stdout and "SMTP relay" not in result.stdout
    assert "さくらのレンタルサーバ" in result.stdout
    shown = CliRunner().invoke(app, ["profiles", "show", "kagoya", "--lang", "ja"], env=ENV)
    assert shown.stdout.startswith("kagoya: KAGOYA レンタルサーバー")


def test_the_verdict_names_its_stage_in_japanese(unused_port: int) -> None:
    # "段階 connect" read as an English id in a Japanese sentence; the OS's "Connection
    # refused" was quoted English in the transcript and in the cause.
    args = ["check", "--host", "127.0.0.1", "--port", str(unused_port), "--security",
            "implicit-tls", "--user", DEFAULT_USER, "--no-egress-lookup"]  # fmt: skip
    result = _run(*args)
    assert result.exit_code == 3, result.output
    assert "段階 接続（connect）" in result.stdout, result.stdout
    assert "Connection refused" not in result.stdout, result.stdout
    assert "接続が拒否されました" in result.stdout, result.stdout


def test_rules_check_in_japanese(tmp_path: Any) -> None:
    rules = tmp_path / "mine.yaml"
    rules.write_text(
        "rules:\n"
        "  - id: mine\n"
        "    category: relay-denied\n"
        "    retryable: false\n"
        "    match: {text: 'relay access denied'}\n"
        "    cause: {en: Relaying refused., ja: 中継を断られました。}\n"
        "    remedy: {en: Log in first., ja: 先に認証してください。}\n"
        "    examples: [{phase: rcpt, reply: '550 5.7.1 Mailbox unavailable'}]\n",
        encoding="utf-8",
    )
    result = _run("rules", "check", str(rules))
    assert result.exit_code == 1, result.output
    assert english_sentences(result.stdout) == [], result.stdout
    assert "ルール「mine」が自分の例" in result.stdout
    assert result.stdout.rstrip().endswith("ルール 1 件、例 1 件、問題 1 件"), result.stdout


def test_serve_errors_in_japanese(tmp_path: Any) -> None:
    result = _run("serve", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert line.startswith("smtpprobe: エラー: ") and "--lang" not in line, line


def test_dmarc_and_dkim_notes_are_said_in_japanese() -> None:
    # A red-team round: `dns --lang ja` printed these notes in English.
    from smtpprobe.core.dkim import parse_dkim
    from smtpprobe.core.dmarc import parse_dmarc
    from smtpprobe.render.dnsauth import note_text

    record = parse_dmarc(
        "v=DMARC1; p=bogus; sp=bogus; pct=50; rf=afrf; ri=3600; foo=bar; p=none; adkim=x; "
        "fo=9; rua=notauri, https://x.example/r, mailto:a@b.jp!10m; junk"
    )
    key = parse_dkim("v=DKIM1; t=y:q; zz=1; p=", selector="s1", domain="example.jp")
    notes = [*record.warnings, *key.warnings]
    assert len(notes) >= 15
    for text in notes:
        said = note_text(text, "ja")
        assert "「" not in said, (text, said)  # none fell back to a quotation
        assert not re.search(r"\b(?:the|is|not|receivers|ignored|applies)\b", said), said
