"""Which jobs need the stage's runner on AWS, and the numbers the runner shares with `fargo up`.

On AWS a schedule starts a task or a function once; nothing there retries a job that failed or
keeps two runs of a job apart. The runner (a Step Functions state machine per stage, in the HCL
module) does, and a job goes through it when it needs that: retries, or an overlap guard that
the schedule cannot make unnecessary. fargo proves a job cannot overlap when the longest a run
can last is shorter than the shortest gap between two fires; such a job keeps its direct target.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

from fargo.schedule import At, Rate, ScheduleError, load_zone, parse

if TYPE_CHECKING:
    from fargo.project.model import TaskSpec

# Retries wait RETRY_BASE_SECONDS, doubling per attempt, at most RETRY_MAX_SECONDS (fargo up and
# the runner alike); a queued run looks again every QUEUE_POLL_SECONDS.
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 900
QUEUE_POLL_SECONDS = 60
# How long a run may take beyond the job's timeout before the runner stops it: a Fargate task
# provisions and pulls its image before the job's own clock starts.
GRACE_SECONDS = {"fargate": 600, "lambda": 60}
# EventBridge Scheduler retries starting a job for up to this long (the module's
# maximum_event_age_seconds): a run can begin that late.
START_DELAY_SECONDS = 900


def retry_delay(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`, after attempt `attempt` failed."""
    return float(min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS))


def longest_run(spec: TaskSpec) -> timedelta:
    """From the scheduled time to the latest moment a run of the job can still be going."""
    seconds = spec.timeout + GRACE_SECONDS[spec.compute] + START_DELAY_SECONDS
    return timedelta(seconds=seconds + 60 * (spec.flexible_window_minutes or 0))


@functools.lru_cache(maxsize=4096)
def shortest_gap(schedule: str, timezone: str) -> timedelta | None:
    """A lower bound of the time between two fires; None for a schedule that fires once.

    Exact for rate(); for cron(), from its minutes and hours: two fires on one day, or the
    last of one day and the first of the next, less the zone's daylight-saving shift (a day
    can be an hour shorter). Which days fire can only make gaps longer.
    """
    try:
        expression = parse(schedule)
        zone = load_zone(timezone)
    except ScheduleError:
        return None
    if isinstance(expression, At):
        return None
    if isinstance(expression, Rate):
        return expression.interval
    times = sorted(h * 60 + m for h in expression.hours for m in expression.minutes)
    gaps = [b - a for a, b in pairwise(times)]
    gaps.append(1440 - times[-1] + times[0])
    winter = zone.utcoffset(datetime(2026, 1, 15)) or timedelta()
    summer = zone.utcoffset(datetime(2026, 7, 15)) or timedelta()
    shift = abs(winter - summer)
    return max(timedelta(minutes=min(gaps)) - shift, timedelta(minutes=1))


def runner_reasons(spec: TaskSpec) -> tuple[str, ...]:
    """Why the job goes through the runner on AWS; empty when a direct target means the same."""
    reasons = []
    if spec.rule_patterns and spec.compute == "fargate":
        reasons.append("events: the runner hands each event to the task (as FARGO_EVENT)")
    if spec.retries > 0:
        reasons.append(f"retries={spec.retries}")
    if spec.overlap != "allow" and spec.schedule is not None:
        gap = shortest_gap(spec.schedule, spec.timezone)
        longest = longest_run(spec)
        if gap is not None and gap <= longest:
            reasons.append(f"overlap={spec.overlap}: fires can be {_span(gap)} apart and a run "
                           f"can last {_span(longest)}")
    return tuple(reasons)


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
