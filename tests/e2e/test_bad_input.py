"""Bad input: one clear line naming what to fix, a documented exit code, no traceback."""

from __future__ import annotations

import pytest

ENV = {"SMTPPROBE_PASSWORD": "x"}


def _one_line_error(result, code: int = 2) -> str:  # type: ignore[no-untyped-def]
    assert result.code == code, result.both
    assert "Traceback" not in result.both
    lines = [line for line in result.err.strip().splitlines() if line.strip()]
    assert lines, "an error message is expected on stderr"
    return result.err


def test_unknown_profile(cli) -> None:  # type: ignore[no-untyped-def]
    err = _one_line_error(cli.run("check", "nosuch", "--user", "u@x.jp", env=ENV))
    assert "unknown profile 'nosuch'" in err and "ocn" in err and "sakura" in err


def test_malformed_profile_yaml(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nhost: [unclosed\nport: 587\n", encoding="utf-8")
    err = _one_line_error(cli.run("check", "--profile", str(bad), "--user", "u@x.jp", env=ENV))
    assert f"{bad}:" in err and "malformed YAML" in err


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("name: p\nhost: h\nport: 70000\nsecurity: starttls\n", ["'port'", "65535"]),
        ("name: p\nhost: h\nport: 587\nsecurity: tls\n", ["'security'", "implicit-tls"]),
        ("name: p\nport: 587\nsecurity: starttls\n", ["'host'"]),
        (
            "name: p\nhost: h\nport: 587\nsecurity: starttls\nauth_mechanisms: [NTLM]\n",
            ["'auth_mechanisms'", "NTLM"],
        ),
        ("name: p\nhost: h\nport: 587\nsecurity: starttls\nprot: 1\n", ["unknown key", "prot"]),
        (
            "name: p\nhost: h\nport: 587\nsecurity: starttls\nrules:\n  - id: r1\n"
            "    category: nonsense\n    retryable: false\n",
            ["rule 'r1'", "category"],
        ),
    ],
    ids=["port", "security", "no-host", "mechanism", "unknown-key", "bad-rule"],
)
def test_invalid_profile_names_file_and_key(cli, tmp_path, body, words) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.yaml"
    path.write_text(body, encoding="utf-8")
    err = _one_line_error(cli.run("check", "--profile", str(path), "--user", "u@x.jp", env=ENV))
    assert str(path) in err
    for word in words:
        assert word in err


@pytest.mark.parametrize("port", ["0", "70000", "abc"])
def test_bad_port(cli, port) -> None:  # type: ignore[no-untyped-def]
    result = cli.run("check", "--host", "127.0.0.1", "--port", port, "--user", "u@x.jp", env=ENV)
    assert result.code == 2 and "Traceback" not in result.both
    assert "--port" in result.err


def test_plaintext_auth_refused(cli) -> None:  # type: ignore[no-untyped-def]
    err = _one_line_error(
        cli.run("check", "--host", "127.0.0.1", "--security", "plain", "--user", "u@x.jp", env=ENV)
    )
    assert "--allow-plaintext-auth" in err


def test_source_address_not_on_this_machine(cli, unused_port) -> None:  # type: ignore[no-untyped-def]
    # 192.0.2.1 (TEST-NET-1) is not configured here: the bind fails locally, nothing is sent.
    err = _one_line_error(
        cli.run(
            "check",
            "--host",
            "127.0.0.1",
            "--port",
            str(unused_port),
            "--user",
            "u@x.jp",
            "--source-address",
            "192.0.2.1",
            env=ENV,
        )
    )
    assert "--source-address 192.0.2.1" in err


def test_missing_ca_file(cli) -> None:  # type: ignore[no-untyped-def]
    err = _one_line_error(
        cli.run(
            "check",
            "--host",
            "127.0.0.1",
            "--user",
            "u@x.jp",
            "--ca-file",
            "/nonexistent.pem",
            env=ENV,
        )
    )
    assert "--ca-file" in err


def test_sakura_needs_host(cli) -> None:  # type: ignore[no-untyped-def]
    err = _one_line_error(cli.run("check", "sakura", "--user", "u@x.jp", env=ENV))
    assert "--host" in err and "sakura.ne.jp" in err


def test_user_profile_dir_overrides(cli, tmp_path, smtp_double) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "mine.yaml").write_text(
        "name: mine\nhost: 127.0.0.1\nport: 587\nsecurity: starttls\n", encoding="utf-8"
    )
    listing = cli.run("profiles", env={"SMTPPROBE_CONFIG_DIR": str(tmp_path)})
    assert listing.code == 0 and "mine" in listing.out


def test_profiles_list_and_show(cli) -> None:  # type: ignore[no-untyped-def]
    listing = cli.run("profiles")
    assert listing.code == 0
    for name in (
        "ocn",
        "sakura",
        "gmail",
        "microsoft365",
        "outlook",
        "yahoo-jp",
        "xserver",
        "biglobe",
        "nifty",
        "so-net",
        "icloud",
    ):
        assert name in listing.out
    shown = cli.run("profiles", "show", "ocn")
    assert shown.code == 0 and "smtp.ocn.ne.jp" in shown.out and "465" in shown.out
    missing = cli.run("profiles", "show", "nosuch")
    assert missing.code == 2 and "unknown profile" in missing.err


def test_double_unknown_scenario(cli) -> None:  # type: ignore[no-untyped-def]
    err = _one_line_error(cli.run("double", "--scenario", "nosuch"))
    assert "unknown scenario" in err and "geo-filter-sakura" in err
