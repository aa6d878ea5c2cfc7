"""Every scenario of the double, probed by the CLI (in process) over loopback with real TLS.

Each row: scenario, the double's security mode, extra CLI arguments, and the
expected verdict category, stage and exit code. A scenario that never answers is
probed with a short phase timeout: the wait is the point, not its length.
"""

from __future__ import annotations

import pytest

from smtpprobe.testing import load_scenarios

CASES = [
    # scenario, served as, extra args, category, stage, exit
    ("ok", "starttls", [], "ok", None, 0),
    ("ok", "implicit-tls", [], "ok", None, 0),
    ("auth-failed", "starttls", [], "auth-failed", "auth", 1),
    ("auth-failed", "implicit-tls", [], "auth-failed", "auth", 1),
    ("relay-denied-ocn", "implicit-tls", ["ocn"], "relay-denied", "rcpt", 1),
    ("relay-denied-ocn", "starttls", [], "relay-denied", "rcpt", 1),
    ("geo-filter-sakura", "starttls", ["sakura", "--source-address", "127.0.0.1"], "ok", None, 0),
    (
        "geo-filter-sakura",
        "starttls",
        ["sakura", "--source-address", "127.0.0.2"],
        "client-ip-rejected",
        "mail",
        1,
    ),
    (
        "geo-filter-sakura",
        "implicit-tls",
        ["--source-address", "127.0.0.2"],
        "client-ip-rejected",
        "mail",
        1,
    ),
    ("tls-required", "plain", ["--allow-plaintext-auth"], "tls-required", "auth", 1),
    ("tls-required", "plain", ["--no-auth"], "tls-required", "mail", 1),
    ("tls-required", "starttls", [], "ok", None, 0),
    ("sender-mismatch", "starttls", ["--from", "boss@example.jp"], "sender-rejected", "mail", 1),
    (
        "sender-mismatch",
        "implicit-tls",
        ["--from", "boss@example.jp"],
        "sender-rejected",
        "mail",
        1,
    ),
    ("sender-mismatch", "starttls", [], "ok", None, 0),
    ("no-auth-offered", "starttls", [], "auth-unavailable", "auth", 1),
    ("no-auth-offered", "implicit-tls", [], "auth-unavailable", "auth", 1),
    ("greeting-421", "starttls", [], "server-busy", "greeting", 1),
    ("greeting-421", "implicit-tls", [], "server-busy", "greeting", 1),
    ("hang-after-connect", "starttls", [], "timeout", "greeting", 3),
    ("hang-after-connect", "implicit-tls", [], "timeout", "greeting", 3),
    ("drop-after-ehlo", "starttls", [], "connection-lost", "starttls", 3),
    ("drop-after-ehlo", "implicit-tls", [], "connection-lost", "auth", 3),
    ("garbage-reply", "starttls", [], "protocol-error", "ehlo", 3),
    ("garbage-reply", "implicit-tls", [], "protocol-error", "ehlo", 3),
    ("sjis-reply", "starttls", [], "recipient-unknown", "rcpt", 1),
    ("tls-cert-expired", "implicit-tls", [], "tls-certificate-invalid", "tls", 3),
    ("tls-cert-expired", "starttls", [], "tls-certificate-invalid", "tls", 3),
    ("open-relay", "starttls", ["--no-auth"], "ok", None, 0),
    ("ok", "starttls", ["--no-auth"], "relay-denied", "rcpt", 1),
    ("mailbox-full", "starttls", [], "mailbox-full", "rcpt", 1),
]


# hang-after-connect never greets: the probe waits out the greeting, then the second look at
# the port. Short phase timeouts: the wait is the point, not its length. Over STARTTLS only
# the connection must open in time; over implicit TLS the handshake too.
HANG_PHASE_TIMEOUT = {"starttls": "0.3", "implicit-tls": "0.5"}


def _id(case: tuple[object, ...]) -> str:
    scenario, served, extra = case[0], case[1], case[2]
    suffix = "-".join(str(a).lstrip("-") for a in extra if not str(a).startswith("127"))
    source = next((a for a in extra if str(a).startswith("127.")), "")  # type: ignore[union-attr]
    return "-".join(p for p in (str(scenario), str(served), suffix, str(source)) if p)


