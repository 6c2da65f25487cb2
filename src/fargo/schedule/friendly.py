"""Friendly schedule forms (@daily, @every 90m, Unix 5-field cron) converted to AWS form.

Config files and decorators accept these; everything downstream sees only the AWS form, and the
user is told about the conversion so the deployed expression is never a surprise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fargo.schedule.cron import DOW_BY_NUMBER, DOW_NAMES
from fargo.schedule.errors import ScheduleError

MACROS = {
    "@hourly": "cron(0 * * * ? *)",
    "@daily": "cron(0 0 * * ? *)",
    "@midnight": "cron(0 0 * * ? *)",
    "@weekly": "cron(0 0 ? * SUN *)",
    "@monthly": "cron(0 0 1 * ? *)",
    "@yearly": "cron(0 0 1 1 ? *)",
    "@annually": "cron(0 0 1 1 ? *)",
}
_EVERY_PART = re.compile(r"([0-9]+)\s*(d|h|m|s)", re.IGNORECASE)


@dataclass(frozen=True)
class Converted:
    """An expression in AWS form, with a notice when it was converted from a friendly form."""

    expression: str
    notice: str | None = None


def to_aws(text: str) -> Converted:
    """Return the AWS form of `text`; AWS forms pass through unchanged (not yet validated)."""
    if not isinstance(text, str):
        raise ScheduleError(f"expected a string such as 'rate(5 minutes)', found {text!r}")
    stripped = text.strip()
    if stripped.lower().startswith(("cron(", "rate(", "at(")):
        return Converted(stripped)
    if stripped.lower() in MACROS:
        return _noticed(text, MACROS[stripped.lower()])
    if stripped.lower().startswith("@every"):
        return _noticed(text, _every(stripped[len("@every") :].strip(), text))
    if stripped.startswith("@"):
        raise ScheduleError(
            f"{text!r} is not a known shorthand (allowed: {', '.join(sorted(MACROS))}, "
            "@every 90m)"
        )
    fields = stripped.split()
    if len(fields) == 5:
        return _noticed(text, _unix(fields, text), "Unix cron")
    if len(fields) == 6 and "?" in fields:
        return _noticed(text, f"cron({' '.join(fields)})")
    raise ScheduleError(
        f"{text!r} is not a schedule expression (allowed: rate(5 minutes), "
        "cron(0 9 ? * MON-FRI *), at(2030-01-01T09:00:00), @daily, @every 90m, "
        "or Unix cron such as '0 9 * * 1-5')"
    )


def _noticed(original: str, aws: str, what: str = "shorthand") -> Converted:
    return Converted(aws, f"{original!r} is {what}; fargo uses the AWS form {aws!r}")


def _every(duration: str, original: str) -> str:
    compact = duration.replace(" ", "")
    parts = _EVERY_PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts).lower() != compact.lower():
        raise ScheduleError(
            f"{original!r}: duration {duration!r} is not like 90m, 2h, 1h30m or 1d"
        )
    seconds = 0
    for number, unit in parts:
        seconds += int(number) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit.lower()]
    if seconds == 0 or seconds % 60:
        raise ScheduleError(
            f"{original!r}: AWS schedules run at most once a minute, in whole minutes"
        )
    minutes = seconds // 60
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes % size == 0:
            value = minutes // size
            return f"rate({value} {unit}{'' if value == 1 else 's'})"
    raise AssertionError  # pragma: no cover


def _unix(fields: list[str], original: str) -> str:
    minute, hour, dom, month, dow = fields
    if "?" in fields:
        raise ScheduleError(f"{original!r}: '?' is not Unix cron; AWS cron has 6 fields")
    if dom != "*" and dow != "*":
        raise ScheduleError(
            f"{original!r}: Unix cron fires when day-of-month OR day-of-week matches; "
            "AWS cron cannot express both, so set one of them to '*'"
        )
    if dow == "*":
        return f"cron({minute} {hour} {dom} {month} ? *)"
    return f"cron({minute} {hour} ? {month} {_unix_dow(dow, original)} *)"


def _unix_dow(token: str, original: str) -> str:
    """Unix day-of-week (0-7, 0 and 7 = SUN) as an AWS list of names (SUN=1)."""
    days: set[int] = set()
    for item in token.split(","):
        base, _, step_tok = item.partition("/")
        ascii_number = step_tok.isascii() and step_tok.isdigit()
        step = int(step_tok) if ascii_number and int(step_tok) > 0 else None
        if step_tok and step is None:
            raise ScheduleError(f"{original!r}: bad step in day-of-week {item!r}")
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            a, _, b = base.partition("-")
            low, high = _unix_day(a, original), _unix_day(b, original)
            if high < low:
                raise ScheduleError(f"{original!r}: day-of-week range {base!r} runs backwards")
        else:
            low = _unix_day(base, original)
            high = 6 if step else low
        days.update(d % 7 for d in range(low, high + 1, step or 1))
    return _names(sorted(d + 1 for d in days))


def _unix_day(token: str, original: str) -> int:
    if token.upper() in DOW_NAMES:
        return DOW_NAMES[token.upper()] - 1
    if token.isascii() and token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    raise ScheduleError(
        f"{original!r}: day-of-week {token!r} is not 0-7 or SUN-SAT in Unix cron"
    )


def _names(days: list[int]) -> str:
    """Compress sorted AWS weekdays to names with ranges, e.g. [2..6] -> MON-FRI."""
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    out = []
    for run in runs:
        if len(run) >= 3:
            out.append(f"{DOW_BY_NUMBER[run[0]]}-{DOW_BY_NUMBER[run[-1]]}")
        else:
            out.extend(DOW_BY_NUMBER[d] for d in run)
    return ",".join(out)
