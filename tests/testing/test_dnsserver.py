"""The loopback DNS server answers like an authoritative server, over UDP and TCP.

Queried with dnspython's own ``dns.query`` (no resolver logic in between), on loopback only.
"""

from __future__ import annotations

from collections.abc import Iterator

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from smtpprobe.testing.dnsserver import DnsServer, Query

LONG_SPF = "v=spf1 " + " ".join(f"ip4:192.0.2.{n}" for n in range(1, 41)) + " -all"

ZONE = {
    "example.jp": {
        "TXT": ["v=spf1 mx -all", LONG_SPF],
        "MX": [(10, "mx.example.jp"), "20 mx2.example.jp."],
        "A": ["192.0.2.1"],
        "AAAA": ["2001:db8::1"],
    },
    "split.example.jp": {"TXT": [["v=spf1 ", "ip4:192.0.2.7 ", "-all"]]},
    "www.example.jp": {"CNAME": ["example.jp"]},
    "dangling.example.jp": {"CNAME": ["nowhere.example.jp"]},
    "loop1.example.jp": {"CNAME": "loop2.example.jp"},
    "loop2.example.jp": {"CNAME": "loop1.example.jp"},
    "_dmarc.deep.example.jp": {"TXT": ["v=DMARC1; p=none"]},
    "1.2.0.192.in-addr.arpa": {"PTR": ["example.jp"]},
    "bad.example.jp": "SERVFAIL",
    "slow.example.jp": "TIMEOUT",
    "txtslow.example.jp": {"TXT": "TIMEOUT", "A": ["192.0.2.9"]},
}


@pytest.fixture(scope="module")
def server() -> Iterator[DnsServer]:
    with DnsServer(ZONE) as running:
        yield running


