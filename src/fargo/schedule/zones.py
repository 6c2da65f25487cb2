"""IANA time zones, checked the way EventBridge Scheduler checks them (name of 1-50 chars)."""

from __future__ import annotations

import functools
from datetime import timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fargo.schedule.errors import ScheduleError

UTC = timezone.utc


@functools.cache
def _zone_names() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def load_zone(name: str) -> tzinfo:
    """Return the zone for an IANA name, or raise ScheduleError with a hint."""
    if name == "UTC":
        return UTC
    if not isinstance(name, str) or not 1 <= len(name) <= 50:
        raise ScheduleError(
            f"{name!r} is not an IANA time zone name of 1-50 characters "
            "(for example Europe/Berlin)"
        )
    problem = f"{name!r} is not an IANA time zone name (for example Europe/Berlin)"
    if name.startswith("/") or ".." in name or "\\" in name or "\0" in name:
        raise ScheduleError(problem)
    if name.split("/", 1)[0] in ("posix", "right") or name in ("localtime", "posixrules",
                                                               "Factory"):
        # files of the tz database that are no zone names: Scheduler refuses them
        plain = name.split("/", 1)[1] if "/" in name else None
        raise ScheduleError(problem + (f"; EventBridge Scheduler takes the zone's own name: "
                                       f"'{plain}'" if plain else ""))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError, OSError):
        import difflib

        lowered = {z.lower(): z for z in _zone_names()}
        if name.lower() in lowered:
            raise ScheduleError(
                f"{problem}; names are case-sensitive: use '{lowered[name.lower()]}'"
            ) from None
        close = difflib.get_close_matches(name, sorted(_zone_names()), n=1, cutoff=0.7)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ScheduleError(problem + hint) from None
