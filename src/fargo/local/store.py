"""The local run store: SQLite in WAL mode under .fargo/local/, one row per attempt.

Crash safety rests on two rules: a slot is claimed (committed) before its job is started, so no
slot fires twice; and every run row names the scheduler process that owns it, so the next start
can tell orphaned runs (owner gone) from live ones and mark them `lost`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from fargo.project.paths import ProjectPaths

RunStatus = Literal["running", "succeeded", "failed", "timed_out", "lost", "skipped"]
STATUSES: tuple[str, ...] = get_args(RunStatus)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    stage TEXT NOT NULL,
    scheduled_time TEXT,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    queued_at TEXT,
    started_at TEXT,
    ended_at TEXT,
    log_file TEXT,
    pid INTEGER,
    owner_pid INTEGER,
    reason TEXT,
    limits TEXT,
    duration_s REAL,
    trigger TEXT,
    max_rss_kib INTEGER,
    cpu_s REAL,
    event_id TEXT,
    workflow_run TEXT,
    step TEXT
);
CREATE INDEX IF NOT EXISTS runs_task ON runs(task, stage, started_at);
CREATE INDEX IF NOT EXISTS runs_newest ON runs(COALESCE(started_at, queued_at, ended_at));
CREATE TABLE IF NOT EXISTS slots (
    task TEXT NOT NULL,
    stage TEXT NOT NULL,
    scheduled_time TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (task, stage, scheduled_time)
);
CREATE TABLE IF NOT EXISTS alerts (
    task TEXT NOT NULL,
    stage TEXT NOT NULL,
    scheduled_time TEXT NOT NULL,
    kind TEXT NOT NULL,
    due TEXT,
    message TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    PRIMARY KEY (task, stage, scheduled_time, kind)
);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    source TEXT,
    detail_type TEXT,
    jobs TEXT NOT NULL,
    body TEXT
);
CREATE TABLE IF NOT EXISTS task_state (
    task TEXT NOT NULL,
    stage TEXT NOT NULL,
    schedule TEXT NOT NULL,
    anchor TEXT NOT NULL,
    last_slot TEXT,
    PRIMARY KEY (task, stage)
);
"""


NEW_COLUMNS = (("duration_s", "REAL"), ("trigger", "TEXT"), ("max_rss_kib", "INTEGER"),
               ("cpu_s", "REAL"), ("event_id", "TEXT"), ("workflow_run", "TEXT"),
               ("step", "TEXT"))
NEW_EVENT_COLUMNS = (("body", "TEXT"),)  # the event itself: a run it never started starts later


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    task: str
    stage: str
    scheduled_time: str | None
    attempt: int
    status: RunStatus
    exit_code: int | None
    queued_at: str | None
    started_at: str | None
    ended_at: str | None
    log_file: str | None
    pid: int | None
    owner_pid: int | None
    reason: str | None
    limits: str | None
    duration_s: float | None = None  # real seconds, also in replays (whose clock runs faster)
    trigger: str | None = None  # schedule | event | manual (fargo invoke) | retry
    max_rss_kib: int | None = None  # the job's peak memory
    cpu_s: float | None = None  # user + system CPU time
    event_id: str | None = None  # the event that started it (trigger event, or its retry)
    workflow_run: str | None = None  # a workflow step: the run id of its workflow's execution
    step: str | None = None  # where in the workflow ("2.each[3].load"); "workflow" for the run

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["limits"] = json.loads(self.limits) if self.limits else None
        return data


