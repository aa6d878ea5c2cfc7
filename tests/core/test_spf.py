"""check_host() with plain zone data: the trace's shape, the §4.6.4 limits, exp=, §2.4."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from smtpprobe.core.dnsdata import DnsError, DnsErrorKind
from smtpprobe.core.spf import SpfOutcome, SpfResult, check_host, spf_domain
from smtpprobe.testing.zone import ZoneResolver

IP = "192.0.2.10"


def run(
    zone: dict[str, Any],
    ip: str = IP,
    sender: str = "user@example.jp",
    helo: str = "mail.example.jp",
    **kw: Any,
) -> SpfOutcome:
    sender, domain = spf_domain(sender, helo)
    return asyncio.run(check_host(ip, domain, sender, helo=helo, resolver=ZoneResolver(zone), **kw))


def spf(record: str, **extra: Any) -> dict[str, Any]:
    return {"TXT": [record], **extra}


# -- trace shape ---------------------------------------------------------------------------


def test_include_chain_is_in_the_trace() -> None:
    out = run(
        {
            "example.jp": spf("v=spf1 include:_spf.example.jp ~all"),
            "_spf.example.jp": spf("v=spf1 ip4:198.51.100.0/24 include:_b.example.jp -all"),
            "_b.example.jp": spf("v=spf1 ip4:192.0.2.0/24 -all"),
        }
    )
    assert out.result is SpfResult.PASS
    assert out.mechanism == "include:_spf.example.jp"
    assert out.lookups == 2 and out.void_lookups == 0
    top = out.trace
    assert (top.domain, top.via, top.record) == (
        "example.jp",
        "top",
        "v=spf1 include:_spf.example.jp ~all",
    )
    assert [t.term for t in top.terms] == ["include:_spf.example.jp"]  # ~all never reached
    inc = top.terms[0]
    assert (inc.kind, inc.name, inc.target, inc.matched) == (
        "mechanism",
        "include",
        "_spf.example.jp",
        True,
    )
    assert inc.child is not None and top.children == (inc.child,)
    assert (inc.child.via, inc.child.result) == ("include", SpfResult.PASS)
    assert [(t.term, t.matched) for t in inc.child.terms] == [
        ("ip4:198.51.100.0/24", False),
        ("include:_b.example.jp", True),
    ]
    b = inc.child.terms[1].child
    assert b is not None and b.result is SpfResult.PASS
    assert [(t.term, t.matched, t.lookups_after) for t in b.terms] == [
        ("ip4:192.0.2.0/24", True, 2)
    ]
    assert out.include_chain == ["include:_spf.example.jp", "include:_b.example.jp"]


def test_running_counts_at_each_term() -> None:
    out = run(
        {
            "example.jp": spf(
                "v=spf1 a:nx1.example.jp ip4:198.51.100.1 a:nx2.example.jp a mx -all",
                A=["198.51.100.7"],
                MX=[[10, "mx.example.jp"]],
            ),
            "mx.example.jp": {"A": ["198.51.100.25"]},
        }
    )
    assert out.result is SpfResult.FAIL and out.mechanism == "-all"
    assert [(t.term, t.lookups_after, t.void_after) for t in out.trace.terms] == [
        ("a:nx1.example.jp", 1, 1),
        ("ip4:198.51.100.1", 1, 1),
        ("a:nx2.example.jp", 2, 2),
        ("a", 3, 2),
        ("mx", 4, 2),
        ("-all", 4, 2),
    ]
    assert out.trace.terms[0].note.startswith("void lookup: nx1.example.jp")
    assert (out.lookups, out.void_lookups) == (4, 2)


def test_to_dict_is_json_with_the_fixed_fields() -> None:
    out = run(
        {
            "example.jp": spf("v=spf1 include:_spf.example.jp -all exp=why.example.jp"),
            "_spf.example.jp": spf("v=spf1 ip4:198.51.100.0/24 -all"),
            "why.example.jp": {"TXT": ["%{i} is not allowed to send for %{d}"]},
        }
    )
    data = json.loads(json.dumps(out.to_dict()))
    assert data["result"] == "fail"
    assert data["explanation"] == "192.0.2.10 is not allowed to send for example.jp"
    assert data["mechanism"] == "-all"
    assert data["reason"] == "matched -all"
    assert (data["lookups"], data["void_lookups"]) == (1, 0)
    assert data["trace"]["terms"][0]["child"]["domain"] == "_spf.example.jp"
    assert data["trace"]["terms"][0]["child"]["via"] == "include"


def test_redirect_is_traced_and_its_exp_replaces_ours() -> None:
    out = run(
        {
            "example.jp": spf("v=spf1 ip4:198.51.100.1 exp=ours.example.jp redirect=_r.example.jp"),
            "_r.example.jp": spf("v=spf1 a -all exp=theirs.example.jp", A=["198.51.100.9"]),
            "ours.example.jp": {"TXT": ["ours"]},
            "theirs.example.jp": {"TXT": ["theirs for %{d}"]},
        }
    )
    assert out.result is SpfResult.FAIL
    assert out.explanation == "theirs for _r.example.jp"  # §6.2: redirect cancels our exp=
    assert out.mechanism == "-all"
    redirect = out.trace.terms[-1]
    assert (redirect.kind, redirect.name, redirect.target) == (
        "modifier",
        "redirect",
        "_r.example.jp",
    )
    assert redirect.child is not None and redirect.child.via == "redirect"
    assert out.lookups == 2  # redirect + the target's "a"
    assert out.include_chain == ["redirect:_r.example.jp"]


# -- limits (§4.6.4) -----------------------------------------------------------------------


def test_eleventh_lookup_is_a_permerror_naming_the_term() -> None:
    terms = " ".join(f"a:h{i}.example.jp" for i in range(1, 12))
    zone: dict[str, Any] = {"example.jp": spf(f"v=spf1 {terms} -all")}
    zone.update({f"h{i}.example.jp": {"A": ["198.51.100.1"]} for i in range(1, 12)})
    out = run(zone)
    assert out.result is SpfResult.PERMERROR
    assert out.mechanism == "a:h11.example.jp"
    assert out.lookups == 11
    assert "§4.6.4" in out.reason and "10" in out.reason
    assert out.trace.terms[-1].matched is None
    assert [t.lookups_after for t in out.trace.terms] == list(range(1, 12))
    assert out.explanation == ""


def test_limit_counts_across_includes_and_is_configurable() -> None:
    zone = {
        "example.jp": spf("v=spf1 a include:_i.example.jp ip4:192.0.2.10 -all", A=["198.51.100.1"]),
        "_i.example.jp": spf("v=spf1 a a a", A=["198.51.100.2"]),
    }
    assert run(zone).result is SpfResult.PASS  # 1 + 1 + 3 = 5 lookups
    capped = run(zone, limit=4)
    assert capped.result is SpfResult.PERMERROR
    assert capped.mechanism == "include:_i.example.jp"  # the term in the top record
    inner = capped.trace.terms[1].child
    assert inner is not None and inner.result is SpfResult.PERMERROR
    assert [t.lookups_after for t in inner.terms] == [3, 4, 5]


def test_third_void_lookup_is_a_permerror() -> None:
    out = run(
        {"example.jp": spf("v=spf1 a:n1.example.jp mx:n2.example.jp exists:n3.example.jp ?all")}
    )
    assert out.result is SpfResult.PERMERROR
    assert out.void_lookups == 3 and out.mechanism == "exists:n3.example.jp"
    assert "void" in out.reason
    two = run({"example.jp": spf("v=spf1 a:n1.example.jp mx:n2.example.jp ?all")})
    assert (two.result, two.void_lookups) == (SpfResult.NEUTRAL, 2)
    assert (
        run(
            {
                "example.jp": spf(
                    "v=spf1 a:n1.example.jp mx:n2.example.jp exists:n3.example.jp ?all"
                )
            },
            void_limit=3,
        ).result
        is SpfResult.NEUTRAL
    )


def test_more_than_ten_mx_is_a_permerror() -> None:
    mxs = [[i, f"mx{i}.example.jp"] for i in range(11)]
    out = run({"example.jp": spf("v=spf1 mx -all", MX=mxs)})
    assert out.result is SpfResult.PERMERROR and out.mechanism == "mx"
    assert "11 MX" in out.reason
    assert out.lookups == 1  # the address lookups of one "mx" are not extra terms


def test_only_ten_ptr_names_are_considered() -> None:
    ptrs = [f"h{i}.other.example" for i in range(10)] + ["mail.example.jp"]
    zone = {
        "example.jp": spf("v=spf1 ptr -all"),
        "10.2.0.192.in-addr.arpa": {"PTR": ptrs},
        "mail.example.jp": {"A": [IP]},
    }
    assert run(zone).result is SpfResult.FAIL
    zone["10.2.0.192.in-addr.arpa"] = {"PTR": ["mail.example.jp", *ptrs[:10]]}
    assert run(zone).result is SpfResult.PASS


def test_exp_lookup_is_not_counted() -> None:
    zone = ZoneResolver(
        {
            "example.jp": spf("v=spf1 -all exp=nx.example.jp"),
        }
    )
    out = asyncio.run(
        check_host(IP, "example.jp", "u@example.jp", helo="h.example.jp", resolver=zone)
    )
    assert (out.result, out.explanation, out.lookups, out.void_lookups) == (
        SpfResult.FAIL,
        "",
        0,
        0,
    )
    assert zone.queries == [("TXT", "example.jp"), ("TXT", "nx.example.jp")]


# -- results and errors --------------------------------------------------------------------


def test_explanation_only_on_fail() -> None:
    zone = {"example.jp": spf("v=spf1 ~all exp=why.example.jp"), "why.example.jp": {"TXT": ["no"]}}
    out = run(zone)
    assert (out.result, out.explanation) == (SpfResult.SOFTFAIL, "")


def test_exp_only_macros_r_and_t() -> None:
    out = run(
        {
            "example.jp": spf("v=spf1 -all exp=why.example.jp"),
            "why.example.jp": {"TXT": ["%{r} at %{t} refused %{c} (%{h})"]},
        },
        receiver="mx.receiver.example",
        now=1700000000,
    )
    assert (
        out.explanation == "mx.receiver.example at 1700000000 refused 192.0.2.10 (mail.example.jp)"
    )


def test_no_record_and_two_records() -> None:
    none = run({"example.jp": {"TXT": ["google-site-verification=x"]}})
    assert none.result is SpfResult.NONE and "no SPF record" in none.reason
    assert none.trace.record is None and none.trace.terms == ()
    two = run({"example.jp": {"TXT": ["v=spf1 -all", "v=spf1 +all"]}})
    assert two.result is SpfResult.PERMERROR and "exactly one" in two.reason


def test_syntax_error_anywhere_is_a_permerror_before_any_lookup() -> None:
    zone = ZoneResolver({"example.jp": spf("v=spf1 a:h.example.jp -all a:")})
    out = asyncio.run(check_host(IP, "example.jp", "u@example.jp", helo="h", resolver=zone))
    assert out.result is SpfResult.PERMERROR and out.lookups == 0
    assert zone.queries == [("TXT", "example.jp")]


def test_servfail_in_include_is_temperror() -> None:
    out = run(
        {
            "example.jp": spf("v=spf1 ip4:198.51.100.1 include:bad.example.jp -all"),
            "bad.example.jp": "SERVFAIL",
        }
    )
    assert out.result is SpfResult.TEMPERROR
    assert out.mechanism == "include:bad.example.jp"
    assert "SERVFAIL" in out.reason


def test_include_of_a_domain_without_spf_is_permerror() -> None:
    out = run({"example.jp": spf("v=spf1 include:nx.example.jp -all")})
    assert out.result is SpfResult.PERMERROR and "§5.2" in out.reason
    assert out.void_lookups == 1


def test_cname_is_followed_and_counted_once() -> None:
    out = run(
        {
            "example.jp": spf("v=spf1 a:www.example.jp -all"),
            "www.example.jp": {"CNAME": ["host.example.net"]},
            "host.example.net": {"A": [IP]},
        }
    )
    assert (out.result, out.lookups) == (SpfResult.PASS, 1)


def test_ipv6_client_uses_aaaa_and_ip6() -> None:
    zone = {"example.jp": spf("v=spf1 a/24//64 -all", A=["192.0.2.1"], AAAA=["2001:db8::1"])}
    assert run(zone, ip="2001:db8::ffff").result is SpfResult.PASS
    assert run(zone, ip="2001:db8:1::1").result is SpfResult.FAIL
    mapped = run({"example.jp": spf("v=spf1 ip4:192.0.2.0/24 -all")}, ip="::ffff:192.0.2.10")
    assert mapped.result is SpfResult.PASS  # §5: IPv4-mapped is IPv4


def test_empty_sender_uses_postmaster_at_helo() -> None:
    assert spf_domain("", "mail.example.jp") == ("postmaster@mail.example.jp", "mail.example.jp")
    assert spf_domain("u@example.jp", "h") == ("u@example.jp", "example.jp")
    out = run(
        {
            "mail.example.jp": spf("v=spf1 -all exp=why.example.jp"),
            "why.example.jp": {"TXT": ["%{s} via %{o}"]},
        },
        sender="",
    )
    assert out.domain == "mail.example.jp"
    assert out.explanation == "postmaster@mail.example.jp via mail.example.jp"


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        ("%{d}", "example.jp"),
        ("%{d1}", "jp"),
        ("%{dr}", "jp.example"),
        ("%{ir}.%{v}.arpa", "10.2.0.192.in-addr.arpa"),
        ("%{l-}", "first.last+tag"),
        ("%{l1-}", "last+tag"),
        ("%{L}", "first-last%2Btag"),
        ("%{lr+}", "tag.first-last"),
        ("%{l+r}", ""),  # transformers come before delimiters (§7.1): a syntax error, no exp
        ("%%%_%-", "% %20"),
    ],
)
def test_macro_expansion(spec: str, value: str) -> None:
    out = run(
        {"example.jp": spf("v=spf1 -all exp=why.example.jp"), "why.example.jp": {"TXT": [spec]}},
        sender="first-last+tag@example.jp",
    )
    assert out.explanation == value


def test_zone_resolver_errors() -> None:
    zone = ZoneResolver({"a.example.jp": {"A": ["192.0.2.1"]}, "t.example.jp": "TIMEOUT"})
    with pytest.raises(DnsError) as nx:
        asyncio.run(zone.txt("b.example.jp"))
    assert nx.value.kind is DnsErrorKind.VOID
    with pytest.raises(DnsError) as nodata:
        asyncio.run(zone.txt("a.example.jp"))
    assert (nodata.value.kind, nodata.value.detail) == (DnsErrorKind.VOID, "NODATA")
    with pytest.raises(DnsError) as slow:
        asyncio.run(zone.a("t.example.jp"))
    assert slow.value.kind is DnsErrorKind.TEMPORARY
    assert asyncio.run(zone.a("A.Example.JP.")) == ["192.0.2.1"]
