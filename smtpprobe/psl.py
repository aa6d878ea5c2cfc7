"""The organisational domain by the Public Suffix List, for comparison with RFC 9989's tree walk.

RFC 7489 §3.2 found the organisational domain with a public suffix list; RFC 9989 §4.10
replaced that with the DNS tree walk (``smtpprobe.core.dmarc``), but receivers still running
RFC 7489 code use the list, so a domain where the two disagree (a hosting provider's
``wwwNNN.sakura.ne.jp``: ``sakura.ne.jp`` is in the list's private section) is worth reporting.

The list is ``publicsuffixlist``'s copy, shipped inside the package (ICANN and private sections,
as publicsuffix.org publishes it); nothing is fetched. Reading it takes a few tens of
milliseconds, so it is read once, on first use.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from publicsuffixlist import PublicSuffixList

__all__ = ["organizational_domain_psl", "psl_version"]

_VERSION = re.compile(r"^// VERSION: (\S+)", re.MULTILINE)


@functools.cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def organizational_domain_psl(domain: str) -> str:
    """The registered domain of ``domain`` (public suffix plus one label), lower-case.

    A name that is itself a public suffix (``ne.jp``) or not under one is its own
    organisational domain, as RFC 7489 §3.2 step 4 leaves it.
    """
    name = domain.rstrip(".").lower()
    return _psl().privatesuffix(name) or name


@functools.cache
def psl_version() -> str:
    """The list's ``VERSION`` line (its publication time), or "" if the file has none."""
    import publicsuffixlist

    path = Path(publicsuffixlist.__file__).with_name("public_suffix_list.dat")
    try:
        match = _VERSION.search(path.read_text(encoding="utf-8")[:2000])
    except OSError:
        return ""
    return match.group(1) if match else ""
