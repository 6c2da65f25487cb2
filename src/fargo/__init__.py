"""fargo: scheduled ETL jobs as plain Python functions, run locally, on Lambda or on Fargate.

Kept light on purpose: the job runtime imports this package on every run. The workflow
helpers (each, parallel, step) load only when app.py asks for them.
"""

from fargo.app import App, Blueprint, Cron, Rate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fargo.workflow import each, parallel, step

__version__ = "0.1.0"
__all__ = ["App", "Blueprint", "Cron", "Rate", "__version__", "each", "parallel", "step"]


def __getattr__(name: str) -> object:
    if name in ("each", "parallel", "step"):
        from fargo import workflow

        return getattr(workflow, name)
    raise AttributeError(f"module 'fargo' has no attribute {name!r}")