@pytest.mark.parametrize(
    ("scenario", "served", "extra", "category", "stage", "exit_code"),
    CASES,
    ids=[_id(c) for c in CASES],
)
def test_scenario_verdict(
    smtp_double,
    cli,
    scenario,
    served,
    extra,
    category,
    stage,
    exit_code,  # type: ignore[no-untyped-def]
) -> None:
    server = smtp_double(scenario, security=served)
    # A profile name is the positional argument of check; it goes after the options.
    phase_timeout = HANG_PHASE_TIMEOUT[served] if scenario == "hang-after-connect" else "2"
    result = cli.probe(server, *extra, phase_timeout=phase_timeout)
    assert result.code == exit_code, result.both
    assert "Traceback" not in result.both
    report = result.json()
    verdict = report["verdict"]
    assert (verdict["category"], verdict["stage"], report["exit_code"]) == (
        category,
        stage,
        exit_code,
    ), result.out
    for lang in ("en", "ja"):
        assert verdict["cause"][lang] and verdict["remedy"][lang]


def test_every_scenario_is_covered() -> None:
    assert {c[0] for c in CASES} >= set(load_scenarios())


@pytest.mark.parametrize(
    ("served", "probe_as", "stage"),
    [("starttls", "implicit-tls", "tls"), ("implicit-tls", "starttls", "greeting")],
    ids=["ssl-on-starttls-port", "starttls-on-ssl-port"],
)
def test_wrong_security_mode(smtp_double, cli, served, probe_as, stage) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double("ok", security=served)
    # starttls-on-ssl-port waits for a greeting the TLS port never sends in clear; the second
    # look at the port must then complete a TLS handshake in time.
    result = cli.probe(server, security=probe_as, phase_timeout=HANG_PHASE_TIMEOUT["implicit-tls"])
    assert result.code == 3, result.both
    verdict = result.json()["verdict"]
    assert (verdict["category"], verdict["stage"]) == ("wrong-security-mode", stage)
    checks = [s for s in result.json()["steps"] if s["phase"] == "security-check"]
    assert checks and checks[0]["note"].startswith("port-speaks:")


def test_untrusted_certificate_without_ca_file(smtp_double, cli) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double("ok", security="implicit-tls")
    result = cli.run(
        "check",
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--security",
        "implicit-tls",
        "--user",
        "user@example.jp",
        "--json",
        "--phase-timeout",
        "2",
        env={"SMTPPROBE_PASSWORD": "x"},
    )
    assert result.code == 3
    report = result.json()
    assert report["verdict"]["category"] == "tls-certificate-invalid"
    assert report["tls"]["verified"] is False and report["tls"]["certificate"]["subject"]


def test_insecure_goes_on_but_still_names_the_certificate(smtp_double, cli) -> None:  # type: ignore[no-untyped-def]
    # Issue 7, item 4: the double's CA is not trusted here, so the certificate is
    # invalid; --insecure lets the dialogue go on, but the verdict names the certificate
    # (exit 1), Gmail's settings are not offered and readiness is false.
    server = smtp_double("ok", security="implicit-tls")
    result = cli.run(
        "check",
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--security",
        "implicit-tls",
        "--user",
        "user@example.jp",
        "--json",
        "--insecure",
        "--for",
        "gmail",
        env={"SMTPPROBE_PASSWORD": "correct-horse-battery-staple"},
    )
    assert result.code == 1, result.both
    document = result.json()
    assert document["verdict"]["category"] == "tls-certificate-invalid"
    assert document["verdict"]["stage"] == "tls"
    assert [f["id"] for f in document["verdict"]["findings"]] == ["insecure-continued"]
    assert document["tls"]["verified"] is False
    assert "local issuer" in document["tls"]["verify_error"]
    assert document["tls"]["certificate"]["san"]  # the names the certificate carries
    assert document["gmail_settings"] is None
    assert document["gmail_readiness"]["ready"] is False
    # The later stages were really tested, over a second connection.
    rcpt = [s for s in document["steps"] if s["phase"] == "rcpt"]
    assert rcpt and rcpt[-1]["reply"]["code"] == 250


