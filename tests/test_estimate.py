"""fargo size and fargo cost, checked against figures computed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fargo import estimate
from tests.conftest import _run, write_project

START = "2026-01-01T00:00:00Z"
APP = """
from fargo import App

app = App("costs")


@app.task("cron(0 9 LW * ? *)", cpu=1024, memory=2048, timeout=120)
def month_end(event):
    pass


@app.task("cron(30 2 * * ? *)", timezone="America/New_York", compute="lambda", memory=512,
          timeout=10)
def nightly(event):
    pass


@app.task(timeout=60)
def adhoc(event):
    pass
"""


def test_hand_computed_runs() -> None:
    # Fargate, 1 vCPU and 2 GB for 120 s: 120/3600 h x (1 x 0.04048 + 2 x 0.004445) $/h
    assert estimate.fargate_run_cost(1024, 2048, 120) == pytest.approx(0.0016456667, rel=1e-6)
    # the one-minute minimum: a 5 s run bills 60 s
    assert estimate.fargate_run_cost(1024, 2048, 5) == pytest.approx(0.00082283, rel=1e-4)
    # arm64 and Spot (30% of On-Demand), with 50 GiB storage (30 GiB above the included 20)
    arm = 3600 / 3600 * (0.25 * 0.03238 + 0.5 * 0.00356) + 30 * 0.000111
    assert estimate.fargate_run_cost(256, 512, 3600, "arm64", storage_gib=50) == \
        pytest.approx(arm)
    assert estimate.fargate_run_cost(256, 512, 3600, "arm64", spot=True, storage_gib=50) == \
        pytest.approx(arm * 0.30)
    # Lambda, 512 MB for 10 s: 0.5 GB x 10 s x 0.0000166667 + one request 0.0000002
    assert estimate.lambda_run_cost(512, 10) == pytest.approx(0.0000835335, rel=1e-6)
    # sizes: 30% headroom over the peak
    assert estimate.fargate_size_for(400) == (256, 1024)  # 520 MiB needed: 512 is too small
    assert estimate.fargate_size_for(300) == (256, 512)
    assert estimate.lambda_memory_for(100) == 192  # 130 MiB, rounded up to 64
    assert estimate.lambda_memory_for(9000) is None  # 11,700 MB: over Lambda's 10,240


def test_cost_from_the_schedule_engine(tmp_path: Path) -> None:
    root = write_project(tmp_path / "costs", APP, {"app_name": "costs",
                                                   "stages": {"dev": {"region": "us-east-1"}}})
    r = _run(["cost", "--stage", "dev", "--from", START, "--json"], cwd=root)
    assert r.returncode == 0, r.stderr
    jobs = {j["job"]: j for j in json.loads(r.stdout)["jobs"]}
    # LW: the last weekday of each month, once a month: 12 fires a year
    month_end = jobs["month_end"]
    assert month_end["fires_per_month"] == pytest.approx(1.0)
    assert month_end["duration_basis"].startswith("its timeout")
    assert month_end["monthly"] == pytest.approx(0.0016456667, rel=1e-6)
    # 02:30 in New York: 365 days minus the spring-forward night (2026-03-08), 364 fires
    nightly = jobs["nightly"]
    assert nightly["fires_per_month"] == pytest.approx(364 / 12)
    assert nightly["monthly"] == pytest.approx(364 / 12 * 0.0000835335, rel=1e-6)
    assert nightly["other"]["compute"] == "fargate"
    assert jobs["adhoc"]["fires_per_month"] is None and jobs["adhoc"]["monthly"] is None
    table = _run(["cost", "--stage", "dev", "--from", START], cwd=root)
    assert "month_end" in table.stdout and "(timeout)" in table.stdout
    assert "us-east-1 prices of 2026-03" in table.stdout


def test_size_from_measured_runs(tmp_path: Path) -> None:
    app = APP + """

@app.task(cpu=512, memory=4096, timeout=60)
def hungry(event):
    data = bytearray(300 * 1024 * 1024)
    data[::4096] = b"x" * len(data[::4096])
"""
    root = write_project(tmp_path / "costs", app, {"app_name": "costs"})
    (before,) = json.loads(_run(["size", "hungry", "--json"], cwd=root).stdout)
    assert before["runs"] == 0 and before["note"].startswith("no measured runs")
    for _ in range(3):
        assert _run(["invoke", "hungry"], cwd=root).returncode == 0
    (row,) = json.loads(_run(["size", "hungry", "--json"], cwd=root).stdout)
    assert row["runs"] == 3 and 300 <= row["peak_mib"] < 400, row
    needed = row["peak_mib"] * 1.3
    cpu, memory = row["fargate"]["cpu"], row["fargate"]["memory"]
    assert memory >= needed and (cpu, memory) == estimate.fargate_size_for(row["peak_mib"])
    assert row["lambda_memory_mb"] >= needed and row["lambda_memory_mb"] % 64 == 0
    assert row["note"] == ""


EVERY_MINUTE = """
from fargo import App

