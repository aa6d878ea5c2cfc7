"""Issue 4 end to end: origin, source addresses, SOCKS5 routes, compare, Gmail readiness.

Every socket here is on loopback: the double, the SOCKS5 proxy, the DNS responder.
"""

from __future__ import annotations

import time
from typing import Any

from smtpprobe.testing import DEFAULT_PASSWORD

from .conftest import CLI


def _failure_kinds(doc: dict[str, Any]) -> list[str]:
    return [s["failure"]["kind"] for s in doc["steps"] if s["failure"]]


def test_geo_filter_passes_from_127_0_0_1_and_rejects_127_0_0_2(cli: CLI, smtp_double: Any) -> None:
    server = smtp_double("geo-filter-sakura")
    home = cli.probe(server, "sakura", "--source-address", "127.0.0.1")
    abroad = cli.probe(server, "sakura", "--source-address", "127.0.0.2")
    assert home.code == 0, home.both
    assert abroad.code == 1, abroad.both
    assert abroad.json()["verdict"]["category"] == "client-ip-rejected"
    assert abroad.json()["verdict"]["stage"] == "mail"
    for result, address in ((home, "127.0.0.1"), (abroad, "127.0.0.2")):
        origin = result.json()["origin"]
        assert origin["local_address"] == address
        # The double greets Sendmail-style: "Hello [client], pleased to meet you".
        assert origin["echoed_address"] == address
        assert origin["public_address"] == address
        assert origin["method"] == "smtp-greeting"
        assert origin["country"] is None
        assert any("loopback" in note for note in origin["notes"])


def test_compare_two_source_addresses_concludes_address_filter(cli: CLI, smtp_double: Any) -> None:
    server = smtp_double("geo-filter-sakura")
    routes = ["--route", "direct", "--route", "source:127.0.0.2"]
    argv = [
        "compare", "sakura", "--host", server.host, "--port", str(server.port),
        "--ca-file", str(server.ca_file), "--user", "user@example.jp", *routes,
        "--phase-timeout", "2", "--timeout", "10",
    ]  # fmt: skip
    env = {"SMTPPROBE_PASSWORD": DEFAULT_PASSWORD}
    result = cli.run(*argv, env=env)
    assert result.code == 1, result.both
    assert "source:127.0.0.2" in result.out and "client-ip-rejected" in result.out
    assert "Refused only from 127.0.0.2" in result.out
    assert "geo-IP filter" in result.out
    ja = cli.run(*argv, "--lang", "ja", env=env)
    assert "127.0.0.2（経路 source:127.0.0.2）からだけ拒否され" in ja.out
    doc = cli.run(*argv, "--json", env=env).json()
    assert doc["schema"] == "smtpprobe/compare/v1"
    assert doc["conclusion"]["kind"] == "address-filter"
    assert doc["conclusion"]["routes"] == ["source:127.0.0.2"]
    assert doc["conclusion"]["ja"]
    assert [r["route"] for r in doc["routes"]] == ["direct", "source:127.0.0.2"]
    assert doc["routes"][0]["report"]["schema"] == "smtpprobe/check/v1"
    assert doc["routes"][1]["report"]["verdict"]["category"] == "client-ip-rejected"
    assert doc["exit_code"] == 1


def test_compare_needs_two_routes(cli: CLI) -> None:
    result = cli.run("compare", "--host", "127.0.0.1", "--no-auth", "--from", "a@b.jp")
    assert result.code == 2 and "at least two --route" in result.err
    bad = cli.run("compare", "--host", "127.0.0.1", "--no-auth", "--route", "abroad")
    assert bad.code == 2 and "--route 'abroad'" in bad.err


def test_probe_through_socks5_reports_the_proxy_as_origin(
    cli: CLI, smtp_double: Any, socks_proxy: Any
) -> None:
    server = smtp_double("ok", security="starttls")
    proxy = socks_proxy()
    result = cli.probe(server, "--proxy", proxy.url)
    assert result.code == 0, result.both
    doc = result.json()
    assert doc["target"]["proxy"] == proxy.url
    assert doc["target"]["proxy_address"] == "127.0.0.1"
    assert doc["origin"]["method"] == "proxy"
    assert doc["origin"]["public_address"] == "127.0.0.1"
    assert doc["origin"]["route"] == f"proxy:{proxy.url}"
    assert proxy.connections == [("127.0.0.1", "127.0.0.1", server.port)]
    text = cli.probe(server, "--proxy", proxy.url, json_out=False)
    assert f"via {proxy.url}" in text.out


