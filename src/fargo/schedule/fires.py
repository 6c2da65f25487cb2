"""Fire times in UTC for any expression in any IANA zone, with EventBridge Scheduler's DST rules.

Rules (AWS knowledge-center article on Scheduler and DST):
- a wall-clock time that does not exist (spring forward) is skipped;
- a wall-clock time that happens twice (fall back) fires once, at its first occurrence;
- rate() is a fixed duration: rate(1 day) is 24 hours, so it drifts across a DST change.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, tzinfo

from fargo.schedule.cron import Cron
from fargo.schedule.expressions import At, Expression, Rate
from fargo.schedule.zones import UTC


def local_to_utc(wall: datetime, zone: tzinfo) -> datetime | None:
    """The first UTC instant showing this naive wall-clock time in `zone`, None if none does."""
    if zone is UTC:
        return wall.replace(tzinfo=UTC)
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None  # skipped by a spring-forward gap
    return instant


def iter_fires(expr: Expression, zone: tzinfo, after: datetime) -> Iterator[datetime]:
    """Yield fire instants (aware, UTC) strictly after `after`, ascending, forever or until done."""
    after = after.astimezone(UTC)
    if isinstance(expr, Rate):
        step = expr.interval
        moment = after
        while True:
            try:
                moment = moment + step
            except OverflowError:
                return
            yield moment
    elif isinstance(expr, At):
        instant = local_to_utc(expr.when, zone)
        if instant is not None and instant > after:
            yield instant
    else:
        yield from _cron_fires(expr, zone, after)


def _cron_fires(expr: Cron, zone: tzinfo, after: datetime) -> Iterator[datetime]:
    wall = after.astimezone(zone).replace(tzinfo=None, fold=0, second=0, microsecond=0)
    # Inside a repeated (fall-back) hour `wall` is the second pass; candidates of the first pass
    # map to instants before `after` and are filtered out below, so each slot fires once.
    for candidate in expr.walk(wall):
        instant = local_to_utc(candidate, zone)
        if instant is not None and instant > after:
            yield instant


def next_fires(expr: Expression, zone: tzinfo, after: datetime, count: int) -> list[datetime]:
    """At most `count` fires strictly after `after`; fewer when the schedule ends."""
    out: list[datetime] = []
    if count <= 0:
        return out
    for instant in iter_fires(expr, zone, after):
        out.append(instant)
        if len(out) >= count:
            break
    return out
