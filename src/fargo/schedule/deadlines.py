"""Deadlines: by when a slot's run must have succeeded, as a duration after the slot or a time of
day in a zone ("07:00 Europe/Berlin": the first 07:00 there after the slot).

Standard library only: the stage's watchdog (a Lambda function) carries this engine to check
deadlines on AWS with the same answers `fargo history` and `fargo up` give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from fargo.schedule.errors import ScheduleError
from fargo.schedule.expressions import Rate, parse
from fargo.schedule.fires import iter_fires, local_to_utc
from fargo.schedule.zones import UTC, load_zone

AT = re.compile(r"(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)(?:\s+(?P<zone>\S+))?")
MAX_AFTER_SECONDS = 7 * 86400  # a deadline further than a week after its slot guards nothing


@dataclass(frozen=True)
class Deadline:
    """`after` seconds after the slot, or the first `at` (HH:MM) in `zone` after it."""

    after: int | None = None
    at: str | None = None
    zone: str | None = None  # None: the job's own zone

    def text(self) -> str:
        if self.after is not None:
            value = self.after
            for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
                if value % size == 0:
                    return f"{value // size}{unit} after its slot"
            return f"{value}s after its slot"
        return f"{self.at} {self.zone}" if self.zone else f"{self.at}"

    def to_json(self) -> dict[str, object]:
        return {"after": self.after, "at": self.at, "zone": self.zone}


def at_deadline(text: str) -> Deadline | None:
    """A time-of-day deadline ("07:00", "7:30 Europe/Berlin"), None when `text` is not one;
    ScheduleError when its zone is unknown."""
    found = AT.fullmatch(text.strip())
    if found is None:
        return None
    zone = found.group("zone")
    if zone is not None:
        load_zone(zone)
    return Deadline(at=f"{int(found.group('hour')):02d}:{found.group('minute')}", zone=zone)


def due(deadline: Deadline, slot: datetime, job_zone: str) -> datetime:
    """When the slot's run must have succeeded (aware UTC)."""
    if deadline.after is not None:
        return slot + timedelta(seconds=deadline.after)
    if deadline.at is None:
        raise ScheduleError("a deadline is a duration or a time of day")
    zone = load_zone(deadline.zone or job_zone)
    hour, minute = (int(part) for part in deadline.at.split(":"))
    day = slot.astimezone(zone).date()
    for offset in range(3):  # the next day at the latest; one more for a DST gap
        wall = datetime(day.year, day.month, day.day, hour, minute) + timedelta(days=offset)
        instant = local_to_utc(wall, zone) or local_to_utc(wall + timedelta(hours=1), zone)
        if instant is not None and instant > slot:
            return instant
    raise ScheduleError(f"no {deadline.at} after {slot.isoformat()}")  # pragma: no cover


def slots_due(schedule: str, job_zone: str, deadline: Deadline, since: datetime,
              until: datetime, anchor: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """(slot, due) for every slot whose deadline falls in (since, until]. A rate counts from
    `anchor` (a fire on record), else from `until` backwards on its own interval."""
    expression = parse(schedule)
    zone = load_zone(job_zone)
    reach = timedelta(seconds=deadline.after) if deadline.after is not None \
        else timedelta(hours=26)  # a time of day is at most a day (and a DST hour) away
    start = since.astimezone(UTC) - reach
    if isinstance(expression, Rate):
        step = expression.interval
        base = anchor or until
        start = base + ((start - base) // step) * step - step
    found = []
    for slot in iter_fires(expression, zone, start):
        if slot > until:
            break
        moment = due(deadline, slot, job_zone)
        if since < moment <= until:
            found.append((slot, moment))
    return found