def test_socks5h_with_credentials_and_a_foreign_exit_is_rejected(
    cli: CLI, smtp_double: Any, socks_proxy: Any
) -> None:
    server = smtp_double("geo-filter-sakura")
    proxy = socks_proxy(username="tunnel", password="s3cret-proxy-pw", exit_address="127.0.0.2")
    url = f"socks5h://tunnel:s3cret-proxy-pw@127.0.0.1:{proxy.port}"
    result = cli.probe(server, "sakura", "--proxy", url)
    assert result.code == 1, result.both
    doc = result.json()
    assert doc["verdict"]["category"] == "client-ip-rejected"
    # The server's echo shows the proxy's exit, which differs from our local address.
    assert doc["origin"]["public_address"] == "127.0.0.2"
    assert doc["origin"]["method"] == "smtp-greeting"
    assert "s3cret-proxy-pw" not in result.both
    assert "s3cret-proxy-pw" not in cli.probe(server, "sakura", "--proxy", url, json_out=False).both


def test_dead_proxy_gets_its_own_verdict(cli: CLI, smtp_double: Any, unused_port: int) -> None:
    server = smtp_double("ok", security="starttls")
    result = cli.probe(server, "--proxy", f"socks5://127.0.0.1:{unused_port}")
    assert result.code == 3, result.both
    doc = result.json()
    assert doc["verdict"]["category"] == "proxy-failed"
    assert doc["verdict"]["stage"] == "connect"
    assert _failure_kinds(doc) == ["proxy-refused"]
    assert server.received == []
    ja = cli.probe(server, "--proxy", f"socks5://127.0.0.1:{unused_port}", "--lang", "ja",
                   json_out=False)  # fmt: skip
    assert "プロキシに接続できなかった" in ja.out


def test_bad_proxy_credentials_get_proxy_failed(
    cli: CLI, smtp_double: Any, socks_proxy: Any
) -> None:
    server = smtp_double("ok", security="starttls")
    proxy = socks_proxy(username="tunnel", password="right")
    wrong = cli.probe(server, "--proxy", f"socks5://tunnel:wrong@127.0.0.1:{proxy.port}")
    missing = cli.probe(server, "--proxy", f"socks5://127.0.0.1:{proxy.port}")
    for result in (wrong, missing):
        assert result.code == 3, result.both
        assert result.json()["verdict"]["category"] == "proxy-failed"
        assert _failure_kinds(result.json()) == ["proxy-auth-failed"]
    assert proxy.auth_failures == 1 and proxy.connections == []


def test_bad_proxy_url_is_a_usage_error(cli: CLI, smtp_double: Any) -> None:
    server = smtp_double("ok", security="starttls")
    result = cli.probe(server, "--proxy", "ftp://127.0.0.1:21")
    assert result.code == 2 and "--proxy" in result.err


def test_offline_egress_completes_with_origin_unknown(
    cli: CLI, smtp_double: Any, dns_responder: Any
) -> None:
    server = smtp_double("ok", security="starttls")
    start = time.monotonic()
    result = cli.probe(server)  # conftest: the resolvers are an unused loopback port
    assert result.code == 0, result.both
    origin = result.json()["origin"]
    assert origin["method"] == "local-address"  # the server on loopback sees 127.0.0.1
    assert origin["country"] is None
    assert any("egress DNS lookup failed" in n for n in origin["notes"])
    assert time.monotonic() - start < 5
    # A resolver that never answers: the lookup gives up after --egress-timeout.
    hole = dns_responder(silent=True)
    start = time.monotonic()
    slow = cli.probe(
        server, "--egress-timeout", "0.5", env={"SMTPPROBE_EGRESS_RESOLVERS": hole.spec}
    )
    elapsed = time.monotonic() - start
    assert slow.code == 0, slow.both
    assert any("within 0.5 s" in n for n in slow.json()["origin"]["notes"])
    assert hole.queries and elapsed < 0.5 + 3.0  # the process's own start-up included


