"""fargo: scheduled ETL jobs as plain Python functions, run locally, on Lambda or on Fargate.

Kept light on purpose: the job runtime imports this package on every run. Blueprint, Rate,
Cron and the workflow helpers (each, parallel, step) load only when app.py asks for them.
"""

from fargo.app import App

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fargo.blueprint import Blueprint
    from fargo.rate_cron import Cron, Rate
    from fargo.workflow import each, parallel, step

__version__ = "0.1.0"
__all__ = ["App", "Blueprint", "Cron", "Rate", "__version__", "each", "parallel", "step"]


_LAZY = {"Blueprint": "blueprint", "Cron": "rate_cron", "Rate": "rate_cron", "each": "workflow",
         "parallel": "workflow", "step": "workflow"}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is not None:
        return getattr(__import__(f"fargo.{module}", fromlist=[name]), name)
    raise AttributeError(f"module 'fargo' has no attribute {name!r}")
