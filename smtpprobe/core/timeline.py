"""A check's history as a timeline: states, dialogue changes, lockout and backoff decisions.

Pure: rows in (oldest first), values out. ``smtpprobe.history`` stores the rows and
``smtpprobe history`` shows what this module makes of them.

Confirmation: a state (the verdict's category) changes only after ``confirm``
consecutive results of the new category, so that one blip does not alert; the
new state then counts from the first of those results. The same holds for each
observed part of the dialogue (banner, TLS version, certificate, AUTH mechanisms,
egress country, a category's reply text): a server behind round-robin DNS that
shows two banners in turn must not report a change at every run.

A row that was skipped (lockout, backoff) is no result: it neither confirms nor
breaks a run. Times are ISO 8601 UTC strings (``2026-01-30T10:02:00Z``), which
sort as text; this module never reads a clock.
"""

from __future__ import annotations

import collections
import itertools
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from smtpprobe.core.record import record
from smtpprobe.core.rules import Text

__all__ = [
    "AUTHENTICATED_STAGES",
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "SKIPPED",
    "Change",
    "ChangeKind",
    "HistoryRow",
    "State",
    "backoff_delay",
    "changes",
    "lockout_tag",
    "new_changes",
    "normalise",
    "refused_tags",
    "short_time",
    "states",
    "transient_streak",
]

SKIPPED = "skipped"
AUTH_FAILED = "auth-failed"
# Stages after AUTH: a result that stopped there (or "ok") had its credential accepted.
AUTHENTICATED_STAGES = frozenset({"mail", "rcpt", "data"})
# Stages where the final EHLO reply was not read, so the AUTH list is not the server's last word.
_BEFORE_FINAL_EHLO = frozenset(
    {"resolve", "connect", "tls", "greeting", "starttls", "security-check"}
)
BACKOFF_BASE = 60.0  # seconds after the first transient failure
BACKOFF_CAP = 1800.0  # never wait longer than this between tries
_INCOMPLETE = 3  # ExitCode.INCOMPLETE: the dialogue could not be completed


@record
class HistoryRow:
    """One stored result of one check; texts already redacted, never a secret.

    ``reply`` is the decisive reply as ``"550 5.7.1 text"`` (None when nothing
    stopped the dialogue); ``phase_ms`` sums each phase's steps in milliseconds;
    ``credential_tag`` is a salted hash of the secret used (None without one).
    """

    name: str
    at: str
    category: str
    stage: str | None = None
    exit_code: int = 0
    reply: str | None = None
    phase_ms: Mapping[str, float] = field(default_factory=dict)
    tls_version: str | None = None
    cert_fingerprint: str | None = None
    cert_not_after: str | None = None
    capabilities: tuple[str, ...] = ()
    auth_mechanisms: tuple[str, ...] = ()
    banner: str | None = None
    egress_address: str | None = None
    egress_country: str | None = None
    credential_tag: str | None = None
    skipped: str | None = None
    error: str | None = None
    retryable: bool = False
    duration_ms: float | None = None
    rule: str | None = None  # the rule that decided the verdict (None before schema 2)
    # The server refused the credentials however a rule named it (a 535, a hang-up after
    # them: ``Transcript.login_refused``); as auth-failed, never tried again with them.
    login_refused: bool = False
    id: int | None = None  # the store's row number; None before it is stored

    @property
    def is_result(self) -> bool:
        """Whether a probe (or an attempt to set one up) happened: not skipped."""
        return self.skipped is None

    @property
    def transient(self) -> bool:
        """A failure that may go away by itself: exit code 3 or a retryable verdict (not a
        result whose expectation was met: exit code 0 is no failure)."""
        return (
            self.is_result
            and self.exit_code != 0
            and (self.exit_code == _INCOMPLETE or self.retryable)
        )

    @property
    def authenticated(self) -> bool:
        """Whether the server accepted the credential (the dialogue got past AUTH)."""
        return self.is_result and (self.category == "ok" or self.stage in AUTHENTICATED_STAGES)

    @property
    def detail(self) -> str | None:
        """What to quote about this result: the decisive reply, else the error."""
        return self.reply or self.error


_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-].*)?")


def short_time(at: str) -> str:
    """``2026-01-30T10:02:00Z`` as ``2026-01-30 10:02 UTC`` (minutes are enough here)."""
    match = _ISO.fullmatch(at)
    if match is None:
        return at
    day, minute, zone = match.groups()
    return f"{day} {minute} {'UTC' if zone in (None, 'Z', '+00:00') else zone}"


