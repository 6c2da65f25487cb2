"""JSON lines for the job's log without importing the `json` package on every start.

`json` pulls in `re` (and with it `enum`): about 4 milliseconds per job. Log entries are flat
objects of strings and numbers, written exactly as `json.dumps` writes them: plain ASCII text
as it is, anything to escape by the C accelerator `_json` (a shared library, loaded only then);
anything else (a job's result) through `_json`'s encoder (jsonvalue.py).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _quote(text: str) -> str:
    """json.dumps(text): ASCII letters, digits, spaces and punctuation need no escaping."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    try:
        from _json import encode_basestring_ascii as escape
    except ImportError:  # pragma: no cover - CPython always has the accelerator
        from json.encoder import py_encode_basestring_ascii as escape
    return str(escape(text))


def scalar(value: Any) -> str | None:
    """The JSON text of a string, number, bool or None; None for anything else."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return int.__repr__(value)
    if kind is float and value == value and value not in (float("inf"), float("-inf")):
        return float.__repr__(value)
    return None


def json_line(entry: dict[str, Any]) -> str:
    """The same text as json.dumps(entry, default=str), one line."""
    parts = []
    for key, value in entry.items():
        text = scalar(value)
        name = scalar(key) if type(key) is str else None
        if text is None or name is None:  # a job's result, say: loaded only then
            from fargo.runtime.jsonvalue import dumps

            return dumps(entry)
        parts.append(f"{name}: {text}")
    return "{" + ", ".join(parts) + "}"


def log(level: str, message: str, **fields: Any) -> None:
    """One JSON line on stdout (the container's log stream), stamped in UTC to the millisecond."""
    import sys
    import time

    now = time.time()
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
             + f".{int(now % 1 * 1000):03d}Z", "level": level, **fields, "message": message}
    sys.stdout.write(json_line(entry) + "\n")
    sys.stdout.flush()
