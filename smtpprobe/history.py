"""The history of health checks: one SQLite row per result, and what it decides.

Stdlib ``sqlite3`` in WAL mode (readers never block the writer; a crash leaves
the last committed state), one transaction per result, so a ``kill -9`` in the
middle of a run loses no earlier result. The schema's version is SQLite's
``PRAGMA user_version``; a newer one than this code knows is refused, not guessed.

Nothing secret is stored: texts go through the report's ``Redactor`` first, and
a credential is kept only as a salted tag (``smtpprobe.checks.credential_tag``)
made with this database's own random salt, so that a lockout can tell "the same
password again" from "a changed one" without ever holding the password.

The timeline, lockout and backoff decisions are pure (``smtpprobe.core.timeline``);
this module reads and writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import secrets
import sqlite3
import threading
import time
import urllib.parse
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from smtpprobe.core.errors import ConfigError
from smtpprobe.core.timeline import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    HistoryRow,
    backoff_delay,
    lockout_tag,
    refused_tags,
    transient_streak,
)
from smtpprobe.core.transcript import Phase

if TYPE_CHECKING:
    from smtpprobe.report import Report

__all__ = [
    "SCHEMA_VERSION",
    "CheckLike",
    "History",
    "HistoryError",
    "ResultLike",
    "default_history_path",
    "row_from_result",
]

SCHEMA_VERSION = 2
# What each older schema needs to become this one (run in order, in the opening transaction).
_UPGRADES: dict[int, str] = {
    # 2: the rule that decided the verdict, for the exporter's `rule` label after a restart,
    # and whether the server refused the credentials (a lockout whatever the verdict's name).
    1: "ALTER TABLE results ADD COLUMN rule TEXT; "
    "ALTER TABLE results ADD COLUMN login_refused INTEGER NOT NULL DEFAULT 0",
}

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    at TEXT NOT NULL,
    category TEXT NOT NULL,
    stage TEXT,
    exit_code INTEGER NOT NULL,
    retryable INTEGER NOT NULL DEFAULT 0,
    reply TEXT,
    phase_ms TEXT NOT NULL DEFAULT '{}',
    duration_ms REAL,
    tls_version TEXT,
    cert_fingerprint TEXT,
    cert_not_after TEXT,
    capabilities TEXT NOT NULL DEFAULT '[]',
    auth_mechanisms TEXT NOT NULL DEFAULT '[]',
    banner TEXT,
    egress_address TEXT,
    egress_country TEXT,
    credential_tag TEXT,
    skipped TEXT,
    error TEXT,
    rule TEXT,
    login_refused INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX results_by_name ON results (name, id);
-- `history --reset NAME`: lockout and backoff look only at results after `after_id`.
CREATE TABLE resets (name TEXT PRIMARY KEY, after_id INTEGER NOT NULL, at TEXT NOT NULL);
"""

_COLUMNS = (
    "name", "at", "category", "stage", "exit_code", "retryable", "reply", "phase_ms",
    "duration_ms", "tls_version", "cert_fingerprint", "cert_not_after", "capabilities",
    "auth_mechanisms", "banner", "egress_address", "egress_country", "credential_tag",
    "skipped", "error", "rule", "login_refused",
)  # fmt: skip
# Lockout and backoff need only the recent past: a lockout lasts until a reset or an
# accepted credential, and an auth-failed check is never tried again, so it is near the end.
_DECISION_WINDOW = 500


class HistoryError(ConfigError):
    """The history file cannot be used (not a database, a newer schema, no permission)."""


class CheckLike(Protocol):
    """What ``record`` needs of a check definition: its name."""

    @property
    def name(self) -> str: ...


class ResultLike(Protocol):
    """What ``record`` needs of a result (``smtpprobe.runner.CheckResult`` has it)."""

    @property
    def check(self) -> CheckLike: ...
    @property
    def report(self) -> Report | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def skipped(self) -> str | None: ...
    @property
    def started_at(self) -> str: ...
    @property
    def duration(self) -> float: ...
    @property
    def credential_tag(self) -> str | None: ...
    @property
    def exit_code(self) -> int: ...
    @property
    def category(self) -> str: ...


