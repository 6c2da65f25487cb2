"""Workflows as fargo checks and runs them: what app.workflow(...) recorded, resolved to jobs
of the project and checked against what Step Functions would refuse, one message per problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fargo import limits
from fargo.problems import Problem, did_you_mean
from fargo.project import names
from fargo.schedule.deadlines import Deadline

# Step Functions: a state machine name is at most 80 characters, a definition at most 1 MB, and
# an inline Map runs at most 40 iterations at once (its MaxConcurrency above that is not met).
STATE_MACHINE_NAME_MAX = 80
MAP_CONCURRENCY_MAX = 40
RETRIES_MAX = 10
WORKFLOW_TIMEOUT_MAX = 365 * 86400  # a standard workflow runs at most a year
PAYLOAD_MAX_BYTES = 256 * 1024  # what one state may pass to the next
NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class StepSpec:
    job: str
    retries: int = 0
    interval: int = 30  # seconds before the first retry; doubling after
    catch: str | None = None


@dataclass(frozen=True)
class ParallelSpec:
    branches: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True)
class EachSpec:
    body: tuple[Node, ...]
    over: str | None
    max_concurrency: int


Node = StepSpec | ParallelSpec | EachSpec


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    app_name: str
    stage: str
    steps: tuple[Node, ...]
    schedule: str | None
    timezone: str
    timeout: int | None  # seconds; None: Step Functions' own limit (a year)
    description: str | None
    deadline: Deadline | None = None  # by when each scheduled execution must have succeeded

    @property
    def full_name(self) -> str:
        return names.job_name(self.app_name, self.stage, self.name)

    @property
    def jobs(self) -> tuple[str, ...]:
        """Every job the workflow runs (steps and catches), each once, in order."""
        found: list[str] = []

        def walk(nodes: tuple[Node, ...]) -> None:
            for node in nodes:
                if isinstance(node, StepSpec):
                    found.extend(j for j in (node.job, node.catch) if j and j not in found)
                elif isinstance(node, ParallelSpec):
                    for branch in node.branches:
                        walk(branch)
                else:
                    walk(node.body)

        walk(self.steps)
        return tuple(found)


def describe(nodes: tuple[Node, ...]) -> str:
    """The steps in one line: extract → each files (2 at once): load → parallel(a | b)."""
    parts = []
    for node in nodes:
        if isinstance(node, StepSpec):
            text = node.job + (f" ×{node.retries + 1}" if node.retries else "")
            parts.append(text + (f" (catch: {node.catch})" if node.catch else ""))
        elif isinstance(node, ParallelSpec):
            parts.append("parallel(" + " | ".join(describe(b) for b in node.branches) + ")")
        else:
            limit = f", {node.max_concurrency} at once" if node.max_concurrency else ""
            parts.append(f"each {node.over or 'item'}{limit}: {describe(node.body)}")
    return " → ".join(parts)


class _Resolver:
    def __init__(self, definition: Any, jobs: dict[str, Any], functions: dict[int, str],
                 file: str) -> None:
        self.definition = definition
        self.jobs = jobs
        self.functions = functions
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(message, self.file,
                                     f"workflow {self.definition.name!r}: {where}"))

    def job(self, ref: Any, where: str) -> str | None:
        name = ref if isinstance(ref, str) else self.functions.get(id(ref))
        if name is None:
            shown = getattr(ref, "__name__", repr(ref))
            self.problem(where, f"{shown} is not a job of this app: a step is a function "
                         "declared with @app.task (or @app.schedule, @app.lambda_function), or "
                         "its name")
            return None
        if name not in self.jobs:
            self.problem(where, f"no job named {name!r}{did_you_mean(name, self.jobs)}")
            return None
        return name

    def nodes(self, items: Any, where: str) -> tuple[Node, ...]:
        from fargo.workflow import Each, Parallel, Step

        if not isinstance(items, (list, tuple)):
            items = [items]
        if not items:
            self.problem(where, "has no steps")
        found: list[Node] = []
        for index, item in enumerate(items):
            at = f"{where}[{index}]"
            if isinstance(item, Parallel):
                if len(item.branches) < 2:
                    self.problem(at, "parallel(...) needs at least two branches")
                branches = tuple(self.nodes(b, f"{at}.branch[{i}]")
                                 for i, b in enumerate(item.branches))
                found.append(ParallelSpec(branches))
            elif isinstance(item, Each):
                found.append(self.each(item, at))
            elif isinstance(item, (list, tuple)):
                self.problem(at, "a list of steps belongs in parallel(...) branches or "
                             "each(...); a workflow's own steps are written one after another")
            else:
                step = item if isinstance(item, Step) else Step(item)
                found.append(self.step(step, at))
        return tuple(found)

    def step(self, step: Any, where: str) -> StepSpec:
        from fargo.timeutil import parse_duration

        job = self.job(step.job, where) or "?"
        retries = step.retries
        if not isinstance(retries, int) or isinstance(retries, bool) \
                or not 0 <= retries <= RETRIES_MAX:
            self.problem(where, f"retries={retries!r}: must be a whole number from 0 to "
                         f"{RETRIES_MAX}")
            retries = 0
        interval = 30
        try:
            interval = int(parse_duration(step.interval, "interval"))
        except Exception:
            self.problem(where, f"interval={step.interval!r} is not a duration (e.g. '30s', "
                         "'5m')")
        if not 1 <= interval <= 99_999_999:
            self.problem(where, f"interval={step.interval!r}: Step Functions waits 1 second "
                         "to 99,999,999 seconds between attempts")
            interval = 30
        catch = self.job(step.catch, f"{where}.catch") if step.catch is not None else None
        return StepSpec(job, retries, interval, catch)

    def each(self, item: Any, where: str) -> EachSpec:
        over = item.over
        if over is not None and not (isinstance(over, str) and re.fullmatch(
                r"[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*", over)):
            self.problem(where, f"over={over!r}: name the key of the list in the event "
                         "(e.g. 'files', or 'batch.files'), or leave it out when the event is "
                         "the list")
            over = None
        concurrency = item.max_concurrency
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 0:
            self.problem(where, f"max_concurrency={concurrency!r}: a whole number, 0 meaning "
                         "as many as Step Functions allows")
            concurrency = 0
        elif concurrency > MAP_CONCURRENCY_MAX:
            self.problem(where, f"max_concurrency={concurrency}: an inline map runs at most "
                         f"{MAP_CONCURRENCY_MAX} iterations at once in Step Functions")
        return EachSpec(self.nodes(item.body, f"{where}.body"), over, concurrency)


def resolve_workflows(app: Any, app_name: str, stage: str, file: str
                      ) -> tuple[list[WorkflowSpec], list[Problem]]:
    """Every workflow of the app for one stage, and every problem found."""
    from fargo.project.deadline import resolve_deadline
    from fargo.schedule import ScheduleError, load_zone, parse, to_aws
    from fargo.timeutil import parse_duration

    jobs = dict(app.tasks)
    functions: dict[int, str] = {}
    for name, definition in jobs.items():
        functions[id(definition.handler)] = name
        functions[id(definition.function)] = name
    specs: list[WorkflowSpec] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for definition in app.workflows:
        resolver = _Resolver(definition, jobs, functions, file)
        name = definition.name
        if not isinstance(name, str) or not NAME.match(name):
            resolver.problem("name", "a workflow name is letters, digits, '_' and '-'")
            name = str(name)
        elif name in jobs:
            resolver.problem("name", f"{name!r} is also a job: give the workflow its own name "
                             "(fargo invoke and fargo run take either)")
        elif name in seen:
            resolver.problem("name", f"two workflows are named {name!r}")
        seen.add(name)
        full = names.job_name(app_name, stage, name)
        if len(full) > STATE_MACHINE_NAME_MAX:
            resolver.problem("name", f"its state machine {full!r} would be {len(full)} "
                             f"characters; Step Functions allows {STATE_MACHINE_NAME_MAX}")
        steps = resolver.nodes(definition.steps, "steps")
        settings = definition.settings
        schedule = settings.get("schedule")
        timezone = settings.get("timezone") or "UTC"
        if schedule is not None:
            try:
                schedule = parse(to_aws(schedule).expression).text
            except ScheduleError as exc:
                for message in exc.messages:
                    resolver.problem("schedule", message)
                schedule = None
        if schedule is not None and len(full) > limits.NAME_MAX:
            resolver.problem("name", f"its schedule {full!r} would be {len(full)} characters; "
                             f"EventBridge Scheduler allows {limits.NAME_MAX}: shorten the "
                             "workflow's name, or leave it unscheduled")
        description = settings.get("description")
        if isinstance(description, str):
            if schedule is not None and len(description) > limits.DESCRIPTION_MAX:
                resolver.problem("description", f"{len(description)} characters; a "
                                 f"schedule's description allows {limits.DESCRIPTION_MAX}")
            if any(c == "\0" or "\ud800" <= c <= "\udfff" for c in description):
                resolver.problem("description", "holds a NUL or a lone surrogate, which AWS "
                                 "refuses in a description")
        try:
            load_zone(timezone)
        except ScheduleError as exc:
            for message in exc.messages:
                resolver.problem("timezone", message)
        timeout = None
        if settings.get("timeout") is not None:
            try:
                timeout = int(parse_duration(settings["timeout"], "timeout"))
            except Exception:
                resolver.problem("timeout", f"{settings['timeout']!r} is not a duration")
            if timeout is not None and not 1 <= timeout <= WORKFLOW_TIMEOUT_MAX:
                resolver.problem("timeout", "a workflow runs from 1 second to a year")
        deadline, wrong = resolve_deadline(settings.get("deadline"), schedule)
        for message in wrong:
            resolver.problem("deadline", message)
        problems.extend(resolver.problems)
        if not resolver.problems:
            specs.append(WorkflowSpec(name, app_name, stage, steps, schedule, timezone,
                                      timeout, settings.get("description"), deadline))
    return specs, problems
