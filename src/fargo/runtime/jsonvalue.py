"""JSON text of any value (a job's result, a step's output) without importing the `json` package.

Most jobs return something: a dict of counts, a list of keys. `json` pulls in `re` (and with it
`enum`), about 4 milliseconds at the end of every such run. `_json`'s C encoder, which
`json.dumps` itself uses, writes the same text; it is called here with `json.dumps`'s own
settings. What it refuses (a circular structure, NaN or an infinity where they are not
allowed, a type `default` cannot turn into JSON) raises the same error `json.dumps` raises.
Loaded only for such values: a run without a result never pays for it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_make_encoder: Any
try:
    from _json import encode_basestring_ascii as _escape
    from _json import make_encoder as _make_encoder
except ImportError:  # pragma: no cover - CPython always has the accelerator
    _make_encoder = None


def encode(value: Any, default: Callable[[Any], Any] | None = None,
           allow_nan: bool = True) -> str:
    """json.dumps(value, default=default, allow_nan=allow_nan): the same text, the same errors."""
    if _make_encoder is None:  # pragma: no cover - other interpreters
        import json

        return json.dumps(value, default=default, allow_nan=allow_nan)

    def refuse(unknown: Any) -> Any:  # json.JSONEncoder.default's own error
        raise TypeError(f"Object of type {unknown.__class__.__name__} is not JSON serializable")

    # markers {}: circular structures are detected, as json.dumps's check_circular=True does
    chunks = _make_encoder({}, default or refuse, _escape, None, ": ", ", ", False, False,
                           allow_nan)(value, 0)
    return "".join(chunks)


def dumps(entry: dict[str, Any]) -> str:
    """Log entries with a job's result: always valid JSON. A value JSON cannot hold (a circular
    structure, NaN, an infinity) is written as its text, never an exception: the job has
    already succeeded."""
    try:
        return encode(entry, default=str, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        pass
    try:
        return encode(_plain(entry, set()), default=str, allow_nan=False)
    except (ValueError, TypeError, RecursionError):  # nested deeper than Python recurses
        return encode({str(k): v if _flat(v) else _text(v) for k, v in entry.items()},
                      default=str)


def _text(value: Any) -> str:
    try:
        return str(value)
    except RecursionError:
        return f"<a {type(value).__name__} nested too deep to show>"


def _plain(value: Any, seen: set[int]) -> Any:
    """`value` with NaN and infinities as text ("nan", "inf") and a structure that contains
    itself cut where it repeats ("..."), as repr() cuts it."""
    import math

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
    import math

    if type(value) is float:
        return math.isfinite(value)
    return value is None or type(value) in (str, bool, int)
