"""The ledger: every slot a schedule owed in a window, matched to what happened to it.

A run record alone cannot show a run that never happened, so the ledger starts from the
schedule engine's slots and accounts for each one: started (and how it ended), skipped, still
pending, stuck, failed to start, or missing. Runs that no slot explains (manual runs, events)
are rows of their own. The same function serves every source of records (ECS tasks, the
runner's executions, Lambda's log lines, the dead-letter queue), so each state means one thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from fargo.schedule import load_zone, parse
from fargo.schedule.deadlines import Deadline, due
from fargo.schedule.expressions import Rate
from fargo.schedule.fires import iter_fires
from fargo.timeutil import format_utc

# Every state a ledger row can have, in the order a summary lists them.
STATES = ("succeeded", "failed", "timed_out", "failed_to_start", "stuck", "running", "pending",
          "skipped", "missing", "paused", "due")
# States that mean the slot did not produce a success and will not by itself.
BAD = frozenset({"failed", "timed_out", "failed_to_start", "stuck", "missing"})
# A slot younger than this has not had time to leave a record (Scheduler's invocation, then
# ECS's provisioning); it is "due", not "missing".
DUE_SECONDS = 300
# A task still PENDING/PROVISIONING after this long is stuck (the stage may set its own).
PENDING_LIMIT_SECONDS = 600
# At most this many slots per job: a window of years on a minute schedule is refused.
MAX_SLOTS = 100_000
_PENDING = ("PROVISIONING", "PENDING", "ACTIVATING")
MANUAL_RUN_PREFIX = "run-"  # the ids fargo run gives the runs it starts (aws/run.py, runner.py)


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    now: datetime


def _instant(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _key(moment: datetime) -> str:
    return format_utc(moment.replace(microsecond=0))


def slots(schedule: str, zone_name: str, start: datetime, until: datetime,
          anchor: datetime | None = None) -> list[datetime]:
    """The slots in (start, until]. A rate counts from `anchor` (its first fire: the schedule's
    start, or a fire seen in the records), as Scheduler does, not from the window."""
    expression = parse(schedule)
    zone = load_zone(zone_name)
    if isinstance(expression, Rate):
        step = expression.interval
        base = anchor or start
        # the first fire after `start` on the anchor's grid
        count = (start - base) // step
        after = base + count * step
        if after > start:
            after -= step
        fires = iter_fires(expression, zone, after)
    else:
        fires = iter_fires(expression, zone, start)
    found: list[datetime] = []
    for moment in fires:
        if moment > until:
            break
        if moment > start:
            found.append(moment)
            if len(found) > MAX_SLOTS:
                raise ValueError(f"more than {MAX_SLOTS} slots in the window")
    return found


def _attempt_key(run: Mapping[str, Any]) -> tuple[int, str]:
    return (int(run.get("attempt") or 0), str(run.get("created_at") or run.get("started_at")
                                               or run.get("stopped_at") or ""))


def _failed_to_start(run: Mapping[str, Any]) -> bool:
    """No container of the run ever ran: ECS says so, Scheduler's dead letter does, or the
    stage's watchdog stopped it still pending."""
    return run.get("status") == "failed_to_start" or bool(run.get("start_failed")) or (
        run.get("stop_code") == "TaskFailedToStart" and run.get("exit_code") is None)


def _waiting_since(run: Mapping[str, Any]) -> datetime | None:
    """Since when a task has waited to start: its creation (or its slot, when ECS gives no
    creation time)."""
    return _instant(run.get("created_at")) or _instant(run.get("scheduled_time"))


def run_state(run: Mapping[str, Any], now: datetime, pending_limit: float) -> str:
    """One run's state in the ledger's words."""
    status = str(run.get("status") or "")
    if _failed_to_start(run):
        return "failed_to_start"
    if status == "running":
        if str(run.get("last_status") or "") in _PENDING:
            created = _waiting_since(run)
            if created is not None and (now - created).total_seconds() > pending_limit:
                return "stuck"
            return "pending"
        return "running"
    return status if status in STATES else "failed"