def default_history_path() -> Path:
    """The user's data directory (``platformdirs``): ``…/smtpprobe/history.sqlite3``."""
    import platformdirs

    return platformdirs.user_data_path("smtpprobe") / "history.sqlite3"


# --------------------------------------------------------------------------- rows


def _phase_ms(report: Report) -> dict[str, float]:
    totals: dict[str, float] = {}
    for step in report.transcript.steps:
        if step.elapsed_ms is not None:
            key = step.phase.value
            totals[key] = round(totals.get(key, 0.0) + step.elapsed_ms, 3)
    return totals


def _reply_text(code: int, lines: Sequence[str], enhanced: str | None) -> str:
    text = " ".join(line for line in lines if line)
    prefix = f"{code} {enhanced}" if enhanced else str(code)
    return f"{prefix} {text}".rstrip()


def row_from_result(result: ResultLike) -> HistoryRow:
    """The row to store for one result; every text through the report's redactor."""
    report = result.report
    name = result.check.name
    base: dict[str, Any] = {
        "name": name,
        "at": result.started_at,
        "category": result.category,
        "exit_code": int(result.exit_code),
        "duration_ms": round(result.duration * 1000, 3),
        "credential_tag": result.credential_tag,
        "skipped": result.skipped,
        "error": result.error,
    }
    if report is None:
        return HistoryRow(**base)
    scrub = report.redactor
    t = report.transcript
    decisive = t.decisive_step()
    reply = None
    if decisive is not None and decisive.reply is not None:
        r = decisive.reply
        reply = scrub(_reply_text(r.code, r.lines, r.enhanced))
    greeting = next(
        (s.reply for s in t.steps if s.phase is Phase.GREETING and s.reply is not None), None
    )
    from smtpprobe.core.capabilities import parse_ehlo
    from smtpprobe.core.reply import Reply

    # The final EHLO's mechanisms, as the driver recorded its keywords (RFC 4954 section 3).
    mechanisms = parse_ehlo(Reply(250, ("-", *t.capabilities))).auth_mechanisms
    tls, origin = t.tls, t.origin
    return HistoryRow(
        **{
            **base,
            "error": scrub(result.error) if result.error else None,
            "skipped": scrub(result.skipped) if result.skipped else None,
        },
        stage=report.verdict.stage,
        rule=report.verdict.rule_id,
        login_refused=t.login_refused,
        retryable=report.verdict.retryable,
        reply=reply,
        phase_ms=_phase_ms(report),
        tls_version=tls.version if tls else None,
        cert_fingerprint=tls.fingerprint_sha256 if tls else None,
        cert_not_after=tls.not_after if tls else None,
        capabilities=tuple(scrub(c) for c in t.capabilities),
        auth_mechanisms=mechanisms,
        banner=(
            scrub(_reply_text(greeting.code, greeting.lines, greeting.enhanced))
            if greeting
            else None
        ),
        egress_address=origin.public_address if origin else None,
        egress_country=origin.country if origin else None,
    )


def _to_db(row: HistoryRow) -> tuple[Any, ...]:
    values = {
        **{c: getattr(row, c) for c in _COLUMNS},
        "retryable": int(row.retryable),
        "login_refused": int(row.login_refused),
        "phase_ms": json.dumps(dict(row.phase_ms), sort_keys=True),
        "capabilities": json.dumps(list(row.capabilities), ensure_ascii=False),
        "auth_mechanisms": json.dumps(list(row.auth_mechanisms)),
    }
    return tuple(values[c] for c in _COLUMNS)


