"""EventBridge event patterns: fargo's checker and matcher against EventBridge's rules.

The examples follow the filters AWS documents for event patterns (content filtering); the
corpus is held against moto's TestEventPattern over HTTP, with the cases where moto departs
from AWS's documented behaviour named (AWS is the judge).
"""

from __future__ import annotations

import json
import random

import pytest

from fargo.patterns import check, matches, sample
from tests.conftest import boto

S3_CREATED = {"source": ["aws.s3"], "detail-type": ["Object Created"],
              "detail": {"bucket": {"name": ["raw-landing"]},
                         "object": {"key": [{"prefix": "incoming/"}]}}}
S3_EVENT = {"version": "0", "id": "1", "detail-type": "Object Created", "source": "aws.s3",
            "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:s3:::raw-landing"],
            "detail": {"bucket": {"name": "raw-landing"},
                       "object": {"key": "incoming/2026/01/01/orders.csv", "size": 2048}}}

# (pattern, event, matches): the filters as AWS documents them
DOCUMENTED = [
    (S3_CREATED, S3_EVENT, True),
    (S3_CREATED, {**S3_EVENT, "detail": {**S3_EVENT["detail"],
                                         "object": {"key": "archive/orders.csv"}}}, False),
    ({"time": [{"prefix": "2026-01-01"}]}, S3_EVENT, True),
    ({"detail": {"object": {"key": [{"suffix": ".csv"}]}}}, S3_EVENT, True),
    ({"detail": {"object": {"key": [{"suffix": {"equals-ignore-case": ".CSV"}}]}}}, S3_EVENT,
     True),
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, {"detail": {"state": "running"}},
     True),
    ({"detail": {"state": [{"anything-but": "initializing"}]}},
     {"detail": {"state": "initializing"}}, False),
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, {"detail": {}}, False),
    ({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
     {"detail": {"state": "stopped"}}, False),
    ({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
     {"detail": {"state": "initializing"}}, False),
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, {"detail": {"c-count": 5}},
     True),
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, {"detail": {"c-count": 6}},
     False),
    ({"detail": {"c-count": [{"numeric": [">", 0]}]}}, {"detail": {"c-count": "5"}}, False),
    ({"detail": {"error": [{"exists": False}]}}, {"detail": {"state": "ok"}}, True),
    ({"detail": {"error": [{"exists": True}]}}, {"detail": {"state": "ok"}}, False),
    ({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, {"detail": {"source-ip": "10.0.0.255"}},
     True),
    ({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, {"detail": {"source-ip": "10.0.1.1"}},
     False),
    ({"detail-type": [{"equals-ignore-case": "object created"}]}, S3_EVENT, True),
    ({"resources": [{"wildcard": "arn:aws:s3:::raw-*"}]}, S3_EVENT, True),
    ({"resources": [{"wildcard": "arn:aws:s3:::raw\\*"}]}, S3_EVENT, False),
    ({"source": ["aws.s3"], "$or": [{"detail": {"object": {"size": [{"numeric": [">", 4096]}]}}},
                                    {"detail": {"bucket": {"name": ["raw-landing"]}}}]},
     S3_EVENT, True),
    ({"detail": {"tags": ["b"]}}, {"detail": {"tags": ["a", "b"]}}, True),  # any element
    ({"detail": {"reason": [None]}}, {"detail": {"reason": None}}, True),
    ({"detail": {"reason": [None]}}, {"detail": {}}, False),  # null is not missing
    ({"detail": {"reason": [""]}}, {"detail": {"reason": ""}}, True),
    ({"detail": {"count": [5]}}, {"detail": {"count": "5"}}, False),  # types differ
    ({"detail": {"flag": [True]}}, {"detail": {"flag": 1}}, False),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), DOCUMENTED)
def test_the_documented_filters(pattern: dict, event: dict, expected: bool) -> None:
    assert check(pattern) == []
    assert matches(pattern, event) is expected


def test_a_field_inside_an_array_of_objects_has_each_elements_value() -> None:
    """The module's own failure alert: ECS lists containers, the pattern names exitCode."""
    failed = {"source": ["aws.ecs"], "detail": {"lastStatus": ["STOPPED"],
                                                 "containers": {"exitCode": [{"anything-but": 0}]}}}
    stopped = {"source": "aws.ecs", "detail": {"lastStatus": "STOPPED", "containers": [
        {"name": "job", "exitCode": 1}]}}
    assert matches(failed, stopped)
    stopped["detail"]["containers"][0]["exitCode"] = 0
    assert not matches(failed, stopped)


BAD = [
    ([], "is a JSON object"),
    ({}, "at least one field"),
    ({"source": "aws.s3"}, "source: must be a list of values"),
    ({"source": []}, "source: empty arrays are not allowed"),
    ({"detail": {"x": [{"prefix": 5}]}}, "detail.x[0].prefix: must be a string"),
    ({"detail": {"x": [{"startswith": "a"}]}}, "detail.x[0]: unknown operator 'startswith'"),
    ({"detail": {"x": [{"prefix": "a", "suffix": "b"}]}}, "one operator"),
    ({"detail": {"x": [{"numeric": [">", "five"]}]}}, "is not a number"),
    ({"detail": {"x": [{"numeric": ["<", 5, ">", 1]}]}}, "lower bound"),
    ({"detail": {"x": [{"numeric": [">", 5, "<", 1]}]}}, "must be below the upper bound"),
    ({"detail": {"x": [{"numeric": [">", 6e9]}]}}, "-5.0e9 to 5.0e9"),
    ({"detail": {"x": [{"exists": "yes"}]}}, "must be true or false"),
    ({"detail": {"x": [{"cidr": "10.0.0.300/24"}]}}, "not an IPv4 or IPv6 CIDR"),
    ({"detail": {"x": [{"anything-but": ["a", 1]}]}}, "one kind"),
    ({"detail": {"x": [{"anything-but": {"numeric": [">", 1]}}]}}, "takes a value"),
    ({"detail": {"x": [{"wildcard": "a**b"}]}}, "consecutive wildcards"),
    ({"$or": [{"source": ["a"]}]}, "$or takes a list of at least two"),
    ({"detail": {"x": [["a"]]}}, "cannot be a list"),
    ({"source": ["x" * 2100]}, "EventBridge allows 2048"),
]


