"""fargo: scheduled ETL jobs as plain Python functions, run locally, on Lambda or on Fargate.

Kept light on purpose: the job runtime imports this package on every run.
"""

__version__ = "0.1.0"