TimeFormat = Callable[[str], str]
# How a category is named in each language (the renderer's labels: "成功（ok）").
CategoryName = Callable[[str], Text]


def _plain(category: str) -> Text:
    return Text(en=category, ja=category)


@record
class State:
    """A confirmed stretch of one category: since when, how many results, and the reply."""

    name: str
    category: str
    since: str  # the first result of the stretch
    last: str  # the last result counted in it
    results: int  # results of this category in it (blips of another category not counted)
    stage: str | None = None
    reply: str | None = None  # the first result's decisive reply (or error)
    reply_is_error: bool = False  # ``reply`` is smtpprobe's own error (config-error), no reply
    # Results of other categories inside the stretch, never ``confirm`` in a row (a
    # flapping server): by category, so that "ok since …" never hides them.
    blips: tuple[tuple[str, int], ...] = ()

    def text(self, when: TimeFormat = short_time, named: CategoryName = _plain) -> Text:
        """``ok since 2026-01-28 09:00 UTC (12 results)``, with the reply when there is one."""
        since, category = when(self.since), named(self.category)
        count_en = f"{self.results} result{'s' if self.results != 1 else ''}"
        count_ja = f"{self.results} 回"
        if self.blips:
            total = sum(n for _, n in self.blips)
            kinds_en = ", ".join(f"{named(c).en} {n}" for c, n in self.blips)
            kinds_ja = "、".join(f"{named(c).ja} {n} 回" for c, n in self.blips)
            count_en += f"; {total} other{'s' if total != 1 else ''} in between: {kinds_en}"
            count_ja += f"。間に連続しない別の結果: {kinds_ja}"
        if self.reply and self.reply_is_error:  # smtpprobe's words, not a server's reply
            return Text(
                en=f"{category.en} since {since}, error: {self.reply} ({count_en})",
                ja=f"{since} から {category.ja}、エラー「{self.reply}」（{count_ja}）",
            )
        if self.reply:
            return Text(
                en=f"{category.en} since {since}, reply {self.reply} ({count_en})",
                ja=f"{since} から {category.ja}、応答「{self.reply}」（{count_ja}）",
            )
        return Text(
            en=f"{category.en} since {since} ({count_en})",
            ja=f"{since} から {category.ja}（{count_ja}）",
        )

    def to_dict(self, named: CategoryName = _plain) -> dict[str, Any]:
        """JSON-ready, with the line in both languages (categories named by ``named``)."""
        line = self.text(named=named)
        return {
            "category": self.category,
            "since": self.since,
            "last": self.last,
            "results": self.results,
            "stage": self.stage,
            "reply": self.reply,
            "blips": dict(self.blips),
            "message": {"en": line.en, "ja": line.ja},
        }


class ChangeKind(StrEnum):
    """What changed; the ``kind`` of the JSON given to ``--on-change``."""

    STATE = "state"
    REPLY = "reply"
    AUTH_MECHANISMS = "auth-mechanisms"
    CERTIFICATE = "certificate"
    TLS_VERSION = "tls-version"
    BANNER = "banner"
    EGRESS_COUNTRY = "egress-country"


@record
class Change:
    """One confirmed change of a check: a state, or a part of the dialogue.

    ``before``/``after`` are the old and new values as text (a category, a reply,
    a TLS version, a fingerprint…); for AUTH mechanisms ``added``/``dropped`` list
    them. ``at`` is the first result that showed the new value.
    """

    kind: ChangeKind
    name: str
    at: str
    before: str | None
    after: str | None
    added: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    reply: str | None = None  # for a state change: the new state's decisive reply
    category: str | None = None  # the category the result had (reply changes name it)
    not_after: str | None = None  # for a certificate: the new one's expiry

    @property
    def key(self) -> tuple[str, str, str | None]:
        """What identifies this change across two readings of the same history."""
        return (self.kind.value, self.at, self.after)

    def text(self, when: TimeFormat = short_time, named: CategoryName = _plain) -> Text:
        """One line in English and Japanese: ``2026-01-30 10:02 UTC: state …``."""
        at = when(self.at)
        body = _describe(self, when, named)
        return Text(en=f"{at}: {body.en}", ja=f"{at}: {body.ja}")

    def to_dict(self, named: CategoryName = _plain) -> dict[str, Any]:
        """The JSON document ``--on-change`` gets on stdin (no secret: texts are redacted);
        categories in its message named by ``named``."""
        line = self.text(named=named)
        return {
            "schema": "smtpprobe/change/v1",
            "check": self.name,
            "kind": self.kind.value,
            "at": self.at,
            "before": self.before,
            "after": self.after,
            "added": list(self.added),
            "dropped": list(self.dropped),
            "reply": self.reply,
            "category": self.category,
            "not_after": self.not_after,
            "message": {"en": line.en, "ja": line.ja},
        }


