"""What EventBridge accepts as an event pattern, with one message per problem.

The rules are EventBridge's content-filtering syntax (docs: "Creating event patterns",
"Content filtering in Amazon EventBridge event patterns") and its quota on pattern size.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

PATTERN_MAX_CHARS = 2048  # EventBridge's "Event pattern size" quota (adjustable to 4096)
NUMERIC_BOUND = 5.0e9  # numeric matching works between -5.0e9 and +5.0e9
NUMERIC_OPERATORS = ("<", "<=", "=", ">", ">=")
OPERATORS = ("prefix", "suffix", "anything-but", "numeric", "exists", "cidr",
             "equals-ignore-case", "wildcard")


def check(pattern: Any) -> list[str]:
    """Every problem EventBridge would reject the pattern for; empty when it accepts it."""
    problems: list[str] = []
    if not isinstance(pattern, dict):
        return [f"an event pattern is a JSON object, found {json.dumps(pattern)}"]
    if not pattern:
        return ["an event pattern needs at least one field, such as {\"source\": [\"aws.s3\"]}"]
    not_json = _not_json(pattern)
    if not_json:
        return [not_json]
    _object(pattern, "", problems)
    size = len(json.dumps(pattern, separators=(",", ":")))
    if size > PATTERN_MAX_CHARS:
        problems.append(f"the pattern is {size} characters; EventBridge allows "
                        f"{PATTERN_MAX_CHARS} (a quota that can be raised to 4096)")
    return problems


DEPTH_MAX = 50  # deeper than any pattern EventBridge matches; bounds the checks' recursion


def _not_json(pattern: Any) -> str | None:
    """Why the pattern is no JSON document (a set, bytes, a date, NaN, too deep), or None."""
    import math

    stack: list[tuple[Any, str, int]] = [(pattern, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        where = path or "the pattern"
        if depth > DEPTH_MAX:
            return f"{where}: nested deeper than {DEPTH_MAX} levels"
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    return f"{where}: the key {key!r} is not a string"
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            return f"{where}: {value!r} is not a JSON number"
        elif value is not None and not isinstance(value, str | int | float | bool):
            return (f"{where}: a {type(value).__name__} is not JSON (a pattern holds objects, "
                    "lists, strings, numbers, true, false and null)")
    return None


def _object(node: dict[str, Any], path: str, problems: list[str]) -> None:
    for key, value in node.items():
        where = f"{path}.{key}" if path else str(key)
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(
                    isinstance(v, dict) and v for v in value):
                problems.append(f"{where}: $or takes a list of at least two patterns (objects), "
                                f"found {json.dumps(value)}")
                continue
            for index, alternative in enumerate(value):
                _object(alternative, f"{where}[{index}]", problems)
        elif isinstance(value, dict):
            if not value:
                problems.append(f"{where}: an empty object matches nothing; give fields, or a "
                                "list of values")
            _object(value, where, problems)
        elif isinstance(value, list):
            if not value:
                problems.append(f"{where}: empty arrays are not allowed (EventBridge rejects "
                                "them)")
            for index, matcher in enumerate(value):
                _matcher(matcher, f"{where}[{index}]", problems)
        else:
            problems.append(f"{where}: must be a list of values (such as [{json.dumps(value)}]) "
                            f"or an object, found {json.dumps(value)}")


def _matcher(matcher: Any, where: str, problems: list[str]) -> None:
    if matcher is None or isinstance(matcher, str | bool):
        return
    if isinstance(matcher, int | float):
        _number(matcher, where, problems)
        return
    if isinstance(matcher, list):
        problems.append(f"{where}: a value in a pattern cannot be a list")
        return
    if not isinstance(matcher, dict) or len(matcher) != 1:
        problems.append(f"{where}: a filter is an object with one operator ({', '.join(OPERATORS)})"
                        f", found {json.dumps(matcher)}")
        return
    ((operator, value),) = matcher.items()
    if operator not in OPERATORS:
        problems.append(f"{where}: unknown operator {operator!r} (operators: "
                        f"{', '.join(OPERATORS)})")
        return
    check_operator = _CHECKS[operator]
    check_operator(value, f"{where}.{operator}", problems)


def _string_or_ignore_case(value: Any, where: str, problems: list[str]) -> None:
    """prefix and suffix: a string, or {"equals-ignore-case": string}."""
    if isinstance(value, dict) and list(value) == ["equals-ignore-case"]:
        value = value["equals-ignore-case"]
        where += ".equals-ignore-case"
    if not isinstance(value, str):
        problems.append(f"{where}: must be a string, found {json.dumps(value)}")


def _string(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        problems.append(f"{where}: must be a string, found {json.dumps(value)}")


def _wildcard(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        problems.append(f"{where}: must be a string, found {json.dumps(value)}")
    elif "**" in value:
        problems.append(f"{where}: consecutive wildcards ('**') are not allowed")


def _anything_but(value: Any, where: str, problems: list[str]) -> None:
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in ("prefix", "suffix", "equals-ignore-case",
                                                        "wildcard"):
            problems.append(f"{where}: takes a value, a list of values, or one of prefix, "
                            f"suffix, equals-ignore-case, wildcard; found {json.dumps(value)}")
            return
        ((inner, given),) = value.items()
        values = given if isinstance(given, list) and inner in (
            "equals-ignore-case", "wildcard") else [given]
        for item in values:
            (_wildcard if inner == "wildcard" else _string)(item, f"{where}.{inner}", problems)
        return
    values = value if isinstance(value, list) else [value]
    if not values:
        problems.append(f"{where}: empty arrays are not allowed")
        return
    kinds = {type(v) for v in values}
    if not (kinds <= {str} or kinds <= {int, float}) or bool in kinds:
        problems.append(f"{where}: takes strings or numbers (one kind), found "
                        f"{json.dumps(value)}")
        return
    for item in values:
        if isinstance(item, int | float):
            _number(item, where, problems)


def _numeric(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, list) or len(value) not in (2, 4):
        problems.append(f"{where}: takes [operator, number] or a range [\">\", 0, \"<=\", 5], "
                        f"found {json.dumps(value)}")
        return
    operators, numbers = value[::2], value[1::2]
    for op, number in zip(operators, numbers, strict=True):
        if op not in NUMERIC_OPERATORS:
            problems.append(f"{where}: {json.dumps(op)} is not an operator ("
                            f"{', '.join(NUMERIC_OPERATORS)})")
            return
        if not isinstance(number, int | float) or isinstance(number, bool):
            problems.append(f"{where}: {json.dumps(number)} is not a number")
            return
        _number(number, where, problems)
    if len(value) == 4:
        if operators[0] not in (">", ">=") or operators[1] not in ("<", "<="):
            problems.append(f"{where}: a range is a lower bound (> or >=) then an upper bound "
                            f"(< or <=), found {json.dumps(value)}")
        elif numbers[0] >= numbers[1]:
            problems.append(f"{where}: the lower bound {numbers[0]} must be below the upper "
                            f"bound {numbers[1]}")


def _exists(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, bool):
        problems.append(f"{where}: must be true or false, found {json.dumps(value)}")


def _cidr(value: Any, where: str, problems: list[str]) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except (ValueError, TypeError):
        problems.append(f"{where}: {json.dumps(value)} is not an IPv4 or IPv6 CIDR block such "
                        "as \"10.0.0.0/24\"")


def _number(value: int | float, where: str, problems: list[str]) -> None:
    if not -NUMERIC_BOUND <= value <= NUMERIC_BOUND:
        problems.append(f"{where}: {value} is outside what EventBridge compares as a number "
                        f"(-5.0e9 to 5.0e9)")


_CHECKS = {"prefix": _string_or_ignore_case, "suffix": _string_or_ignore_case,
           "anything-but": _anything_but, "numeric": _numeric, "exists": _exists,
           "cidr": _cidr, "equals-ignore-case": _string, "wildcard": _wildcard}