def test_connect_refused(cli, unused_port) -> None:  # type: ignore[no-untyped-def]
    result = cli.run(
        "check",
        "--host",
        "127.0.0.1",
        "--port",
        str(unused_port),
        "--user",
        "u@example.jp",
        "--json",
        env={"SMTPPROBE_PASSWORD": "x"},
    )
    assert result.code == 3
    verdict = result.json()["verdict"]
    assert (verdict["category"], verdict["stage"]) == ("connect-refused", "connect")


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("smtp..example", "empty labels"),
        ("a" * 64 + ".example", "63 characters"),
        ("smtp.example.jp\nX", "control characters"),
        ("smtp example.jp", "control characters"),
        ("[smtp.example.jp]", "brackets hold an IP address"),
        ("::1:25:x", "not a host name"),
    ],
    ids=["empty-label", "long-label", "newline", "space", "brackets-name", "junk"],
)
def test_host_syntax_errors_are_usage_errors(cli, host, words) -> None:  # type: ignore[no-untyped-def]
    # Issue 7, item 8: these never reach a resolver; they are the user's typo (exit 2).
    result = cli.run(
        "check", "--host", host, "--user", "u@example.jp", env={"SMTPPROBE_PASSWORD": "x"}
    )
    assert result.code == 2, result.both
    assert words in result.err and "--host" in result.err
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err


def test_data_is_never_sent_without_send(smtp_double, cli) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double("ok")
    assert cli.probe(server).code == 0
    commands = [c.split()[0].upper() for c in server.received if c.strip()]
    assert "DATA" not in commands
    assert commands[-2:] == ["RSET", "QUIT"]


def test_send_delivers_one_message_to_to_only(smtp_double, cli) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double("ok")
    result = cli.probe(server, "--send", "--to", "friend@example.jp")
    assert result.code == 0, result.both
    commands = [c.upper() for c in server.received]
    assert "DATA" in commands
    assert [c for c in commands if c.startswith("RCPT")] == ["RCPT TO:<FRIEND@EXAMPLE.JP>"]


def test_send_requires_to(smtp_double, cli) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double("ok")
    result = cli.probe(server, "--send")
    assert result.code == 2 and "--to" in result.err


def test_default_recipient_is_outside_sender_domain(smtp_double, cli) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double("ok")
    report = cli.probe(server).json()
    assert report["envelope"]["recipient"] == "postmaster@gmail.com"
    assert report["gmail_settings"] == {
        "smtp_server": server.host,
        "port": server.port,
        "username": "user@example.jp",
        "security": "tls",
        "label": {
            "en": "Secured connection using TLS",
            "ja": "TLS を使用したセキュリティで保護された接続",
        },
    }


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_each_auth_mechanism(smtp_double, cli, tmp_path, mechanism) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double("ok")
    profile = tmp_path / "custom.yaml"
    profile.write_text(
        "name: custom\nhost: 127.0.0.1\nport: 587\nsecurity: starttls\n"
        f"auth_mechanisms: [{mechanism}]\nsources: [https://example.com/]\n",
        encoding="utf-8",
    )
    result = cli.probe(server, "--profile", str(profile))
    assert result.code == 0, result.both
    assert result.json()["auth"]["mechanism"] == mechanism


def test_xoauth2_token(smtp_double, cli) -> None:  # type: ignore[no-untyped-def]
    from smtpprobe.testing import DEFAULT_TOKEN

    server = smtp_double("ok")
    result = cli.probe(
        server, "--oauth-token-env", "TOKEN", password="", env={"TOKEN": DEFAULT_TOKEN}
    )
    assert result.code == 0, result.both
    assert result.json()["auth"]["mechanism"] == "XOAUTH2"
    bad = cli.probe(server, "--oauth-token-env", "TOKEN", password="", env={"TOKEN": "wrong"})
    assert bad.json()["verdict"]["category"] == "auth-failed"


def test_sjis_reply_is_decoded(smtp_double, cli) -> None:  # type: ignore[no-untyped-def]
    server = smtp_double("sjis-reply")
    report = cli.probe(server).json()
    rcpt = next(s for s in report["steps"] if s["phase"] == "rcpt")
    assert "宛先のユーザーは存在しません" in rcpt["reply"]["lines"][0]


def test_a_failed_certificate_says_its_names_were_read_again(smtp_double, cli) -> None:  # type: ignore[no-untyped-def]
    # Python gives no certificate after a failed verification: the names come from a second
    # connection, and a server with several certificates may show another one there.
    server = smtp_double("ok", security="implicit-tls")
    argv = ["check", "--host", server.host, "--port", str(server.port), "--security",
            "implicit-tls", "--user", "user@example.jp", "--phase-timeout", "2"]  # fmt: skip
    result = cli.run(*argv, env={"SMTPPROBE_PASSWORD": "x"})
    assert result.code == 3
    assert "read over a second connection" in result.out
    japanese = cli.run(*argv, "--lang", "ja", env={"SMTPPROBE_PASSWORD": "x"})
    assert "2 回目の接続で読み取った" in japanese.out
