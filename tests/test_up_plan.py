"""Catch-up after downtime, at any gap length: pure functions of the schedule and the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fargo.local.plan import MAX_CATCHUP_RUNS, due_slots
from fargo.schedule import load_zone, parse

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize("gap_days", [1, 99, 101, 400, 3000])
@pytest.mark.parametrize("expression", ["rate(1 minute)", "cron(* * * * ? *)"])
def test_latest_is_the_newest_missed_slot_whatever_the_gap(gap_days: int,
                                                           expression: str) -> None:
    last = NOW - timedelta(days=gap_days)
    due = due_slots(parse(expression), load_zone("UTC"), last, last, NOW, MINUTE / 2, "latest")
    assert len(due.run) == 1
    assert timedelta(0) <= NOW - due.run[0] <= MINUTE  # never a stale slot from the far past
    assert (due.older_skipped_before is not None) == (gap_days > 100)


@pytest.mark.parametrize("gap_days", [1, 101, 3000])
def test_all_is_bounded_to_the_most_recent_slots(gap_days: int) -> None:
    last = NOW - timedelta(days=gap_days)
    due = due_slots(parse("rate(1 minute)"), load_zone("UTC"), last, last, NOW, MINUTE / 2, "all")
    missed = [slot for slot in due.run if NOW - slot > MINUTE / 2]
    assert len(missed) == MAX_CATCHUP_RUNS  # plus the slot that is on time now
    assert due.run == sorted(due.run) and NOW - due.run[-1] <= MINUTE
    assert (due.older_skipped_before is not None) == (gap_days > 100)


def test_none_runs_nothing_old() -> None:
    last = NOW - timedelta(days=500, minutes=30)
    due = due_slots(parse("rate(1 hour)"), load_zone("UTC"), last, last, NOW, MINUTE, "none")
    assert due.run == []
