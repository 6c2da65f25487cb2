"""App and its decorators: they only record plain metadata about each job.

Chalice-compatible names (`schedule`, `lambda_function`, and `Rate`, `Cron` and `Blueprint` in
modules of their own) let a Chalice project's handlers run unchanged; `task(...)` is fargo's own
decorator with the job's compute settings. Standard library only, and no more than every job
needs: the runtime imports (or compiles) this module at every start.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and dataclasses are not imported at run time: every job starts here
    from collections.abc import Callable
    from typing import Any, Literal, TypeVar

    from fargo.workflow import WorkflowDefinition

    F = TypeVar("F", bound=Callable[..., Any])
    # How a job was declared (the closed set; chalice_* come from a chalice.Chalice app).
    Kind = Literal["task", "schedule", "lambda_function", "chalice_schedule",
                   "chalice_on_cw_event", "chalice_on_s3_event", "chalice_lambda_function",
                   "chalice_on_sns_message", "chalice_on_sqs_message",
                   "chalice_on_dynamodb_record", "chalice_on_kinesis_record"]

class TaskDefinition:
    """What a decorator recorded: the job's name, its function and its author's settings."""

    __slots__ = ("handler", "kind", "name", "settings")

    def __init__(self, name: str, handler: Callable[..., Any], kind: Kind,
                 settings: dict[str, Any] | None = None) -> None:
        self.name = name
        self.handler = handler
        self.kind = kind
        self.settings = settings or {}

    def __repr__(self) -> str:
        return f"TaskDefinition({self.name!r}, kind={self.kind!r}, settings={self.settings!r})"

    @property
    def function(self) -> Callable[..., Any]:
        """The user's function (Chalice wraps handlers in objects that keep it as `.func`)."""
        return getattr(self.handler, "func", self.handler)

    @property
    def decorator(self) -> str:
        """The decorator that declared the job, for messages: task, schedule, ..."""
        return self.kind.removeprefix("chalice_")

    @property
    def location(self) -> str:
        """module:function, for messages."""
        function = self.function
        module = getattr(function, "__module__", "?")
        return f"{module}:{getattr(function, '__qualname__', self.name)}"


def _schedule_text(expression: Any) -> Any:
    """AWS text of fargo's or Chalice's Rate/Cron objects; strings pass through."""
    to_string = getattr(expression, "to_string", None)
    return to_string() if callable(to_string) else expression


class _Registry:
    """Shared decorator logic of App and Blueprint."""

    def __init__(self) -> None:
        self._pending: list[TaskDefinition] = []
        self._workflows: list[WorkflowDefinition] = []

    def _record(self, definition: TaskDefinition) -> None:
        self._pending.append(definition)

    def workflow(self, name: str, *steps: Any, schedule: Any = None, timezone: str | None = None,
                 timeout: Any = None, description: str | None = None,
                 deadline: str | None = None) -> WorkflowDefinition:
        """Declare a workflow of this app's jobs (see fargo.workflow): steps run in order, one
        step's result the next one's event; optionally on a schedule, with an overall timeout."""
        from fargo.workflow import WorkflowDefinition

        settings = {"schedule": _schedule_text(schedule), "timezone": timezone,
                    "timeout": timeout, "description": description, "deadline": deadline}
        definition = WorkflowDefinition(name, list(steps),
                                        {k: v for k, v in settings.items() if v is not None})
        self._workflows.append(definition)
        return definition

    def task(self, schedule: Any = None, *, name: str | None = None, compute: str = "fargate",
             timezone: str | None = None, cpu: Any = None, memory: Any = None,
             timeout: Any = None, retries: int | None = None,
             description: str | None = None, events: Any = None, s3: Any = None,
             deadline: str | None = None) -> Any:
        """Declare a job. Arguments are the job's defaults; `.fargo/config.json` may override.

        `events` is an EventBridge event pattern (or a list of them) that starts the job too;
        `s3` an S3 trigger ({"bucket": ..., "events": [...], "prefix": ..., "suffix": ...}).
        `@app.task` without parentheses declares an on-demand job with every default.
        """
        if name is not None and not isinstance(name, str):
            raise TypeError(f"@app.task(name=...) must be a string, found {name!r}")
        if callable(schedule) and hasattr(schedule, "__code__"):
            function, schedule = schedule, None
            return self.task(name=name, compute=compute, timezone=timezone, cpu=cpu,
                             memory=memory, timeout=timeout, retries=retries,
                             description=description, events=events, s3=s3,
                             deadline=deadline)(function)
        settings = {
            "schedule": _schedule_text(schedule), "compute": compute, "timezone": timezone,
            "cpu": cpu, "memory": memory, "timeout": timeout, "retries": retries,
            "description": description, "deadline": deadline,
            "events": [events] if isinstance(events, dict) else events,
            "s3": [s3] if isinstance(s3, dict) else s3,
        }

        def register(fn: F) -> F:
            kept = {k: v for k, v in settings.items() if v is not None}
            self._record(TaskDefinition(name or fn.__name__, fn, "task", kept))
            return fn

        return register

    def schedule(self, expression: Any, name: str | None = None,
                 description: str = "") -> Callable[[F], F]:
        """Chalice's @app.schedule: a scheduled function (Lambda unless config says fargate)."""

        def register(fn: F) -> F:
            settings: dict[str, Any] = {"schedule": _schedule_text(expression),
                                        "compute": "lambda"}
            if description:
                settings["description"] = description
            self._record(TaskDefinition(name or fn.__name__, fn, "schedule", settings))
            return fn

        return register

    def lambda_function(self, name: str | None = None) -> Callable[[F], F]:
        """Chalice's @app.lambda_function: a plain function called with (event, context)."""

        def register(fn: F) -> F:
            self._record(
                TaskDefinition(name or fn.__name__, fn, "lambda_function", {"compute": "lambda"})
            )
            return fn

        return register


class App(_Registry):
    """A fargo application: `app = App("name")` in the project's app.py."""

    def __init__(self, app_name: str, **_chalice_options: Any) -> None:
        super().__init__()
        self.app_name = app_name
        self.tasks: dict[str, TaskDefinition] = {}
        self.duplicates: list[tuple[TaskDefinition, TaskDefinition]] = []
        # Chalice handlers fargo does not carry (websockets, unknown sources): (name, what)
        self.left_out: list[tuple[str, str]] = []

    @property
    def workflows(self) -> list[WorkflowDefinition]:
        return self._workflows

    def _record(self, definition: TaskDefinition) -> None:
        existing = self.tasks.get(definition.name)
        if existing is not None:
            self.duplicates.append((existing, definition))
            return
        self.tasks[definition.name] = definition

    def register_blueprint(self, blueprint: _Registry, name_prefix: str | None = None,
                           url_prefix: str | None = None) -> None:
        """Add a blueprint's jobs, their names prefixed with `name_prefix` (as in Chalice)."""
        del url_prefix  # HTTP routes are not fargo's business
        prefix = name_prefix or ""
        for definition in blueprint._pending:
            self._record(TaskDefinition(prefix + definition.name, definition.handler,
                                        definition.kind, dict(definition.settings)))
        for workflow in blueprint._workflows:  # steps name functions: prefixes follow them
            workflow.name = prefix + str(workflow.name)
            self._workflows.append(workflow)


def is_chalice_app(obj: Any) -> bool:
    return type(obj).__name__ == "Chalice" and type(obj).__module__.startswith("chalice")