def _row(job: str, slot: datetime | None, runs: Sequence[Mapping[str, Any]], now: datetime,
         pending_limit: float) -> dict[str, Any]:
    ordered = sorted(runs, key=_attempt_key)
    last = ordered[-1]
    state = run_state(last, now, pending_limit)
    started = _instant(last.get("started_at"))
    first_started = next((s for s in (_instant(r.get("started_at")) for r in ordered) if s),
                         None)
    reason = " ".join(str(x) for x in (last.get("stop_code"), last.get("stopped_reason"))
                      if x) if state != "succeeded" else ""
    if state in ("stuck", "pending"):
        waited = int((now - (_waiting_since(last) or now)).total_seconds())
        reason = (f"still {last.get('last_status')} after {waited} s" if state == "stuck"
                  else f"{last.get('last_status')} for {waited} s")
    return {
        "job": job, "kind": "slot" if slot is not None else "run",
        "slot": _key(slot) if slot is not None else None,
        "state": state,
        "run": last.get("task"),
        "started_at": last.get("started_at"),
        "stopped_at": last.get("stopped_at"),
        "start_latency_s": (first_started - slot).total_seconds()
        if slot is not None and first_started is not None else None,
        "duration_s": last.get("duration_s"),
        "exit_code": last.get("exit_code"),
        "reason": reason or None,
        "attempts": len(ordered) + sum(max(len(r.get("attempts") or []) - 1, 0)
                                       for r in ordered),
        "start_failures": sum(1 for r in ordered if _failed_to_start(r))
        + sum(1 for r in ordered for a in (r.get("attempts") or []) if _failed_to_start(a)),
        "retried": len(ordered) > 1 or any(len(r.get("attempts") or []) > 1 for r in ordered),
        "trigger": last.get("trigger") or ("schedule" if slot is not None else "manual"),
        "_sort": _key(slot) if slot is not None else str(
            (started and _key(started)) or last.get("created_at") or last.get("stopped_at")
            or ""),
    }


def _empty(job: str, slot: datetime, now: datetime, paused: bool, reason: str | None,
           due_seconds: float) -> dict[str, Any]:
    age = (now - slot).total_seconds()
    if age < due_seconds:
        state, why = "due", f"due {int(age)} s ago; a run may still be starting"
    elif paused:
        state, why = "paused", "the schedule is paused now, and nothing ran for this slot"
    else:
        state, why = "missing", reason or "no record of any kind for this slot"
    return {"job": job, "kind": "slot", "slot": _key(slot), "state": state, "run": None,
            "started_at": None, "stopped_at": None, "start_latency_s": None, "duration_s": None,
            "exit_code": None, "reason": why, "attempts": 0, "start_failures": 0,
            "retried": False, "trigger": "schedule", "_sort": _key(slot)}


def _when(run: Mapping[str, Any]) -> datetime | None:
    return (_instant(run.get("scheduled_time")) or _instant(run.get("started_at"))
            or _instant(run.get("created_at")) or _instant(run.get("stopped_at")))


