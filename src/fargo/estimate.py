"""Size and cost of a job: from its schedule (the schedule engine), its duration and its size.

Prices are data (`prices.json`, with their region, date and source), not code. Every figure is
an estimate: Fargate bills per second with a one-minute minimum, Lambda per millisecond plus a
request charge; data transfer, logs and NAT are not included.

A job's runs are its fires as its `overlap` lets them start: with `skip` a fire while a run is
going starts nothing, with `queue` it starts when the run going has ended, so a job that runs
longer than its schedule's gaps never pays for more than one run at a time. A job that goes
through the stage's runner on AWS also pays for the runner's state transitions.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from fargo import limits
from fargo.project.model import Compute, TaskSpec
from fargo.project.runner import QUEUE_POLL_SECONDS, runner_reasons

HEADROOM = 0.30  # sizes leave 30% over the measured peak
DAYS = 365

# The state transitions the stage's runner (runner.asl.json) takes, by the job's compute: a run
# with an overlap check, a run without one (overlap: allow), a fire the check skipped, and each
# look again while a queued run waits. tests/test_runner.py follows each path through the
# definition and counts the fargate ones on moto's interpreter.
RUNNER_TRANSITIONS = {
    "fargate": {"run": 6, "run_allow": 5, "skipped": 5, "poll": 3},
    "lambda": {"run": 5, "run_allow": 5, "skipped": 6, "poll": 3},
}


def prices() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        resources.files("fargo").joinpath("prices.json").read_text(encoding="utf-8"))
    return loaded


@dataclass(frozen=True)
class Runs:
    """A job's year from `start`: its fires, the runs its overlap lets start, the fires it
    skipped, and how often the runner looks again for the queued ones."""

    fires: int
    runs: int
    skipped: int
    polls: int


def runs_in_year(spec: TaskSpec, start: datetime, duration: float) -> Runs | None:
    """The job's fires over the year after `start`, each run lasting `duration` seconds
    (None: on demand only)."""
    if spec.schedule is None or not spec.enabled:
        return None
    from fargo.schedule import iter_fires, load_zone, parse

    expression = parse(spec.schedule)
    counted = _rate_year(expression, spec.overlap, duration)
    if counted is not None:
        return counted
    end = start + timedelta(days=DAYS)
    length = timedelta(seconds=duration)
    fires = runs = skipped = polls = 0
    free = start  # when the run going ends
    for fire in iter_fires(expression, load_zone(spec.timezone), start):
        if fire >= end or fires >= FIRES_MAX:
            break
        fires += 1
        if spec.overlap == "skip" and fire < free:
            skipped += 1
            continue
        begins = max(fire, free) if spec.overlap == "queue" else fire
        if begins >= end:  # queued past the year
            continue
        waited = (begins - fire).total_seconds()
        polls += math.ceil(waited / QUEUE_POLL_SECONDS)
        runs += 1
        free = max(free, begins + length)
    return Runs(fires, runs, skipped, polls)


FIRES_MAX = 600_000  # the simulation's bound: every minute of a year is 525,600


def _rate_year(expression: Any, overlap: str, duration: float) -> Runs | None:
    """A rate()'s year counted, not walked: its fires are `start + k * interval`, k >= 1, so
    the runs its overlap lets start follow from the interval and the duration. None where a
    queue backs up (runs wait past their fires), which the walk counts."""
    from fargo.schedule.expressions import Rate

    if not isinstance(expression, Rate):
        return None
    period = expression.interval.total_seconds()
    year = DAYS * 86400
    fires = min(math.ceil(year / period) - 1, FIRES_MAX)
    if overlap == "skip":
        step = max(1, math.ceil(duration / period))  # the next fire at or after the run's end
        runs = math.ceil(fires / step)
        return Runs(fires, runs, fires - runs, 0)
    if overlap == "allow" or duration <= period:
        return Runs(fires, fires, 0, 0)
    return None


def runner_transitions(spec: TaskSpec, year: Runs, compute: Compute | None = None) -> int:
    """The runner's state transitions over the year, the job on its compute or on `compute`
    (0: the job does not go through the runner there)."""
    compute = compute or spec.compute
    if compute == spec.compute:
        uses = spec.uses_runner
    else:
        uses = bool(runner_reasons(dataclasses.replace(spec, compute=compute)))
    if not uses:
        return 0
    per = RUNNER_TRANSITIONS[compute]
    run = per["run_allow"] if spec.overlap == "allow" else per["run"]
    return year.runs * run + year.skipped * per["skipped"] + year.polls * per["poll"]


def runner_cost(transitions: float) -> float:
    """What Step Functions bills for that many transitions, before the account's free ones."""
    return float(transitions * prices()["step_functions"]["transition"])


