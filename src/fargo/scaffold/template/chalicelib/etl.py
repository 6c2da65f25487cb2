"""Shared ETL code, used by the Fargate jobs and the Lambda jobs alike."""

import json
import os
import time
from collections import defaultdict
from pathlib import Path

REQUIRED = ("id", "ts", "type", "amount")


def read_jsonl(path):
    """Yield one object per line; a line that is not JSON yields None (counted as malformed)."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    yield None


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


def write_partitions(rows, directory):
    """One JSON-lines file per day; written to a temporary name, then renamed."""
    by_day = defaultdict(list)
    for row in rows:
        by_day[row["ts"][:10]].append(row)
    Path(directory).mkdir(parents=True, exist_ok=True)
    written = []
    for day, day_rows in sorted(by_day.items()):
        target = Path(directory) / f"events-{day}.jsonl"
        tmp = target.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in day_rows),
                       encoding="utf-8")
        os.replace(tmp, target)
        written.append(target)
    return written


def totals_per_day(rows):
    totals = defaultdict(lambda: defaultdict(float))
    for row in rows:
        totals[row["ts"][:10]][row["type"]] += row["amount"]
    return {day: {k: round(v, 2) for k, v in sorted(t.items())} for day, t in sorted(totals.items())}


def write_json(path, data):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def purge_older_than(directory, days):
    cutoff = time.time() - days * 86400
    removed = 0
    for path in Path(directory).glob("*.jsonl") if Path(directory).exists() else []:
        if path.stat().st_mtime < cutoff:
            path.unlink()
            removed += 1
    return removed
