"""What `fargo up` shows: a live table on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from fargo.streams import silence
from fargo.timeutil import format_duration

if TYPE_CHECKING:
    from fargo.local.scheduler import Scheduler

STYLE = {"succeeded": "green", "failed": "red", "timed_out": "red", "lost": "yellow",
         "skipped": "dim"}


class PlainReporter:
    """One line per event, with a UTC timestamp: for logs, CI and pipes."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream: TextIO | None = stream or sys.stdout

    def event(self, message: str) -> None:
        if self.stream is None:
            return
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            print(f"{stamp} {message}", file=self.stream, flush=True)
        except BrokenPipeError:  # `fargo up | head`: the scheduler goes on; the history keeps all
            silence(self.stream)
            self.stream = None

    def refresh(self, scheduler: Scheduler) -> None:
        return None

    def close(self) -> None:
        return None


class LiveReporter:
    """A table of jobs (next fire, running now, last result) with events scrolling above it."""

    def __init__(self) -> None:
        # job names, S3 keys and results are not markup: `[/x]` or `:a:` print as written
        self.console = Console(markup=False, emoji=False, highlight=False)
        self.live = Live(console=self.console, auto_refresh=False, transient=False)
        self.live.start()

    def event(self, message: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        self.live.console.print(Text.assemble((stamp, "dim"), " ", message))

    def refresh(self, scheduler: Scheduler) -> None:
        table = Table(title=f"fargo up · {scheduler.project.app_name} · stage "
                      f"{scheduler.stage} · {len(scheduler.running)} running, "
                      f"{len(scheduler.pending)} waiting", title_justify="left")
        for column in ("job", "schedule", "next fire", "running", "last result"):
            table.add_column(column)
        now = time.monotonic()
        for name, timer in sorted(scheduler.timers.items()):
            running = [j for j in scheduler.running.values() if j.spec.name == name]
            elapsed = ", ".join(format_duration(now - j.started) for j in running) or "-"
            fire = "-"
            if timer.next_fire is not None:
                fire = timer.next_fire.astimezone(timer.zone).strftime("%Y-%m-%d %H:%M:%S %Z")
            last = scheduler.last_results.get(name, "-")
            status = last.split(":", 1)[0]
            shown = last if len(last) <= 70 else last[:67] + "..."
            table.add_row(name, timer.spec.schedule or "-", fire, elapsed,
                          Text(shown, STYLE.get(status, "")))
        self.live.update(table, refresh=True)

    def close(self) -> None:
        self.live.stop()
