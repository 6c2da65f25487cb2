"""A job's or workflow's `deadline` setting, checked and made one Deadline for every consumer
(the ledger, fargo up and the stage's watchdog)."""

from __future__ import annotations

from typing import Any

from fargo.schedule import ScheduleError, parse
from fargo.schedule.deadlines import MAX_AFTER_SECONDS, Deadline, at_deadline
from fargo.schedule.expressions import Rate


def resolve_deadline(value: Any, schedule: str | None) -> tuple[Deadline | None, list[str]]:
    """The deadline and the problems with it (each one message)."""
    from fargo.problems import ProblemsError
    from fargo.timeutil import parse_duration

    if value is None:
        return None, []
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None, [f"{value!r} is not a deadline: a duration after the slot ('2h', '90m') "
                      "or a time of day ('07:00', '07:00 Europe/Berlin')"]
    problems: list[str] = []
    if schedule is None:
        problems.append("a deadline guards the slots of a schedule, and this has none: add a "
                        "schedule, or drop the deadline")
    text = str(value)
    try:
        found = at_deadline(text)
    except ScheduleError as exc:
        return None, [*problems, *exc.messages]
    if found is not None:
        if schedule is not None and isinstance(parse(schedule), Rate):
            problems.append(f"{text!r} is a time of day, and a rate has no day to keep it: "
                            "give a rate a duration after each slot ('30m')")
        return (None if problems else found), problems
    try:
        seconds = parse_duration(value, "deadline")
    except ProblemsError:
        return None, [*problems, f"{text!r} is not a deadline: a duration after the slot "
                      "('2h', '90m') or a time of day ('07:00', '07:00 Europe/Berlin')"]
    if not 60 <= seconds <= MAX_AFTER_SECONDS or seconds != int(seconds):
        problems.append(f"{text!r} is {seconds:g} s after the slot; a deadline is a whole "
                        f"number of seconds from 1 minute to 7 days")
    return (None if problems else Deadline(after=int(seconds))), problems
