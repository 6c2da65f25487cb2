"""`fargo history --stage`: the stage's ledger, every slot of the window and what became of it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rich.text import Text

from fargo import ledger
from fargo.cli.output import out, plural, print_json, print_table, styled
from fargo.problems import Problem, ProblemsError
from fargo.project.model import Project
from fargo.timeutil import format_duration, format_utc, parse_duration, parse_instant

STATE_STYLE = {"succeeded": "green", "failed": "red", "timed_out": "red",
               "failed_to_start": "red", "stuck": "red", "missing": "bold red",
               "running": "cyan", "pending": "cyan", "skipped": "yellow", "paused": "yellow",
               "due": "dim"}
MAX_WINDOW_DAYS = 31


def window_of(since: str, until: str | None, now: datetime | None = None) -> ledger.Window:
    """--since as a duration back from --until (or now) or as an instant; --until an instant."""
    moment = now or datetime.now(timezone.utc)
    end = parse_instant(until, "--until") if until else moment
    text = since.strip()
    if text[:1].isdigit() and ("T" in text or text.count("-") >= 2):
        start = parse_instant(text, "--since")
    else:
        start = end - timedelta(seconds=parse_duration(text, "--since"))
    if start >= end:
        raise ProblemsError([Problem(f"--since {since} is not before --until "
                                     f"{format_utc(end)}", key="--since")])
    if (end - start).days > MAX_WINDOW_DAYS:
        raise ProblemsError([Problem(
            f"the window is {(end - start).days} days; the ledger covers at most "
            f"{MAX_WINDOW_DAYS} (run records are kept runs_retention_days): narrow --since",
            key="--since")])
    return ledger.Window(start, end, moment)


def show(project: Project, window: ledger.Window, only: str | None, last: int | None,
         as_json: bool, pending_limit: float) -> None:
    from fargo.aws.ledger import stage_ledger

    try:
        rows = stage_ledger(project, window, only, pending_limit)
    except ValueError as exc:  # more slots than the ledger lists
        raise ProblemsError([Problem(str(exc), key="--since")]) from None
    if last is not None:
        rows = rows[:last]
    if as_json:
        print_json(rows)
        return
    subject = f"{project.app_name}-{project.stage.name}" + (f"-{only}" if only else "")
    counts = ledger.summary(rows)
    title = (f"{subject}: {plural(len(rows), 'row')} from {format_utc(window.since)} to "
             f"{format_utc(window.until)}")
    if not rows:
        out.print(f"{title}: no slots owed and no runs recorded")
        return
    cells: list[list[str | Text]] = []
    for row in rows:
        tries = str(row["attempts"]) if row["attempts"] else "-"
        if row["start_failures"]:
            tries += f" ({row['start_failures']} failed to start)"
        state = styled((row["state"], STATE_STYLE.get(row["state"], "")),
                       *([(" late", "bold red")] if row.get("late") else []))
        cells.append([
            row["job"], row["slot"] or f"({row['trigger']})", state, row["run"] or "-",
            row["started_at"] or "-",
            format_duration(row["start_latency_s"]) if row["start_latency_s"] is not None
            else "-",
            format_duration(row["duration_s"]) if row["duration_s"] else "-",
            "-" if row["exit_code"] is None else str(row["exit_code"]), tries,
            row["reason"] or ""])
    print_table(title, ("job", "slot", "state", "run", "started", "latency", "duration", "exit",
                        "tries", "reason"), cells)
    late = sum(1 for row in rows if row.get("late"))
    words = [f"{n} {state}" for state, n in counts.items()]
    if late:
        words.append(f"{late} past their deadline")
    out.print(", ".join(words))
