"""The Public Suffix List wrapper: the list shipped in publicsuffixlist, read offline."""

from __future__ import annotations

import re

from smtpprobe.psl import organizational_domain_psl, psl_version


def test_registered_domains() -> None:
    assert organizational_domain_psl("mail.example.co.uk") == "example.co.uk"
    assert organizational_domain_psl("A.Example.JP.") == "example.jp"
    # sakura.ne.jp is in the list's private section: each customer host is its own org domain
    assert organizational_domain_psl("www123.sakura.ne.jp") == "www123.sakura.ne.jp"


def test_a_public_suffix_is_its_own_org_domain() -> None:
    assert organizational_domain_psl("ne.jp") == "ne.jp"
    assert organizational_domain_psl("jp") == "jp"


def test_list_version_is_known() -> None:
    assert re.match(r"^\d{4}-\d{2}-\d{2}", psl_version())
