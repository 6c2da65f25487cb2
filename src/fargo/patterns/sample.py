"""An event that a pattern matches: for `fargo events sample` and for trying a job locally."""

from __future__ import annotations

import ipaddress
from typing import Any

from fargo.patterns.match import matches

ENVELOPE = {
    "version": "0", "id": "00000000-0000-4000-8000-000000000000", "detail-type": "Example",
    "source": "example.source", "account": "000000000000", "time": "2026-01-01T00:00:00Z",
    "region": "us-east-1", "resources": [], "detail": {},
}


def sample(pattern: dict[str, Any]) -> dict[str, Any]:
    """EventBridge's envelope, filled with values the pattern asks for; checked to match."""
    event: dict[str, Any] = {**ENVELOPE, "detail": {}}
    _fill(pattern, event)
    if not matches(pattern, event):  # a pattern with no example (contradictory filters)
        raise ValueError("no event matches this pattern")
    return event


def _fill(pattern: dict[str, Any], node: dict[str, Any]) -> None:
    for key, sub in pattern.items():
        if key == "$or":
            _fill(sub[0], node)
        elif isinstance(sub, dict):
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            _fill(sub, child)
        else:
            missing = False
            for matcher in sub:
                value, absent = _value(matcher)
                if absent:
                    missing = True
                    continue
                node[key] = [value] if key == "resources" else value
                break
            else:
                if missing:
                    node.pop(key, None)


def _value(matcher: Any) -> tuple[Any, bool]:
    """A value the matcher accepts, or (None, True) when only an absent field does."""
    if not isinstance(matcher, dict):
        return matcher, False
    ((operator, argument),) = matcher.items()
    if operator == "exists":
        return "example", not argument
    if operator == "prefix":
        text = argument["equals-ignore-case"] if isinstance(argument, dict) else argument
        return f"{text}example", False
    if operator == "suffix":
        text = argument["equals-ignore-case"] if isinstance(argument, dict) else argument
        return f"example{text}", False
    if operator == "equals-ignore-case":
        return argument, False
    if operator == "wildcard":
        return argument.replace("\\*", "\0").replace("*", "x").replace("\0", "*"), False
    if operator == "cidr":
        return str(ipaddress.ip_network(argument, strict=False).network_address), False
    if operator == "numeric":
        return _in_range(argument), False
    if operator == "anything-but":
        if isinstance(argument, dict):  # a string the inner filter refuses
            refused = {"anything-but": argument}
            for candidate in ("fargo-example", "zz-sample", "0"):
                if matches({"v": [refused]}, {"v": candidate}):
                    return candidate, False
            return "fargo-example", False
        excluded = argument if isinstance(argument, list) else [argument]
        if all(isinstance(e, str) for e in excluded):
            return "fargo-example", False
        return max(float(e) for e in excluded) + 1, False
    return None, True


def _in_range(argument: list[Any]) -> float:
    pairs = list(zip(argument[::2], argument[1::2], strict=True))
    if len(pairs) == 2:
        (_, low), (_, high) = pairs
        return (float(low) + float(high)) / 2
    ((op, bound),) = pairs
    value = float(bound)
    return value - 1 if op == "<" else value + 1 if op == ">" else value