def reconcile(job: str, expected: Iterable[datetime], runs: Iterable[Mapping[str, Any]],
              window: Window, *, paused: bool = False, missing_reason: str | None = None,
              pending_limit: float = PENDING_LIMIT_SECONDS, due_seconds: float = DUE_SECONDS,
              match_by_start: float | None = None) -> list[dict[str, Any]]:
    """Rows for one job: one per expected slot, then one per run no slot explains.

    A run belongs to the slot equal to its scheduled time. Records that carry no scheduled
    time (a workflow's executions) may be matched to the latest slot at most `match_by_start`
    seconds before they started.
    """
    wanted = sorted(expected)
    keys = {_key(s): s for s in wanted}
    by_slot: dict[str, list[Mapping[str, Any]]] = {}
    loose: list[Mapping[str, Any]] = []
    for run in runs:
        scheduled = _instant(run.get("scheduled_time"))
        if scheduled is not None and _key(scheduled) in keys:
            by_slot.setdefault(_key(scheduled), []).append(run)
            continue
        started = _instant(run.get("started_at")) or _instant(run.get("created_at"))
        if scheduled is None and match_by_start is not None and started is not None:
            owner = _owner(wanted, started, match_by_start)
            if owner is not None and _key(owner) not in by_slot:
                by_slot[_key(owner)] = [run]
                continue
        when = _when(run)
        if when is not None and window.since < when <= window.until:
            loose.append(run)
    rows = [_row(job, slot, by_slot[_key(slot)], window.now, pending_limit)
            if _key(slot) in by_slot else
            _empty(job, slot, window.now, paused, missing_reason, due_seconds)
            for slot in wanted]
    rows += [_row(job, None, [run], window.now, pending_limit) for run in loose]
    return rows


def _owner(wanted: Sequence[datetime], started: datetime, limit: float) -> datetime | None:
    best = None
    for slot in wanted:
        if slot <= started:
            best = slot
        else:
            break
    if best is not None and (started - best).total_seconds() <= limit:
        return best
    return None


def job_start(created: datetime | None, runs: Iterable[Mapping[str, Any]]) -> datetime | None:
    """Since when a job's schedule owes slots: its schedule's creation, or its first record if
    that is older (a schedule replaced by a deploy is younger than the job)."""
    seen = [w for w in (_when(r) for r in runs) if w is not None]
    candidates = [c for c in (created, min(seen) if seen else None) if c is not None]
    return min(candidates) if candidates else None


def anchor_of(runs: Iterable[Mapping[str, Any]], fallback: datetime | None) -> datetime | None:
    """A rate's grid: its latest scheduled time on record (Scheduler may re-anchor a rate when a
    schedule is updated), else the schedule's start."""
    seen = [s for s in (_instant(r.get("scheduled_time")) for r in runs if _scheduled(r))
            if s is not None]
    return max(seen) if seen else fallback


def _scheduled(run: Mapping[str, Any]) -> bool:
    """Whether a run was started by the schedule: a manual run through the runner carries a
    scheduled time too (when it was asked for), and must not move a rate's grid."""
    return run.get("trigger") not in ("manual", "event") \
        and not str(run.get("task") or "").startswith(MANUAL_RUN_PREFIX)


def mark_deadlines(rows: Iterable[dict[str, Any]], deadline: Deadline | None, zone: str,
                   now: datetime) -> None:
    """Give each slot row its deadline (`due`) and whether it missed it (`late`): not
    succeeded by then, or succeeded after it. Rows of runs no slot explains owe none."""
    for row in rows:
        slot = _instant(row.get("slot"))
        if deadline is None or slot is None:
            row.setdefault("due", None)
            row.setdefault("late", False)
            continue
        moment = due(deadline, slot, zone)
        row["due"] = _key(moment)
        ended = _instant(row.get("stopped_at"))
        if row["state"] == "succeeded":
            row["late"] = ended is not None and ended > moment
        else:
            row["late"] = now > moment and row["state"] not in ("paused", "skipped")
        if row["late"]:
            note = f"missed its deadline {deadline.text()} ({row['due']})"
            row["reason"] = f"{row['reason']}; {note}" if row.get("reason") else note


def ordered(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Newest first, without the sort key."""
    out = sorted(rows, key=lambda r: (r["_sort"], r["job"]), reverse=True)
    for row in out:
        row.pop("_sort", None)
    return out


def summary(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    for row in rows:
        counts[str(row["state"])] = counts.get(str(row["state"]), 0) + 1
    return {k: v for k, v in counts.items() if v}


def window(since: datetime | None, until: datetime | None, now: datetime | None = None,
           hours: float = 24) -> Window:
    moment = now or datetime.now(timezone.utc)
    end = until or moment
    return Window(since or end - timedelta(hours=hours), end, moment)