class StoreDamaged(Exception):
    """The run store cannot be read or written; the message says what to do."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(
            f"the run store {path} cannot be used: {why}. fargo leaves it as it is for "
            f"inspection; fix its permissions or free disk space, or move it aside "
            f"(mv {path} {path}.broken) to start a new history")


class RunStore:
    """All reads and writes of the run history; each write is its own transaction."""

    def __init__(self, path: Path, write: bool = True, threads: bool = False) -> None:
        """Open the store; StoreDamaged when it cannot be used as it is (it is left untouched).

        An empty file is refused too: SQLite would quietly start a new history in it.
        `threads`: used from several threads, one at a time (the caller holds a lock).
        """
        self.path = path
        self.damaged: list[str] = []  # rows read and left out, in words
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.stat().st_size == 0:
                raise StoreDamaged(path, "the file is empty (0 bytes)")
            self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode={'rwc' if write else 'ro'}",
                                      uri=True, timeout=30, isolation_level=None,
                                      check_same_thread=not threads)
            self.db.row_factory = sqlite3.Row
            check = self.db.execute("PRAGMA quick_check").fetchone()
            if check is not None and check[0] != "ok":
                raise StoreDamaged(path, f"SQLite's check says: {check[0]}")
            if write:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(SCHEMA)
                self._add_columns()
                self.db.execute("PRAGMA user_version = 1")  # fails at once when unwritable
        except sqlite3.DatabaseError as exc:
            raise StoreDamaged(path, str(exc)) from None
        except OSError as exc:
            raise StoreDamaged(path, exc.strerror or str(exc)) from None

    def _add_columns(self) -> None:
        """Stores written by an earlier fargo lack the newer columns: add them, keep the rows."""
        for table, columns in (("runs", NEW_COLUMNS), ("events", NEW_EVENT_COLUMNS)):
            have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            for column, kind in columns:
                if column not in have:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- slots and task state --------------------------------------------------------------

    def claim_slot(self, task: str, stage: str, slot: str, now: str) -> bool:
        """True once per (task, stage, slot): the guard against firing a slot twice."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO slots(task, stage, scheduled_time, claimed_at) "
            "VALUES (?, ?, ?, ?)", (task, stage, slot, now))
        return cursor.rowcount == 1

    def claimed_slots(self, task: str, stage: str, since: str) -> list[str]:
        """The slots of a job claimed at or after `since` (ISO UTC), oldest first."""
        rows = self.db.execute("SELECT scheduled_time FROM slots WHERE task=? AND stage=? AND "
                               "scheduled_time >= ? ORDER BY scheduled_time",
                               (task, stage, since)).fetchall()
        return [r["scheduled_time"] for r in rows]

    def successes(self, task: str, stage: str, slot: str) -> list[str]:
        """When the runs of this slot that succeeded ended (a job's attempts, a workflow's
        execution)."""
        rows = self.db.execute("SELECT ended_at FROM runs WHERE task=? AND stage=? AND "
                               "scheduled_time=? AND status='succeeded' AND workflow_run IS "
                               "NULL", (task, stage, slot)).fetchall()
        return [r["ended_at"] for r in rows if r["ended_at"]]

    def raise_alert(self, task: str, stage: str, slot: str, kind: str, due: str | None,
                    message: str, now: str) -> bool:
        """True once per (task, stage, slot, kind): an alert is raised once."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO alerts(task, stage, scheduled_time, kind, due, message, "
            "raised_at) VALUES (?, ?, ?, ?, ?, ?, ?)", (task, stage, slot, kind, due, message,
                                                        now))
        return cursor.rowcount == 1

    def alerts(self, last: int = 20) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM alerts ORDER BY raised_at DESC, rowid DESC "
                               "LIMIT ?", (last,)).fetchall()
        return [dict(r) for r in rows]

    def task_state(self, task: str, stage: str) -> tuple[str, str, str | None] | None:
        row = self.db.execute("SELECT schedule, anchor, last_slot FROM task_state "
                              "WHERE task=? AND stage=?", (task, stage)).fetchone()
        return (row["schedule"], row["anchor"], row["last_slot"]) if row else None

    def set_task_state(self, task: str, stage: str, schedule: str, anchor: str,
                       last_slot: str | None) -> None:
        self.db.execute(
            "INSERT INTO task_state(task, stage, schedule, anchor, last_slot) VALUES (?,?,?,?,?) "
            "ON CONFLICT(task, stage) DO UPDATE SET schedule=excluded.schedule, "
            "anchor=excluded.anchor, last_slot=excluded.last_slot",
            (task, stage, schedule, anchor, last_slot))

    def claim_event(self, event_id: str, received_at: str, source: str | None,
                    detail_type: str | None, jobs: list[str], body: str | None = None) -> bool:
        """True once per event id: the guard against starting an event's jobs twice."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO events(event_id, received_at, source, detail_type, jobs, "
            "body) VALUES (?, ?, ?, ?, ?, ?)", (event_id, received_at, source, detail_type,
                                                json.dumps(jobs), body))
        return cursor.rowcount == 1

    def event_body(self, event_id: str) -> str | None:
        """The event as it was claimed (JSON), to start a run of it that never started."""
        row = self.db.execute("SELECT body FROM events WHERE event_id=?", (event_id,)).fetchone()
        return row["body"] if row is not None else None

    def events(self, last: int = 20) -> list[dict[str, Any]]:
        """Events received, newest first, with the jobs each one started."""
        rows = self.db.execute("SELECT * FROM events ORDER BY received_at DESC, rowid DESC "
                               "LIMIT ?", (last,)).fetchall()
        return [{**dict(r), "jobs": json.loads(r["jobs"])} for r in rows]

    # --- runs ---------------------------------------------------------------------------------

    def insert_run(self, **fields: Any) -> None:
        _check_status(fields)
        columns = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        self.db.execute(f"INSERT INTO runs({columns}) VALUES ({marks})", tuple(fields.values()))

    def update_run(self, run_id: str, **fields: Any) -> None:
        _check_status(fields)
        assignments = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE runs SET {assignments} WHERE run_id=?",
                        (*fields.values(), run_id))

    def _records(self, rows: list[sqlite3.Row]) -> list[RunRecord]:
        """The rows as records; a damaged one is named (`damaged`) and skipped, never fatal."""
        found = []
        keys = [k for k in rows[0].keys() if k in _KNOWN] if rows else []  # noqa: SIM118
        kinds = [_KINDS.get(k, _TEXT) for k in keys]
        for row in rows:
            try:
                found.append(_record(row, keys, kinds))
            except _Damaged as exc:
                if str(exc) not in self.damaged:
                    self.damaged.append(str(exc))
        return found

    def running(self) -> list[RunRecord]:
        rows = self.db.execute("SELECT * FROM runs WHERE status='running'").fetchall()
        return self._records(rows)

    def history(self, task: str | None = None, last: int = 20) -> list[RunRecord]:
        """Most recent first."""
        query = "SELECT * FROM runs"
        args: tuple[Any, ...] = ()
        if task:
            query += " WHERE task=?"
            args = (task,)
        query += " ORDER BY COALESCE(started_at, queued_at, ended_at) DESC, rowid DESC LIMIT ?"
        rows = self.db.execute(query, (*args, last)).fetchall()
        return self._records(rows)

    def get(self, run_id: str) -> RunRecord | None:
        row = self.db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        found = self._records([row]) if row else []
        return found[0] if found else None

    def measurements(self, task: str, last: int = 100) -> tuple[list[float], list[int]]:
        """Durations (real seconds) and peak memory (KiB) of the job's recent successful runs."""
        rows = self.db.execute(
            "SELECT duration_s, max_rss_kib FROM runs WHERE task=? AND status='succeeded' "
            "ORDER BY started_at DESC LIMIT ?", (task, last)).fetchall()
        return ([float(r["duration_s"]) for r in rows if _number(r["duration_s"])],
                [int(r["max_rss_kib"]) for r in rows if _number(r["max_rss_kib"])])

    def last_run(self, task: str) -> RunRecord | None:
        runs = [r for r in self.history(task, 20) if r.status != "skipped"]
        return runs[0] if runs else None


