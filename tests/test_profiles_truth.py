"""Provider knowledge that is true (issue 8, item 7).

Every shipped profile cites at least one page on its provider's own domain; every
value no such page confirmed is listed under ``unverified`` with a real key, and
``profiles show`` marks it in both languages. The facts the issue named are pinned:
Outlook.com wants XOAUTH2 and never an app password, Microsoft 365 knows the
``550 5.7.30`` retirement reply, OCN offers no 587, the new profiles load, and
the profile rules' examples are the cited ones (no invented English E041, no
Sakura RCPT example).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from smtpprobe.cli import app
from smtpprobe.core.profile import UNVERIFIABLE, Profile, ProfileError, parse_profile
from smtpprobe.core.rules import first_match
from smtpprobe.core.transcript import Security
from smtpprobe.loading import load_profiles, load_rulebook
from smtpprobe.render.profiles import format_profile

# The provider's own domains, per profile: a source on one of them (or a subdomain)
# is the provider's page. Mozilla's ISPDB and third-party copies are not.
PROVIDER_DOMAINS: dict[str, tuple[str, ...]] = {
    "asahi-net": ("asahi-net.jp", "asahi-net.or.jp"),
    "au-one-net": ("au.com", "kddi.com"),
    "biglobe": ("biglobe.ne.jp",),
    "conoha-wing": ("conoha.jp",),
    "docomo": ("nttdocomo.co.jp",),
    "gmail": ("google.com",),
    "google-workspace-relay": ("google.com",),
    "icloud": ("apple.com",),
    "jcom": ("zaq.ne.jp", "myjcom.jp"),
    "kagoya": ("kagoya.jp",),
    "lolipop": ("lolipop.jp",),
    "microsoft365": ("microsoft.com",),
    "nifty": ("nifty.com",),
    "ocn": ("ocn.ne.jp",),
    "onamae": ("onamae.com", "onamae-server.com"),
    "outlook": ("microsoft.com",),
    "sakura": ("sakura.ad.jp",),
    "so-net": ("so-net.ne.jp", "nuro.jp"),
    "xserver": ("xserver.ne.jp",),
    "yahoo-jp": ("yahoo-net.jp", "yahoo.co.jp"),
    "zoho-jp": ("zoho.com", "zoho.jp"),
}
NEW_PROFILES = (
    "onamae",
    "kagoya",
    "jcom",
    "docomo",
    "lolipop",
    "conoha-wing",
    "zoho-jp",
    "google-workspace-relay",
)
PROFILES = {p.name: p for p in load_profiles()}
MARK = {"en": "(unverified)", "ja": "（未確認）"}

# From tests/test_lang_ja.py: runs of 3+ lowercase English words outside names and quotes.
_QUOTED = re.compile(r"「[^」]*」|\"[^\"]*\"|`[^`]*`|'[^'\s][^']*'")
_NAMES = re.compile(r"\S*[-./@:_=<>\[\]#$*]\S*")
_ENGLISH = re.compile(r"\b[a-z]+(?:\s+[a-z]+){2,}\b")


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _on(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _show(*args: str) -> Any:
    env = {"SMTPPROBE_CONFIG_DIR": "/nonexistent-smtpprobe-config", "NO_COLOR": "1"}
    return CliRunner().invoke(app, ["profiles", "show", *args], env=env)


def test_every_shipped_profile_is_listed_with_its_domains() -> None:
    assert set(PROFILES) == set(PROVIDER_DOMAINS)


@pytest.mark.parametrize("name", sorted(PROVIDER_DOMAINS))
def test_a_source_is_the_providers_own_page(name: str) -> None:
    hosts = [_host(source) for source in PROFILES[name].sources]
    assert any(_on(h, PROVIDER_DOMAINS[name]) for h in hosts), (name, hosts)


@pytest.mark.parametrize("name", sorted(PROVIDER_DOMAINS))
def test_unverified_marks_name_real_keys(name: str) -> None:
    profile = PROFILES[name]
    assert profile.unverified <= set(UNVERIFIABLE)
    # A value that is marked is one the profile states (or one with a default).
    for key in profile.unverified - {"username", "auth_mechanisms", "geo_ip_filter"}:
        value = {
            "host": profile.host,
            "host_pattern": profile.host_pattern,
            "port": profile.port,
            "security": profile.security,
            "alternatives": profile.alternatives,
            "geo_ip_filter_setting": profile.geo_ip_filter_setting,
            "notes": profile.notes,
            "gmail": profile.gmail_notes,
        }[key]
        assert value, (name, key)


def _minimal(**extra: Any) -> dict[str, Any]:
    return {"name": "mine", "host": "smtp.example.jp", "port": 587, "security": "starttls", **extra}


def test_unverified_is_validated() -> None:
    assert parse_profile(_minimal(unverified=["port", "username"]), "f").unverified == {
        "port",
        "username",
    }
    with pytest.raises(ProfileError, match="'unverified' names 'passwrd'"):
        parse_profile(_minimal(unverified=["passwrd"]), "f.yaml")
    with pytest.raises(ProfileError, match="'host_pattern', which this profile does not set"):
        parse_profile(_minimal(unverified=["host_pattern"]), "f.yaml")
    with pytest.raises(ProfileError, match="must be a list of key names"):
        parse_profile(_minimal(unverified="port"), "f.yaml")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_profiles_show_marks_unverified_values(lang: str) -> None:
    shown = _show("nifty", "--lang", lang)
    assert shown.exit_code == 0, shown.output
    rows = {line.split()[0]: line for line in shown.stdout.splitlines()[1:]}
    mark = MARK[lang]
    server, port = ("server", "port") if lang == "en" else ("サーバー", "ポート")
    assert mark not in rows[server]  # smtp.nifty.com is on @nifty's own notice
    assert rows[port].endswith(mark)  # 465 / SSL is not confirmed on @nifty's page
    # A fully confirmed value carries no mark.
    jcom = format_profile(PROFILES["jcom"], lang).splitlines()
    assert not any(mark in line for line in jcom if "smtpa.jcom.zaq.ne.jp" in line)


def test_the_mark_follows_each_key() -> None:
    base = _minimal(
        notes={"en": "n", "ja": "注"}, alternatives=[{"port": 465, "security": "implicit-tls"}]
    )
    clean = format_profile(parse_profile(base, "f"), "en")
    assert MARK["en"] not in clean
    for key in ("host", "port", "alternatives", "username", "auth_mechanisms", "notes"):
        marked = format_profile(parse_profile({**base, "unverified": [key]}, "f"), "en")
        assert marked.count(MARK["en"]) == 1, key


@pytest.mark.parametrize("name", sorted(PROVIDER_DOMAINS))
def test_profiles_show_speaks_japanese(name: str) -> None:
    profile: Profile = PROFILES[name]
    shown = format_profile(profile, "ja").replace(profile.title, "")
    shown = shown.replace("au one net", "")  # a brand name, not a sentence
    found = []
    for line in shown.splitlines():
        text = _NAMES.sub(" ", _QUOTED.sub(" ", line))
        found += [m.group() for m in _ENGLISH.finditer(text)]
    assert found == [], (name, found)


@pytest.mark.parametrize("name", NEW_PROFILES)
def test_the_new_profiles_load(name: str) -> None:
    profile = PROFILES[name]
    assert profile.host or profile.host_pattern
    assert profile.notes is not None and profile.sources
    if name != "google-workspace-relay":  # a relay for servers, not for Gmail's dialog
        assert profile.gmail_notes is not None


def test_new_profiles_do_not_steal_other_hosts() -> None:
    # A profile found by host name must stay found: for_host needs exactly one match.
    profiles = load_profiles()
    for host, name in (
        ("smtp.gmail.com", "gmail"),
        ("smtp-relay.gmail.com", "google-workspace-relay"),
        ("smtp.office365.com", "microsoft365"),
        ("www1234.sakura.ne.jp", "sakura"),
        ("smtp.mail1006.conoha.ne.jp", "conoha-wing"),
        ("mail73.conoha.ne.jp", "conoha-wing"),  # the form without "smtp." users' configs show
        ("smtp.zoho.jp", "zoho-jp"),
    ):
        found = profiles.for_host(host)
        assert found is not None and found.name == name, host


def test_onamae_foreign_smtp_restriction_is_on_by_default_and_says_how_to_turn_it_off() -> None:
    onamae = PROFILES["onamae"]
    assert onamae.geo_ip_filter and onamae.geo_ip_filter_setting is not None
    assert "国外からのSMTP認証のアクセス制限" in onamae.geo_ip_filter_setting.ja
    assert "無効" in onamae.geo_ip_filter_setting.ja and "無効" in onamae.geo_ip_filter_setting.en


def test_kagoya_user_name_is_the_account_name() -> None:
    assert PROFILES["kagoya"].username == "account-id"
    assert "username" not in PROFILES["kagoya"].unverified


def test_outlook_requires_xoauth2_and_never_suggests_an_app_password() -> None:
    outlook = PROFILES["outlook"]
    assert outlook.auth_mechanisms == ("XOAUTH2",)
    assert outlook.password_env is None
    texts = [outlook.notes, outlook.gmail_notes] + [r.remedy for r in outlook.rules]
    for text in texts:
        assert text is not None
        for lang in ("en", "ja"):
            said = text.get(lang)
            # App passwords may be named only to say they do not help.
            for sentence in re.split(r"(?<=\.)\s+|(?<=。)", said):
                if "app password" in sentence.lower() or "アプリ パスワード" in sentence:
                    refusal = r"not|included|も含めて|を含む|解決しません"
                    assert re.search(refusal, sentence), sentence
    assert "XOAUTH2" in outlook.notes.en and "16 September 2024" in outlook.notes.en


def test_outlook_basic_auth_rule_matches_its_cited_reply() -> None:
    outlook = PROFILES["outlook"]
    rule = next(r for r in outlook.rules if r.id == "outlook-basic-auth-disabled")
    assert rule.category == "auth-method-disabled"
    for example in rule.examples:
        assert example.reply and "basic authentication is disabled" in example.reply
        assert rule.matches(example.situation)


def test_microsoft365_knows_the_5_7_30_retirement_reply() -> None:
    m365 = PROFILES["microsoft365"]
    rule = next(r for r in m365.rules if r.id == "m365-basic-auth-retired")
    assert rule.category == "auth-method-disabled" and not rule.phases  # stage-less pastes too
    rulebook = load_rulebook(m365)
    replies = set()
    for example in rule.examples:
        replies.add(example.reply)
        winner = first_match(rulebook, example.situation)
        assert winner is not None and winner[0].id == rule.id
    assert replies == {"550 5.7.30 Basic authentication is not supported for Client Submission."}
    notes = m365.notes
    assert notes is not None
    for date in ("end of December 2026", "second half of 2027", "27 January 2026"):
        assert date in notes.en
    assert any("4114750" in s for s in m365.sources) and any("4489835" in s for s in m365.sources)


def test_ocn_offers_no_port_587() -> None:
    assert [alt.port for alt in PROFILES["ocn"].alternatives] == []
    assert PROFILES["ocn"].port == 465 and PROFILES["ocn"].security is Security.IMPLICIT_TLS


def test_biglobe_cites_the_moved_ispdb_file() -> None:
    ispdb = [s for s in PROFILES["biglobe"].sources if "thunderbird/autoconfig" in s]
    assert ispdb == [
        "https://github.com/thunderbird/autoconfig/blob/master/ispdb/biglobe.ne.jp.xml"
    ]


def test_nifty_values_the_isp_db_gives_are_marked_until_nifty_confirms_them() -> None:
    nifty = PROFILES["nifty"]
    # The ISPDB's nifty.com entry gives the whole address since its commit 37145b8
    # (2026-03-09); the part before @ it gave until then is the notes' fallback.
    assert nifty.username == "email"
    assert nifty.notes is not None and "part before @" in nifty.notes.en
    assert {"port", "security", "username", "auth_mechanisms"} <= nifty.unverified


def test_examples_no_source_shows_are_gone() -> None:
    ocn = next(r for r in PROFILES["ocn"].rules if r.id == "ocn-e041-relay-denied")
    assert all("E041" in (e.reply or "") for e in ocn.examples)
    assert not any("Relay access denied (E041)" in (e.reply or "") for e in ocn.examples)
    sakura = next(r for r in PROFILES["sakura"].rules if r.id == "sakura-foreign-ip-filter")
    assert [e.situation.phase for e in sakura.examples] == ["mail"]


@pytest.mark.parametrize("name", sorted(PROVIDER_DOMAINS))
def test_every_profile_rule_matches_its_examples_first(name: str) -> None:
    profile = PROFILES[name]
    rulebook = load_rulebook(profile)
    for rule in profile.rules:
        assert rule.examples, rule.id
        for example in rule.examples:
            assert rule.matches(example.situation), (rule.id, example.reply)
            winner = first_match(rulebook, example.situation)
            assert winner is not None and winner[0].category == rule.category, rule.id