def _quote(text: str | None) -> Text:
    return Text(en=f"“{text}”", ja=f"「{text}」") if text is not None else Text("none", "なし")


def _describe(c: Change, when: TimeFormat, named: CategoryName) -> Text:
    before, after = _quote(c.before), _quote(c.after)
    if c.kind is ChangeKind.STATE:
        reply = Text(f", reply {c.reply}", f"、応答「{c.reply}」") if c.reply else Text("", "")
        was, now = named(c.before or "?"), named(c.after or "?")
        return Text(
            en=f"state changed from {was.en} to {now.en}{reply.en}",
            ja=f"状態が {was.ja} から {now.ja} に変わりました{reply.ja}",
        )
    if c.kind is ChangeKind.REPLY:
        category = named(c.category or "?")
        return Text(
            en=f"new reply text for {category.en}: {after.en} (was {before.en})",
            ja=f"{category.ja} の応答文が変わりました: {after.ja}（以前は{before.ja}）",
        )
    if c.kind is ChangeKind.AUTH_MECHANISMS:
        en: list[str] = []
        ja: list[str] = []
        if c.dropped:
            en.append("AUTH mechanisms dropped: " + " ".join(c.dropped))
            ja.append("AUTH 方式がなくなりました: " + " ".join(c.dropped))
        if c.added:
            en.append("AUTH mechanisms added: " + " ".join(c.added))
            ja.append("AUTH 方式が増えました: " + " ".join(c.added))
        return Text(
            en="; ".join(en) + f" (now {c.after or 'none'})",
            ja="、".join(ja) + f"（現在 {c.after or 'なし'}）",
        )
    if c.kind is ChangeKind.CERTIFICATE:
        old, new = _short_fingerprint(c.before), _short_fingerprint(c.after)
        until = when(c.not_after) if c.not_after else "?"
        return Text(
            en=f"certificate replaced: SHA-256 {old} -> {new}, valid until {until}",
            ja=f"証明書が替わりました: SHA-256 {old} → {new}、有効期限 {until}",
        )
    if c.kind is ChangeKind.TLS_VERSION:
        return Text(
            en=f"TLS version changed from {c.before} to {c.after}",
            ja=f"TLS のバージョンが {c.before} から {c.after} に変わりました",
        )
    if c.kind is ChangeKind.BANNER:
        return Text(
            en=f"banner changed: {after.en} (was {before.en})",
            ja=f"バナーが変わりました: {after.ja}（以前は{before.ja}）",
        )
    return Text(
        en=f"egress country changed from {c.before} to {c.after}",
        ja=f"送信元の国が {c.before} から {c.after} に変わりました",
    )


def _short_fingerprint(value: str | None) -> str:
    return f"{value[:16]}…" if value and len(value) > 16 else (value or "none")


# --------------------------------------------------------------------------- normalising

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_VOLATILE = re.compile(
    # RFC 5322 section 3.3 date-time, as Sendmail and Exim put it in banners.
    rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+)?\d{{1,2}}\s+(?:{_MONTHS})\s+\d{{4}}"
    r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?(?:\s+(?:[+-]\d{4}|[A-Z]{1,5})(?:\s+\([A-Z]{1,5}\))?)?"
    r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\b\d{1,2}:\d{2}:\d{2}\b"
    # Client addresses (IPv4; IPv6 as hex groups with colons).
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b|(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])"
    # Session and queue IDs: a word of 8+ characters with a digit in it (a host name's
    # labels are words of their own between dots, so "mx1.example.jp" stays).
    r"|(?<![\w-])(?=[\w-]*\d)[\w-]{8,}(?![\w-])"
)