def test_egress_via_the_loopback_dns_responder(
    cli: CLI, smtp_double: Any, dns_responder: Any
) -> None:
    server = smtp_double("ok", security="starttls")
    responder = dns_responder("1.0.16.1")  # an APNIC block delegated to Japan
    result = cli.probe(server, env={"SMTPPROBE_EGRESS_RESOLVERS": responder.spec})
    assert result.code == 0, result.both
    origin = result.json()["origin"]
    assert origin["public_address"] == "1.0.16.1"
    assert origin["method"] in ("dns:o-o.myaddr.l.google.com", "dns:myip.opendns.com")
    assert origin["country"] == "JP"
    assert origin["data_date"] and len(origin["data_date"]) == 10
    assert {q[1] for q in responder.queries} <= {"o-o.myaddr.l.google.com", "myip.opendns.com"}
    text = cli.probe(server, json_out=False, env={"SMTPPROBE_EGRESS_RESOLVERS": responder.spec})
    assert "public 1.0.16.1" in text.out and "country JP" in text.out
    off = cli.probe(
        server, "--no-egress-lookup", env={"SMTPPROBE_EGRESS_RESOLVERS": responder.spec}
    )
    assert any("--no-egress-lookup" in n for n in off.json()["origin"]["notes"])


def test_egress_query_leaves_from_the_source_address(
    cli: CLI, smtp_double: Any, dns_responder: Any
) -> None:
    server = smtp_double("ok", security="starttls")
    responder = dns_responder()  # echoes the querying address, as Google's server does
    env = {"SMTPPROBE_EGRESS_RESOLVERS": responder.spec}
    result = cli.probe(server, "--source-address", "127.0.0.2", env=env)
    assert result.json()["origin"]["public_address"] == "127.0.0.2"
    assert {q[0] for q in responder.queries} == {"127.0.0.2"}


def test_gmail_readiness(cli: CLI, smtp_double: Any) -> None:
    server = smtp_double("geo-filter-sakura")
    local = cli.probe(server, "sakura", "--source-address", "127.0.0.1")
    readiness = local.json()["gmail_readiness"]  # the sakura profile marks a geo-IP filter
    assert readiness["ready"] is None and readiness["geo_ip_filter"] is True
    ids = [r["id"] for r in readiness["reasons"]]
    assert "turn-filter-off" in ids and "uncheck-alias" in ids and "test-from-abroad" in ids
    assert any(
        "国外IPアドレスフィルタ" in r["ja"] and "無効" in r["ja"] for r in readiness["reasons"]
    )
    assert "socks5h://127.0.0.1:1080" in readiness["test_command"]
    refused = cli.probe(server, "sakura", "--source-address", "127.0.0.2", json_out=False)
    assert "Gmail readiness: not ready" in refused.out and "Treat as an alias" in refused.out
    plain = smtp_double("ok", security="starttls")
    assert cli.probe(plain).json()["gmail_readiness"] is None
    # Without a profile nothing is known of a filter on connections from abroad: a pass
    # from here cannot tell (it once said "ready", with a reason about the profile).
    unknown = cli.probe(plain, "--for", "gmail").json()["gmail_readiness"]
    assert unknown["ready"] is None and unknown["geo_ip_filter"] is False
    assert "provider-unknown" in [r["id"] for r in unknown["reasons"]]
    ja = cli.probe(plain, "--for", "gmail", "--lang", "ja", json_out=False)
    assert "Gmail からの送信の準備: この確認だけでは判断できません" in ja.out
    # A profile that knows of no filter: a pass is ready.
    known = cli.probe(plain, "gmail", "--for", "gmail").json()["gmail_readiness"]
    assert known["ready"] is True and known["geo_ip_filter"] is False
    # A custom From domain whose SPF, DKIM and DMARC this run did not look at (offline):
    # "ready" said nothing of them (a red-team round); the reasons now say so.
    custom = cli.probe(plain, "gmail", "--for", "gmail", "--from", "me@kempty.example.com")
    reasons = {r["id"]: r for r in custom.json()["gmail_readiness"]["reasons"]}
    assert "smtpprobe dns kempty.example.com" in reasons["dns-auth-not-checked"]["en"]
