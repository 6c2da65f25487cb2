"""Whether an event matches a pattern, as EventBridge matches it.

EventBridge flattens an event to paths (`detail.object.key`); an array contributes each of its
elements, so a field inside an array of objects has several values, and a filter matches when
any value does. A field that is absent matches only `{"exists": false}` (`anything-but`
included: it never matches a missing field). Values compare with their JSON type: the number
5 is not the string "5", and `true` is not 1.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """True when EventBridge would deliver `event` to a rule with `pattern` (a checked one)."""
    return _object(pattern, [event])


def _object(pattern: dict[str, Any], nodes: list[Any]) -> bool:
    for key, sub in pattern.items():
        if key == "$or":
            if not any(_object(alternative, nodes) for alternative in sub):
                return False
            continue
        found = _values(nodes, key)
        if isinstance(sub, dict):
            if not _object(sub, [v for v in found if isinstance(v, dict)]):
                return False
        elif not _leaf(sub, [v for v in found if not isinstance(v, dict)]):
            return False
    return True


def _values(nodes: list[Any], key: str) -> list[Any]:
    """Every value at `key` under `nodes`, arrays opened (nested arrays too)."""
    out: list[Any] = []

    def add(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                add(item)
        else:
            out.append(value)

    for node in nodes:
        if isinstance(node, dict) and key in node:
            add(node[key])
    return out


def _leaf(matchers: list[Any], values: list[Any]) -> bool:
    for matcher in matchers:
        if isinstance(matcher, dict):
            ((operator, argument),) = matcher.items()
            if operator == "exists":
                if bool(values) == argument:
                    return True
                continue
            if any(_filter(operator, argument, value) for value in values):
                return True
        elif any(_same(matcher, value) for value in values):
            return True
    return False


def _same(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool) or expected is None:
        return type(expected) is type(value) and expected == value
    if isinstance(expected, int | float):
        return isinstance(value, int | float) and float(expected) == float(value)
    return isinstance(value, str) and expected == value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _filter(operator: str, argument: Any, value: Any) -> bool:
    if operator in ("prefix", "suffix"):
        if not isinstance(value, str):
            return False
        subject: str = value
        if isinstance(argument, dict):
            text, subject = str(argument["equals-ignore-case"]).casefold(), subject.casefold()
        else:
            text = str(argument)
        return subject.startswith(text) if operator == "prefix" else subject.endswith(text)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(argument).casefold()
    if operator == "wildcard":
        return isinstance(value, str) and _glob(argument).fullmatch(value) is not None
    if operator == "numeric":
        if not _number(value):
            return False
        pairs = zip(argument[::2], argument[1::2], strict=True)
        return all(_compare(value, op, bound) for op, bound in pairs)
    if operator == "cidr":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(argument, strict=False)
        except (ValueError, TypeError):
            return False
    if operator == "anything-but":
        if isinstance(argument, dict):
            ((inner, given),) = argument.items()
            alternatives = given if isinstance(given, list) else [given]
            return not any(_filter(inner, a, value) for a in alternatives)
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_same(e, value) for e in excluded)
    raise ValueError(f"unknown operator {operator!r}")  # check() refuses it first


def _compare(value: float, op: str, bound: float) -> bool:
    if op == "<":
        return value < bound
    if op == "<=":
        return value <= bound
    if op == "=":
        return value == bound
    return value > bound if op == ">" else value >= bound


def _glob(pattern: str) -> re.Pattern[str]:
    """A wildcard filter as a regular expression: `*` any run, `\\*` and `\\\\` literal."""
    parts, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)
