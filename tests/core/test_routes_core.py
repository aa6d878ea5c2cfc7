"""Issue 4's pure parts on plain data: origin, the route comparison, Gmail readiness."""

from __future__ import annotations

import pytest

from smtpprobe.core.compare import RouteOutcome, conclude, exit_code_of
from smtpprobe.core.origin import build_origin, echoed_address
from smtpprobe.core.profile import Profile
from smtpprobe.core.readiness import gmail_readiness
from smtpprobe.core.reply import parse_reply
from smtpprobe.core.rules import Text
from smtpprobe.core.transcript import Origin, Phase, Security, Step, Target, Transcript


def _transcript(*replies: tuple[Phase, str]) -> Transcript:
    t = Transcript(target=Target("smtp.example.jp", 587, Security.STARTTLS))
    for phase, text in replies:
        t.add(Step(phase, reply=parse_reply(text)))
    return t


@pytest.mark.parametrize(
    ("phase", "reply", "expected"),
    [
        (Phase.EHLO, "250-mx.example.jp Hello [203.0.113.5]\n250 SIZE 1000", "203.0.113.5"),
        (Phase.EHLO, "250-www1.example.jp Hello h.example [198.51.100.7], pleased to meet you"
         "\n250 8BITMIME", "198.51.100.7"),
        (Phase.EHLO, "250-smtp.gmail.com at your service, [2001:db8::5]\n250 SMTPUTF8",
         "2001:db8::5"),
        (Phase.GREETING, "220 mx.example.jp ESMTP ready [IPv6:2001:db8::9]", "2001:db8::9"),
        (Phase.EHLO, "250-smtp.example.jp\n250 STARTTLS", None),
        (Phase.EHLO, "250-mx Hello [not.an.address]\n250 X", None),
        (Phase.MAIL, "550 5.7.1 [203.0.113.5] rejected", None),
    ],
    ids=["exchange", "sendmail", "gmail-v6", "greeting-v6-literal", "none", "garbage", "not-ehlo"],
)  # fmt: skip
def test_echoed_address(phase: Phase, reply: str, expected: str | None) -> None:
    assert echoed_address(_transcript((phase, reply))) == expected


def _country(address: str) -> tuple[str | None, str | None]:
    return {"1.0.16.1": "JP", "8.8.8.8": "US"}.get(address), "2026-10-27"


@pytest.mark.parametrize(
    ("kwargs", "public", "method", "country"),
    [
        ({"local_address": "192.168.1.5", "egress": ("1.0.16.1", "dns:o-o")}, "1.0.16.1",
         "dns:o-o", "JP"),
        ({"local_address": "192.168.1.5", "echoed": "8.8.8.8"}, "8.8.8.8", "smtp-greeting", "US"),
        ({"local_address": "192.168.1.5", "egress_note": "no answer"}, None, "unknown", None),
        ({"local_address": "8.8.8.8"}, "8.8.8.8", "local-address", "US"),
        ({"local_address": "127.0.0.1", "server_address": "127.0.0.1"}, "127.0.0.1",
         "local-address", None),
        ({"local_address": "127.0.0.1", "proxy_address": "127.0.0.1"}, "127.0.0.1", "proxy",
         None),
        ({"local_address": "127.0.0.1", "proxy_address": "127.0.0.1", "echoed": "8.8.8.8",
          "egress": ("1.0.16.1", "dns:o-o")}, "8.8.8.8", "smtp-greeting", "US"),
    ],
    ids=["dns", "echo", "unknown", "no-nat", "loopback-server", "proxy", "proxy-echo"],
)  # fmt: skip
def test_build_origin(kwargs: dict, public: str | None, method: str, country: str | None) -> None:
    origin = build_origin(country_of=_country, **kwargs)
    assert (origin.public_address, origin.method, origin.country) == (public, method, country)
    if public is None:
        assert "public address unknown" in origin.notes and "no answer" in origin.notes
    if country is None and public is not None:
        assert any("no country" in note for note in origin.notes)
    assert (origin.data_date is not None) == (country is not None)


def _o(route: str, code: int, category: str, address: str | None = None,
       country: str | None = None) -> RouteOutcome:  # fmt: skip
    stage = None if code == 0 else "mail"
    return RouteOutcome(route, category, stage, code, address, country)