def normalise(text: str | None) -> str | None:
    """A reply or banner without what changes at every connection (dates, IDs, addresses).

    The client's own address is followed as the egress address, so a greeting that
    echoes it does not count as a banner change.
    """
    if text is None:
        return None
    return " ".join(_VOLATILE.sub("#", text).split())


# --------------------------------------------------------------------------- runs

_V = TypeVar("_V", bound=Hashable)


@dataclass(slots=True)
class _Run:
    first: HistoryRow
    last: HistoryRow
    count: int
    # Rows of other values inside the stretch that never made ``confirm`` in a row.
    blips: list[HistoryRow] = field(default_factory=list)


def _confirmed(
    rows: Iterable[HistoryRow], value: Callable[[HistoryRow], _V | None], confirm: int
) -> Iterator[_Run]:
    """Each confirmed stretch of ``value`` over the rows where it is not None.

    The first observed value starts the first stretch without confirmation (there
    is nothing before it to change from). A different value becomes the current one
    after ``confirm`` consecutive observations; a shorter run is a blip, counted
    in nothing.
    """
    confirm = max(1, confirm)
    current: _Run | None = None
    current_value: Hashable = None
    pending: list[HistoryRow] = []
    pending_value: Hashable = None
    for row in rows:
        v = value(row)
        if v is None:
            continue
        if current is None:
            current, current_value = _Run(row, row, 1), v
        elif v == current_value:
            current.last, current.count = row, current.count + 1
            current.blips.extend(pending)
            pending = []
        else:
            if pending and v == pending_value:
                pending.append(row)
            else:
                pending, pending_value = [row], v
            if len(pending) >= confirm:
                yield current
                current, current_value = _Run(pending[0], pending[-1], len(pending)), v
                pending = []
    if current is not None:
        current.blips.extend(pending)  # not (yet) confirmed: counted, not a change
        yield current


def _results(rows: Iterable[HistoryRow]) -> list[HistoryRow]:
    return [r for r in rows if r.is_result]


def states(rows: Sequence[HistoryRow], *, confirm: int = 2) -> list[State]:
    """The check's confirmed states, oldest first (rows of one check, oldest first)."""
    return [
        State(
            name=run.first.name,
            category=run.first.category,
            since=run.first.at,
            last=run.last.at,
            results=run.count,
            stage=run.first.stage,
            reply=run.first.detail,
            reply_is_error=run.first.reply is None and run.first.error is not None,
            blips=tuple(collections.Counter(b.category for b in run.blips).items()),
        )
        for run in _confirmed(_results(rows), lambda r: r.category, confirm)
    ]


def _value_changes(
    rows: Sequence[HistoryRow],
    kind: ChangeKind,
    value: Callable[[HistoryRow], str | None],
    confirm: int,
    show: Callable[[HistoryRow], str | None] | None = None,
) -> list[Change]:
    """Changes of one observed value; ``show`` gives the text to report (default: the value)."""
    shown = show or value
    found: list[Change] = []
    previous: _Run | None = None
    for run in _confirmed(rows, value, confirm):
        if previous is not None:
            found.append(
                Change(
                    kind=kind,
                    name=run.first.name,
                    at=run.first.at,
                    before=shown(previous.first),
                    after=shown(run.first),
                    category=run.first.category if kind is ChangeKind.REPLY else None,
                    not_after=(
                        run.first.cert_not_after if kind is ChangeKind.CERTIFICATE else None
                    ),
                )
            )
        previous = run
    return found


def _auth_seen(row: HistoryRow) -> frozenset[str] | None:
    # Only a row whose final EHLO was read tells which mechanisms the server offers.
    if not row.capabilities or row.stage in _BEFORE_FINAL_EHLO:
        return None
    return frozenset(row.auth_mechanisms)


def _auth_changes(rows: Sequence[HistoryRow], confirm: int) -> list[Change]:
    found: list[Change] = []
    previous: HistoryRow | None = None
    for run in _confirmed(rows, _auth_seen, confirm):
        if previous is not None:
            old, new = previous.auth_mechanisms, run.first.auth_mechanisms
            found.append(
                Change(
                    kind=ChangeKind.AUTH_MECHANISMS,
                    name=run.first.name,
                    at=run.first.at,
                    before=" ".join(old) or None,
                    after=" ".join(new) or None,
                    added=tuple(m for m in new if m not in old),
                    dropped=tuple(m for m in old if m not in new),
                )
            )
        previous = run.first
    return found


