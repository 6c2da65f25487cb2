"""`fargo schedule` as a user types it: the stable contract scripts depend on."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_clean_error


def test_berlin_weekdays(fargo) -> None:
    r = fargo(["schedule", "cron(0 9 ? * MON-FRI *)", "--tz", "Europe/Berlin", "--count", "3",
               "--after", "2024-01-01T00:00:00Z"])
    assert r.returncode == 0, r.stderr
    assert "2024-01-01T08:00:00Z" in r.stdout and "2024-01-03T08:00:00Z" in r.stdout
    assert "2024-01-01 09:00:00 CET (Mon)" in r.stdout


def test_json_contract(fargo) -> None:
    r = fargo(["schedule", "cron(0 12 LW * ? *)", "--count", "4", "--json",
               "--after", "2024-01-01T00:00:00Z"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "expression": "cron(0 12 LW * ? *)",
        "timezone": "UTC",
        "fires": ["2024-01-31T12:00:00Z", "2024-02-29T12:00:00Z", "2024-03-29T12:00:00Z",
                  "2024-04-30T12:00:00Z"],
    }


def test_rate_is_anchored_at_after(fargo) -> None:
    r = fargo(["schedule", "rate(5 minutes)", "--json", "--count", "2",
               "--after", "2024-01-01T10:00:00+01:00"])
    assert json.loads(r.stdout)["fires"] == ["2024-01-01T09:05:00Z", "2024-01-01T09:10:00Z"]


def test_rate_defaults_to_now(fargo) -> None:
    r = fargo(["schedule", "rate(5 minutes)"])
    assert r.returncode == 0 and "every 5 minutes" in r.stdout


def test_fewer_fires_when_the_schedule_ends(fargo) -> None:
    r = fargo(["schedule", "cron(0 0 1 1 ? 2024-2025)", "--json", "--count", "5",
               "--after", "2023-06-01T00:00:00Z"])
    assert json.loads(r.stdout)["fires"] == ["2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"]
    r = fargo(["schedule", "cron(0 0 1 1 ? 2020)", "--json"])
    assert r.returncode == 0 and json.loads(r.stdout)["fires"] == []


def test_friendly_form_notice_goes_to_stderr_and_json_stays_clean(fargo) -> None:
    r = fargo(["schedule", "0 9 * * 1-5", "--json", "--count", "1",
               "--after", "2024-01-01T00:00:00Z"])
    assert r.returncode == 0
    assert json.loads(r.stdout)["expression"] == "cron(0 9 ? * MON-FRI *)"
    assert "Unix cron" in r.stderr and "cron(0 9 ? * MON-FRI *)" in r.stderr


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["cron(0 9 ? * 8 *)"], ["day-of-week: '8' is out of range 1-7 (SUN=1 ... SAT=7)"]),
        (["rate(1 hours)"], ["rate(1 hour)"]),
        (["cron(0/1 * * ? *)"], ["cron needs 6 fields"]),
        (["rate(5 minutes)", "--tz", "Mars/Olympus"], ["'Mars/Olympus' is not an IANA"]),
        (["rate(5 minutes)", "--tz", "europe/berlin"], ["Europe/Berlin"]),
        (["rate(5 minutes)", "--tz", "Europe/Berln"], ["did you mean 'Europe/Berlin'"]),
        (["rate(5 minutes)", "--tz", "../../etc/passwd"], ["not an IANA"]),
        (["rate(5 minutes)", "--after", "yesterday"], ["--after", "not an ISO 8601"]),
        (["cron(0 9 ? * 8 *)", "--tz", "Nowhere"], ["day-of-week", "Nowhere"]),
        (["rate(5 minutes)", "--count", "0"], ["--count"]),
        (["@fortnightly"], ["not a known shorthand"]),
    ],
)
def test_bad_input_exits_2_with_a_precise_message(fargo, args, needles) -> None:
    assert_clean_error(fargo(["schedule", *args]), *needles)


def test_messages_say_the_fix(fargo) -> None:
    r = fargo(["schedule", "cron(0 9 * * MON *)"])
    assert "did you mean cron(0 9 ? * MON *)?" in r.stderr
    r = fargo(["schedule", "rate(1 day)", "--tz", "Mars/Base"])
    assert "timezone: timezone" not in r.stderr and "--tz: 'Mars/Base' is not" in r.stderr


def test_instants_outside_the_years_schedules_work_in_are_refused(tmp_path) -> None:
    from tests.conftest import _run, assert_clean_error

    r = _run(["new", "demo"], cwd=tmp_path)
    assert r.returncode == 0
    root = tmp_path / "demo"
    for args, key in ((["schedule", "rate(1 hour)", "--after", "0001-01-01T00:00:00Z"],
                       "--after"),
                      (["schedule", "rate(1 hour)", "--after", "9999-12-31T23:00:00Z"],
                       "--after"),
                      (["up", "--from", "9999-12-31T23:59:00Z", "--for", "1m"], "--from"),
                      (["cost", "--stage", "prod", "--from", "0001-01-01"], "--from")):
        assert_clean_error(_run(args, cwd=root), f"{key}: ", "outside the years 1970-9998")