@pytest.mark.parametrize(("pattern", "needle"), BAD)
def test_what_eventbridge_rejects_is_one_clear_message(pattern: object, needle: str) -> None:
    problems = check(pattern)
    assert len(problems) == 1, problems
    assert needle in problems[0]


def test_a_sample_avoids_what_anything_but_refuses() -> None:
    for refused in ({"prefix": "fargo"}, {"suffix": "example"}, {"wildcard": "*-sample"}):
        pattern = {"detail": {"x": [{"anything-but": refused}]}}
        assert matches(pattern, sample(pattern))


def test_every_problem_of_a_pattern_at_once() -> None:
    problems = check({"source": "aws.s3", "detail": {"a": [], "b": [{"exists": 1}]}})
    assert len(problems) == 3


@pytest.mark.parametrize(("pattern", "event", "expected"), DOCUMENTED)
def test_a_sample_event_matches_its_pattern(pattern: dict, event: dict, expected: bool) -> None:
    made = sample(pattern)
    assert matches(pattern, made)
    assert {"version", "id", "detail-type", "source", "time", "detail"} <= set(made)


# --- against moto's TestEventPattern -------------------------------------------------------

VALUES = ["a", "ab", "b", "", "10.0.0.7", 0, 1, 5, 7.5, None, ["a", "b"]]
FILTERS = [["a"], ["b", "ab"], [""], [0], [5], [None], [{"prefix": "a"}], [{"suffix": "b"}],
           [{"anything-but": "a"}], [{"anything-but": ["a", "b"]}], [{"anything-but": 5}],
           [{"anything-but": {"prefix": "a"}}], [{"numeric": [">", 1]}],
           [{"numeric": [">=", 0, "<", 6]}], [{"numeric": ["=", 7.5]}], [{"exists": True}],
           [{"exists": False}], [{"cidr": "10.0.0.0/24"}], [{"equals-ignore-case": "AB"}],
           [{"wildcard": "a*"}], [{"prefix": {"equals-ignore-case": "A"}}]]


def _corpus(size: int) -> list[tuple[dict, dict]]:
    chooser = random.Random(20261201)
    cases = []
    for _ in range(size):
        pattern: dict = {"source": ["fargo.test"], "detail": {}}
        event: dict = {"source": "fargo.test", "detail-type": "t", "detail": {}}
        for field in chooser.sample(["x", "y"], chooser.randint(1, 2)):
            pattern["detail"][field] = chooser.choice(FILTERS)
            value = chooser.choice([*VALUES, "<absent>"])
            if value != "<absent>":
                event["detail"][field] = value
        if chooser.random() < 0.2:
            pattern["detail"] = {"$or": [pattern["detail"], {"z": ["a"]}]}
            event["detail"]["z"] = chooser.choice(["a", "b"])
        cases.append((pattern, event))
    return cases


def test_the_matcher_agrees_with_moto(aws: dict[str, str]) -> None:
    """moto and fargo agree on every case of a generated corpus; none is left out."""
    events = boto(aws, "events")
    cases = _corpus(400)
    disagreements = []
    for pattern, event in cases:
        assert check(pattern) == [], pattern
        theirs = events.test_event_pattern(EventPattern=json.dumps(pattern),
                                           Event=json.dumps(event))["Result"]
        if theirs != matches(pattern, event):
            disagreements.append((pattern, event, theirs))
    assert disagreements == [], disagreements[:5]
    assert sum(matches(p, e) for p, e in cases) > 50  # the corpus has matches and misses


def test_where_moto_departs_from_aws(aws: dict[str, str]) -> None:
    """Named, with AWS's documented behaviour as the judge: fargo follows AWS."""
    events = boto(aws, "events")

    def moto(pattern: dict, event: dict) -> bool:
        return bool(events.test_event_pattern(EventPattern=json.dumps(pattern),
                                              Event=json.dumps(event))["Result"])

    # 1. Arrays of objects: EventBridge flattens them (ECS's containers[].exitCode); moto does
    #    not descend into arrays.
    failed = {"detail": {"containers": {"exitCode": [1]}}}
    stopped = {"source": "aws.ecs", "detail-type": "t",
               "detail": {"containers": [{"exitCode": 1}]}}
    assert matches(failed, stopped) and not moto(failed, stopped)
    # 2. JSON types: true is not 1 for EventBridge; moto compares with Python's ==.
    flag = {"detail": {"flag": [1]}}
    truthy = {"source": "s", "detail-type": "t", "detail": {"flag": True}}
    assert not matches(flag, truthy) and moto(flag, truthy)