def _number(value: Any) -> bool:
    """A measurement fargo wrote (a hand-edited text is passed over)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_KNOWN = frozenset(RunRecord.__dataclass_fields__)
_KINDS: dict[str, tuple[type, ...]] = {
    **{k: (int,) for k in ("attempt", "exit_code", "pid", "owner_pid", "max_rss_kib")},
    **{k: (float, int) for k in ("duration_s", "cpu_s")}}
_TEXT = (str,)


class _Damaged(ValueError):
    """A row whose values are not what fargo writes (edited by hand, another tool)."""


def _record(row: sqlite3.Row, keys: list[str], kinds: list[tuple[type, ...]]) -> RunRecord:
    """The row as a record; `keys` are its known columns, `kinds` their types (once a query)."""
    values = {k: row[k] for k in keys}
    for key, kind in zip(keys, kinds, strict=True):
        value = values[key]
        # type(), not isinstance: a bool is no count, and this runs for every row read
        if value is not None and type(value) not in kind:
            raise _Damaged(f"run {values.get('run_id')!r} of the history has {key} "
                           f"{value!r}, which fargo does not write; it is left out")
    if values.get("status") not in STATUSES or values.get("attempt") is None \
            or values.get("run_id") is None:
        raise _Damaged(f"run {values.get('run_id')!r} of the history has no run id, attempt "
                       f"or known status ({values.get('status')!r}); it is left out")
    return RunRecord(**values)


def _check_status(fields: dict[str, Any]) -> None:
    """A status outside the closed set would corrupt the history: refuse it at the source."""
    if "status" in fields and fields["status"] not in STATUSES:
        raise ValueError(f"run status {fields['status']!r} is not one of {STATUSES}")


def store_path(root: Path) -> Path:
    return ProjectPaths(root).runs_db


def logs_dir(root: Path) -> Path:
    return ProjectPaths(root).logs

