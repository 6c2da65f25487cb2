"""JSON lines for the job's log without importing the `json` package on every start.

`json` pulls in `re` (and with it `enum` and `functools`): several milliseconds per job. Log
entries are flat objects of strings and numbers, which the C accelerator `_json` escapes
exactly as `json.dumps` does; anything else (a job's result) still goes through `json`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:
    from _json import encode_basestring_ascii as _quote
except ImportError:  # pragma: no cover - CPython always has the accelerator
    from json.encoder import py_encode_basestring_ascii as _quote


def _scalar(value: Any) -> str | None:
    """The JSON text of a string, number, bool or None; None for anything else."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = type(value)
    if kind is str:
        return str(_quote(value))
    if kind is int:
        return int.__repr__(value)
    if kind is float and value == value and value not in (float("inf"), float("-inf")):
        return float.__repr__(value)
    return None


def json_line(entry: dict[str, Any]) -> str:
    """The same text as json.dumps(entry, default=str), one line."""
    parts = []
    for key, value in entry.items():
        text = _scalar(value)
        name = _scalar(key) if type(key) is str else None
        if text is None or name is None:
            import json

            return json.dumps(entry, default=str)
        parts.append(f"{name}: {text}")
    return "{" + ", ".join(parts) + "}"
