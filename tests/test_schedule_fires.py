"""Fire times: golden cases from the AWS docs and cronplan's README, and DST in three zones."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fargo.schedule import load_zone, next_fires, parse
from fargo.timeutil import format_utc


def fires(expr: str, after: str, count: int = 5, tz: str = "UTC") -> list[str]:
    start = datetime.fromisoformat(after.replace("Z", "+00:00"))
    return [format_utc(f) for f in next_fires(parse(expr), load_zone(tz), start, count)]


def test_weekday_mornings_in_berlin_across_winter_time() -> None:
    assert fires("cron(0 9 ? * MON-FRI *)", "2024-01-01T00:00:00Z", 3, "Europe/Berlin") == [
        "2024-01-01T08:00:00Z", "2024-01-02T08:00:00Z", "2024-01-03T08:00:00Z",
    ]
    # CEST (UTC+2) after the last Sunday of March
    assert fires("cron(0 9 ? * MON-FRI *)", "2024-03-29T00:00:00Z", 2, "Europe/Berlin") == [
        "2024-03-29T08:00:00Z", "2024-04-01T07:00:00Z",
    ]


def test_last_weekday_of_month() -> None:
    assert fires("cron(0 12 LW * ? *)", "2024-01-01T00:00:00Z", 6) == [
        "2024-01-31T12:00:00Z", "2024-02-29T12:00:00Z", "2024-03-29T12:00:00Z",
        "2024-04-30T12:00:00Z", "2024-05-31T12:00:00Z", "2024-06-28T12:00:00Z",
    ]


def test_nearest_weekday_never_crosses_the_month() -> None:
    # 2022-10-01 is a Saturday: 1W moves forward to Monday the 3rd, not back into September.
    assert fires("cron(0 0 1W * ? *)", "2022-09-30T00:00:00Z", 1) == ["2022-10-03T00:00:00Z"]
    # 2022-07-31 is a Sunday: 31W moves back to Friday the 29th.
    assert fires("cron(0 0 31W * ? *)", "2022-07-01T00:00:00Z", 1) == ["2022-07-29T00:00:00Z"]
    # 2024-06-15 is a Saturday -> Friday 14th; 2024-09-15 is a Sunday -> Monday 16th
    assert fires("cron(0 0 15W * ? *)", "2024-06-01T00:00:00Z", 1) == ["2024-06-14T00:00:00Z"]
    assert fires("cron(0 0 15W * ? *)", "2024-09-01T00:00:00Z", 1) == ["2024-09-16T00:00:00Z"]
    # 31W skips months without a 31st
    assert fires("cron(0 0 31W * ? *)", "2024-04-01T00:00:00Z", 1) == ["2024-05-31T00:00:00Z"]


def test_last_friday_and_nth_weekday() -> None:
    assert fires("cron(15 10 ? * 6L 2019-2022)", "2022-10-01T00:00:00Z", 4) == [
        "2022-10-28T10:15:00Z", "2022-11-25T10:15:00Z", "2022-12-30T10:15:00Z",
    ]
    # second Tuesday (3#2)
    assert fires("cron(0 9 ? * 3#2 *)", "2024-01-01T00:00:00Z", 3) == [
        "2024-01-09T09:00:00Z", "2024-02-13T09:00:00Z", "2024-03-12T09:00:00Z",
    ]
    # fifth Friday exists only in some months
    assert fires("cron(0 0 ? * FRI#5 *)", "2024-01-01T00:00:00Z", 3) == [
        "2024-03-29T00:00:00Z", "2024-05-31T00:00:00Z", "2024-08-30T00:00:00Z",
    ]


def test_bare_l_in_day_of_week_is_every_saturday() -> None:
    assert fires("cron(0 0 ? * L *)", "2024-01-01T00:00:00Z", 3) == [
        "2024-01-06T00:00:00Z", "2024-01-13T00:00:00Z", "2024-01-20T00:00:00Z",
    ]


def test_last_day_of_month_and_leap_years() -> None:
    assert fires("cron(0 0 L 2 ? *)", "2023-01-01T00:00:00Z", 2) == [
        "2023-02-28T00:00:00Z", "2024-02-29T00:00:00Z",
    ]
    assert fires("cron(0 0 29 2 ? *)", "2024-03-01T00:00:00Z", 1) == ["2028-02-29T00:00:00Z"]


def test_wrap_around_hours_against_each_days_weekday() -> None:
    # AWS's own example: every 30 minutes from 20:00 to 02:59 on weekdays (UTC)
    got = fires("cron(0/30 20-2 ? * MON-FRI *)", "2024-01-05T23:00:00Z", 8)  # a Friday
    assert got == [
        "2024-01-05T23:30:00Z", "2024-01-08T00:00:00Z", "2024-01-08T00:30:00Z",
        "2024-01-08T01:00:00Z", "2024-01-08T01:30:00Z", "2024-01-08T02:00:00Z",
        "2024-01-08T02:30:00Z", "2024-01-08T20:00:00Z",
    ]


def test_schedule_that_never_fires_again() -> None:
    assert fires("cron(0 0 1 1 ? 2020)", "2024-01-01T00:00:00Z") == []
    assert fires("cron(0 0 30 2 ? *)", "2024-01-01T00:00:00Z") == []
    assert fires("cron(59 23 31 12 ? 2199)", "2199-12-31T23:59:00Z") == []


def test_fires_are_strictly_after() -> None:
    assert fires("cron(0 10 * * ? *)", "2024-01-01T10:00:00Z", 1) == ["2024-01-02T10:00:00Z"]
    assert fires("cron(0 10 * * ? *)", "2024-01-01T09:59:59Z", 1) == ["2024-01-01T10:00:00Z"]


def test_rate_is_anchored_at_start_and_is_a_fixed_duration() -> None:
    assert fires("rate(5 minutes)", "2024-01-01T10:00:30Z", 2) == [
        "2024-01-01T10:05:30Z", "2024-01-01T10:10:30Z",
    ]
    # rate(1 day) is 24 hours: the wall-clock time drifts across DST, the UTC time doesn't
    got = fires("rate(1 day)", "2024-03-09T12:00:00Z", 2, "America/New_York")
    assert got == ["2024-03-10T12:00:00Z", "2024-03-11T12:00:00Z"]


def test_at_is_one_time_in_the_schedule_zone() -> None:
    assert fires("at(2030-06-01T09:00:00)", "2024-01-01T00:00:00Z", 3, "Europe/Berlin") == [
        "2030-06-01T07:00:00Z"
    ]
    assert fires("at(2020-06-01T09:00:00)", "2024-01-01T00:00:00Z") == []


# --- DST: skipped in spring, once in the fall (EventBridge Scheduler's rules) --------------

def test_new_york_spring_forward_skips_nonexistent_time() -> None:
    # 2024-03-10 02:00 -> 03:00 EDT: 02:30 does not exist that day
    assert fires("cron(30 2 * * ? *)", "2024-03-09T00:00:00Z", 3, "America/New_York") == [
        "2024-03-09T07:30:00Z", "2024-03-11T06:30:00Z", "2024-03-12T06:30:00Z",
    ]


def test_new_york_fall_back_fires_once() -> None:
    # 2024-11-03 01:00-01:59 happens twice; fire at the first (EDT, UTC-4) only
    assert fires("cron(30 1 * * ? *)", "2024-11-02T12:00:00Z", 2, "America/New_York") == [
        "2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z",
    ]
    assert fires("cron(*/30 1 * * ? *)", "2024-11-03T00:00:00Z", 3, "America/New_York") == [
        "2024-11-03T05:00:00Z", "2024-11-03T05:30:00Z", "2024-11-04T06:00:00Z",
    ]


def test_starting_inside_the_repeated_hour_does_not_refire() -> None:
    # 06:10Z is 01:10 EST, the second pass of 01:xx; 01:30 EDT (05:30Z) is already past
    assert fires("cron(30 1 * * ? *)", "2024-11-03T06:10:00Z", 1, "America/New_York") == [
        "2024-11-04T06:30:00Z"
    ]


def test_berlin_transitions() -> None:
    # 2024-03-31 02:00 -> 03:00 CEST
    assert fires("cron(30 2 * * ? *)", "2024-03-30T12:00:00Z", 2, "Europe/Berlin") == [
        "2024-04-01T00:30:00Z", "2024-04-02T00:30:00Z",
    ]
    # 2024-10-27 03:00 CEST -> 02:00 CET: 02:30 once, at CEST
    assert fires("cron(30 2 * * ? *)", "2024-10-26T12:00:00Z", 2, "Europe/Berlin") == [
        "2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z",
    ]


def test_lord_howe_thirty_minute_shift() -> None:
    # Lord Howe: UTC+10:30 standard, UTC+11 daylight; 2024-10-06 02:00 -> 02:30
    zone = "Australia/Lord_Howe"
    assert fires("cron(15 2 * * ? *)", "2024-10-04T00:00:00Z", 2, zone) == [
        "2024-10-04T15:45:00Z", "2024-10-06T15:15:00Z",
    ]  # 02:15 on the 6th does not exist
    # 2024-04-07 02:00 -> 01:30: 01:45 happens twice, fires once (first, UTC+11)
    assert fires("cron(45 1 * * ? *)", "2024-04-06T00:00:00Z", 2, zone) == [
        "2024-04-06T14:45:00Z", "2024-04-07T15:15:00Z",
    ]


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_fixed_and_odd_offsets(tz: str) -> None:
    got = fires("cron(0 12 * * ? *)", "2024-01-01T00:00:00Z", 1, tz)
    zone = load_zone(tz)
    local = datetime.fromisoformat(got[0].replace("Z", "+00:00")).astimezone(zone)
    assert (local.hour, local.minute) == (12, 0)
    assert local.astimezone(timezone.utc).date().isoformat().startswith("2024-01-01")


@pytest.mark.parametrize("name", ["posix/Europe/Berlin", "right/UTC", "localtime",
                                  "posixrules", "Factory"])
def test_tz_database_files_that_are_no_zone_names_are_refused(name: str) -> None:
    """zoneinfo loads them; EventBridge Scheduler takes only zone names."""
    from fargo.schedule import ScheduleError

    with pytest.raises(ScheduleError) as info:
        load_zone(name)
    assert "is not an IANA time zone name" in str(info.value)
    if "/" in name:
        assert f"'{name.split('/', 1)[1]}'" in str(info.value)
