"""fargo's schedule engine: AWS rate/cron/at expressions, validated and iterated exactly.

Imports nothing else of fargo. Public surface:
- `to_aws(text)`: friendly form to AWS form, with a notice;
- `parse(text)`: AWS form to an `Expression` (Rate | Cron | At), or ScheduleError;
- `load_zone(name)`: IANA zone, or ScheduleError;
- `iter_fires` / `next_fires`: fire instants in UTC, with Scheduler's DST rules.
"""

from fargo.schedule.cron import Cron
from fargo.schedule.errors import ScheduleError
from fargo.schedule.expressions import At, Expression, Rate, parse
from fargo.schedule.fires import iter_fires, local_to_utc, next_fires
from fargo.schedule.friendly import Converted, to_aws
from fargo.schedule.zones import UTC, load_zone

__all__ = [
    "UTC",
    "At",
    "Converted",
    "Cron",
    "Expression",
    "Rate",
    "ScheduleError",
    "iter_fires",
    "load_zone",
    "local_to_utc",
    "next_fires",
    "parse",
    "to_aws",
]
