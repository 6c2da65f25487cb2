"""Valid and invalid corpora for every construct of AWS schedule expressions."""

from __future__ import annotations

import pytest

from fargo.schedule import At, Cron, Rate, ScheduleError, parse, to_aws

VALID = [
    "rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(12 hours)", "rate(1 day)",
    "rate(7 days)",
    "cron(0 10 * * ? *)", "cron(15 12 * * ? *)", "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)", "cron(0/15 * * * ? *)", "cron(0/10 * ? * MON-FRI *)",
    "cron(0/5 8-17 ? * MON-FRI *)", "cron(0 9 ? * 2#1 *)", "cron(15 10 ? * 6L 2019-2022)",
    "cron(0/30 20-2 ? * MON-FRI *)", "cron(0 21 LW * ? *)", "cron(0 12 15W * ? *)",
    "cron(0 0 L * ? *)", "cron(0 0 ? * L *)", "cron(0 11-23/2 * * ? *)",
    "cron(0-15/1 8-8 * * ? *)", "cron(1-31/30 1-1 * * ? *)", "cron(30-30 13-13 * * ? *)",
    "cron(0 0 ? jan-mar mon,wed,fri *)", "cron(0 0 ? NOV-FEB FRI-MON *)",
    "cron(0 0 1 1 ? 2020)", "cron(59 23 31 12 ? 2199)", "cron(0 0 1 1 ? 1970)",
    "cron(* * * * ? *)", "cron(0 0 ? * FRI#5 *)", "cron(0 0 ? * FRIL *)",
    "cron(0 0 1,15,L-0 * ? *)".replace(",L-0", ""), "cron(0 0 25-5 * ? *)",
    "at(2030-01-01T09:00:00)", "at(2024-02-29T23:59:59)",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_expressions_parse(text: str) -> None:
    expr = parse(text)
    assert expr.text == text
    assert isinstance(expr, (Rate, Cron, At))


INVALID = [
    ("rate(0 minutes)", "rate: value '0' must be a positive integer"),
    ("rate(1 hours)", "write rate(1 hour)"),
    ("rate(5 hour)", "write rate(5 hours)"),
    ("rate(1.5 hours)", "value '1.5' must be a positive integer"),
    ("rate(-1 minutes)", "value '-1'"),
    ("rate(5 seconds)", "smallest unit is 1 minute"),
    ("rate(2 weeks)", "unit 'weeks' is not one of"),
    ("rate(5)", "must be rate(value unit)"),
    ("rate(5 minutes", "must be rate(value unit)"),
    ("Rate(5 minutes)", "must be lowercase 'rate('"),
    ("cron(0/1 * * ? *)", "cron needs 6 fields"),
    ("cron(0 9 ? * 8 *)", "day-of-week: '8' is out of range 1-7 (SUN=1 ... SAT=7)"),
    ("cron(0 9 ? * 0 *)", "day-of-week: '0' is out of range 1-7"),
    ("cron(60 * * * ? *)", "minutes: '60' is out of range 0-59"),
    ("cron(0 24 * * ? *)", "hours: '24' is out of range 0-23"),
    ("cron(0 0 32 * ? *)", "day-of-month: '32' is out of range 1-31"),
    ("cron(0 0 0 * ? *)", "day-of-month: '0' is out of range 1-31"),
    ("cron(0 0 1 13 ? *)", "month: '13' is out of range 1-12"),
    ("cron(0 0 1 FOO ? *)", "month: 'FOO' is not a month"),
    ("cron(0 0 ? * FUN *)", "day-of-week: 'FUN' is not a day-of-week"),
    ("cron(0 0 1 1 ? 1969)", "year: '1969' is out of range 1970-2199"),
    ("cron(0 0 1 1 ? 2200)", "year: '2200' is out of range 1970-2199"),
    ("cron(0 0 1 1 ? 2030-2020)", "year: range '2030-2020' runs backwards"),
    ("cron(0 0 * * * *)", "exactly one of them must be '?'"),
    ("cron(0 0 1 * MON *)", "exactly one of them must be '?'"),
    ("cron(0 0 ? * ? *)", "only one of them may be '?'"),
    ("cron(* ? * * ? *)", "hours: '?' is only allowed in day-of-month or day-of-week"),
    ("cron(0 0 ? * 3#1,6#3 *)", "with '#' the field may hold only one expression"),
    ("cron(0 0 ? * 3#6 *)", "occurrence '6' in '3#6' must be 1-5"),
    ("cron(0 0 ? * 8#1 *)", "day-of-week: '8' is out of range"),
    ("cron(0 0 1#2 * ? *)", "'#' is only allowed in day-of-week"),
    ("cron(0 0 ? * 1/2 *)", "'/' is not allowed in day-of-week"),
    ("cron(0/0 * * * ? *)", "minutes: step '0' in '0/0' must be a positive integer"),
    ("cron(*/x * * * ? *)", "step 'x'"),
    ("cron(0 0 L-2 * ? *)", "Quartz syntax"),
    ("cron(0 0 32W * ? *)", "day-of-month: '32' is out of range"),
    ("cron(0 0 1,L * ? *)", "'L' must stand alone"),
    ("cron(0 L * * ? *)", "hours: 'L' is not allowed here"),
    ("cron(0 0 ? * 9L *)", "day-of-week: '9' is out of range"),
    ("cron(0 0 ? * MON,L *)", "'L' must stand alone"),
    ("cron(0 0 ? * 2W *)", "'W' is only allowed in day-of-month"),
    ("cron(0,,5 0 * * ? *)", "minutes: '0,,5' has an empty list item"),
    ("cron(0 0 1-* * ? *)", "day-of-month: '*' is not a number"),
    ("cron(0 " + "1," * 130 + "2 * * ? *)", "AWS allows at most 256"),
    ("at(2024-02-30T00:00:00)", "not a real date and time"),
    ("at(2024-01-01 09:00:00)", "is not of the form yyyy-mm-ddThh:mm:ss"),
    ("at(2024-01-01T09:00:00Z)", "no time zone suffix"),
    ("at(2024-01-01T09:00)", "is not of the form"),
    ("every day", "is not a schedule expression"),
    ("", "is not a schedule expression"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_expressions_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse(to_aws(text).expression)
    assert any(message in m for m in info.value.messages), info.value.messages


def test_all_bad_fields_are_reported_at_once() -> None:
    with pytest.raises(ScheduleError) as info:
        parse("cron(61 25 * 13 ? 1900)")
    assert [m.split(":")[0] for m in info.value.messages] == ["minutes", "hours", "month", "year"]


def test_names_are_case_insensitive() -> None:
    a, b = parse("cron(0 0 ? jan mon *)"), parse("cron(0 0 ? JAN MON *)")
    assert isinstance(a, Cron) and isinstance(b, Cron)
    assert (a.months, a.days) == (b.months, b.days)


def test_wrap_around_ranges() -> None:
    expr = parse("cron(0 20-2 ? NOV-FEB FRI-MON *)")
    assert isinstance(expr, Cron)
    assert expr.hours == (0, 1, 2, 20, 21, 22, 23)
    assert expr.months == (1, 2, 11, 12)
    assert expr.days.values == frozenset({6, 7, 1, 2})


def test_steps() -> None:
    expr = parse("cron(1/10 8-17/3 * * ? *)")
    assert isinstance(expr, Cron)
    assert expr.minutes == (1, 11, 21, 31, 41, 51)
    assert expr.hours == (8, 11, 14, 17)


FRIENDLY = [
    ("@hourly", "cron(0 * * * ? *)"),
    ("@daily", "cron(0 0 * * ? *)"),
    ("@weekly", "cron(0 0 ? * SUN *)"),
    ("@monthly", "cron(0 0 1 * ? *)"),
    ("@yearly", "cron(0 0 1 1 ? *)"),
    ("@every 90m", "rate(90 minutes)"),
    ("@every 1h", "rate(1 hour)"),
    ("@every 2h", "rate(2 hours)"),
    ("@every 1h30m", "rate(90 minutes)"),
    ("@every 1d", "rate(1 day)"),
    ("@every 48h", "rate(2 days)"),
    ("*/5 * * * *", "cron(*/5 * * * ? *)"),
    ("0 9 * * 1-5", "cron(0 9 ? * MON-FRI *)"),
    ("0 0 * * 0", "cron(0 0 ? * SUN *)"),
    ("0 0 * * 7", "cron(0 0 ? * SUN *)"),
    ("0 0 * * 0,6", "cron(0 0 ? * SUN,SAT *)"),
    ("0 0 * * */2", "cron(0 0 ? * SUN,TUE,THU,SAT *)"),
    ("30 2 1 * *", "cron(30 2 1 * ? *)"),
    ("0 0 * * mon-fri", "cron(0 0 ? * MON-FRI *)"),
    ("0 9 ? * MON-FRI *", "cron(0 9 ? * MON-FRI *)"),
]


@pytest.mark.parametrize(("text", "aws"), FRIENDLY)
def test_friendly_forms_convert_with_notice(text: str, aws: str) -> None:
    converted = to_aws(text)
    assert converted.expression == aws
    assert converted.notice and aws in converted.notice
    parse(converted.expression)


def test_aws_forms_pass_through_without_notice() -> None:
    assert to_aws("rate(5 minutes)").notice is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@often", "not a known shorthand"),
        ("@every 30s", "at most once a minute"),
        ("@every 0m", "at most once a minute"),
        ("@every soon", "not like 90m"),
        ("0 0 1 * 1", "cannot express both"),
        ("0 0 * * 8", "day-of-week '8' is not 0-7"),
    ],
)
def test_bad_friendly_forms(text: str, message: str) -> None:
    with pytest.raises(ScheduleError) as info:
        to_aws(text)
    assert message in str(info.value)
