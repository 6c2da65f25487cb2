"""AWS schedule expressions: rate(), cron() and at(), parsed into one type per kind."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from fargo.schedule.cron import MAX_EXPRESSION_LENGTH, Cron, parse_cron
from fargo.schedule.errors import ScheduleError

_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
_RATE = re.compile(r"^rate\((.*)\)$", re.DOTALL)
_AT = re.compile(r"^at\((.*)\)$", re.DOTALL)
_AT_BODY = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})$")


@dataclass(frozen=True)
class Rate:
    """rate(value unit): every `interval`, anchored at the schedule's start."""

    text: str
    value: int
    unit: str  # minute | hour | day

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.value * _UNIT_MINUTES[self.unit])


@dataclass(frozen=True)
class At:
    """at(yyyy-mm-ddThh:mm:ss): one fire at a wall-clock time in the schedule's zone."""

    text: str
    when: datetime  # naive wall-clock time


Expression = Rate | Cron | At


def parse(text: str) -> Expression:
    """Parse an expression in AWS form; raise ScheduleError with precise messages."""
    if not isinstance(text, str):
        raise ScheduleError(f"expected a string such as 'rate(5 minutes)', found {text!r}")
    return _parse(text)


@functools.lru_cache(maxsize=8192)
def _parse(text: str) -> Expression:
    """Expressions are immutable, and a project asks for the same ones many times (resolve,
    the runner's rules, next fires): each text is parsed once."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ScheduleError(
            f"expression is {len(text)} characters long; AWS allows at most {MAX_EXPRESSION_LENGTH}"
        )
    lowered = text.lower()
    for keyword in ("cron(", "rate(", "at("):
        if lowered.startswith(keyword) and not text.startswith(keyword):
            raise ScheduleError(f"{text!r}: the keyword must be lowercase '{keyword}'")
    if text.startswith("cron("):
        return parse_cron(text)
    if text.startswith("rate("):
        return _parse_rate(text)
    if text.startswith("at("):
        return _parse_at(text)
    raise ScheduleError(
        f"{text!r} is not a schedule expression "
        "(allowed: rate(value unit), cron(6 fields), at(yyyy-mm-ddThh:mm:ss))"
    )


def _parse_rate(text: str) -> Rate:
    match = _RATE.match(text)
    body = match.group(1) if match else ""
    parts = body.split()
    if not match or len(parts) != 2:
        raise ScheduleError(
            f"rate: {text!r} must be rate(value unit), e.g. rate(5 minutes) or rate(1 hour)"
        )
    value_tok, unit_tok = parts
    errors: list[str] = []
    value = 0
    if not value_tok.isdigit() or not value_tok.isascii() or int(value_tok) == 0:
        errors.append(f"rate: value {value_tok!r} must be a positive integer")
    else:
        value = int(value_tok)
    singular = unit_tok.rstrip("s") if unit_tok.endswith("s") else unit_tok
    if singular not in _UNIT_MINUTES:
        hint = ""
        if singular in ("second", "sec", "week", "month", "year", "min", "hr"):
            hint = "; the smallest unit is 1 minute and the largest is days"
        errors.append(
            f"rate: unit {unit_tok!r} is not one of minute, minutes, hour, hours, day, days{hint}"
        )
    elif value:
        wanted = singular if value == 1 else singular + "s"
        if unit_tok != wanted:
            errors.append(
                f"rate: unit {unit_tok!r} does not agree with value {value}: "
                f"write rate({value} {wanted})"
            )
    if value and value * _UNIT_MINUTES.get(singular, 1) > 100 * 366 * 1440:
        errors.append(f"rate: {text!r} is longer than 100 years")
    if errors:
        raise ScheduleError(errors)
    return Rate(text=f"rate({value} {unit_tok})", value=value, unit=singular)


def _parse_at(text: str) -> At:
    match = _AT.match(text)
    body = match.group(1) if match else ""
    fields = _AT_BODY.match(body)
    if not fields:
        raise ScheduleError(
            f"at: {body!r} is not of the form yyyy-mm-ddThh:mm:ss "
            "(no time zone suffix, no fractions; the zone is the schedule's timezone)"
        )
    try:
        y, mo, d, h, mi, se = (int(g) for g in fields.groups())
        when = datetime(y, mo, d, h, mi, se)
    except ValueError as exc:
        raise ScheduleError(f"at: {body!r} is not a real date and time ({exc})") from None
    return At(text=text, when=when)
