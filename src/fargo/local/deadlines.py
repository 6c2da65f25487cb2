"""Deadlines under `fargo up`: each slot fired (run, skipped or missed) of a job or workflow
with a `deadline` is watched until its deadline, and one alert is raised when it has not
succeeded by then. Alerts are rows of the run store (raised once per slot, across restarts),
so a slot claimed before a restart is still checked after it."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fargo.local.store import RunStore
from fargo.schedule.deadlines import Deadline, due
from fargo.timeutil import format_utc

KIND = "deadline"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Guarded:
    name: str
    kind: str  # job | workflow
    zone: str
    deadline: Deadline


@dataclass
class DeadlineWatch:
    store: RunStore
    stage: str
    guarded: dict[str, Guarded] = field(default_factory=dict)
    heap: list[tuple[datetime, str, str]] = field(default_factory=list)  # (due, name, slot)

    def add(self, name: str, kind: str, zone: str, deadline: Deadline | None) -> None:
        if deadline is not None:
            self.guarded[name] = Guarded(name, kind, zone, deadline)

    def resume(self, now: datetime) -> None:
        """Watch again the slots claimed before a restart (a deadline that passed while fargo
        up was down alerts now, up to a day late)."""
        for name, guarded in self.guarded.items():
            reach = timedelta(seconds=guarded.deadline.after) \
                if guarded.deadline.after is not None else timedelta(hours=26)
            since = format_utc(now - reach - timedelta(days=1))
            for slot in self.store.claimed_slots(name, self.stage, since):
                self.expect(name, _instant(slot))

    def expect(self, name: str, slot: datetime) -> None:
        """A slot of `name` was fired (or skipped): watch it until its deadline."""
        guarded = self.guarded.get(name)
        if guarded is not None:
            heapq.heappush(self.heap, (due(guarded.deadline, slot, guarded.zone), name,
                                       format_utc(slot)))

    @property
    def next_due(self) -> datetime | None:
        return self.heap[0][0] if self.heap else None

    def check(self, now: datetime) -> list[str]:
        """The alerts raised now: slots past their deadline without a success by then."""
        said: list[str] = []
        while self.heap and self.heap[0][0] <= now:
            moment, name, slot = heapq.heappop(self.heap)
            ended = [_instant(t) for t in self.store.successes(name, self.stage, slot)]
            if any(t <= moment for t in ended):
                continue
            guarded = self.guarded[name]
            message = (f"{name}: DEADLINE MISSED: the slot of {slot} had not succeeded by "
                       f"{format_utc(moment)} (deadline {guarded.deadline.text()})")
            if self.store.raise_alert(name, self.stage, slot, KIND, format_utc(moment),
                                      message, format_utc(now)):
                said.append(message)
        return said
