"""AWS six-field cron: parser with field-level messages, and a calendar walker.

The walker enumerates matching wall-clock minutes in ascending order by walking years, months,
days, hours and minutes as sorted sets, so a schedule that fires once a year (or never again)
answers as fast as one that fires every minute. Time zones are applied by the caller
(`fargo.schedule.fires`), which keeps this module free of DST logic.
"""

from __future__ import annotations

import bisect
import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from fargo.schedule.errors import ScheduleError

MAX_EXPRESSION_LENGTH = 256

MONTH_NAMES = {
    name: i + 1
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
DOW_NAMES = {name: i + 1 for i, name in enumerate(_DAYS)}
DOW_BY_NUMBER = {v: k for k, v in DOW_NAMES.items()}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None
    allowed: str  # the special characters AWS allows, for messages

    @property
    def range_text(self) -> str:
        if self.name == "day-of-week":
            return "1-7 (SUN=1 ... SAT=7)"
        if self.name == "month":
            return "1-12 (or JAN-DEC)"
        return f"{self.low}-{self.high}"


MINUTES = _Field("minutes", 0, 59, None, ", - * /")
HOURS = _Field("hours", 0, 23, None, ", - * /")
DOM = _Field("day-of-month", 1, 31, None, ", - * ? / L W")
MONTH = _Field("month", 1, 12, MONTH_NAMES, ", - * /")
DOW = _Field("day-of-week", 1, 7, DOW_NAMES, ", - * ? L #")
YEAR = _Field("year", 1970, 2199, None, ", - * /")

_NUMBER = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class DaySpec:
    """How days are chosen in a month: by day-of-month or by day-of-week.

    kind is one of: values (plain set), last (L), last_weekday (LW), nearest_weekday (nW),
    saturdays (L alone in day-of-week), last_dow (nL), nth_dow (d#n).
    """

    kind: str
    values: frozenset[int] = frozenset()
    n: int = 0  # day for nW, weekday for nL/d#n
    k: int = 0  # occurrence for d#n


@dataclass(frozen=True)
class Cron:
    """A parsed AWS cron expression; `text` is the canonical `cron(...)` form."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: tuple[int, ...]
    years: tuple[int, ...]
    days: DaySpec
    by_weekday: bool  # True when day-of-week selects days (day-of-month is '?')

    def days_of(self, year: int, month: int) -> list[int]:
        """Matching days of one month, ascending."""
        last = calendar.monthrange(year, month)[1]
        spec = self.days
        if spec.kind == "values":
            if not self.by_weekday:
                return [d for d in sorted(spec.values) if d <= last]
            return [d for d in range(1, last + 1) if aws_weekday(year, month, d) in spec.values]
        if spec.kind == "last":
            return [last]
        if spec.kind == "last_weekday":
            wd = aws_weekday(year, month, last)
            return [last - 1 if wd == 7 else last - 2 if wd == 1 else last]
        if spec.kind == "nearest_weekday":
            if spec.n > last:
                return []  # 31W in a 30-day month: no day to move to without crossing the month
            wd = aws_weekday(year, month, spec.n)
            if wd == 7:  # Saturday: Friday before, unless that leaves the month
                return [spec.n - 1] if spec.n > 1 else [spec.n + 2]
            if wd == 1:  # Sunday: Monday after, unless that leaves the month
                return [spec.n + 1] if spec.n < last else [spec.n - 2]
            return [spec.n]
        if spec.kind == "saturdays":
            return [d for d in range(1, last + 1) if aws_weekday(year, month, d) == 7]
        if spec.kind == "last_dow":
            offset = (aws_weekday(year, month, last) - spec.n) % 7
            return [last - offset]
        if spec.kind == "nth_dow":
            first = (spec.n - aws_weekday(year, month, 1)) % 7 + 1
            day = first + 7 * (spec.k - 1)
            return [day] if day <= last else []
        raise AssertionError(spec.kind)  # pragma: no cover

    def walk(self, start: datetime) -> Iterator[datetime]:
        """Yield matching naive wall-clock minutes >= start, ascending."""
        start_date = start.date()
        for year in self.years[bisect.bisect_left(self.years, start.year) :]:
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                for day in self.days_of(year, month):
                    current = date(year, month, day)
                    if current < start_date:
                        continue
                    same_day = current == start_date
                    for hour in self.hours:
                        if same_day and hour < start.hour:
                            continue
                        same_hour = same_day and hour == start.hour
                        for minute in self.minutes:
                            if same_hour and minute < start.minute:
                                continue
                            yield datetime(year, month, day, hour, minute)


def aws_weekday(year: int, month: int, day: int) -> int:
    """AWS numbering: SUN=1 ... SAT=7."""
    return (date(year, month, day).weekday() + 1) % 7 + 1


def parse_cron(text: str) -> Cron:
    """Parse `cron(...)`; raise ScheduleError naming every bad field."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ScheduleError(
            f"expression is {len(text)} characters long; AWS allows at most {MAX_EXPRESSION_LENGTH}"
        )
    if not (text.startswith("cron(") and text.endswith(")")):
        raise ScheduleError(f"{text!r} is not of the form cron(fields)")
    parts = text[5:-1].split()
    if len(parts) != 6:
        hint = ""
        if len(parts) == 5:
            hint = (
                "; AWS cron has a year field and uses '?' in day-of-month or day-of-week, "
                "e.g. cron(0 9 ? * MON-FRI *)"
            )
        raise ScheduleError(
            f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), "
            f"found {len(parts)}{hint}"
        )
    errors: list[str] = []

    def guard(field: _Field, token: str) -> frozenset[int] | None:
        try:
            return _parse_plain(field, token)
        except ScheduleError as exc:
            errors.extend(exc.messages)
            return None

    minute_tok, hour_tok, dom_tok, month_tok, dow_tok, year_tok = parts
    minutes = guard(MINUTES, minute_tok)
    hours = guard(HOURS, hour_tok)
    months = guard(MONTH, month_tok)
    years = guard(YEAR, year_tok)

    if dom_tok == "?" and dow_tok == "?":
        errors.append(
            "day-of-month, day-of-week: only one of them may be '?'; "
            "use '*' in one, e.g. cron(0 9 * * ? *) or cron(0 9 ? * MON-FRI *)"
        )
    elif dom_tok != "?" and dow_tok != "?":
        # the field that says something keeps it; the other becomes '?'
        fixed = list(parts)
        fixed[2 if dow_tok != "*" else 4] = "?"
        errors.append(
            f"day-of-month, day-of-week: exactly one of them must be '?' "
            f"(found {dom_tok!r} and {dow_tok!r}); did you mean cron({' '.join(fixed)})?"
        )
    dom_spec = dow_spec = None
    try:
        dom_spec = None if dom_tok == "?" else _parse_dom(dom_tok)
    except ScheduleError as exc:
        errors.extend(exc.messages)
    try:
        dow_spec = None if dow_tok == "?" else _parse_dow(dow_tok)
    except ScheduleError as exc:
        errors.extend(exc.messages)
    by_weekday = dow_spec is not None
    days = dow_spec if by_weekday else dom_spec
    if errors:
        raise ScheduleError(errors)
    assert minutes is not None and hours is not None and months is not None
    assert years is not None and days is not None
    return Cron(
        text="cron(" + " ".join(parts) + ")",
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        months=tuple(sorted(months)),
        years=tuple(sorted(years)),
        days=days,
        by_weekday=by_weekday,
    )