def ask(
    server: DnsServer, name: str, rdtype: str, *, tcp: bool = False, timeout: float = 5.0
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    if tcp:
        return dns.query.tcp(query, server.host, port=server.port, timeout=timeout)
    return dns.query.udp(query, server.host, port=server.port, timeout=timeout)


def texts(response: dns.message.Message) -> list[list[bytes]]:
    return [list(rdata.strings) for rrset in response.answer for rdata in rrset]


def test_txt_short_and_long_records_split_into_255_byte_strings(server: DnsServer) -> None:
    response = ask(server, "example.jp", "TXT", tcp=True)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    records = sorted(texts(response), key=len)
    assert records[0] == [b"v=spf1 mx -all"]
    assert len(LONG_SPF) > 255
    assert [len(s) for s in records[1]][:-1] == [255] * (len(records[1]) - 1)
    assert b"".join(records[1]).decode() == LONG_SPF


def test_txt_given_as_strings_is_served_as_those_strings(server: DnsServer) -> None:
    assert texts(ask(server, "split.example.jp", "TXT")) == [
        [b"v=spf1 ", b"ip4:192.0.2.7 ", b"-all"]
    ]


def test_a_aaaa_mx_ptr(server: DnsServer) -> None:
    assert [r.to_text() for r in ask(server, "example.jp", "A").answer[0]] == ["192.0.2.1"]
    assert [r.to_text() for r in ask(server, "example.jp", "AAAA").answer[0]] == ["2001:db8::1"]
    # the answer keeps the question's case: names are compressed case-insensitively
    mx = sorted(r.to_text().lower() for r in ask(server, "EXAMPLE.jp", "MX").answer[0])
    assert mx == ["10 mx.example.jp.", "20 mx2.example.jp."]
    ptr = ask(server, "1.2.0.192.in-addr.arpa", "PTR").answer[0]
    assert [r.to_text() for r in ptr] == ["example.jp."]


def test_cname_is_in_the_answer_followed_by_the_target_records(server: DnsServer) -> None:
    response = ask(server, "www.example.jp", "A")
    assert [rrset.rdtype for rrset in response.answer] == [dns.rdatatype.CNAME, dns.rdatatype.A]
    assert response.answer[0].name.to_text() == "www.example.jp."
    assert response.answer[1].name.to_text() == "example.jp."
    only_cname = ask(server, "www.example.jp", "CNAME")
    assert [rrset.rdtype for rrset in only_cname.answer] == [dns.rdatatype.CNAME]


def test_cname_to_a_missing_name_is_nxdomain_with_the_cname(server: DnsServer) -> None:
    response = ask(server, "dangling.example.jp", "TXT")
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert [rrset.rdtype for rrset in response.answer] == [dns.rdatatype.CNAME]


def test_cname_loop_is_servfail(server: DnsServer) -> None:
    assert ask(server, "loop1.example.jp", "A").rcode() == dns.rcode.SERVFAIL


def test_nxdomain_vs_nodata_vs_empty_non_terminal(server: DnsServer) -> None:
    missing = ask(server, "nothing.example.jp", "TXT")
    assert missing.rcode() == dns.rcode.NXDOMAIN and not missing.answer
    no_txt = ask(server, "1.2.0.192.in-addr.arpa", "TXT")
    assert no_txt.rcode() == dns.rcode.NOERROR and not no_txt.answer
    # deep.example.jp has no records but a name below it does: NODATA (RFC 8020 §2)
    ent = ask(server, "deep.example.jp", "TXT")
    assert ent.rcode() == dns.rcode.NOERROR and not ent.answer


def test_servfail_and_timeout_names(server: DnsServer) -> None:
    assert ask(server, "bad.example.jp", "A").rcode() == dns.rcode.SERVFAIL
    assert ask(server, "bad.example.jp", "TXT", tcp=True).rcode() == dns.rcode.SERVFAIL
    with pytest.raises(dns.exception.Timeout):
        ask(server, "slow.example.jp", "A", timeout=0.3)
    with pytest.raises(dns.exception.Timeout):
        ask(server, "txtslow.example.jp", "TXT", timeout=0.3)
    assert [r.to_text() for r in ask(server, "txtslow.example.jp", "A").answer[0]] == ["192.0.2.9"]


def test_udp_answer_over_512_bytes_is_truncated_and_tcp_gets_it(server: DnsServer) -> None:
    query = dns.message.make_query("example.jp", "TXT", use_edns=False)
    udp = dns.query.udp(query, server.host, port=server.port, timeout=5)
    assert udp.flags & dns.flags.TC and not udp.answer
    response, used_tcp = dns.query.udp_with_fallback(
        query, server.host, port=server.port, timeout=5
    )
    assert used_tcp and len(texts(response)) == 2


def test_truncate_switch_forces_tcp_for_every_answer() -> None:
    with DnsServer(ZONE, truncate_udp=True) as server:
        udp = ask(server, "example.jp", "A")
        assert udp.flags & dns.flags.TC and not udp.answer
        response, used_tcp = dns.query.udp_with_fallback(
            dns.message.make_query("example.jp", "A"), server.host, port=server.port, timeout=5
        )
        assert used_tcp and response.answer
        assert server.queries[-2:] == [
            Query("udp", "example.jp", "A"),
            Query("tcp", "example.jp", "A"),
        ]
        server.truncate_udp = False
        assert ask(server, "example.jp", "A").answer


def test_several_queries_on_one_tcp_connection(server: DnsServer) -> None:
    import socket

    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        for name in ("example.jp", "www.example.jp"):
            query = dns.message.make_query(name, "A")
            dns.query.send_tcp(sock, query)
            response, _ = dns.query.receive_tcp(sock, expiration=None)
            assert response.id == query.id and response.answer


def test_ipv6_loopback_and_nameserver_text() -> None:
    with DnsServer({"example.jp": {"A": ["192.0.2.1"]}}, host="::1") as server:
        assert server.nameserver == f"[::1]:{server.port}"
        assert ask(server, "example.jp", "A").answer
    with DnsServer({}) as server:
        assert server.nameserver == f"127.0.0.1:{server.port}"
        assert ask(server, "example.jp", "A").rcode() == dns.rcode.NXDOMAIN


def test_refuses_a_non_loopback_host_and_bad_zone_entries() -> None:
    with pytest.raises(ValueError, match="loopback"):
        DnsServer({}, host="192.0.2.1")
    with pytest.raises(ValueError, match="SERVFAIL, REFUSED or TIMEOUT"):
        DnsServer({"example.jp": "BROKEN"})


def test_garbage_datagram_is_ignored(server: DnsServer) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x00garbage", (server.host, server.port))
    assert ask(server, "example.jp", "A").answer  # still serving