def _from_db(record: sqlite3.Row, path: Path, parsed: dict[str, Any] | None = None) -> HistoryRow:
    """A stored row; HistoryError naming it when another program damaged it.

    ``parsed`` memoises the JSON columns across the rows of one read: a check's rows repeat
    the same few capability lists, and parsing them row by row was most of `history NAME`'s
    time on a long history (100,000 rows: 2.9 s)."""
    memo: dict[str, Any] = {} if parsed is None else parsed
    stored = dict(zip(record.keys(), record, strict=True))  # by name once, not per column
    values: dict[str, Any] = {c: stored[c] for c in _COLUMNS}
    try:
        # SQLite keeps any type in any column: text columns must hold text (or NULL).
        if bytes in map(type, values.values()):
            raise TypeError("a column holds a value of the wrong type")
        phase_ms, capabilities, mechanisms = (
            _json(values[c], memo) for c in ("phase_ms", "capabilities", "auth_mechanisms")
        )
        if not (
            isinstance(phase_ms, dict)
            and all(isinstance(v, int | float) for v in phase_ms.values())
            and isinstance(capabilities, list)
            and isinstance(mechanisms, list)
            and isinstance(values["name"], str)
            and isinstance(values["at"], str)
        ):
            raise TypeError("a column holds a value of the wrong type")
        _epoch(values["at"])
    except (TypeError, ValueError) as exc:
        raise HistoryError(
            f"history {path}: row {record['id']} is damaged ({exc}); give another --history file"
        ) from None
    values.update(
        id=stored["id"],
        retryable=bool(values["retryable"]),
        login_refused=bool(values["login_refused"]),
        phase_ms=dict(phase_ms),  # a row's own copy: the memo's object is shared
        capabilities=tuple(str(c) for c in capabilities),
        auth_mechanisms=tuple(str(m) for m in mechanisms),
    )
    return HistoryRow(**values)


def _json(text: Any, memo: dict[str, Any]) -> Any:
    """``json.loads`` of a column, memoised (TypeError for a value that is not text)."""
    if not isinstance(text, str):
        raise TypeError("a JSON column holds a value that is not text")
    if text not in memo:
        memo[text] = json.loads(text)
    return memo[text]


def _epoch(at: str) -> float:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- the store


