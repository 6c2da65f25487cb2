"""Shared ETL code, used by the Fargate jobs and the Lambda jobs alike."""

import json
import time
from collections import defaultdict

REQUIRED = ("id", "ts", "type", "amount")


def parse_jsonl(text):
    """One object per line; a line that is not JSON gives None (counted as malformed)."""
    rows = []
    for line in (text or "").splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                rows.append(None)
    return rows


def to_jsonl(rows):
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)


def is_valid(row):
    return (isinstance(row, dict) and all(k in row for k in REQUIRED)
            and isinstance(row["amount"], (int, float)) and isinstance(row["ts"], str)
            and len(row["ts"]) >= 10)


def split_valid(rows):
    valid, rejected = [], []
    for row in rows:
        (valid if is_valid(row) else rejected).append(row)
    return valid, rejected


def deduplicate(rows):
    """Keep the first row of each id."""
    seen, unique = set(), []
    for row in rows:
        if row["id"] not in seen:
            seen.add(row["id"])
            unique.append(row)
    return unique


def partitions(rows):
    """{file name: rows}: one JSON-lines file per day."""
    by_day = defaultdict(list)
    for row in rows:
        by_day[row["ts"][:10]].append(row)
    return {f"events-{day}.jsonl": day_rows for day, day_rows in sorted(by_day.items())}


def totals_per_day(rows):
    totals = defaultdict(lambda: defaultdict(float))
    for row in rows:
        totals[row["ts"][:10]][row["type"]] += row["amount"]
    return {day: {k: round(v, 2) for k, v in sorted(t.items())} for day, t in sorted(totals.items())}


def older_than(listing, days, now=None):
    """The names in a (name, modified epoch seconds) listing older than `days`."""
    cutoff = (time.time() if now is None else now) - days * 86400
    return [name for name, modified in listing if modified < cutoff]