def _value(field: _Field, token: str, whole: str) -> int:
    upper = token.upper()
    if field.names and upper in field.names:
        return field.names[upper]
    if _NUMBER.match(token):
        number = int(token)
        if field.low <= number <= field.high:
            return number
        raise ScheduleError(f"{field.name}: {token!r} is out of range {field.range_text}")
    if token == "":
        raise ScheduleError(f"{field.name}: {whole!r} has an empty value")
    if field.names:
        raise ScheduleError(
            f"{field.name}: {token!r} is not a {field.name} (allowed: {field.range_text})"
        )
    raise ScheduleError(
        f"{field.name}: {token!r} is not a number in range {field.range_text}"
    )


def _step(field: _Field, token: str, whole: str) -> int:
    if not _NUMBER.match(token) or int(token) == 0:
        raise ScheduleError(f"{field.name}: step {token!r} in {whole!r} must be a positive integer")
    return int(token)


def _parse_item(field: _Field, item: str) -> list[int]:
    """One comma-separated item of a plain field: *, a, a-b, */n, a/n, a-b/n (ranges wrap)."""
    if "?" in item:
        raise ScheduleError(f"{field.name}: '?' is only allowed in day-of-month or day-of-week")
    if "#" in item:
        raise ScheduleError(f"{field.name}: '#' is only allowed in day-of-week")
    if field.names is None and any(ch.isalpha() for ch in item.partition("/")[0]):
        raise ScheduleError(
            f"{field.name}: {item!r} is not allowed here "
            f"(allowed: {field.range_text} with {field.allowed})"
        )
    base, slash, step_tok = item.partition("/")
    step = _step(field, step_tok, item) if slash else 1
    span = field.high - field.low + 1
    if base == "*":
        start, count = field.low, span
    elif "-" in base:
        first_tok, _, last_tok = base.partition("-")
        start = _value(field, first_tok, item)
        end = _value(field, last_tok, item)
        if end < start and field is YEAR:
            raise ScheduleError(f"{field.name}: range {base!r} runs backwards")
        count = (end - start) % span + 1  # wrap-around: 20-2 in hours is 20..23, 0..2
    else:
        start = _value(field, base, item)
        count = field.high - start + 1 if slash else 1  # a/n runs to the field's end
    return [field.low + (start - field.low + i) % span for i in range(0, count, step)]


