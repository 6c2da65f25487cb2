"""The calendar walker against a minute-by-minute oracle, on random expressions and instants.

The oracle is deliberately naive and independent of the walker: it steps through UTC minutes,
converts each to wall-clock time (zoneinfo sets `fold=1` on the second pass of a repeated hour,
and a skipped wall time is never produced), and tests the wall time against the parsed fields
with its own day rules.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fargo.schedule import Cron, load_zone, next_fires, parse

WINDOW = timedelta(days=35)


def _last_day(d: datetime) -> int:
    return calendar.monthrange(d.year, d.month)[1]


def _aws_dow(d: datetime) -> int:
    return d.isoweekday() % 7 + 1


def _is_weekday(year: int, month: int, day: int) -> bool:
    return datetime(year, month, day).isoweekday() <= 5


def _day_matches(expr: Cron, d: datetime) -> bool:
    spec = expr.days
    last = _last_day(d)
    if spec.kind == "values":
        return (_aws_dow(d) if expr.by_weekday else d.day) in spec.values
    if spec.kind == "last":
        return d.day == last
    if spec.kind == "last_weekday":
        weekdays = [x for x in range(1, last + 1) if _is_weekday(d.year, d.month, x)]
        return d.day == weekdays[-1]
    if spec.kind == "nearest_weekday":
        if spec.n > last:
            return False
        weekdays = [x for x in range(1, last + 1) if _is_weekday(d.year, d.month, x)]
        return d.day == min(weekdays, key=lambda x: abs(x - spec.n))
    if spec.kind == "saturdays":
        return _aws_dow(d) == 7
    if spec.kind == "last_dow":
        return _aws_dow(d) == spec.n and d.day + 7 > last
    if spec.kind == "nth_dow":
        return _aws_dow(d) == spec.n and (d.day - 1) // 7 + 1 == spec.k
    raise AssertionError(spec.kind)


def oracle(expr: Cron, tz: str, after: datetime, limit: int) -> list[datetime]:
    zone = load_zone(tz)
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = after + WINDOW
    found: list[datetime] = []
    day_cache: dict[tuple[int, int, int], bool] = {}
    while moment <= end and len(found) < limit:
        local = moment.astimezone(zone)
        if local.hour not in expr.hours:  # a plain shortcut: jump to the next wall-clock hour
            moment += timedelta(minutes=60 - local.minute)
            continue
        if local.fold == 0 and local.minute in expr.minutes and local.hour in expr.hours \
                and local.month in expr.months and local.year in expr.years:
            key = (local.year, local.month, local.day)
            if key not in day_cache:
                day_cache[key] = _day_matches(expr, local.replace(tzinfo=None))
            if day_cache[key]:
                found.append(moment)
        moment += timedelta(minutes=1)
    return found


def _num(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(str)


def _plain(low: int, high: int, names: list[str] | None = None,
           steps: bool = True) -> st.SearchStrategy[str]:
    value = _num(low, high) if not names else st.one_of(_num(low, high), st.sampled_from(names))
    items = [value, st.just("*"), st.builds(lambda a, b: f"{a}-{b}", value, value)]
    if steps:
        items += [
            st.builds(lambda n: f"*/{n}", st.integers(1, high - low + 1)),
            st.builds(lambda a, n: f"{a}/{n}", _num(low, high), st.integers(1, high - low + 1)),
            st.builds(lambda a, b, n: f"{a}-{b}/{n}", _num(low, high), _num(low, high),
                      st.integers(1, 10)),
        ]
    return st.lists(st.one_of(*items), min_size=1, max_size=3).map(",".join)


MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

day_of_month = st.one_of(
    _plain(1, 31), st.just("L"), st.just("LW"), st.builds(lambda n: f"{n}W", st.integers(1, 31))
)
day_of_week = st.one_of(
    _plain(1, 7, DAYS, steps=False), st.just("L"),
    st.builds(lambda d: f"{d}L", st.one_of(_num(1, 7), st.sampled_from(DAYS))),
    st.builds(lambda d, n: f"{d}#{n}", st.one_of(_num(1, 7), st.sampled_from(DAYS)),
              st.integers(1, 5)),
)


@st.composite
def cron_expressions(draw: st.DrawFn) -> str:
    minutes = draw(st.one_of(_plain(0, 59), st.just("0"), st.just("*/15")))
    hours = draw(_plain(0, 23))
    month = draw(st.one_of(st.just("*"), _plain(1, 12, MONTHS)))
    if draw(st.booleans()):
        dom, dow = draw(day_of_month), "?"
    else:
        dom, dow = "?", draw(day_of_week)
    year = draw(st.sampled_from(["*", "*", "*", "2024-2026", "2025", "2019-2023", "2020/2"]))
    return f"cron({minutes} {hours} {dom} {month} {dow} {year})"


instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31)
).map(lambda d: d.replace(tzinfo=timezone.utc))

# Instants just before DST changes in the zones under test, so transitions are hit often.
TRANSITIONS = [
    datetime(2024, 3, 10, 5, 0, tzinfo=timezone.utc), datetime(2024, 11, 3, 4, 0, tzinfo=timezone.utc),
    datetime(2024, 3, 31, 0, 0, tzinfo=timezone.utc), datetime(2024, 10, 27, 0, 0, tzinfo=timezone.utc),
    datetime(2024, 4, 6, 14, 0, tzinfo=timezone.utc), datetime(2024, 10, 5, 15, 0, tzinfo=timezone.utc),
]
near_transitions = st.builds(
    lambda base, minutes: base + timedelta(minutes=minutes),
    st.sampled_from(TRANSITIONS), st.integers(-300, 300),
)


def _compare(text: str, tz: str, after: datetime) -> None:
    expr = parse(text)
    assert isinstance(expr, Cron)
    expected = oracle(expr, tz, after, limit=6)
    got = [f for f in next_fires(expr, load_zone(tz), after, 6) if f <= after + WINDOW]
    assert got == expected[: len(got)] and len(got) == len(expected), (text, tz, after)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cron_expressions(), instants)
def test_walker_matches_oracle_in_utc(text: str, after: datetime) -> None:
    _compare(text, "UTC", after)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cron_expressions(),
    st.sampled_from(["America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]),
    st.one_of(instants, near_transitions),
)
def test_walker_matches_oracle_across_dst(text: str, tz: str, after: datetime) -> None:
    _compare(text, tz, after)
