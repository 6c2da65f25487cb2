"""Parsing and printing instants and durations the same way in every command."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from fargo.problems import Problem, ProblemsError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def format_utc(instant: datetime) -> str:
    """2024-01-01T10:00:00Z: UTC, second precision."""
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_utc_ms(instant: datetime | float | None = None) -> str:
    """2024-01-01T10:00:00.123Z: UTC with milliseconds (run records); now when not given, a
    float is a time.time()."""
    if instant is None or isinstance(instant, (int, float)):
        import time

        instant = datetime.fromtimestamp(time.time() if instant is None else instant,
                                         timezone.utc)
    utc = instant.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_instant(text: str, key: str) -> datetime:
    """ISO 8601 with optional offset or Z; naive means UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ProblemsError(
            [Problem(f"{text!r} is not an ISO 8601 date-time (e.g. 2024-01-01T10:00:00Z)", key=key)]
        ) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    try:
        year = parsed.astimezone(timezone.utc).year
    except OverflowError:
        year = 0
    if not INSTANT_YEARS[0] <= year <= INSTANT_YEARS[1]:
        raise ProblemsError([Problem(
            f"{text!r} is outside the years {INSTANT_YEARS[0]}-{INSTANT_YEARS[1]} that fargo's "
            "schedules and AWS's work in", key=key)])
    return parsed


# Instants fargo takes on its command line: AWS's schedules and timestamps live in these years,
# and a year's worth of fires after the last one still fits a datetime.
INSTANT_YEARS = (1970, 9998)


def parse_duration(value: object, key: str, file: str | None = None) -> float:
    """Seconds from a number or a string like '90s', '15m', '1h30m', '2d'."""
    if isinstance(value, bool):
        message = f"expected seconds or a duration, found {value!r}"
        raise ProblemsError([Problem(message, file, key)])
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace(" ", "")
    parts = _DURATION.findall(text)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if not parts or "".join(n + u for n, u in parts).lower() != text.lower():
        raise ProblemsError(
            [Problem(f"{value!r} is not a duration (e.g. 900, '90s', '15m', '1h30m', '2d')",
                     file, key)]
        )
    return sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts)


def format_duration(seconds: float) -> str:
    """Short human form: 45s, 12m30s, 2h05m."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    total = round(seconds)
    if total < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"

