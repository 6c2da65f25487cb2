"""{{app_name}}: scheduled ETL jobs. Run one now with `fargo invoke ingest_events`.

The jobs read and write through chalicelib/storage.py: the folders data/ and output/ when they
run here (local_environment_variables), the stage's S3 bucket on AWS (environment_variables).
"""

import json

from chalicelib import etl, storage
from fargo import App

app = App("{{app_name}}")


def raw():
    return storage.location("DATA_URL", "data")


def curated():
    return storage.location("OUTPUT_URL", "output")


@app.task("rate(1 minute)", cpu=512, memory=1024, timeout="10m",
          description="Clean raw events: drop malformed rows, deduplicate, partition by day")
def ingest_events(event, context):
    source, target = raw(), curated()
    text = source.read("events.jsonl")
    if text is None:
        context.logger.info("nothing has landed at %s/events.jsonl yet", source.url)
    rows = etl.parse_jsonl(text)
    valid, rejected = etl.split_valid(rows)
    unique = etl.deduplicate(valid)
    written = etl.partitions(unique)
    for name, day_rows in written.items():
        target.write(f"clean/{name}", etl.to_jsonl(day_rows))
    context.logger.info(
        "read %d rows, dropped %d malformed and %d duplicates, wrote %d rows in %d partitions "
        "to %s/clean", len(rows), len(rejected), len(valid) - len(unique), len(unique),
        len(written), target.url)
    return {"rows": len(rows), "rejected": len(rejected), "written": len(unique)}


@app.task("cron(30 6 * * ? *)", timezone="Europe/Berlin", cpu="1 vCPU", memory="2 GB",
          timeout="30m", description="Daily totals per event type from the clean partitions")
def daily_rollup(event, context):
    target = curated()
    rows = [row for name, _ in target.list("clean/") if name.endswith(".jsonl")
            for row in etl.parse_jsonl(target.read(name))]
    totals = etl.totals_per_day(rows)
    target.write("daily_totals.json", json.dumps(totals, indent=2, sort_keys=True) + "\n")
    context.logger.info("aggregated %d rows into %d days", len(rows), len(totals))
    return {"days": len(totals)}


@app.schedule("rate(1 hour)")
def purge_old_outputs(event):
    """A short job that stays on Lambda (Chalice-style decorator, handler takes the event)."""
    target = curated()
    old = etl.older_than(target.list("clean/"), days=30)
    for name in old:
        target.delete(name)
    print(f"removed {len(old)} old partitions from {target.url}/clean")
