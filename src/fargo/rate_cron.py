"""Chalice's schedule objects, Rate and Cron, for `@app.schedule(Rate(...))` and `@app.task(...)`.

Loaded only by the projects that use them (`from fargo import Rate` loads this module): every
job's start imports fargo.app, not these.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class ScheduleExpression:
    """Base of Chalice's schedule objects; `to_string()` gives the AWS form."""

    def to_string(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


class Rate(ScheduleExpression):
    """Chalice's Rate(value, unit=Rate.MINUTES|HOURS|DAYS)."""

    MINUTES = "MINUTES"
    HOURS = "HOURS"
    DAYS = "DAYS"

    def __init__(self, value: int, unit: str) -> None:
        self.value = value
        self.unit = unit

    def to_string(self) -> str:
        unit = str(self.unit).lower()
        if self.value == 1 and unit.endswith("s"):
            unit = unit[:-1]  # AWS wants rate(1 hour), rate(2 hours)
        return f"rate({self.value} {unit})"

    def __repr__(self) -> str:
        return f"Rate({self.value!r}, unit={self.unit!r})"


class Cron(ScheduleExpression):
    """Chalice's Cron(minutes, hours, day_of_month, month, day_of_week, year)."""

    def __init__(self, minutes: Any, hours: Any, day_of_month: Any, month: Any,
                 day_of_week: Any, year: Any) -> None:
        self.minutes = minutes
        self.hours = hours
        self.day_of_month = day_of_month
        self.month = month
        self.day_of_week = day_of_week
        self.year = year

    def to_string(self) -> str:
        fields = (self.minutes, self.hours, self.day_of_month, self.month, self.day_of_week,
                  self.year)
        return "cron(" + " ".join(str(f) for f in fields) + ")"

    def __repr__(self) -> str:
        return f"Cron({self.to_string()[5:-1]!r})"