class History:
    """The history database: a context manager; safe to share between threads.

    Several processes may use one file at once (``run`` from cron while ``serve``
    answers scrapes): WAL lets them, and a writer waits up to ``busy_timeout``.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.path = path
        # Results that could not be saved (a locked, read-only or damaged file): the run
        # still reports them, then says so in one line and exits 2 (``record``).
        self.write_errors: list[str] = []
        # ...and the rows themselves, which the lockout and backoff decisions still see: a
        # history that cannot be written must not make ``serve`` send a refused password
        # again on every scrape.
        self._unsaved: list[HistoryRow] = []
        self._busy_ms = int(connection.execute("PRAGMA busy_timeout").fetchone()[0])
        self._hurried = False
        self._claims: int | None = None  # the descriptor of the claims file, once opened
        self._claimed: dict[int, int] = {}  # byte -> claims of this process on it

    @contextmanager
    def _using(self) -> Iterator[None]:
        """The database, one thread at a time; its errors become one HistoryError line."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                raise _unusable(self.path, exc) from None

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = True,
        busy_timeout: float = 10.0,
        read_only: bool = False,
    ) -> History:
        """Open (and with ``create``, make) the history at ``path``; HistoryError if unusable.

        ``read_only`` (``smtpprobe history`` without ``--reset``): when the file cannot be
        opened for writing (a read-only file system, a copy, a user who may read but not
        write it or its folder), it is read without writing anything.
        """
        path = Path(path)
        if read_only and path.exists():
            try:
                return cls._open(path, create=False, busy_timeout=busy_timeout)
            except HistoryError as exc:
                if not _cannot_write(path):
                    raise
                try:
                    return cls._open_read_only(path)
                except HistoryError:
                    raise exc from None
        return cls._open(path, create=create, busy_timeout=busy_timeout)

    @classmethod
    def _open_read_only(cls, path: Path) -> History:
        # SQLite reads a WAL database read-only only where it can make the shared-memory
        # file, or when told the file cannot change (immutable), which then reads no WAL:
        # immutable only when there is no WAL file whose commits it would miss
        # (https://www.sqlite.org/uri.html, https://www.sqlite.org/wal.html#readonly).
        mode = "ro" if Path(f"{path}-wal").exists() else "ro&immutable=1"
        address = f"file:{urllib.parse.quote(str(path.resolve()))}?mode={mode}"
        try:
            db = sqlite3.connect(address, uri=True, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise _unusable(path, exc) from None
        if version != SCHEMA_VERSION:
            db.close()
            raise HistoryError(
                f"history {path}: cannot be written, and is not a history this smtpprobe "
                f"reads as it is (schema {version}); give another --history file"
            )
        return cls(db, path)

    @classmethod
    def _open(cls, path: Path, *, create: bool, busy_timeout: float) -> History:
        if not path.exists():
            if not create:
                raise HistoryError(
                    f"history {path}: no such file; run `smtpprobe run CHECKS.yaml` first "
                    "or give the right --history"
                )
            _create_private(path)
        try:
            db = sqlite3.connect(
                str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise HistoryError(f"history {path}: cannot open it ({exc})") from None
        db.row_factory = sqlite3.Row
        try:
            _prepare(db, path)
        except BaseException:
            db.close()
            raise
        return cls(db, path)

    def __enter__(self) -> History:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database (idempotent), and the claims with it."""
        with self._lock:
            self._db.close()
            if self._claims is not None:
                os.close(self._claims)  # releases every claim of this process on the file
                self._claims = None
                self._claimed.clear()

    def try_claim(self, name: str) -> bool:
        """Take check ``name`` for this process while it probes and records it; False while
        another process has it.

        Two runs at once (a timer that overlaps the last run, a run beside ``serve``) both
        read "not refused" before either recorded, and both sent a refused password (a
        red-team round). The claim is an advisory lock on one byte of a file beside the
        history (``<history>-claims``), the byte chosen by the name: two names may share a
        byte (a wait, never a wrong answer). True where no lock can be taken (no ``fcntl``,
        a folder that cannot be written): the run goes on as it did without claims.
        """
        try:
            import fcntl
        except ImportError:  # not POSIX: no claims
            return True
        offset = _claim_offset(name)
        with self._lock:
            if offset in self._claimed:  # this process's own (POSIX locks are per process)
                self._claimed[offset] += 1
                return True
            if self._claims is None:
                try:
                    self._claims = os.open(
                        f"{self.path}-claims", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
                    )
                except OSError:
                    return True
            try:
                fcntl.lockf(self._claims, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
            except BlockingIOError:
                return False
            except OSError as exc:  # held (EACCES on some systems), or no locks on this file system
                return exc.errno not in (errno.EACCES, errno.EAGAIN)
            self._claimed[offset] = 1
            return True

    def release(self, name: str) -> None:
        """Give back the claim ``try_claim`` took for ``name`` (nothing if none)."""
        offset = _claim_offset(name)
        with self._lock:
            if offset not in self._claimed or self._claims is None:
                return
            self._claimed[offset] -= 1
            if self._claimed[offset]:
                return
            del self._claimed[offset]
            import fcntl

            with contextlib.suppress(OSError):
                fcntl.lockf(self._claims, fcntl.LOCK_UN, 1, offset)

    def salt(self) -> bytes:
        """The database's random salt for credential tags, made when the file was created."""
        with self._using():
            found = self._db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
        if found is None:
            raise HistoryError(
                f"history {self.path}: not a usable smtpprobe history database (its salt is "
                "missing); give another --history file"
            )
        return bytes(found[0])

    def record(self, result: ResultLike) -> HistoryRow:
        """Store one result in its own transaction (committed on return); the row stored.

        A result that cannot be saved is still the run's: the reason goes to
        ``write_errors`` (the caller says so once) instead of ending the run.
        """
        row = row_from_result(result)
        try:
            saved = self.add(row)
        except HistoryError as exc:
            if str(exc) not in self.write_errors:
                self.write_errors.append(str(exc))
            if "another program holds the file" in str(exc) and not self._hurried:
                # One full wait is enough to know another program holds the file: the next
                # writes of this run try briefly, so that N results do not cost N waits.
                self._hurry(True)
            with self._lock:
                self._unsaved.append(row)
                del self._unsaved[:-_MAX_UNSAVED]
            return row
        if self._hurried:
            self._hurry(False)  # the file is free again: writes wait as long as before
        return saved

    def _hurry(self, brief: bool) -> None:
        milliseconds = _BRIEF_WAIT_MS if brief else self._busy_ms
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
            self._hurried = brief

    def add(self, row: HistoryRow) -> HistoryRow:
        """Store a row as it is (``record`` builds one from a result); committed on return."""
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self._using():
            cursor = self._db.execute(
                f"INSERT INTO results ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                _to_db(row),
            )  # autocommit (isolation_level=None): durable against a crash on return
        return replace(row, id=cursor.lastrowid)

    def names(self) -> list[str]:
        """The checks with a history, in order of their first result."""
        with self._using():
            found = self._db.execute(
                "SELECT name FROM results GROUP BY name ORDER BY MIN(id)"
            ).fetchall()
        return [r[0] for r in found]

    def rows(
        self, name: str | None = None, *, limit: int | None = None, after_id: int = 0
    ) -> list[HistoryRow]:
        """Rows oldest first: of one check or all; with ``limit``, only the newest ``limit``."""
        where, params = "WHERE id > ?", list[object]([after_id])
        if name is not None:
            where += " AND name = ?"
            params.append(name)
        query = f"SELECT * FROM results {where} ORDER BY id DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        with self._using():
            found = self._db.execute(query, params).fetchall()
        parsed: dict[str, Any] = {}
        return [_from_db(r, self.path, parsed) for r in reversed(found)]

    def last(self, name: str) -> HistoryRow | None:
        """The check's newest row, skipped or not."""
        found = self.rows(name, limit=1)
        return found[0] if found else None

    def last_result(self, name: str) -> HistoryRow | None:
        """The check's newest row that is a result (not skipped): what a locked target shows."""
        with self._using():
            found = self._db.execute(
                "SELECT * FROM results WHERE name = ? AND skipped IS NULL ORDER BY id DESC LIMIT 1",
                (name,),
            ).fetchone()
        return _from_db(found, self.path) if found else None

    def last_exit_code(self, name: str) -> int | None:
        """The exit code of the check's newest result: what a skipped run counts as."""
        last = self.last_result(name)
        return last.exit_code if last is not None else None

    def _since_reset(self, name: str) -> list[HistoryRow]:
        with self._using():
            found = self._db.execute(
                "SELECT after_id FROM resets WHERE name = ?", (name,)
            ).fetchone()
        saved = self.rows(name, limit=_DECISION_WINDOW, after_id=found[0] if found else 0)
        with self._lock:
            unsaved = [row for row in self._unsaved if row.name == name]
        return (saved + unsaved)[-_DECISION_WINDOW:]

    def lockout(self, name: str) -> str | None:
        """The credential tag that got ``auth-failed``, until a reset or an accepted credential.

        The runner does not probe when this equals the tag of the secret it would use.
        """
        return lockout_tag(self._since_reset(name))

    def refused(self, name: str) -> frozenset[str]:
        """Every credential tag refused since a reset or an accepted credential: the runner
        does not probe with any of them."""
        return refused_tags(self._since_reset(name))

    def backoff_until(
        self, name: str, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP
    ) -> float | None:
        """Epoch seconds before which the check should not be tried, or None.

        After ``n`` transient failures in a row (exit code 3 or a retryable verdict),
        ``base·2^(n-1)`` seconds (capped at ``cap``) from the newest one's start.
        """
        count, newest = transient_streak(self._since_reset(name))
        if newest is None:
            return None
        return _epoch(newest.at) + backoff_delay(count, base=base, cap=cap)

    def reset(self, name: str) -> None:
        """Clear the check's lockout and backoff (``smtpprobe history --reset NAME``).

        The results stay in the history; later decisions look only past this point.
        """
        with self._lock:
            self._unsaved = [row for row in self._unsaved if row.name != name]
        with self._using():
            top = self._db.execute(
                "SELECT COALESCE(MAX(id), 0) FROM results WHERE name = ?", (name,)
            ).fetchone()[0]
            self._db.execute(
                "INSERT INTO resets (name, after_id, at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET after_id = excluded.after_id, at = excluded.at",
                (name, top, _now_iso()),
            )

    def resets(self) -> Mapping[str, str]:
        """When each check was last reset (ISO 8601 UTC)."""
        with self._using():
            found = self._db.execute("SELECT name, at FROM resets").fetchall()
        return {r[0]: r[1] for r in found}


def _claim_offset(name: str) -> int:
    """The byte of the claims file that stands for check ``name``."""
    return zlib.crc32(name.encode("utf-8", "surrogateescape")) % _CLAIM_BYTES


_CLAIM_BYTES = 1 << 20  # bytes a claim may fall on: two names share one rarely
_MAX_UNSAVED = 10_000  # rows kept in memory while the file cannot be written
_BRIEF_WAIT_MS = 200  # a write's wait once one has waited in vain (``History.record``)


def _cannot_write(path: Path) -> bool:
    """Whether this process may not write the file or make files beside it (or the file
    system is read-only): then a read-only open is worth trying."""
    folder = path.resolve().parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not (os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK))


def _unusable(path: Path, exc: sqlite3.Error) -> HistoryError:
    """One line for a database error, with the fix that fits it."""
    reason = " ".join(str(exc).split())
    if not isinstance(exc, sqlite3.OperationalError):
        return HistoryError(
            f"history {path}: not a usable smtpprobe history database ({reason}); "
            "give another --history file"
        )
    if "locked" in reason or "busy" in reason:
        advice = "another program holds the file; try again, or give another --history"
    elif (
        "readonly" in reason
        or "read-only" in reason
        or ("unable to open" in reason and path.exists() and _cannot_write(path))
    ):
        advice = "the file or its folder cannot be written; give a writable --history file"
    else:
        advice = "give another --history file"
    return HistoryError(f"history {path}: {reason}; {advice}")


def _create_private(path: Path) -> None:
    """An empty file only the user can read: the tags are hashes of passwords."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process made it first
    except OSError as exc:
        raise HistoryError(f"history {path}: cannot create it ({exc.strerror})") from None


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    """WAL mode, and the schema made or checked, in one transaction."""
    try:
        # WAL with synchronous=NORMAL: a commit survives the process being killed (the
        # WAL is in the OS's cache); only a power loss may undo the newest commits, and
        # it never corrupts the file (https://www.sqlite.org/wal.html).
        db.execute("PRAGMA synchronous = NORMAL")
        if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            # Ready as it is: opening takes no write lock, so a file another process is
            # writing, or one that cannot be written, can still be read (history, the
            # lockout), and a run still reports results it cannot save (``record``).
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                _to_wal(db)
            return
        _to_wal(db)
        db.execute("BEGIN IMMEDIATE")
        try:
            _check_or_create(db, path)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except sqlite3.OperationalError as exc:  # busy, locked, read-only: the file may be fine
        raise _unusable(path, exc) from None
    except sqlite3.DatabaseError as exc:
        raise HistoryError(
            f"history {path}: not a usable smtpprobe history database ({exc}); "
            "give another --history file"
        ) from None


def _to_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL, waiting as a write waits: SQLite answers this pragma "locked" at once,
    without its busy handler, while another process does the same (two runs started
    together on a new history: one failed in 0.2 s)."""
    deadline = time.monotonic() + db.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _check_or_create(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"history {path}: written by a newer smtpprobe (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade smtpprobe or give another --history file"
        )
    if version == SCHEMA_VERSION:
        return
    if version in _UPGRADES:
        for step in range(version, SCHEMA_VERSION):
            for statement in _UPGRADES[step].split(";"):
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return
    if db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
        raise HistoryError(
            f"history {path}: a SQLite database, but not smtpprobe's history; "
            "give another --history file"
        )
    # executescript() would commit the open transaction: one statement at a time.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("INSERT INTO meta (key, value) VALUES ('salt', ?)", (secrets.token_bytes(32),))
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
