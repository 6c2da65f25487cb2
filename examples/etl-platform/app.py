"""etl-platform: an example fargo project.

Fargate jobs (long, big) and Lambda jobs (short) share the code in chalicelib/. The maintenance
jobs live in a blueprint. Try: fargo validate, fargo ls --stage prod, fargo invoke fetch_events,
fargo up --for 3m.
"""

import os

from chalicelib import events, storage
from chalicelib.maintenance import bp
from fargo import App, Cron, Rate

app = App("etl-platform")
app.register_blueprint(bp, name_prefix="maint_")


def lake(area):
    """A folder under data/ here, a prefix of the stage's bucket on AWS (chalicelib/storage)."""
    return f"{storage.root().rstrip('/')}/{area}"


@app.task(Rate(1, unit=Rate.MINUTES), cpu=256, memory=512, timeout="2m",
          description="Pull the latest batch of events from the source into the landing zone")
def fetch_events(event, context):
    batch = events.fetch_batch(event.time, size=int(os.environ.get("BATCH_SIZE", "200")))
    name = storage.append_landing(lake("landing"), event.time, batch)
    context.logger.info("fetched %d events into %s", len(batch), name)
    return {"events": len(batch)}


@app.task("cron(*/2 * * * ? *)", cpu=512, memory=1024, timeout="5m",
          description="Validate, deduplicate and partition landed events by day")
def transform_events(event, context):
    landed = storage.read_landing(lake("landing"))
    clean, rejected = events.clean(landed)
    written = storage.write_partitions(lake("clean"), clean)
    context.logger.info("%d landed, %d rejected, %d clean rows in %d partitions",
                        len(landed), rejected, len(clean), written)
    return {"clean": len(clean), "rejected": rejected}


@app.task(Cron(0, 7, "?", "*", "MON-FRI", "*"), timezone="America/New_York",
          cpu="2 vCPU", memory="8 GB", timeout="2h",
          description="Weekday revenue report per country (too big for Lambda)")
def daily_report(event, context):
    rows = storage.read_partitions(lake("clean"))
    report = events.revenue_by_day_and_country(rows)
    storage.write_json(lake("reports"), "revenue.json", report)
    context.logger.info("report covers %d days", len(report))
    return {"days": len(report)}
