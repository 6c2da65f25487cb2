"""Size and cost of a job: from its schedule (the schedule engine), its duration and its size.

Prices are data (`prices.json`, with their region, date and source), not code. Every figure is
an estimate: Fargate bills per second with a one-minute minimum, Lambda per millisecond plus a
request charge; data transfer, logs and NAT are not included.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from fargo import limits
from fargo.project.model import TaskSpec

HEADROOM = 0.30  # sizes leave 30% over the measured peak
DAYS = 365


def prices() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        resources.files("fargo").joinpath("prices.json").read_text(encoding="utf-8"))
    return loaded


def fires_per_month(spec: TaskSpec, start: datetime) -> float | None:
    """Average fires per month over the year after `start` (None: on demand only)."""
    if spec.schedule is None or not spec.enabled:
        return None
    from fargo.schedule import iter_fires, load_zone, parse

    end = start + timedelta(days=DAYS)
    count = 0
    for fire in iter_fires(parse(spec.schedule), load_zone(spec.timezone), start):
        if fire >= end:
            break
        count += 1
        if count > 600_000:  # every minute for a year is 525,600: nothing fires more often
            break
    return count / 12


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
    fires = fires_per_month(spec, start)
    duration = measured.duration_s if measured.duration_s is not None else float(spec.timeout)
    basis = (f"median of {measured.runs} local runs" if measured.duration_s is not None
             else "its timeout (no local runs measured): a ceiling")
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
    monthly = None if fires is None else per_run * fires
    if other is not None:
        other["monthly"] = None if fires is None else other["per_run"] * fires
    return {"job": spec.name, "compute": spec.compute, "size": size,
            "fires_per_month": fires, "duration_s": duration, "duration_basis": basis,
            "per_run": per_run, "monthly": monthly, "other": other,
            "estimate_from_few_runs": 0 < measured.runs < 3}