def _parse_plain(field: _Field, token: str) -> frozenset[int]:
    values: set[int] = set()
    for item in token.split(","):
        if item == "":
            raise ScheduleError(f"{field.name}: {token!r} has an empty list item")
        values.update(_parse_item(field, item))
    return frozenset(values)


_NW = re.compile(r"^([0-9]+)W$", re.IGNORECASE)
_NL = re.compile(r"^([A-Za-z]{3}|[0-9]+)L$", re.IGNORECASE)
_HASH = re.compile(r"^([A-Za-z]{3}|[0-9]+)#([0-9]+)$")


def _alone(field: _Field, token: str, special: str) -> None:
    if "," in token:
        raise ScheduleError(
            f"{field.name}: {special!r} must stand alone in the field, found {token!r}"
        )


def _parse_dom(token: str) -> DaySpec:
    upper = token.upper()
    if "L" in upper or "W" in upper:
        _alone(DOM, token, "L" if "L" in upper else "W")
        if upper == "L":
            return DaySpec("last")
        if upper == "LW":
            return DaySpec("last_weekday")
        match = _NW.match(token)
        if match:
            return DaySpec("nearest_weekday", n=_value(DOM, match.group(1), token))
        if upper.startswith("L-"):
            raise ScheduleError(
                f"day-of-month: {token!r} (days before the last) is Quartz syntax that AWS "
                "does not support; use L, LW, nW or days 1-31"
            )
        raise ScheduleError(
            f"day-of-month: {token!r} is not valid (allowed: 1-31, L, LW, nW such as 15W, "
            "with , - * /)"
        )
    if "#" in token:
        raise ScheduleError("day-of-month: '#' is only allowed in day-of-week")
    return DaySpec("values", values=_parse_plain(DOM, token))


def _parse_dow(token: str) -> DaySpec:
    upper = token.upper()
    if token == "?":
        return DaySpec("values")
    if "#" in token:
        if token.count("#") > 1 or "," in token:
            raise ScheduleError(
                f"day-of-week: {token!r}: with '#' the field may hold only one expression"
            )
        match = _HASH.match(token)
        if not match:
            raise ScheduleError(
                f"day-of-week: {token!r} is not of the form d#n (d 1-7 or SUN-SAT, n 1-5), "
                "e.g. 3#2 for the second Tuesday"
            )
        weekday = _value(DOW, match.group(1), token)
        nth = int(match.group(2))
        if not 1 <= nth <= 5:
            raise ScheduleError(
                f"day-of-week: occurrence {match.group(2)!r} in {token!r} must be 1-5"
            )
        return DaySpec("nth_dow", n=weekday, k=nth)
    if upper == "L":
        return DaySpec("saturdays")
    if upper.endswith("L") and upper not in DOW_NAMES:
        _alone(DOW, token, "L")
        match = _NL.match(token)
        if not match:
            raise ScheduleError(
                f"day-of-week: {token!r} is not of the form nL (n 1-7 or SUN-SAT), "
                "e.g. 6L for the last Friday of the month"
            )
        return DaySpec("last_dow", n=_value(DOW, match.group(1), token))
    if "/" in token:
        raise ScheduleError(
            f"day-of-week: {token!r}: '/' is not allowed in day-of-week "
            "(allowed: 1-7 or SUN-SAT with , - * ? L #)"
        )
    if "W" in upper.replace("WED", ""):
        raise ScheduleError("day-of-week: 'W' is only allowed in day-of-month")
    return DaySpec("values", values=_parse_plain(DOW, token))
