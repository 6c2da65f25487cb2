"""Next-fire throughput of the schedule engine for a mix of expressions.

Run: python benchmarks/schedule_next_fire.py
Prints, per expression, microseconds per `next fire` call (parse excluded) in UTC and in
America/New_York, from random instants in 2024-2026.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

from fargo.schedule import iter_fires, load_zone, parse

EXPRESSIONS = {
    "every minute": "cron(* * * * ? *)",
    "business hours": "cron(0/15 8-17 ? * MON-FRI *)",
    "last weekday (LW)": "cron(0 21 LW * ? *)",
    "nearest weekday (15W)": "cron(0 6 15W * ? *)",
    "last Friday (6L)": "cron(15 10 ? * 6L *)",
    "second Tuesday (3#2)": "cron(0 9 ? * 3#2 *)",
    "once a year": "cron(0 0 1 1 ? *)",
    "Feb 29 only": "cron(0 0 29 2 ? *)",
    "never again": "cron(0 0 1 1 ? 2020)",
    "never (Feb 30)": "cron(0 0 30 2 ? *)",
    "rate": "rate(90 minutes)",
}


def main(calls: int = 3000) -> None:
    rng = random.Random(7)
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    starts = [base + timedelta(minutes=rng.randrange(3 * 525600)) for _ in range(calls)]
    print(f"{'expression':24} {'UTC us/call':>12} {'New_York us/call':>17}")
    for label, text in EXPRESSIONS.items():
        expr = parse(text)
        row = []
        for zone in (load_zone("UTC"), load_zone("America/New_York")):
            t0 = time.perf_counter()
            for start in starts:
                next(iter_fires(expr, zone, start), None)
            row.append((time.perf_counter() - t0) / calls * 1e6)
        print(f"{label:24} {row[0]:12.1f} {row[1]:17.1f}")


if __name__ == "__main__":
    main()
