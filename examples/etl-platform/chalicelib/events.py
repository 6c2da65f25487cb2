"""Event source and cleaning rules, shared by every job."""

import hashlib
import random

COUNTRIES = ("DE", "FR", "US", "BR", "JP")
KINDS = ("order", "refund", "view")


def fetch_batch(event_time, size):
    """A deterministic batch for this minute (stands in for an HTTP API or a queue)."""
    rng = random.Random(hashlib.sha256(event_time.encode()).digest())
    batch = []
    for i in range(size):
        row = {"id": f"{event_time}-{i}", "ts": event_time, "kind": rng.choice(KINDS),
               "country": rng.choice(COUNTRIES), "amount": round(rng.uniform(1, 500), 2)}
        if rng.random() < 0.03:
            row.pop("amount")  # the source sometimes drops fields
        batch.append(row)
        if rng.random() < 0.05:
            batch.append(dict(row))  # and delivers at least once
    return batch


def clean(rows):
    """(unique valid rows, number rejected)."""
    seen, out, rejected = set(), [], 0
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("amount"), (int, float)):
            rejected += 1
            continue
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        out.append(row)
    return out, rejected


def revenue_by_day_and_country(rows):
    report = {}
    for row in rows:
        if row["kind"] != "order":
            continue
        day = report.setdefault(row["ts"][:10], {})
        day[row["country"]] = round(day.get(row["country"], 0) + row["amount"], 2)
    return dict(sorted(report.items()))