def changes(rows: Sequence[HistoryRow], *, confirm: int = 2) -> list[Change]:
    """Every confirmed change of one check, in time order: states and the dialogue.

    Reply texts are compared within a category (a new wording of the same refusal;
    a new category is a state change and quotes its reply), banners and replies
    after ``normalise``; the texts reported are the server's own.
    """
    results = _results(rows)
    found: list[Change] = []
    found_states = states(results, confirm=confirm)
    for previous, state in itertools.pairwise(found_states):
        found.append(
            Change(
                kind=ChangeKind.STATE,
                name=state.name,
                at=state.since,
                before=previous.category,
                after=state.category,
                reply=state.reply,
                category=state.category,
            )
        )
    by_category: dict[str, list[HistoryRow]] = {}
    for row in results:
        if row.reply is not None:
            by_category.setdefault(row.category, []).append(row)
    for same in by_category.values():
        found += _value_changes(
            same, ChangeKind.REPLY, lambda r: normalise(r.reply), confirm, lambda r: r.reply
        )
    found += _auth_changes(results, confirm)
    found += _value_changes(results, ChangeKind.CERTIFICATE, lambda r: r.cert_fingerprint, confirm)
    found += _value_changes(results, ChangeKind.TLS_VERSION, lambda r: r.tls_version, confirm)
    found += _value_changes(
        results, ChangeKind.BANNER, lambda r: normalise(r.banner), confirm, lambda r: r.banner
    )
    found += _value_changes(results, ChangeKind.EGRESS_COUNTRY, lambda r: r.egress_country, confirm)
    order = list(ChangeKind)
    return sorted(found, key=lambda c: (c.at, order.index(c.kind)))


def new_changes(
    before_rows: Sequence[HistoryRow], after_rows: Sequence[HistoryRow], *, confirm: int = 2
) -> list[Change]:
    """What the results in ``after_rows`` changed: confirmed now, not before them.

    ``before_rows`` are the check's stored rows before this run (a recent window is
    enough: both readings start from the same row), ``after_rows`` the new ones.
    """
    known = {c.key for c in changes(before_rows, confirm=confirm)}
    return [c for c in changes([*before_rows, *after_rows], confirm=confirm) if c.key not in known]


# --------------------------------------------------------------------------- safety


def lockout_tag(rows: Sequence[HistoryRow]) -> str | None:
    """The credential tag that last got ``auth-failed`` (or a refused login of another
    name, ``HistoryRow.login_refused``), or None when there is none.

    ``rows`` are the check's results since the user last cleared its lockout. A
    later result with another tag that the server accepted clears it; a later
    failure of another kind (a timeout) does not, as it says nothing of the
    credential. A tag is a salted hash: equal tags mean the same secret.
    """
    locked: str | None = None
    for row in _results(rows):
        if (row.category == AUTH_FAILED or row.login_refused) and row.credential_tag is not None:
            locked = row.credential_tag
        elif locked is not None and row.authenticated:
            # The same tag cannot be accepted after failing (the runner never tries it),
            # but a changed password that worked ends the lockout either way.
            locked = None
    return locked


def refused_tags(rows: Sequence[HistoryRow]) -> frozenset[str]:
    """Every credential tag refused since the last accepted login (``lockout_tag``'s rule,
    for all of them): a password refused once is not sent again because another refused
    password was tried after it (cron and serve with different wrong secrets, or a switch
    back to an old one)."""
    refused: set[str] = set()
    for row in _results(rows):
        if (row.category == AUTH_FAILED or row.login_refused) and row.credential_tag is not None:
            refused.add(row.credential_tag)
        elif refused and row.authenticated:
            refused.clear()
    return frozenset(refused)


def transient_streak(rows: Sequence[HistoryRow]) -> tuple[int, HistoryRow | None]:
    """How many results in a row, newest backwards, were transient failures; and the newest."""
    count, newest = 0, None
    for row in reversed(_results(rows)):
        if not row.transient:
            break
        count += 1
        newest = newest or row
    return count, newest


def backoff_delay(failures: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after ``failures`` transient failures in a row: base·2^(n-1), capped."""
    if failures <= 0:
        return 0.0
    # 2 ** 64 already exceeds any cap; the bound keeps the float finite.
    return float(min(cap, base * 2 ** min(failures - 1, 64)))