app = App("costs")


@app.task("rate(1 minute)", cpu=512, memory=1024, timeout=600)
def busy(event):
    pass
"""


@pytest.mark.parametrize("overlap", ["skip", "queue", "allow"])
def test_a_job_pays_only_for_the_runs_its_overlap_lets_start(tmp_path: Path,
                                                             overlap: str) -> None:
    """Every minute, runs of up to 10 minutes (its timeout, no runs measured)."""
    root = write_project(tmp_path / "costs", EVERY_MINUTE, {
        "app_name": "costs", "tasks": {"busy": {"overlap": overlap}},
        "stages": {"dev": {"region": "us-east-1"}}})
    r = _run(["cost", "--stage", "dev", "--from", START, "--json"], cwd=root)
    assert r.returncode == 0, r.stderr
    (job,) = json.loads(r.stdout)["jobs"]
    per_run = estimate.fargate_run_cost(512, 1024, 600)
    fires = 525_599  # the first fire is 00:01, the last 23:59 on the year's last day
    assert job["fires_per_month"] == pytest.approx(fires / 12)
    if overlap == "allow":  # ten runs at a time; no guard, so no runner
        assert job["runs_per_month"] == pytest.approx(fires / 12)
        assert job["runner_per_month"] == 0
        assert job["monthly"] == pytest.approx(fires / 12 * per_run)
        return
    # one run at a time: a run starts every tenth minute, 52,560 in the year
    assert job["runs_per_month"] == pytest.approx(52_560 / 12)
    if overlap == "skip":
        # the runner: 6 states for a run (with its overlap check), 5 for a skipped fire
        assert job["skipped_per_month"] == pytest.approx((fires - 52_560) / 12)
        transitions = (52_560 * 6 + (fires - 52_560) * 5) / 12
        assert job["runner_transitions_per_month"] == pytest.approx(transitions)
        assert job["runner_per_month"] == pytest.approx(transitions * 0.000025)
        assert job["monthly"] == pytest.approx(52_560 / 12 * per_run + transitions * 0.000025)
    else:  # queued fires wait, each looking again every minute: the runner's bill grows
        assert job["skipped_per_month"] == 0
        assert job["runner_transitions_per_month"] > 52_560 * 6 / 12 * 1000
    table = _run(["cost", "--stage", "dev", "--from", START], cwd=root).stdout
    assert f"4380.0 of 43799.9 fires (overlap={overlap}" in table


@pytest.mark.parametrize("schedule", ["rate(1 minute)", "rate(7 minutes)", "rate(3 hours)",
                                      "rate(2 days)"])
@pytest.mark.parametrize("overlap", ["skip", "allow", "queue"])
def test_a_rates_year_is_counted_as_the_walk_counts_it(schedule: str, overlap: str) -> None:
    """rate() years are counted arithmetically (1,000 every-minute jobs priced in a second,
    not 80): the same fires, runs, skips and polls as walking the schedule engine's fires."""
    import math
    from datetime import datetime, timedelta, timezone

    from fargo import estimate
    from fargo.schedule import iter_fires, load_zone, parse

    start = datetime(2026, 3, 1, 12, 0, 7, tzinfo=timezone.utc)
    expression = parse(schedule)
    for duration in (0.0, 30.0, 60.0, 61.0, 420.0, 3000.0, 10800.0, 200000.0):
        counted = estimate._rate_year(expression, overlap, duration)
        if counted is None:
            assert overlap == "queue" and duration > expression.interval.total_seconds()
            continue
        end, free = start + timedelta(days=estimate.DAYS), start
        fires = runs = skipped = polls = 0
        for fire in iter_fires(expression, load_zone("UTC"), start):
            if fire >= end or fires >= estimate.FIRES_MAX:
                break
            fires += 1
            if overlap == "skip" and fire < free:
                skipped += 1
                continue
            begins = max(fire, free) if overlap == "queue" else fire
            polls += math.ceil((begins - fire).total_seconds() / 60)
            runs += 1
            free = max(free, begins + timedelta(seconds=duration))
        assert counted == estimate.Runs(fires, runs, skipped, polls), (duration, counted)