def fargate_run_cost(cpu: int, memory_mib: int, seconds: float, architecture: str = "x86_64",
                     spot: bool = False, storage_gib: int | None = None) -> float:
    table = prices()["fargate"]
    rates = table[architecture]
    billed = max(float(table["minimum_seconds"]), seconds) / 3600.0
    cost = billed * (cpu / 1024 * rates["vcpu_hour"] + memory_mib / 1024 * rates["gb_hour"])
    extra = max(0, (storage_gib or 0) - table["included_storage_gib"])
    cost += billed * extra * table["storage_gb_hour"]
    return float(cost * (table["spot_factor"] if spot else 1.0))


def lambda_run_cost(memory_mb: int, seconds: float, architecture: str = "x86_64") -> float:
    table = prices()["lambda"]
    billed = math.ceil(seconds * 1000 / table["billing_ms"]) * table["billing_ms"] / 1000
    return float(memory_mb / 1024 * billed * table[architecture]["gb_second"]
                 + table["per_request"])


def fargate_size_for(peak_mib: float) -> tuple[int, int] | None:
    """The smallest Fargate (cpu, memory) with HEADROOM over `peak_mib`."""
    return limits.smallest_fargate_size(math.ceil(peak_mib * (1 + HEADROOM)))


def lambda_memory_for(peak_mib: float) -> int | None:
    """Lambda memory (MB, rounded up to 64) with HEADROOM over `peak_mib`; None: too big."""
    wanted = max(limits.LAMBDA_MEMORY[0], math.ceil(peak_mib * (1 + HEADROOM) / 64) * 64)
    return wanted if wanted <= limits.LAMBDA_MEMORY[1] else None


@dataclass(frozen=True)
class Measured:
    """What local runs say about a job: how many, how long (median), how much memory (peak)."""

    runs: int
    duration_s: float | None
    peak_mib: float | None


def job_cost(spec: TaskSpec, measured: Measured, start: datetime) -> dict[str, Any]:
    """Monthly cost of the job as configured, and on the other compute."""
    duration = measured.duration_s if measured.duration_s is not None else float(spec.timeout)
    basis = (f"median of {measured.runs} local runs" if measured.duration_s is not None
             else "its timeout (no local runs measured): a ceiling")
    year = runs_in_year(spec, start, duration)
    if spec.compute == "fargate":
        assert spec.cpu is not None
        per_run = fargate_run_cost(spec.cpu, spec.memory, duration, spec.architecture,
                                   spec.spot, spec.ephemeral_storage_gib)
        memory = lambda_memory_for(measured.peak_mib or spec.memory) if duration <= \
            limits.LAMBDA_TIMEOUT_MAX else None
        other: dict[str, Any] | None = None if memory is None else {
            "compute": "lambda", "size": f"{memory} MB",
            "per_run": lambda_run_cost(memory, duration, spec.architecture)}
        size = f"{spec.cpu / 1024:g} vCPU / {spec.memory} MiB" + (" Spot" if spec.spot else "")
    else:
        per_run = lambda_run_cost(spec.memory, duration, spec.architecture)
        fit = fargate_size_for(measured.peak_mib or spec.memory / (1 + HEADROOM))
        other = None if fit is None else {
            "compute": "fargate", "size": f"{fit[0] / 1024:g} vCPU / {fit[1]} MiB",
            "per_run": fargate_run_cost(fit[0], fit[1], duration, spec.architecture)}
        size = f"{spec.memory} MB"
    runs = None if year is None else year.runs / 12
    transitions = 0.0 if year is None else runner_transitions(spec, year) / 12
    runner = runner_cost(transitions)
    monthly = None if runs is None else per_run * runs + runner
    if other is not None:
        other_runner = 0.0 if year is None else runner_cost(
            runner_transitions(spec, year, other["compute"]) / 12)
        other["monthly"] = None if runs is None else other["per_run"] * runs + other_runner
    return {"job": spec.name, "compute": spec.compute, "size": size,
            "fires_per_month": None if year is None else year.fires / 12,
            "runs_per_month": runs,
            "skipped_per_month": None if year is None else year.skipped / 12,
            "overlap": spec.overlap, "duration_s": duration, "duration_basis": basis,
            "per_run": per_run, "runner_transitions_per_month": transitions,
            "runner_per_month": runner, "monthly": monthly, "other": other,
            "estimate_from_few_runs": 0 < measured.runs < 3}
