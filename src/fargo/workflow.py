"""Workflows of jobs, declared in app.py: a sequence of steps, parallel branches, a map.

    app.workflow("nightly", extract, each(load, over="files", max_concurrency=4),
                 parallel(report, [archive, notify]), step(publish, retries=2, catch=alert),
                 schedule="cron(0 2 * * ? *)", timezone="Europe/Berlin", timeout="6h")

A step names a job (its function, or its name). One step's return value is the next step's
event. These classes only record the shape; fargo checks it when it loads the project and runs
it locally or as a Step Functions state machine. Standard library only, and no imports at all
(app.py imports this module in every job).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Step:
    """One job as a step: `retries` more attempts `interval` apart (doubling), then `catch`:
    a job that gets {"Error": ..., "Cause": ...} and whose result the workflow goes on with."""

    __slots__ = ("catch", "interval", "job", "retries")

    def __init__(self, job: Any, retries: int = 0, interval: Any = "30s",
                 catch: Any = None) -> None:
        self.job = job
        self.retries = retries
        self.interval = interval
        self.catch = catch

    def __repr__(self) -> str:
        return f"step({_name(self.job)!r}, retries={self.retries!r})"


class Parallel:
    """Branches run at once on the same event; the result is the list of their results."""

    __slots__ = ("branches",)

    def __init__(self, branches: list[Any]) -> None:
        self.branches = branches

    def __repr__(self) -> str:
        return f"parallel({len(self.branches)} branches)"


class Each:
    """The body runs once per item of the list at key `over` of the event (the event itself
    when `over` is None), at most `max_concurrency` at once (0: as many as allowed); the result
    is the list of the iterations' results, in order."""

    __slots__ = ("body", "max_concurrency", "over")

    def __init__(self, body: Any, over: Any, max_concurrency: Any) -> None:
        self.body = body
        self.over = over
        self.max_concurrency = max_concurrency

    def __repr__(self) -> str:
        return f"each(over={self.over!r}, max_concurrency={self.max_concurrency!r})"


class WorkflowDefinition:
    """What app.workflow(...) recorded: the name, the steps and the settings as written."""

    __slots__ = ("name", "settings", "steps")

    def __init__(self, name: Any, steps: list[Any], settings: dict[str, Any]) -> None:
        self.name = name
        self.steps = steps
        self.settings = settings

    def __repr__(self) -> str:
        return f"WorkflowDefinition({self.name!r}, {len(self.steps)} steps)"


def step(job: Any, *, retries: int = 0, interval: Any = "30s", catch: Any = None) -> Step:
    """A job as a step with retries and/or a catch."""
    return Step(job, retries, interval, catch)


def parallel(*branches: Any) -> Parallel:
    """Branches run at once: each a step, or a list of steps run in order."""
    return Parallel(list(branches))


def each(*body: Any, over: Any = None, max_concurrency: Any = 0) -> Each:
    """A map: the steps in `body` run in order for each item of the list at key `over`."""
    return Each(list(body), over, max_concurrency)


def _name(job: Any) -> Any:
    return getattr(job, "__name__", job)
