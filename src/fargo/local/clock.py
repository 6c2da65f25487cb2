"""Time for the scheduler, injectable: the real clock, or a simulated one that runs faster.

Schedules are computed in clock time; process deadlines (timeouts, grace periods) always use the
real monotonic clock, because the jobs are real processes.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone


class Clock:
    """The real wall clock (UTC)."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def real_seconds(self, clock_seconds: float) -> float:
        """How long to really wait for `clock_seconds` of clock time to pass."""
        return clock_seconds


class SimulatedClock(Clock):
    """Starts at `start` and runs `speed` times faster than real time: an hour in seconds."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start = start.astimezone(timezone.utc)
        self.speed = speed
        self._origin: float | None = None

    def now(self) -> datetime:
        # Time starts at the first reading, so start-up work does not eat simulated minutes.
        if self._origin is None:
            self._origin = time.monotonic()
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)

    def real_seconds(self, clock_seconds: float) -> float:
        return clock_seconds / self.speed
