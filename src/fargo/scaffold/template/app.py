"""{{app_name}}: scheduled ETL jobs. Run one now with `fargo invoke ingest_events`."""

import os
from pathlib import Path

from chalicelib import etl
from fargo import App

app = App("{{app_name}}")

DATA_DIR = Path(os.environ.get("DATA_DIR", "data"))
OUTPUT_DIR = Path(os.environ.get("OUTPUT_DIR", "output"))


@app.task("rate(1 minute)", cpu=512, memory=1024, timeout="10m",
          description="Clean raw events: drop malformed rows, deduplicate, partition by day")
def ingest_events(event, context):
    rows = list(etl.read_jsonl(DATA_DIR / "events.jsonl"))
    valid, rejected = etl.split_valid(rows)
    unique = etl.deduplicate(valid)
    written = etl.write_partitions(unique, OUTPUT_DIR / "clean")
    context.logger.info(
        "read %d rows, dropped %d malformed and %d duplicates, wrote %d rows in %d partitions",
        len(rows), len(rejected), len(valid) - len(unique), len(unique), len(written),
    )
    return {"rows": len(rows), "rejected": len(rejected), "written": len(unique)}


@app.task("cron(30 6 * * ? *)", timezone="Europe/Berlin", cpu="1 vCPU", memory="2 GB",
          timeout="30m", description="Daily totals per event type from the clean partitions")
def daily_rollup(event, context):
    rows = [row for path in sorted((OUTPUT_DIR / "clean").glob("*.jsonl"))
            for row in etl.read_jsonl(path)]
    totals = etl.totals_per_day(rows)
    etl.write_json(OUTPUT_DIR / "daily_totals.json", totals)
    context.logger.info("aggregated %d rows into %d days", len(rows), len(totals))
    return {"days": len(totals)}


@app.schedule("rate(1 hour)")
def purge_old_outputs(event):
    """A short job that stays on Lambda (Chalice-style decorator, handler takes the event)."""
    removed = etl.purge_older_than(OUTPUT_DIR / "clean", days=30)
    print(f"removed {removed} old partitions")
