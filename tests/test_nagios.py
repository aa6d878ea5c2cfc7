"""Nagios / Icinga plugin output (issue 10, item 4): ``smtpprobe check --format nagios``.

Reports come from real probes of the double on loopback; the thresholds' own tests
move a real report's step times and certificate date to exact values. Every output is
held against the Monitoring Plugins guidelines' grammar
(https://www.monitoring-plugins.org/doc/guidelines.html): the status line, the
perfdata ``'label'=value[UOM];[warn];[crit];[min];[max]`` with the guidelines' UOMs,
threshold ranges, and return codes 0/1/2/3.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
import re
from typing import Any

import pytest

from smtpprobe.api import CheckOptions, Report, probe
from smtpprobe.core.reply import Reply
from smtpprobe.core.transcript import Phase
from smtpprobe.render.nagios import (
    Range,
    State,
    ThresholdError,
    Thresholds,
    nagios,
    parse_range,
    parse_thresholds,
)
from smtpprobe.testing import DEFAULT_PASSWORD, DEFAULT_USER

SECRET = "Nagios-Zq9!-distinctive-7731"  # a password that no output may show

# ------------------------------------------------------------------ the guidelines' grammar

_NUM = r"-?(?:\d+(?:\.\d+)?|\.\d+)"
_RANGE = rf"@?(?:(?:~|{_NUM})?:)?(?:{_NUM})?"
_LABEL = r"(?:'(?:[^'=]|'')+'|[^'= ]+)"
_UOM = r"(?:s|ms|us|%|B|KB|MB|TB|c)?"
PERF = re.compile(
    rf"(?P<label>{_LABEL})=(?P<value>{_NUM})(?P<uom>{_UOM})"
    rf"(?:;(?P<warn>{_RANGE})(?:;(?P<crit>{_RANGE})(?:;(?P<min>{_NUM})?(?:;(?P<max>{_NUM})?)?)?)?)?"
)
STATUS = re.compile(
    r"SMTP (?P<state>OK|WARNING|CRITICAL|UNKNOWN) - (?P<text>[^|]+?)(?: \| (?P<perf>.+))?"
)


def check_plugin_output(output: str, code: int) -> dict[str, re.Match[str]]:
    """Assert ``output`` follows the guidelines; return its perfdata by label."""
    first, *rest = output.split("\n")
    status = STATUS.fullmatch(first)
    assert status, first
    assert State[status["state"]] == code, (status["state"], code)
    assert code in (0, 1, 2, 3)
    assert first.isascii(), first  # English only: monitoring systems parse it
    perf: dict[str, re.Match[str]] = {}
    for item in (status["perf"] or "").split(" ") if status["perf"] else []:
        match = PERF.fullmatch(item)
        assert match, f"not perfdata: {item!r} in {first}"
        assert match["label"] not in perf, f"label twice: {match['label']}"
        assert "e" not in match["value"].lower()
        perf[match["label"]] = match
    for line in rest:  # the long text: never a second perfdata part, never blank noise
        assert "|" not in line and line.strip(), line
    return perf


# ------------------------------------------------------------------ probes of the double


def _probe(server: Any, password: str = DEFAULT_PASSWORD, **kw: Any) -> Report:
    options = CheckOptions(
        host=server.host, port=server.port, security=kw.pop("security", str(server.security)),
        user=kw.pop("user", DEFAULT_USER), password=password, ca_file=server.ca_file,
        egress_lookup=False, phase_timeout=kw.pop("phase_timeout", 2.0), timeout=10.0, **kw,
    )  # fmt: skip
    return asyncio.run(probe(options))


def _render(report: Report, **kw: Any) -> tuple[str, int]:
    output, code = nagios(report, **kw)
    check_plugin_output(output, code)
    return output, code


@pytest.mark.parametrize("security", ["starttls", "implicit-tls"])
def test_ok_with_phase_times_total_and_certificate_days(smtp_double: Any, security: str) -> None:
    report = _probe(smtp_double("ok", security=security))
    output, code = _render(report)
    assert code == 0 and output.startswith("SMTP OK - ok at rcpt: 250 2.1.5 ")
    perf = check_plugin_output(output, code)
    assert {"time", "connect", "tls", "ehlo", "auth", "mail", "rcpt", "cert_days"} <= set(perf)
    for label in ("time", "connect", "tls", "rcpt"):
        assert perf[label]["uom"] == "s" and perf[label]["min"] == "0"
    assert perf["cert_days"]["uom"] == ""  # the guidelines have no unit for days
    # the double's certificate runs to 3000-01-01: whole days from the probe's start
    started = dt.datetime.fromisoformat(report.started_at)
    expected = math.floor(
        (dt.datetime(3000, 1, 1, tzinfo=dt.UTC) - started).total_seconds() / 86400
    )
    assert perf["cert_days"]["value"] == str(expected)
    total = float(perf["time"]["value"])
    phases = sum(
        float(m["value"]) for label, m in perf.items() if label not in ("time", "cert_days")
    )
    assert total == pytest.approx(phases, abs=1e-5)
    assert total < 10  # a generous upper bound, nothing more
    assert "\ncause: " in output and "\nremedy: " in output


def test_auth_failed_535_is_critical_and_shows_no_password(smtp_double: Any) -> None:
    report = _probe(smtp_double("auth-failed", security="starttls"), password=SECRET)
    output, code = _render(report)
    assert code == int(State.CRITICAL) == 2
    assert output.startswith("SMTP CRITICAL - auth-failed at auth: 535 5.7.8 ")
    assert SECRET not in output


@pytest.mark.parametrize(
    ("extra", "stage"),
    [({"allow_plaintext_auth": True}, "auth"), ({"no_auth": True}, "mail")],
    ids=["auth-before-starttls", "mail-without-auth"],
)
def test_530_is_critical_never_ok(smtp_double: Any, extra: dict[str, Any], stage: str) -> None:
    # The double's tls-required scenario answers 530 5.7.0 before STARTTLS (monitoring-plugins
    # #1728: check_smtp called this OK).
    report = _probe(smtp_double("tls-required", security="plain"), password=SECRET, **extra)
    output, code = _render(report)
    assert code == 2
    assert output.startswith(f"SMTP CRITICAL - tls-required at {stage}: 530 5.7.0 "), output
    assert SECRET not in output


@pytest.mark.parametrize(
    ("scenario", "security", "extra", "reply"),
    [
        ("relay-denied-ocn", "implicit-tls", {}, "553 5.7.1"),
        ("ok", "starttls", {"no_auth": True, "sender": "probe@example.jp"}, "554 5.7.1"),
    ],
    ids=["ocn-553-after-auth", "554-without-auth"],
)
def test_rejected_rcpt_is_critical(
    smtp_double: Any, scenario: str, security: str, extra: dict[str, Any], reply: str
) -> None:
    report = _probe(smtp_double(scenario, security=security), **extra)
    output, code = _render(report)
    assert code == 2
    assert output.startswith(f"SMTP CRITICAL - relay-denied at rcpt: {reply} "), output


def test_met_expectation_is_ok_and_unmet_is_critical(smtp_double: Any) -> None:
    server = smtp_double("ok", security="starttls")
    denied = _probe(server, no_auth=True, sender="probe@example.jp", expect=("relay-denied",))
    output, code = _render(denied)
    assert code == 0 and output.startswith("SMTP OK - relay-denied (expected) at rcpt: 554 ")
    accepted = _probe(server, expect=("relay-denied",))
    output, code = _render(accepted)
    assert code == 2 and output.startswith("SMTP CRITICAL - ok (expected relay-denied) at rcpt")


def test_hang_is_critical_with_timeout(smtp_double: Any) -> None:
    report = _probe(smtp_double("hang-after-connect", security="starttls"), phase_timeout=0.3)
    assert report.exit_code == 3  # the dialogue could not be completed...
    output, code = _render(report)
    assert code == 2  # ...so the service is down: CRITICAL, not UNKNOWN (guidelines)
    assert output.startswith("SMTP CRITICAL - timeout at greeting: timeout (no reply within 0.3 s)")
    perf = check_plugin_output(output, code)
    assert "cert_days" not in perf and float(perf["greeting"]["value"]) >= 0.29


def test_the_whole_probes_timeout_counts_in_time(smtp_double: Any) -> None:
    # With --timeout (the whole probe) running out first, time= said about 0 s: the wait
    # that ran into the limit had no time of its own.
    server = smtp_double("hang-after-connect", security="starttls")
    options = CheckOptions(
        host=server.host, port=server.port, security="starttls", user=DEFAULT_USER,
        password=DEFAULT_PASSWORD, ca_file=server.ca_file, egress_lookup=False,
        phase_timeout=5.0, timeout=0.5,
    )  # fmt: skip
    output, code = _render(asyncio.run(probe(options)))
    assert code == 2 and "the whole probe took longer than --timeout 0.5 s" in output
    perf = check_plugin_output(output, code)
    assert float(perf["time"]["value"]) >= 0.45 and float(perf["greeting"]["value"]) >= 0.4


def test_connection_refused_is_critical(unused_port: int) -> None:
    options = CheckOptions(
        host="127.0.0.1", port=unused_port, security="starttls", user=DEFAULT_USER,
        password=SECRET, egress_lookup=False, phase_timeout=2.0, timeout=5.0,
    )  # fmt: skip
    output, code = _render(asyncio.run(probe(options)))
    assert code == 2 and output.startswith("SMTP CRITICAL - ")
    assert "connect-refused" in output.split("\n")[0] and SECRET not in output


# ------------------------------------------------------------------ thresholds


@pytest.fixture(scope="module")
def ok_report() -> Report:
    from smtpprobe.testing import DoubleServer

    with DoubleServer("ok", security="starttls") as server:
        return _probe(server)


def _timed(report: Report, seconds: float) -> Report:
    """``report`` with its whole time in the connect step (exact values for the thresholds)."""
    steps = [
        dataclasses.replace(s, elapsed_ms=seconds * 1000 if s.phase is Phase.CONNECT else 0.0)
        for s in report.transcript.steps
    ]
    return dataclasses.replace(
        report, transcript=dataclasses.replace(report.transcript, steps=steps)
    )


def _expiring(report: Report, days: float) -> Report:
    """``report`` with a certificate that expires ``days`` after the probe started."""
    tls = report.transcript.tls
    assert tls is not None
    started = dt.datetime.fromisoformat(report.started_at)
    not_after = (started + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    transcript = dataclasses.replace(
        report.transcript, tls=dataclasses.replace(tls, not_after=not_after)
    )
    return dataclasses.replace(report, transcript=transcript)


WARN = parse_thresholds(["time=5,cert_days=21"], option="--warning")
CRIT = parse_thresholds(["time=10", "cert_days=7"], option="--critical")


@pytest.mark.parametrize(
    ("seconds", "days", "state", "notes"),
    [
        (1.0, 400, State.OK, []),
        (5.0, 21, State.OK, []),  # the ends are inside the range: no alert
        (6.0, 400, State.WARNING, ["time 6.000 s > 5 (warning)"]),
        (12.0, 400, State.CRITICAL, ["time 12.000 s > 10 (critical)"]),
        (1.0, 20.5, State.WARNING, ["cert_days 20 < 21 (warning)"]),
        (1.0, 5, State.CRITICAL, ["cert_days 5 < 7 (critical)"]),
        (1.0, -0.5, State.CRITICAL, ["cert_days -1 < 7 (critical)"]),  # expired since 12 h
        (6.0, 5, State.CRITICAL, ["cert_days 5 < 7 (critical)", "time 6.000 s > 5 (warning)"]),
    ],
)
def test_thresholds_on_time_and_certificate_days(
    ok_report: Report, seconds: float, days: float, state: State, notes: list[str]
) -> None:
    report = _expiring(_timed(ok_report, seconds), days)
    output, code = _render(report, warning=WARN, critical=CRIT)
    first = output.split("\n")[0]
    assert code == state, first
    assert first.startswith(f"SMTP {state.name} - ok at rcpt: 250 ")
    for note in notes:
        assert note in first
    perf = check_plugin_output(output, code)
    assert (perf["time"]["value"], perf["time"]["warn"], perf["time"]["crit"]) == (
        f"{seconds:.6f}", "5", "10",
    )  # fmt: skip
    assert (perf["cert_days"]["warn"], perf["cert_days"]["crit"]) == ("21:", "7:")
    assert perf["cert_days"]["value"] == str(math.floor(days))


def test_thresholds_never_lower_a_refusal(smtp_double: Any) -> None:
    report = _probe(smtp_double("auth-failed", security="starttls"))
    loose = Thresholds(time=Range(0, 1e6), cert_days=Range(0, math.inf))
    assert _render(report, warning=loose, critical=loose)[1] == 2


def test_certificate_threshold_without_tls_is_unknown(smtp_double: Any) -> None:
    report = _probe(smtp_double("ok", security="plain"), allow_plaintext_auth=True)
    assert report.verdict.ok
    output, code = _render(report, warning=parse_thresholds(["cert_days=21"]))
    assert code == 3 and "no TLS certificate was seen" in output.split("\n")[0]
    assert _render(report, warning=parse_thresholds(["time=30"]))[1] == 0


@pytest.mark.parametrize(
    ("text", "key", "alerts", "quiet", "shown"),
    [
        # the guidelines' table: alert outside the range, or inside it with @
        ("10", "time", [-1, 10.5, 11], [0, 5, 10], "10"),
        ("10:", "time", [9.9, -3], [10, 1e9], "10:"),
        ("~:10", "time", [11], [-1e9, 10], "~:10"),
        ("10:20", "time", [9, 21], [10, 15, 20], "10:20"),
        ("@10:20", "time", [10, 15, 20], [9, 21], "@10:20"),
        # a bare number, in each key's natural direction
        ("21", "cert_days", [20, -1], [21, 400], "21:"),
        ("2.5", "time", [2.6], [2.5, 0.1], "2.5"),
    ],
)
def test_ranges_follow_the_guidelines(
    text: str, key: str, alerts: list[float], quiet: list[float], shown: str
) -> None:
    limit = parse_range(text, key)
    assert [v for v in alerts if not limit.alerts(v)] == []
    assert [v for v in quiet if limit.alerts(v)] == []
    assert str(limit) == shown and re.fullmatch(_RANGE, shown)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (["tme=5"], "unknown key 'tme'; use time or cert_days"),
        (["time"], "'time' is not KEY=VALUE"),
        (["time="], "empty value"),
        (["time=abc"], "'abc' is not a number"),
        (["time=1e3"], "'1e3' is not a number"),
        (["time=5,5"], "'5' is not KEY=VALUE"),
        (["time=-5"], "negative"),
        (["cert_days=30:7"], "starts above its end"),
        (["time=5", "time=6"], "time is given twice"),
        (["time=1:x"], "'x' is not a number"),
    ],
)
def test_bad_thresholds_are_one_line_errors(values: list[str], words: str) -> None:
    with pytest.raises(ThresholdError) as caught:
        parse_thresholds(values, option="--critical")
    message = str(caught.value)
    assert words in message and message.startswith("--critical") and "\n" not in message


def test_a_pipe_or_newline_in_a_reply_cannot_end_the_text_early(ok_report: Report) -> None:
    # A synthetic, test-only reply (not any provider's text) with the separator in it.
    steps = list(ok_report.transcript.steps)
    index = next(i for i, s in enumerate(steps) if s.phase is Phase.RCPT)
    steps[index] = dataclasses.replace(
        steps[index], reply=Reply(550, ("no | such\r\nuser=x;1",), "5.1.1")
    )
    transcript = dataclasses.replace(ok_report.transcript, steps=steps)
    report = dataclasses.replace(ok_report, transcript=transcript)
    output, _ = nagios(report)
    assert output.count("|") == 1 and "no such user=x;1" in output.split("\n")[0]


# ------------------------------------------------------------------ the command line


def _nagios(cli: Any, server: Any, *args: str, **kw: Any) -> Any:
    return cli.probe(server, "--format", "nagios", *args, json_out=False, **kw)


def test_cli_ok_and_thresholds(cli: Any, smtp_double: Any) -> None:
    server = smtp_double("ok", security="starttls")
    ok = _nagios(cli, server, "--warning", "time=30", "--critical", "time=60,cert_days=7")
    assert ok.code == 0, ok.both
    perf = check_plugin_output(ok.out.rstrip("\n"), ok.code)
    assert (perf["time"]["warn"], perf["time"]["crit"], perf["cert_days"]["crit"]) == (
        "30", "60", "7:",
    )  # fmt: skip
    assert ok.err == ""  # no status line, no colour: one status line and the long text
    # the double's certificate has fewer than 10,000,000 days left
    warned = _nagios(cli, server, "--warning", "cert_days=10000000", "--lang", "ja")
    assert warned.code == 1 and warned.out.startswith("SMTP WARNING - ok at rcpt: 250 ")
    assert warned.out.isascii()  # English only, whatever --lang says


def test_cli_auth_failed_is_critical_without_the_password(cli: Any, smtp_double: Any) -> None:
    result = _nagios(cli, smtp_double("auth-failed", security="implicit-tls"), password=SECRET)
    assert result.code == 2, result.both
    check_plugin_output(result.out.rstrip("\n"), 2)
    assert result.out.startswith("SMTP CRITICAL - auth-failed at auth: 535 ")
    assert SECRET not in result.both


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--warning", "tme=5"], "--warning: unknown key 'tme'"),
        (["--critical", "cert_days=9:1"], "--critical cert_days: range '9:1' starts above its end"),
        (["--port", "abc"], "Invalid value for '--port'"),  # found by click, before check runs
        (["--no-such-option"], "No such option: --no-such-option"),
        (["--json"], "--json and --format nagios disagree"),
        (["--ca-file", "/nonexistent/ca.pem"], "/nonexistent/ca.pem"),
    ],
)
def test_cli_bad_options_are_unknown(
    cli: Any, smtp_double: Any, args: list[str], words: str
) -> None:
    result = _nagios(cli, smtp_double("ok", security="starttls"), *args)
    assert result.code == 3, result.both
    assert result.out.startswith("SMTP UNKNOWN - ") and result.out.count("\n") == 1
    assert words in result.out and "Traceback" not in result.both


def test_cli_missing_password_is_unknown(cli: Any, smtp_double: Any) -> None:
    result = _nagios(cli, smtp_double("ok", security="starttls"), password="")
    assert result.code == 3 and result.out.startswith("SMTP UNKNOWN - "), result.both


def test_cli_internal_error_is_unknown_without_the_secret(
    cli: Any, smtp_double: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(options: Any, password_source: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"bug holding {password_source(None)}")

    monkeypatch.setattr("smtpprobe.api.check", broken)
    result = _nagios(cli, smtp_double("ok", security="starttls"), password=SECRET)
    assert result.code == 3 and result.out.count("\n") == 1, result.both
    assert result.out.startswith("SMTP UNKNOWN - internal error, please report it: RuntimeError")
    assert SECRET not in result.both


def test_cli_thresholds_need_nagios_and_json_stays(cli: Any, smtp_double: Any) -> None:
    server = smtp_double("ok", security="starttls")
    text = cli.probe(server, "--warning", "time=5", json_out=False)
    assert text.code == 2 and "--warning and --critical need --format nagios" in text.err
    as_json, as_format = cli.probe(server), cli.probe(server, "--format", "json", json_out=False)
    assert as_json.code == as_format.code == 0
    assert as_json.json()["verdict"] == as_format.json()["verdict"]
    assert cli.probe(server, "--format", "json").code == 0  # --json --format json agree


def test_help_documents_format_and_thresholds(cli: Any) -> None:
    text = " ".join(cli.run("check", "--help").out.split())
    for needed in (
        "--format text|json|nagios", "English only", "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
        "--warning KEY=LIMIT", "--critical KEY=LIMIT", "time=5,cert_days=21", "cert_days=DAYS",
    ):  # fmt: skip
        assert needed in text, needed


def test_installed_script_as_nagios_runs_it(installed_cli: Any, smtp_double: Any) -> None:
    server = smtp_double("auth-failed", security="starttls")
    result = installed_cli.probe(
        server,
        "--format",
        "nagios",
        "--warning",
        "time=30",
        password=SECRET,
        json_out=False,
        phase_timeout="10",  # a real process on a busy machine: the format is under test
    )
    assert result.code == 2, result.both
    check_plugin_output(result.out.rstrip("\n"), 2)
    assert result.out.startswith("SMTP CRITICAL - auth-failed at auth: 535 5.7.8 ")
    assert SECRET not in result.both
    bad = installed_cli.run("check", "--format", "nagios", "--critical", "time=fast")
    assert (bad.code, bad.out) == (3, "SMTP UNKNOWN - --critical time: 'fast' is not a number\n")
