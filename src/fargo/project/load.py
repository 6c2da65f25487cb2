"""Load a project: config + app.py -> validated Project for one stage, or every problem found."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fargo import limits
from fargo.app import App
from fargo.problems import Problem, ProblemsError, did_you_mean, listed
from fargo.project import names
from fargo.project.config import read_config
from fargo.project.model import Project, TaskSpec
from fargo.project.paths import CONFIG_FILE
from fargo.project.resolve import relative_path, resolve_stage, resolve_task
from fargo.project.workflows import resolve_workflows
from fargo.runtime.loader import AppNotFound, find_app, import_app_module

DEFAULT_STAGE = "dev"


@dataclass
class Checked:
    """Everything `fargo validate` reports: a Project per stage that resolved, all problems."""

    projects: list[Project] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def stage_environment(config: dict[str, Any] | None, stage: str) -> dict[str, str]:
    """The environment app.py is imported with for `stage`: top level < stages.<stage>.

    Chalice sets a stage's environment variables before it imports app.py, so a schedule or a
    setting may depend on them; every job runs with them too.
    """
    env: dict[str, str] = {}
    for level in ((config or {}), ((config or {}).get("stages") or {}).get(stage) or {}):
        values = level.get("environment_variables") if isinstance(level, dict) else None
        if isinstance(values, dict):
            env.update({str(k): str(v) for k, v in values.items() if isinstance(v, str)})
    return env


@contextlib.contextmanager
def environment(env: dict[str, str] | None) -> Iterator[None]:
    """`env` set in the process environment for the block, the previous values restored after
    (a stage's variables while its app.py is imported, as Chalice does)."""
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _import_app(root: Path, env: dict[str, str] | None = None, fresh: bool = False
                ) -> tuple[App | None, list[Problem]]:
    """Import app.py with `env` set (and the process environment restored after); in the
    project's own interpreter when it has one (project/interpreter.py), and in a fresh one
    when `fresh` (a second stage: libraries with import-time registries, such as pydantic 1's
    validators, refuse to see the project's modules run twice in one interpreter, and Chalice
    imports the app once per process). So is any later import of the same project."""
    from fargo.project.interpreter import project_python

    if fresh or root in _IMPORTED or project_python(root) is not None:
        from fargo.project.described import describe_app

        return describe_app(root, {**os.environ, **(env or {})})
    _IMPORTED.add(root)
    with environment(env), _stdout_to_stderr():
        return _import(root)


_IMPORTED: set[Path] = set()  # projects whose app.py this process has run once already


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """What app.py prints while imported goes to stderr: stdout is fargo's (`--json` output
    that scripts parse). At the descriptor too, for C extensions and child processes."""
    sys.stdout.flush()
    saved: int | None = None
    with contextlib.suppress(OSError):  # without descriptors 1 and 2: Python's level only
        saved = os.dup(1)
        os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _import(root: Path) -> tuple[App | None, list[Problem]]:
    try:
        return find_app(import_app_module(root)), []
    except AppNotFound as exc:
        return None, [Problem(str(exc).split(": ", 1)[-1], "app.py")]
    except SyntaxError as exc:
        file = relative_path(root, exc.filename) or "app.py"
        assert file is not None
        return None, [Problem(f"syntax error: {exc.msg}", file, f"line {exc.lineno}")]
    except SystemExit as exc:
        return None, [Problem(f"importing the app called sys.exit({exc.code!r}); app.py must "
                              "only define jobs when imported (put script code under "
                              "if __name__ == \"__main__\":)", "app.py")]
    except Exception as exc:  # the user's module raised while importing
        frames = traceback.extract_tb(exc.__traceback__)
        inside = [f for f in frames if not f.filename.startswith("<")
                  and Path(f.filename).resolve().is_relative_to(root)]
        where = inside[-1] if inside else None
        shown = relative_path(root, where.filename) if where else "app.py"
        key = f"line {where.lineno}" if where else None
        hint = ""
        if isinstance(exc, ModuleNotFoundError):
            from fargo.project.interpreter import missing_module_hint

            hint = missing_module_hint(root)
        return None, [Problem(f"importing the app failed: {type(exc).__name__}: {exc}{hint}",
                              shown, key)]


def stage_names(config: dict[str, Any] | None) -> list[str]:
    stages = list(((config or {}).get("stages") or {}).keys())
    return stages or [DEFAULT_STAGE]


def pick_stage(config: dict[str, Any] | None, requested: str | None) -> tuple[str, list[Problem]]:
    stages = stage_names(config)
    if requested is not None:
        if requested in stages:
            return requested, []
        return requested, [Problem(f"stage {requested!r} is not defined (stages: "
                                   f"{', '.join(stages)}){did_you_mean(requested, stages)}",
                                   CONFIG_FILE, "stages")]
    if DEFAULT_STAGE in stages:
        return DEFAULT_STAGE, []
    if len(stages) == 1:
        return stages[0], []
    return stages[0], [Problem(f"several stages ({', '.join(stages)}); choose one with --stage",
                               CONFIG_FILE, "stages")]


def check(root: Path, stages: list[str] | None = None,
          read: tuple[dict[str, Any] | None, list[Problem]] | None = None) -> Checked:
    """Validate the project for the given stages (default: all), collecting every problem.

    `read` is the result of read_config when the caller has it already (read once).
    """
    result = Checked()
    config, config_problems = read if read is not None else read_config(root)
    result.problems.extend(config_problems)
    wanted = stages if stages is not None else stage_names(config)
    apps: dict[str, App | None] = {}
    for index, stage in enumerate(wanted or [DEFAULT_STAGE]):
        # each stage imports app.py with its environment, the second and later in a fresh
        # interpreter each
        apps[stage], app_problems = _import_app(root, stage_environment(config, stage),
                                                fresh=index > 0)
        for problem in app_problems:
            if problem not in result.problems:
                result.problems.append(problem)
    app = next((a for a in apps.values() if a is not None), None)
    if app is None:
        return result
    for first, second in app.duplicates:
        result.problems.append(Problem(
            f"two jobs are named {first.name!r}: {first.location} and {second.location}; "
            "give one a different name=", relative_path(root, _file_of(second)), second.location))
    by_lower: dict[str, str] = {}
    for name in sorted(app.tasks):
        other = by_lower.setdefault(name.lower(), name)
        if other != name:
            result.problems.append(Problem(
                f"jobs {other!r} and {name!r} differ only in case; IAM role names ignore case, "
                "so their roles would collide: rename one", "app.py"))
    if config is None:
        return result
    given = config.get("leave_behind")
    left: list[Any] = given if isinstance(given, list) else []
    for name, what in app.left_out:
        if name in left:
            result.notices.append(Problem(f"{what}: left out, as leave_behind says (Chalice "
                                          "keeps deploying it)", "app.py", name, "notice"))
        else:
            result.problems.append(Problem(
                f"{what}: fargo does not carry this handler, so a stage deployed by fargo "
                "leaves it out and what feeds it stops silently; keep it deployed by Chalice "
                f"and add {name!r} to leave_behind in {CONFIG_FILE}", "app.py", name))
    app_name = config.get("app_name") or app.app_name
    stage_list = stage_names(config)
    seen_stages: dict[str, str] = {}
    for stage in stage_list:
        other = seen_stages.setdefault(stage.lower(), stage)
        if other != stage:
            result.problems.append(Problem(
                f"stages {other!r} and {stage!r} differ only in case; IAM role names ignore "
                "case, so their roles would collide: rename one", CONFIG_FILE, "stages"))
    if config.get("app_name") and config["app_name"] != app.app_name:
        if any(t.kind.startswith("chalice_") for t in app.tasks.values()):
            # Chalice deploys under its config's app_name whatever app.py says; so does fargo
            result.notices.append(Problem(
                f"is {config['app_name']!r} and app.py says Chalice(app_name="
                f"{app.app_name!r}): the jobs are deployed as {config['app_name']}-<stage>-<job>, "
                "as Chalice deploys them", CONFIG_FILE, "app_name", "notice"))
        else:
            result.problems.append(Problem(
                f"is {config['app_name']!r} but app.py says App({app.app_name!r}); make them "
                "equal", CONFIG_FILE, "app_name"))
    for section, where in [(config.get("tasks") or {}, "tasks")] + [
        ((conf or {}).get("tasks") or {}, f"stages.{name}.tasks")
        for name, conf in (config.get("stages") or {}).items()
    ]:
        for name in section:
            if name not in app.tasks:
                result.problems.append(Problem(
                    f"no job named {name!r} in app.py{did_you_mean(name, app.tasks)} "
                    f"(jobs: {listed(sorted(app.tasks)) or 'none'})",
                    CONFIG_FILE, f"{where}.{name}"))
    seen: set[tuple[str | None, str | None, str]] = set()
    for stage in stages or stage_names(config):
        if stage not in apps:
            apps[stage], _ = _import_app(root, stage_environment(config, stage), fresh=True)
        stage_app = apps[stage]
        if stage_app is None:
            continue
        project = _resolve(root, stage_app, app_name, config, stage, result, seen)
        if project is not None:
            result.projects.append(project)
    return result


def _file_of(definition: Any) -> str:
    code = getattr(definition.function, "__code__", None)
    return str(getattr(code, "co_filename", "app.py"))


def _resolve(root: Path, app: App, app_name: str, config: dict[str, Any], stage: str,
             result: Checked, seen: set[tuple[str | None, str | None, str]]) -> Project | None:
    stage_spec, stage_problems = resolve_stage(config, stage)
    problems = list(stage_problems)
    notices: list[Problem] = []
    specs: list[TaskSpec] = []
    for name in sorted(app.tasks):
        spec, task_problems, task_notices = resolve_task(root, app_name, stage, config,
                                                         app.tasks[name])
        problems.extend(task_problems)
        notices.extend(task_notices)
        if spec is not None:
            specs.append(spec)
    if stage_spec.schedule_backend == "rules":
        for spec in specs:
            if spec.schedule and (spec.timezone != "UTC" or spec.schedule.startswith("at(")):
                problems.append(Problem(
                    f"job {spec.name!r} needs EventBridge Scheduler ({spec.schedule} in "
                    f"{spec.timezone}): EventBridge rules run in UTC and have no at(); use "
                    "schedule_backend: scheduler", CONFIG_FILE,
                    f"stages.{stage}.schedule_backend"))
    for other in stage_names(config):
        if other != stage and other.startswith(stage + "-"):
            problems.append(Problem(
                f"stage {other!r} starts with {stage!r} + '-': AWS names <app>-{stage}-<job> "
                f"and <app>-{other}-<job> could collide; rename one", CONFIG_FILE,
                f"stages.{other}"))
    if (any(t.compute == "fargate" for t in specs) and stage_spec.image is None
            and not re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", app_name)):
        problems.append(Problem(
            f"{app_name!r} cannot name the app's ECR repository (lowercase letters, digits and "
            "single '.', '_' or '-' between them): rename the app, or set the stage's image to "
            "a repository of yours", CONFIG_FILE, "app_name"))
    if _ships_chalice(root):
        notices.append(Problem(
            "the code imports chalice and requirements.txt does not list it: fargo ships "
            "Chalice's runtime module (chalice/app.py) with the jobs, as Chalice does",
            "requirements.txt", None, "notice"))
    from fargo.patterns.s3 import overlapping

    notified = [(t.name, dict(trigger)) for t in specs if t.compute == "lambda"
                for trigger in t.s3]  # Lambda jobs' triggers are the bucket's notifications
    for message in overlapping(notified):
        problems.append(Problem(message, "app.py"))
    offline = [t.name for t in specs if t.compute == "fargate" and not t.subnets]
    if offline:
        notices.append(Problem(
            f"no subnets for {listed(offline)}: Fargate jobs need subnets (and "
            "security_groups) to deploy; local runs work without", CONFIG_FILE,
            f"stages.{stage}", "warning"))
    workflows, workflow_problems = resolve_workflows(app, app_name, stage, "app.py")
    problems.extend(workflow_problems)
    longest = max(names.stage_names(app_name, stage, runner=any(t.uses_runner for t in specs),
                                    workflows=bool(workflows),
                                    events=any(t.rule_patterns for t in specs)), key=len)
    if len(longest) > limits.NAME_MAX:
        problems.append(Problem(
            f"the stage's resource name {longest!r} would be {len(longest)} characters; "
            f"IAM and EventBridge allow {limits.NAME_MAX}: shorten the app or stage name "
            f"by {len(longest) - limits.NAME_MAX}", CONFIG_FILE, f"stages.{stage}"))
    for kind, name in [*(("job", t.name) for t in specs), *(("workflow", w.name)
                                                          for w in workflows)]:
        if name in names.STAGE_SUFFIXES:
            problems.append(Problem(
                f"{kind} {name!r} would be named {names.prefix(app_name, stage)}-{name}, as "
                "one of the stage's own resources is: rename it", "app.py"))
    for problem in problems:
        marker = (problem.file, problem.key, problem.message)
        if marker not in seen:
            seen.add(marker)
            result.problems.append(problem)
    for notice in notices:
        marker = (notice.file, notice.key, notice.message)
        if marker not in seen:
            seen.add(marker)
            result.notices.append(notice)
    if problems:
        return None
    return Project(root=root, app_name=app_name, stage=stage_spec,
                   stages=tuple(stage_names(config)), tasks=tuple(specs),
                   notices=tuple(notices), workflows=tuple(workflows))


def load_project(root: Path, stage: str | None = None) -> Project:
    """The validated Project for one stage; raises ProblemsError with every problem found."""
    read = read_config(root)
    chosen, stage_problems = pick_stage(read[0], stage)
    result = check(root, [chosen] if not stage_problems else [], read)
    problems = [*stage_problems, *result.problems]
    if problems or not result.projects:
        raise ProblemsError(problems or [Problem("no stage could be loaded", CONFIG_FILE)])
    return result.projects[0]


def _ships_chalice(root: Path) -> bool:
    from fargo.project.paths import project_files
    from fargo.project.requirements import imports_chalice, requirements_list_chalice

    return imports_chalice([p for _, p in project_files(root)]) \
        and not requirements_list_chalice(root)
