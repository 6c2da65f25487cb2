"""A run's event read from FARGO_EVENT without importing the `json` package.

`json` pulls in `re` (and with it `enum`): about 4 milliseconds per start of every job that
events start. `_json`'s scanner reads the text as `json.loads` does; any text it does not take
whole goes to `json.loads`, whose error (or value) is then the answer.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_make_scanner: Any
try:
    from _json import make_scanner as _make_scanner
except ImportError:  # pragma: no cover - CPython always has the accelerator
    _make_scanner = None


class _Decoding:
    """What `_json`'s scanner reads from json.JSONDecoder: its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"),
                      "NaN": float("nan")}.__getitem__


_WHITESPACE = " \t\n\r"  # json's own: no other space counts


def loads(text: str) -> Any:
    """json.loads(text): the same value, the same errors."""
    if _make_scanner is not None:
        start = len(text) - len(text.lstrip(_WHITESPACE))
        try:
            value, end = _make_scanner(_Decoding())(text, start)
        except (StopIteration, ValueError):
            value, end = None, -1
        if end >= 0 and not text[end:].strip(_WHITESPACE):
            return value
    import json

    return json.loads(text)


def parse_event(raw: str, step: bool = False) -> Any:
    """FARGO_EVENT's JSON: an object for a job; any JSON value for a workflow step."""
    try:
        parsed = loads(raw)
    except RecursionError:
        raise ValueError("FARGO_EVENT is nested too deeply") from None
    if not step and not isinstance(parsed, dict):
        raise ValueError("FARGO_EVENT must be a JSON object")
    return parsed
