"""fargo size and fargo cost: the right size from measured runs, the monthly bill from the
schedule."""

from __future__ import annotations

import statistics
from datetime import datetime, timezone
from typing import Any

import click
from rich.table import Table

from fargo import estimate
from fargo.cli.context import project_of
from fargo.cli.output import out, print_json
from fargo.cli.params import stage_option
from fargo.local.store import RunStore, store_path
from fargo.project.model import Project
from fargo.timeutil import parse_instant


def _measured(project: Project) -> dict[str, estimate.Measured]:
    path = store_path(project.root)
    found: dict[str, estimate.Measured] = {}
    store = RunStore(path, write=False) if path.exists() else None
    for spec in project.tasks:
        durations, peaks = store.measurements(spec.name) if store else ([], [])
        found[spec.name] = estimate.Measured(
            len(durations), statistics.median(durations) if durations else None,
            max(peaks) / 1024 if peaks else None)
    if store:
        store.close()
    return found


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value:,.2f}" if value >= 0.01 else f"${value:.4f}"


@click.command()
@click.argument("task", required=False)
@stage_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@click.pass_context
def size(ctx: click.Context, task: str | None, stage: str | None, as_json: bool) -> None:
    """The smallest Fargate size or Lambda memory that fits each job's measured peak memory.

    Peaks come from local runs (fargo up, fargo invoke), with 30% headroom.
    """
    project = project_of(ctx, stage)
    specs = [project.require(task)] if task else list(project.tasks)
    measured = _measured(project)
    rows: list[dict[str, Any]] = []
    for spec in specs:
        m = measured[spec.name]
        row: dict[str, Any] = {"job": spec.name, "compute": spec.compute, "runs": m.runs,
                               "peak_mib": round(m.peak_mib, 1) if m.peak_mib else None,
                               "configured_mib": spec.memory}
        if m.peak_mib is not None:
            fit = estimate.fargate_size_for(m.peak_mib)
            row["fargate"] = {"cpu": fit[0], "memory": fit[1]} if fit else None
            row["lambda_memory_mb"] = estimate.lambda_memory_for(m.peak_mib)
        row["note"] = ("no measured runs: run it with fargo invoke or fargo up" if not m.runs
                       else f"estimate from only {m.runs} run{'s' if m.runs > 1 else ''}"
                       if m.runs < 3 else "")
        rows.append(row)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{project.app_name} · stage {project.stage.name} · sizes with "
                  f"{estimate.HEADROOM:.0%} headroom over the measured peak",
                  title_justify="left")
    for column in ("job", "compute", "configured", "runs", "peak", "Fargate fit",
                   "Lambda fit", "note"):
        table.add_column(column)
    for row in rows:
        fargate = row.get("fargate")
        table.add_row(row["job"], row["compute"], f"{row['configured_mib']} MiB",
                      str(row["runs"]), f"{row['peak_mib']} MiB" if row["peak_mib"] else "-",
                      f"{fargate['cpu'] / 1024:g} vCPU / {fargate['memory']} MiB" if fargate
                      else "-",
                      f"{row['lambda_memory_mb']} MB" if row.get("lambda_memory_mb") else "-",
                      row["note"])
    out.print(table)


def _runs(row: dict[str, Any]) -> str:
    """Runs a month, and the fires they come from when the job's overlap skipped some."""
    runs, fires = row["runs_per_month"], row["fires_per_month"]
    if runs is None:
        return "-"
    if round(runs, 1) == round(fires, 1):
        return f"{runs:.1f}"
    grows = ": the queue grows" if row["overlap"] == "queue" else ""
    return f"{runs:.1f} of {fires:.1f} fires (overlap={row['overlap']}{grows})"


@click.command()
@stage_option(required=True)
@click.option("--from", "start", metavar="ISO8601",
              help="Count fires over the year from this instant (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def cost(ctx: click.Context, stage: str, start: str | None, as_json: bool) -> None:
    """Each job's estimated monthly cost from its schedule, duration and size (and on the
    other compute)."""
    project = project_of(ctx, stage)
    begin = parse_instant(start, "--from") if start else datetime.now(timezone.utc)
    measured = _measured(project)
    rows = [estimate.job_cost(spec, measured[spec.name], begin) for spec in project.tasks]
    table_prices = estimate.prices()
    total = sum(r["monthly"] or 0.0 for r in rows)
    if as_json:
        print_json({"stage": stage, "prices": {k: table_prices[k] for k in
                                               ("region", "as_of", "sources")},
                    "jobs": rows, "monthly_total": total})
        return
    table = Table(title=f"{project.app_name} · stage {stage} · estimated monthly cost "
                  f"({table_prices['region']} prices of {table_prices['as_of']})",
                  title_justify="left")
    for column in ("job", "compute", "size", "runs/month", "duration", "per run", "runner",
                   "per month", "on the other compute"):
        table.add_column(column)
    for row in rows:
        other = row["other"]
        other_text = (f"{other['compute']} {other['size']}: {_money(other['monthly'])}"
                      if other and other["monthly"] is not None else "-")
        note = "" if row["duration_basis"].startswith("median") else " (timeout)"
        if row["estimate_from_few_runs"]:
            note = " (few runs)"
        table.add_row(row["job"], row["compute"], row["size"], _runs(row),
                      f"{row['duration_s']:.1f} s{note}", _money(row["per_run"]),
                      _money(row["runner_per_month"]) if row["runner_per_month"] else "-",
                      _money(row["monthly"]), other_text)
    out.print(table)
    free = table_prices["step_functions"]["free_transitions_per_month"]
    out.print(f"Total: {_money(total)} a month. Durations are medians of local runs, else the "
              "timeout (a ceiling). Runs are the fires that the job's overlap lets start. "
              "Runner: the Step Functions state transitions of the jobs that go through the "
              f"stage's runner (the account's first {free:,} a month are free). Logs, data "
              "transfer and NAT are not included. Prices: "
              f"{table_prices['sources']['fargate']}; {table_prices['sources']['lambda']}; "
              f"{table_prices['sources']['step_functions']}.")
