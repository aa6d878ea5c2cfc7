"""DnsResolver against the loopback DNS server: answers, error mapping, CNAMEs, TCP fallback.

Every query goes to a DnsServer on loopback; the system resolver is never used.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from smtpprobe.core.dnsdata import DnsError, DnsErrorKind
from smtpprobe.errors import ConfigError
from smtpprobe.resolver import DnsResolver, parse_nameserver
from smtpprobe.testing.dnsserver import DnsServer, Query

LONG_SPF = "v=spf1 " + " ".join(f"ip4:192.0.2.{n}" for n in range(1, 41)) + " -all"

ZONE = {
    "example.jp": {
        "TXT": ["v=spf1 a mx -all"],
        "MX": [(10, "mx.example.jp"), (20, "mx2.example.jp")],
        "A": ["192.0.2.1", "192.0.2.2"],
        "AAAA": ["2001:db8::1"],
    },
    "long.example.jp": {"TXT": [LONG_SPF]},
    "split.example.jp": {"TXT": [["v=spf1 ", "ip4:192.0.2.7 ", "-all"]]},
    "www.example.jp": {"CNAME": ["alias.example.jp"]},
    "alias.example.jp": {"CNAME": ["example.jp"]},
    "dangling.example.jp": {"CNAME": ["nowhere.example.jp"]},
    "1.2.0.192.in-addr.arpa": {"PTR": ["example.jp", "mail.example.jp"]},
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa": {
        "PTR": ["v6.example.jp"]
    },
    "bad.example.jp": "SERVFAIL",
    "closed.example.jp": "REFUSED",
    "slow.example.jp": "TIMEOUT",
    "_dmarc.deep.example.jp": {"TXT": ["v=DMARC1; p=none"]},
}


@pytest.fixture(scope="module")
def server() -> Iterator[DnsServer]:
    with DnsServer(ZONE) as running:
        yield running


T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def resolver(server: DnsServer, timeout: float = 2.0) -> DnsResolver:
    return DnsResolver([server.nameserver], timeout=timeout)


def error_of(coro: Coroutine[Any, Any, object]) -> DnsError:
    with pytest.raises(DnsError) as caught:
        run(coro)
    return caught.value


def test_answers(server: DnsServer) -> None:
    r = resolver(server)
    assert run(r.txt("example.jp")) == ["v=spf1 a mx -all"]
    assert sorted(run(r.a("example.jp"))) == ["192.0.2.1", "192.0.2.2"]
    assert run(r.aaaa("example.jp")) == ["2001:db8::1"]
    assert sorted(run(r.mx("example.jp"))) == [(10, "mx.example.jp"), (20, "mx2.example.jp")]
    assert sorted(run(r.ptr("192.0.2.1"))) == ["example.jp", "mail.example.jp"]
    assert run(r.ptr("2001:db8::1")) == ["v6.example.jp"]
    assert sorted(run(r.a("example.jp."))) == ["192.0.2.1", "192.0.2.2"]  # trailing dot


def test_txt_strings_of_one_record_are_joined(server: DnsServer) -> None:
    # RFC 7208 §3.3: the strings of one TXT RR are concatenated without spaces
    assert run(resolver(server).txt("split.example.jp")) == ["v=spf1 ip4:192.0.2.7 -all"]


def test_cname_chain_is_followed(server: DnsServer) -> None:
    r = resolver(server)
    assert sorted(run(r.a("www.example.jp"))) == ["192.0.2.1", "192.0.2.2"]
    assert run(r.txt("www.example.jp")) == ["v=spf1 a mx -all"]


def test_nxdomain_and_nodata_are_void(server: DnsServer) -> None:
    r = resolver(server)
    nx = error_of(r.txt("nothing.example.jp"))
    assert (nx.kind, nx.name, nx.detail) == (DnsErrorKind.VOID, "nothing.example.jp", "NXDOMAIN")
    nodata = error_of(r.txt("alias.example.jp.example"))  # NXDOMAIN too
    assert nodata.kind is DnsErrorKind.VOID
    no_aaaa = error_of(r.mx("1.2.0.192.in-addr.arpa"))
    assert (no_aaaa.kind, no_aaaa.detail) == (DnsErrorKind.VOID, "NODATA")
    ent = error_of(r.txt("deep.example.jp"))  # empty non-terminal: NODATA
    assert (ent.kind, ent.detail) == (DnsErrorKind.VOID, "NODATA")
    assert error_of(r.a("dangling.example.jp")).kind is DnsErrorKind.VOID
    assert error_of(r.ptr("192.0.2.99")).kind is DnsErrorKind.VOID


def test_invalid_names_are_void_without_a_query(server: DnsServer) -> None:
    r = resolver(server)
    before = len(server.queries)
    for name in ("a..example.jp", "x" * 64 + ".example.jp", "", "."):
        assert error_of(r.txt(name)).kind is DnsErrorKind.VOID
    assert error_of(r.ptr("not-an-ip")).kind is DnsErrorKind.VOID
    assert len(server.queries) == before


def test_servfail_is_temporary(server: DnsServer) -> None:
    error = error_of(resolver(server).a("bad.example.jp"))
    assert (error.kind, error.detail) == (DnsErrorKind.TEMPORARY, "SERVFAIL")


def test_a_refusal_is_named_refused_not_servfail(server: DnsServer) -> None:
    # A resolver that refuses (an authoritative-only server given as --nameserver) was
    # reported as SERVFAIL, with "the domain's DNS servers are not answering".
    error = error_of(resolver(server).txt("closed.example.jp"))
    assert (error.kind, error.detail) == (DnsErrorKind.TEMPORARY, "REFUSED")


def test_timeout_is_temporary_within_the_timeout(server: DnsServer) -> None:
    loop_time = 0.0

    async def timed() -> None:
        nonlocal loop_time
        start = asyncio.get_running_loop().time()
        try:
            await resolver(server, timeout=0.5).txt("slow.example.jp")
        finally:
            loop_time = asyncio.get_running_loop().time() - start

    error = error_of(timed())
    assert error.kind is DnsErrorKind.TEMPORARY
    assert "0.5 s" in error.detail
    assert loop_time < 5  # a generous upper bound: the timeout is honoured


def test_no_server_listening_is_temporary() -> None:
    with DnsServer({}) as server:
        nameserver = server.nameserver
    error = error_of(DnsResolver([nameserver], timeout=0.5).a("example.jp"))
    assert error.kind is DnsErrorKind.TEMPORARY


def test_truncated_udp_answer_is_asked_again_over_tcp(server: DnsServer) -> None:
    before = len(server.queries)
    assert run(resolver(server).txt("long.example.jp")) == [LONG_SPF]
    assert server.queries[before:] == [
        Query("udp", "long.example.jp", "TXT"),
        Query("tcp", "long.example.jp", "TXT"),
    ]


def test_truncate_switch_every_answer_comes_over_tcp() -> None:
    with DnsServer(ZONE, truncate_udp=True) as server:
        r = resolver(server)
        assert sorted(run(r.mx("www.example.jp"))) == [
            (10, "mx.example.jp"),
            (20, "mx2.example.jp"),
        ]
        assert [q.transport for q in server.queries[:2]] == ["udp", "tcp"]
        assert error_of(r.a("nothing.example.jp")).kind is DnsErrorKind.VOID


def test_ipv6_nameserver() -> None:
    with DnsServer(ZONE, host="::1") as server:
        r = DnsResolver([server.nameserver], timeout=2)
        assert r.nameservers == [f"[::1]:{server.port}"]
        assert run(r.txt("example.jp")) == ["v=spf1 a mx -all"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        (" 192.0.2.53:53 ", ("192.0.2.53", 53)),
        ("::1", ("::1", 53)),
        ("[::1]", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[2001:db8::53]:53", ("2001:db8::53", 53)),
    ],
)
def test_parse_nameserver(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "dns.example.jp",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:x53",
        "127.0.0.1:５３",
        "[::1",
        "[::1]53",
        "[::1]:",
        "::1:53:",
        "256.0.0.1",
        "[dns.example.jp]:53",
    ],
)
def test_bad_nameserver_is_a_one_line_config_error(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DnsResolver([text])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"--nameserver {text!r}:")


@pytest.mark.parametrize("timeout", [0, -1, math.nan])
def test_bad_timeout_is_a_one_line_config_error(timeout: float) -> None:
    with pytest.raises(ConfigError, match=r"^--dns-timeout .*positive"):
        DnsResolver(["127.0.0.1"], timeout=timeout)