@pytest.mark.parametrize(
    ("outcomes", "kind", "exit_code", "phrase"),
    [
        ([_o("direct", 0, "ok", "1.0.16.1", "JP"),
          _o("proxy:a", 1, "client-ip-rejected", "8.8.8.8", "US")],
         "geo-ip-filter", 1, "only from outside Japan"),
        ([_o("direct", 0, "ok", "1.0.16.1", "JP"),
          _o("proxy:a", 1, "sender-rejected", "8.8.8.8", "US")],
         "geo-ip-filter", 1, "geo-IP filter"),
        ([_o("direct", 0, "ok", "127.0.0.1"),
          _o("source:127.0.0.2", 1, "client-ip-rejected", "127.0.0.2")],
         "address-filter", 1, "Refused only from 127.0.0.2"),
        ([_o("direct", 0, "ok", "203.0.113.1"),
          _o("source:10.0.0.2", 1, "blocklisted", "203.0.113.1")],
         "address-filter", 1, "Refused only from source:10.0.0.2"),
        ([_o("direct", 0, "ok"), _o("proxy:a", 1, "auth-failed")],
         "route-dependent", 1, "The routes disagree"),
        ([_o("direct", 0, "ok"), _o("source:x", 0, "ok")], "all-accepted", 0, "every route"),
        ([_o("direct", 1, "auth-failed"), _o("source:x", 1, "auth-failed")],
         "all-refused", 1, "the same way"),
        ([_o("direct", 0, "ok", "127.0.0.1"), _o("source:127.0.0.2", 1, "client-ip-rejected",
          "127.0.0.2"), _o("proxy:dead", 3, "proxy-failed")],
         "address-filter", 3, "Not compared: proxy:dead (proxy-failed)"),
        ([_o("proxy:a", 3, "proxy-failed"), _o("proxy:b", 3, "timeout")],
         "no-route-completed", 3, "No route completed"),
        # One session per account: the second route is refused, whatever its country.
        ([_o("direct", 0, "ok", "1.0.16.1", "JP"),
          _o("proxy:a", 1, "server-busy", "8.8.8.8", "US")],
         "momentary-refusal", 1, "says nothing about the network"),
    ],
    ids=["geo-jp", "geo-any-category", "one-address", "same-egress", "other-reason",
         "all-ok", "all-refused", "partial", "none", "momentary"],
)  # fmt: skip
def test_conclude(outcomes: list[RouteOutcome], kind: str, exit_code: int, phrase: str) -> None:
    conclusion = conclude(outcomes)
    assert conclusion.kind == kind
    assert phrase in conclusion.text.en
    assert conclusion.text.ja
    assert exit_code_of(outcomes) == exit_code


def _profile(name: str, geo: bool) -> Profile:
    # The panel setting comes from the shipped profile's geo_ip_filter_setting (plain data).
    setting = {
        "sakura": Text(
            en="Security → 国外IPアドレスフィルタ → 無効", ja="国外IPアドレスフィルタを「無効」"
        ),
        "xserver": Text(en="SMTP認証の国外アクセス制限設定 → OFF", ja="国外アクセス制限設定を OFF"),
    }.get(name)
    return Profile(
        name=name, title=name, host=None, host_pattern=None, port=587,
        security=Security.STARTTLS, username="email", auth_mechanisms=("PLAIN",),
        geo_ip_filter=geo, geo_ip_filter_setting=setting,
    )  # fmt: skip


def test_shipped_geo_filter_profiles_say_how_to_turn_it_off() -> None:
    from smtpprobe.loading import load_profiles

    for profile in load_profiles():
        if profile.geo_ip_filter:
            assert profile.geo_ip_filter_setting is not None, profile.name


@pytest.mark.parametrize(
    ("category", "profile", "country", "ready", "reason"),
    [
        ("ok", _profile("sakura", True), "JP", None, "turn-filter-off"),
        ("ok", _profile("sakura", True), None, None, "geo-filter-possible"),
        ("ok", _profile("sakura", True), "US", True, "passed-from-abroad"),
        ("ok", _profile("ocn", False), "JP", True, "no-geo-filter"),
        ("client-ip-rejected", _profile("xserver", True), "US", False, "turn-filter-off"),
        ("auth-failed", _profile("sakura", True), "JP", False, "fix-verdict-first"),
    ],
    ids=["sakura-from-jp", "sakura-unknown", "sakura-from-us", "no-filter", "rejected", "auth"],
)
def test_gmail_readiness(
    category: str, profile: Profile, country: str | None, ready: bool | None, reason: str
) -> None:
    result = gmail_readiness(
        category=category, profile=profile, host="h.example.jp", origin=Origin(country=country)
    )
    assert result.ready is ready
    ids = [r.id for r in result.reasons]
    assert reason in ids and "uncheck-alias" in ids
    assert ("test-from-abroad" in ids) == (ready is not True)
    if reason == "turn-filter-off" and profile.name == "sakura":
        assert any("無効" in r.text.ja for r in result.reasons)
    if profile.name == "xserver":
        assert any("SMTP認証の国外アクセス制限設定" in r.text.en for r in result.reasons)


def test_readiness_is_never_ready_when_dns_says_gmail_will_refuse() -> None:
    # A red-team zone: the server accepted, the same report's DNS check said dmarc-rejected,
    # and readiness said "ready". The DNS verdict's refusal now decides.
    profile = _profile("kagoya", False)
    result = gmail_readiness(
        category="ok", profile=profile, host="h.example.jp", origin=Origin(country="JP"),
        dns_refusal="dmarc-rejected",
    )  # fmt: skip
    assert result.ready is False
    assert result.reasons[0].id == "dns-auth-refused"
    assert "dmarc-rejected" in result.reasons[0].text.en and result.reasons[0].text.ja
