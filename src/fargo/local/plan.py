"""Which slots of a job are due, and what to do with slots that were missed.

Pure functions of the schedule, the job's stored state and the clock: the scheduler loop and the
restart path use the same rules, so a slot missed while `fargo up` was down is treated exactly
like one missed during a wall-clock jump.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from fargo.schedule import Expression, Rate, iter_fires

MAX_CATCHUP_RUNS = 100  # catchup=all runs at most this many missed slots
# Schedules fire at most once a minute, so 100 days hold at most 144,000 slots: a gap longer
# than that is scanned from its last 100 days only, and everything older is skipped unseen.
SCAN_WINDOW = timedelta(days=100)


def slots_after(expr: Expression, zone: tzinfo, anchor: datetime,
                after: datetime) -> Iterator[datetime]:
    """Fire instants strictly after `after`; rate() keeps to its grid from `anchor`."""
    if isinstance(expr, Rate):
        step = expr.interval
        moment = anchor if after < anchor else anchor + step * ((after - anchor) // step + 1)
        while True:
            yield moment
            moment += step
    else:
        yield from iter_fires(expr, zone, after)


@dataclass
class Due:
    """Slots due now: those to run, those to record as skipped, and the newest one considered."""

    run: list[datetime] = field(default_factory=list)
    skipped: list[datetime] = field(default_factory=list)
    skipped_uncounted: int = 0
    older_skipped_before: datetime | None = None  # a gap over SCAN_WINDOW: older slots unseen
    newest: datetime | None = None


def due_slots(expr: Expression, zone: tzinfo, anchor: datetime, last_slot: datetime,
              now: datetime, grace: timedelta, catchup: str) -> Due:
    """Slots in (last_slot, now]; late ones (older than `grace`) follow the catchup policy."""
    due = Due()
    missed: deque[datetime] = deque(maxlen=MAX_CATCHUP_RUNS)
    missed_total = 0
    start = last_slot
    if now - last_slot > SCAN_WINDOW:
        start = now - SCAN_WINDOW
        due.older_skipped_before = start
    for slot in slots_after(expr, zone, anchor, start):
        if slot > now:
            break
        due.newest = slot
        if now - slot > grace:
            missed.append(slot)
            missed_total += 1
        else:
            due.run.append(slot)
    overflow = missed_total - len(missed)
    if catchup == "all":
        due.run = [*missed, *due.run]
        due.skipped_uncounted = overflow
    elif catchup == "latest" and missed and not due.run:
        due.run = [missed[-1]]
        due.skipped = list(missed)[:-1]
        due.skipped_uncounted = overflow
    else:
        due.skipped = list(missed)
        due.skipped_uncounted = overflow
    return due


def next_slot(expr: Expression, zone: tzinfo, anchor: datetime,
              after: datetime) -> datetime | None:
    return next(slots_after(expr, zone, anchor, after), None)
