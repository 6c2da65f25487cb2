"""Maintenance jobs: short, so they stay on Lambda. Registered with name_prefix="maint_"."""

import os

from fargo import Blueprint

from . import storage

bp = Blueprint(__name__)


@bp.schedule("rate(10 minutes)", description="Keep the landing zone small")
def compact_landing(event):
    removed = storage.remove_old(f"{storage.root().rstrip('/')}/landing", keep=30)
    print(f"removed {removed} landed files")
    return {"removed": removed}


@bp.lambda_function()
def heartbeat(event, context):
    """On demand only (no schedule): a raw Lambda-style handler."""
    return {"ok": True, "stage": os.environ.get("FARGO_STAGE")}
