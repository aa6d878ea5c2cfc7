"""DMARC (RFC 9989): record parsing, the DNS tree walk, policy discovery, alignment.

Zones are test data under example domains; the Sakura-shaped case uses the Public Suffix List's
real entry for sakura.ne.jp (its private section) with a DMARC record that is test data only.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from smtpprobe.core.dmarc import (
    MAX_WALK_QUERIES,
    DmarcError,
    DmarcLookup,
    aligned,
    find_policy,
    organizational_domain,
    parse_dmarc,
    walk_targets,
)
from smtpprobe.psl import organizational_domain_psl
from smtpprobe.testing.zone import ZoneResolver


def lookup(zone: dict[str, Any], domain: str, **kwargs: Any) -> tuple[DmarcLookup, ZoneResolver]:
    resolver = ZoneResolver(zone)
    return asyncio.run(find_policy(domain, resolver, **kwargs)), resolver


def txt_queries(resolver: ZoneResolver) -> list[str]:
    return [name for kind, name in resolver.queries if kind == "TXT"]


# ---- parsing (§4.7, §4.8)


def test_full_record() -> None:
    record = parse_dmarc(
        "v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=s; psd=n; t=y; "
        "rua=mailto:agg@example.jp, mailto:agg2@example.jp; ruf=mailto:f@example.jp; fo=1:d"
    )
    assert (record.p, record.sp, record.np) == ("reject", "quarantine", "reject")
    assert (record.adkim, record.aspf, record.psd, record.t, record.fo) == (
        "s",
        "s",
        "n",
        "y",
        "1:d",
    )
    assert record.rua == ("mailto:agg@example.jp", "mailto:agg2@example.jp")
    assert record.ruf == ("mailto:f@example.jp",)
    assert record.applies and record.warnings == ()


def test_defaults_and_spacing() -> None:
    record = parse_dmarc("v = DMARC1 ;p = Quarantine;")
    assert (record.p, record.sp, record.np) == ("quarantine", None, None)
    assert (record.adkim, record.aspf, record.psd, record.t) == ("r", "r", "u", "n")
    assert record.subdomain_policy() == "quarantine"
    assert record.subdomain_policy(exists=False) == "quarantine"
    assert record.warnings == ()


def test_np_falls_back_to_sp_then_p() -> None:
    record = parse_dmarc("v=DMARC1; p=none; sp=quarantine")
    assert record.subdomain_policy(exists=False) == "quarantine"
    assert parse_dmarc("v=DMARC1; p=none; np=reject").subdomain_policy(exists=False) == "reject"
    assert parse_dmarc("v=DMARC1; p=none; np=reject").subdomain_policy() == "none"


@pytest.mark.parametrize(
    "text",
    ["", "v=spf1 -all", "p=reject; v=DMARC1", "v=dmarc1; p=reject", "v=DMARC10; p=none", "x"],
)
def test_not_a_dmarc_record(text: str) -> None:
    with pytest.raises(DmarcError, match=r"v=DMARC1"):
        parse_dmarc(text)


def test_missing_p_is_none_with_a_warning() -> None:
    record = parse_dmarc("v=DMARC1; rua=mailto:d@example.jp")
    assert record.p == "none" and record.applies
    assert any("no p tag" in w for w in record.warnings)


def test_invalid_policy_with_rua_acts_as_p_none() -> None:
    record = parse_dmarc("v=DMARC1; p=block; sp=reject; rua=mailto:d@example.jp")
    assert (record.p, record.sp, record.applies) == ("none", None, True)
    assert any("act as if p=none" in w for w in record.warnings)


def test_invalid_policy_without_rua_means_no_dmarc() -> None:
    record = parse_dmarc("v=DMARC1; p=reject; np=drop")
    assert not record.applies
    assert any("apply no DMARC" in w for w in record.warnings)


def test_removed_rfc7489_tags_are_kept_with_a_note() -> None:
    record = parse_dmarc("v=DMARC1; p=reject; pct=50; rf=afrf; ri=3600")
    assert record.p == "reject"
    assert dict(record.removed) == {"pct": "50", "rf": "afrf", "ri": "3600"}
    assert sum("RFC 9989 removed" in w for w in record.warnings) == 3


def test_unknown_and_broken_tags_are_ignored_with_warnings() -> None:
    record = parse_dmarc("v=DMARC1; p=none; foo=bar; adkim=x; t=maybe; junk; p=reject")
    assert record.p == "none"  # the first p wins
    assert record.adkim == "r" and record.t == "n"
    joined = " | ".join(record.warnings)
    for expected in ("unknown tag foo", "adkim=x", "t=maybe", "'junk'", "p appears more"):
        assert expected in joined


def test_report_uris() -> None:
    record = parse_dmarc(
        "v=DMARC1; p=none; rua=mailto:a@example.jp!10m, https://r.example.jp/x,, not a uri"
    )
    assert record.rua == ("mailto:a@example.jp!10m", "https://r.example.jp/x")
    joined = " | ".join(record.warnings)
    assert "size limit" in joined and "https: URIs" in joined and "'not a uri'" in joined


# ---- the tree walk (§4.10)


def test_walk_targets_follow_the_rfc_example() -> None:
    # RFC 9989 §4.10's illustration: eight queries for a 13-label Author Domain
    assert walk_targets("a.b.c.d.e.f.g.h.i.j.mail.example.com") == [
        "a.b.c.d.e.f.g.h.i.j.mail.example.com",
        "g.h.i.j.mail.example.com",
        "h.i.j.mail.example.com",
        "i.j.mail.example.com",
        "j.mail.example.com",
        "mail.example.com",
        "example.com",
        "com",
    ]
    assert walk_targets("a.mail.example.com.") == [
        "a.mail.example.com",
        "mail.example.com",
        "example.com",
        "com",
    ]
    assert walk_targets("jp") == ["jp"]
    assert walk_targets("") == []


@pytest.mark.parametrize("count", range(1, 20))
def test_never_more_than_eight_queries(count: int) -> None:
    labels = [f"l{n}" for n in range(count)]
    targets = walk_targets(".".join(labels))
    assert len(targets) == min(count, MAX_WALK_QUERIES)
    assert targets[-1] == labels[-1]
    # every target after the first is one label shorter than the one before
    sizes = [t.count(".") + 1 for t in targets[1:]]
    assert sizes == list(range(sizes[0], 0, -1)) if sizes else True


def test_policy_at_the_author_domain() -> None:
    zone = {
        "_dmarc.example.jp": {"TXT": ["v=DMARC1; p=reject; sp=none"]},
        "_dmarc.jp": {"TXT": ["some unrelated text"]},
    }
    result, resolver = lookup(zone, "Example.JP")
    assert result.domain == "example.jp"
    assert (result.policy_domain, result.policy, result.enforced) == (
        "example.jp",
        "reject",
        "reject",
    )
    assert result.org_domain == "example.jp"
    assert txt_queries(resolver) == ["_dmarc.example.jp", "_dmarc.jp"]


def test_subdomain_takes_sp_of_the_org_domain_with_the_fewest_labels() -> None:
    # RFC 9989 §4.10.2's first example: records at mail.example.com and example.com
    zone = {
        "_dmarc.mail.example.com": {"TXT": ["v=DMARC1; p=none"]},
        "_dmarc.example.com": {"TXT": ["v=DMARC1; p=reject; sp=quarantine"]},
        "a.mail.example.com": {"A": ["192.0.2.1"]},
    }
    result, resolver = lookup(zone, "a.mail.example.com")
    assert result.org_domain == "example.com"
    assert "rule 3" in result.org.reason
    assert (result.policy_domain, result.policy) == ("example.com", "quarantine")
    assert txt_queries(resolver) == [
        "_dmarc.a.mail.example.com",
        "_dmarc.mail.example.com",
        "_dmarc.example.com",
        "_dmarc.com",
    ]
    assert [step.outcome for step in result.org.steps] == ["none", "record", "record", "none"]


def test_psd_n_stops_the_walk_and_is_the_org_domain() -> None:
    zone = {
        "_dmarc.mail.example.com": {"TXT": ["v=DMARC1; p=quarantine; psd=n"]},
        "_dmarc.example.com": {"TXT": ["v=DMARC1; p=reject"]},
    }
    result, resolver = lookup(zone, "a.mail.example.com")
    assert result.org_domain == "mail.example.com"
    assert (result.policy_domain, result.policy) == ("mail.example.com", "quarantine")
    assert txt_queries(resolver) == ["_dmarc.a.mail.example.com", "_dmarc.mail.example.com"]


def test_psd_y_makes_the_domain_below_it_the_org_domain() -> None:
    # RFC 9989 §4.10.2's last example: only _dmarc.com, with psd=y
    zone = {"_dmarc.com": {"TXT": ["v=DMARC1; p=reject; psd=y"]}, "a.mail.example.com": {}}
    result, _ = lookup(zone, "a.mail.example.com")
    assert result.org_domain == "example.com"
    assert (result.policy_domain, result.policy) == ("com", "reject")
    assert any("public suffix domain com" in note for note in result.notes)


def test_org_domain_record_is_preferred_to_the_psd_record() -> None:
    zone = {
        "_dmarc.example.com": {"TXT": ["v=DMARC1; p=none"]},
        "_dmarc.com": {"TXT": ["v=DMARC1; p=reject; psd=y"]},
    }
    result, _ = lookup(zone, "mail.example.com")
    assert result.org_domain == "example.com"
    assert (result.policy_domain, result.policy) == ("example.com", "none")


def test_no_record_anywhere() -> None:
    result, resolver = lookup({}, "mail.example.jp")
    assert result.record is None and result.policy is None and result.enforced is None
    assert result.org_domain == "mail.example.jp"
    assert not result.uncertain
    assert len(txt_queries(resolver)) == 3


def test_several_dmarc_records_are_all_discarded() -> None:
    zone = {
        "_dmarc.example.jp": {"TXT": ["v=DMARC1; p=reject", "v=DMARC1; p=none", "other"]},
    }
    result, _ = lookup(zone, "example.jp")
    assert result.record is None
    assert result.org.steps[0].outcome == "multiple"


def test_temporary_failure_makes_the_result_uncertain() -> None:
    zone = {"_dmarc.example.jp": "SERVFAIL", "_dmarc.jp": {"TXT": ["v=DMARC1; p=none; psd=y"]}}
    result, _ = lookup(zone, "mail.example.jp")
    assert result.uncertain
    assert [step.outcome for step in result.org.steps] == ["none", "temporary", "record"]
    assert result.policy_domain == "jp"  # what could be found; flagged uncertain


def test_np_for_a_domain_that_does_not_exist() -> None:
    zone = {
        "_dmarc.example.jp": {"TXT": ["v=DMARC1; p=none; sp=quarantine; np=reject"]},
        "real.example.jp": {"MX": [[10, "mx.example.jp"]]},
    }
    missing, resolver = lookup(zone, "ghost.example.jp")
    assert (missing.policy, missing.domain_exists) == ("reject", False)
    assert [kind for kind, _ in resolver.queries[-3:]] == ["A", "AAAA", "MX"]
    existing, _ = lookup(zone, "real.example.jp")
    assert (existing.policy, existing.domain_exists) == ("quarantine", True)
    no_np, resolver = lookup({"_dmarc.example.jp": {"TXT": ["v=DMARC1; p=reject"]}}, "x.example.jp")
    assert no_np.domain_exists is None and no_np.policy == "reject"
    assert all(kind == "TXT" for kind, _ in resolver.queries)  # existence not needed


def test_testing_flag_lowers_the_enforced_policy() -> None:
    result, _ = lookup({"_dmarc.example.jp": {"TXT": ["v=DMARC1; p=reject; t=y"]}}, "example.jp")
    assert (result.policy, result.enforced) == ("reject", "quarantine")


def test_long_domain_walk_uses_at_most_eight_queries() -> None:
    domain = "a.b.c.d.e.f.g.h.i.j.mail.example.com"
    result, resolver = lookup({"_dmarc.example.com": {"TXT": ["v=DMARC1; p=reject"]}}, domain)
    assert len(txt_queries(resolver)) == 8
    assert result.org_domain == "example.com" and result.policy == "reject"


def test_sakura_shaped_domain_tree_walk_and_psl_disagree() -> None:
    # sakura.ne.jp is in the Public Suffix List's private section, so the list makes every
    # wwwNNN.sakura.ne.jp its own organisational domain. With a DMARC record at sakura.ne.jp
    # (test data here, not a statement about Sakura's DNS), the tree walk says sakura.ne.jp.
    zone = {"_dmarc.sakura.ne.jp": {"TXT": ["v=DMARC1; p=none"]}}
    result, _ = lookup(zone, "www123.sakura.ne.jp", org_domain_psl=organizational_domain_psl)
    assert result.org_domain == "sakura.ne.jp"
    assert result.psl_org_domain == "www123.sakura.ne.jp"
    assert result.org_disagrees
    data = result.to_dict()
    assert data["org_disagrees"] is True
    assert [step["query"] for step in data["walk"]] == [
        "_dmarc.www123.sakura.ne.jp",
        "_dmarc.sakura.ne.jp",
        "_dmarc.ne.jp",
        "_dmarc.jp",
    ]


def test_tree_walk_and_psl_agree_for_an_ordinary_domain() -> None:
    zone = {"_dmarc.example.co.uk": {"TXT": ["v=DMARC1; p=quarantine"]}}
    result, _ = lookup(zone, "mail.example.co.uk", org_domain_psl=organizational_domain_psl)
    assert result.org_domain == result.psl_org_domain == "example.co.uk"
    assert not result.org_disagrees


# ---- alignment


def test_alignment() -> None:
    orgs = {"mail.example.jp": "example.jp", "example.jp": "example.jp", "other.jp": "other.jp"}
    org = orgs.__getitem__
    assert aligned("example.jp", "EXAMPLE.jp.", "s", org)
    assert not aligned("mail.example.jp", "example.jp", "s", org)
    assert aligned("mail.example.jp", "example.jp", "r", org)
    assert not aligned("other.jp", "example.jp", "r", org)


def test_alignment_with_the_tree_walk_org_domain() -> None:
    zone = {"_dmarc.example.jp": {"TXT": ["v=DMARC1; p=reject"]}}
    resolver = ZoneResolver(zone)

    async def org_of(name: str) -> str:
        return (await organizational_domain(name, resolver)).org_domain

    orgs = {name: asyncio.run(org_of(name)) for name in ("bounce.example.jp", "example.jp")}
    assert aligned("bounce.example.jp", "example.jp", "r", orgs.__getitem__)
    # the same pair by the PSL: sakura.ne.jp subdomains never align with each other
    assert not aligned("www1.sakura.ne.jp", "www2.sakura.ne.jp", "r", organizational_domain_psl)
