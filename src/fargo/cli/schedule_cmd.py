"""`fargo schedule EXPR`: the next fire times of an expression (a stable contract for scripts)."""

from __future__ import annotations

from datetime import datetime

import click
from rich.table import Table

from fargo.cli.output import notice, out, print_json
from fargo.problems import Problem, ProblemsError
from fargo.schedule import UTC, At, Rate, ScheduleError, load_zone, next_fires, parse, to_aws
from fargo.timeutil import format_utc, parse_instant


@click.command()
@click.argument("expression")
@click.option("--tz", "timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--after", help="ISO 8601 instant; fires are strictly after it (default: now). "
              "Without an offset it is UTC.")
@click.option("--count", type=click.IntRange(1, 100_000), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def schedule(expression: str, timezone: str, after: str | None, count: int, as_json: bool) -> None:
    """Print the next fire times of EXPRESSION (rate(), cron(), at(), @daily, Unix cron)."""
    problems: list[Problem] = []
    converted = expr = zone = start = None
    try:
        converted = to_aws(expression)
        expr = parse(converted.expression)
    except ScheduleError as exc:  # reported below with the other problems
        problems.extend(Problem(m, key="expression") for m in exc.messages)
    try:
        zone = load_zone(timezone)
    except ScheduleError as exc:
        problems.extend(Problem(m, key="--tz") for m in exc.messages)
    try:
        start = parse_instant(after, "--after") if after else datetime.now(UTC)
    except ProblemsError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ProblemsError(problems)
    assert converted and expr and zone and start
    if converted.notice:
        notice(converted.notice)
    fires = next_fires(expr, zone, start, count)
    if as_json:
        print_json(
            {
                "expression": expr.text,
                "timezone": timezone,
                "fires": [format_utc(f) for f in fires],
            }
        )
        return
    if isinstance(expr, Rate):
        kind = f"every {expr.value} {expr.unit}{'s' if expr.value > 1 else ''}"
    else:
        kind = "once" if isinstance(expr, At) else "cron"
    if not fires:
        out.print(f"{expr.text} ({timezone}): no fire after {format_utc(start)}; "
                  "this schedule never fires again")
        return
    table = Table(title=f"{expr.text}  ({kind}, {timezone})", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("UTC")
    if timezone != "UTC":
        table.add_column(timezone)
    for i, fire in enumerate(fires, 1):
        row = [str(i), format_utc(fire)]
        if timezone != "UTC":
            row.append(fire.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z (%a)"))
        table.add_row(*row)
    out.print(table)
    if len(fires) < count:
        out.print("no fires after these: the schedule has ended")
