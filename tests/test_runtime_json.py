"""The runtime's JSON without the `json` package: the same text and values as `json` gives."""

from __future__ import annotations

import json
import math
import random

import pytest

from fargo.runtime.eventjson import loads
from fargo.runtime.jsonl import json_line

TEXTS = [
    "{}", "[]", '"s"', "0", "-0.5e-3", "true", "null", "NaN", "-Infinity", '{"a": NaN}',
    '  {"a": [1, 2.5, -3e10, null, true, false, "x\\u00e9\\n"]}  \n', '\t{"b":{"c":[[]]}}\r\n',
    "12345678901234567890", "1.0e500", '{"a":1,"a":2}', '"\\ud800"', '{"k": "\\"\\\\/"}',
    # refused: json's own error (type and message) is the answer
    "", " ", "\ufeff{}", '{"a":}', "[1,]", "1 2", '{"a":1}x', "{'a':1}", '{"x": "\x01"}',
    '{"a" 1}', "[1", '"open', "nul", "\u00a0{}", "{}\u3000",
]


def outcome(function: object, text: str) -> tuple[str, str]:
    try:
        value = function(text)  # type: ignore[operator]
    except RecursionError:
        return "RecursionError", ""
    except ValueError as exc:
        return type(exc).__name__, str(exc)
    return "value", repr(value) if not (isinstance(value, float) and math.isnan(value)) else "nan"


def random_json(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-10**20, 10**20)
    if kind == 2:
        return rng.uniform(-1e9, 1e9)
    if kind == 3:
        return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x3000)]))
                       for _ in range(rng.randrange(8)))
    if kind == 4:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {str(random_json(rng, 4)): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


@pytest.mark.parametrize("text", TEXTS)
def test_loads_is_json_loads(text: str) -> None:
    assert outcome(loads, text) == outcome(json.loads, text)


def test_loads_agrees_on_generated_documents_and_depth() -> None:
    rng = random.Random(7)
    for _ in range(500):
        text = json.dumps(random_json(rng), indent=rng.choice([None, 1]),
                          ensure_ascii=rng.random() < 0.5)
        assert loads(text) == json.loads(text)
    deep = "[" * 100_000 + "]" * 100_000
    assert outcome(loads, deep) == outcome(json.loads, deep) == ("RecursionError", "")


def test_json_line_is_json_dumps() -> None:
    entries = [
        {"time": "2024-01-01T00:00:00.000Z", "level": "info", "message": "ünïcode \n \"q\""},
        {"n": 1, "f": 0.1, "big": 10**30, "t": True, "no": None, "neg": -2.5e-300},
        {"result": {"rows": [1, 2]}, "set": {1}},  # not flat: through json, default=str
        {1: "int key"},
        {"plain": "ASCII only, spaces & punctuation ~!@#", "tab": "a\tb", "del": "\x7f",
         "quote": 'say "hi"', "slash": "a\\b", "astral": "\U0001f600", "empty": ""},
    ]
    for entry in entries:
        assert json_line(entry) == json.dumps(entry, default=str)
    # JSON has no NaN or infinities: a log line stays strict JSON, with them as text
    assert json_line({"inf": float("inf"), "nan": float("nan")}) == '{"inf": "inf", "nan": "nan"}'


def _dumped(function: object, value: object, **options: object) -> tuple[str, str]:
    try:
        return "text", function(value, **options)  # type: ignore[operator]
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)


class Odd:
    def __str__(self) -> str:
        return "odd"


ODD_VALUES = [
    {7: "int key", 2.5: "float key", True: "bool key", None: "none key"}, (1, [2, (3,)]),
    {"set": {1}}, {"bytes": b"x"}, {"odd": Odd()}, float("nan"), [float("inf")], -0.0,
    10**40, "\ud800", "é\n\t\"\\", {"nested": {"deep": [[[[{}]]]]}}, {(1, 2): "tuple key"},
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=range(len(ODD_VALUES)))
def test_encode_is_json_dumps_for_odd_values(value: object) -> None:
    from fargo.runtime.jsonvalue import encode

    for options in ({}, {"allow_nan": False}, {"default": str},
                    {"default": str, "allow_nan": False}):
        assert _dumped(encode, value, **options) == _dumped(json.dumps, value, **options)


def test_encode_is_json_dumps_on_generated_documents_and_circles() -> None:
    from fargo.runtime.jsonvalue import encode

    rng = random.Random(11)
    for _ in range(500):
        value = random_json(rng)
        assert encode(value) == json.dumps(value)
    circle: list[object] = [1]
    circle.append({"back": circle})
    assert _dumped(encode, circle) == _dumped(json.dumps, circle) == \
        ("ValueError", "Circular reference detected")
