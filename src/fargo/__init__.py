"""fargo: scheduled ETL jobs as plain Python functions, run locally, on Lambda or on Fargate.

Kept light on purpose: the job runtime imports this package on every run.
"""

from fargo.app import App, Blueprint, Cron, Rate
from fargo.workflow import each, parallel, step

__version__ = "0.1.0"
__all__ = ["App", "Blueprint", "Cron", "Rate", "__version__", "each", "parallel", "step"]
