"""Log entries that are not flat (a job's result): written by `json`, always valid JSON.

Loaded only for such entries, with `json` itself: a run without a result never pays for it.
"""

from __future__ import annotations

import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def dumps(entry: dict[str, Any]) -> str:
    """Entries with a job's result: by `json`, and always valid JSON. A value JSON cannot hold
    (a circular structure, NaN, an infinity) is written as its text, never an exception: the
    job has already succeeded."""
    import json

    try:
        return json.dumps(entry, default=str, allow_nan=False)
    except (ValueError, TypeError):
        pass
    try:
        return json.dumps(_plain(entry, set()), default=str, allow_nan=False)
    except (ValueError, TypeError, RecursionError):  # nested deeper than Python recurses
        return json.dumps({str(k): v if _flat(v) else str(v) for k, v in entry.items()},
                          default=str)


def _plain(value: Any, seen: set[int]) -> Any:
    """`value` with NaN and infinities as text ("nan", "inf") and a structure that contains
    itself cut where it repeats ("..."), as repr() cuts it."""
    if type(value) is float and not math.isfinite(value):
        return str(value)
    if isinstance(value, (dict, list, tuple)):
        if id(value) in seen:
            return "..."
        seen.add(id(value))
        try:
            if isinstance(value, dict):
                return {k if type(k) is str else str(k): _plain(v, seen)
                        for k, v in value.items()}
            return [_plain(v, seen) for v in value]
        finally:
            seen.discard(id(value))
    return value


def _flat(value: Any) -> bool:
    """A value JSON writes as it is: a string, a bool, None, an int or a finite float."""
    if type(value) is float:
        return math.isfinite(value)
    return value is None or type(value) in (str, bool, int)
