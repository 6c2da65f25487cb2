"""An App rebuilt from `python -m fargo.runtime --describe` (run in the project's interpreter).

Each job gets a stand-in function with the real one's file, line, name and arity, so fargo's
checks and messages read it as they read the real one; workflows name their jobs.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from fargo.app import App, TaskDefinition
from fargo.problems import Problem
from fargo.project.interpreter import python_and_env
from fargo.workflow import Each, Parallel, Step, WorkflowDefinition


def _stand_in(info: dict[str, Any]) -> Any:
    positional = info.get("positional")
    params = ["event", "context", "a2", "a3", "a4"][: positional or 0]
    if info.get("varargs"):
        params.append("*args")
    namespace: dict[str, Any] = {}
    exec(compile(f"def job({', '.join(params)}): pass\n", "<fargo>", "exec"), namespace)
    function = namespace["job"]
    function.__code__ = function.__code__.replace(
        co_filename=str(info.get("file") or "app.py"), co_firstlineno=int(info.get("line") or 1))
    function.__name__ = str(info.get("function") or "job")  # "name" is the job's own
    function.__qualname__ = str(info.get("qualname") or function.__name__)
    function.__module__ = str(info.get("module") or "app")
    return function


def _nodes(items: list[Any]) -> list[Any]:
    found: list[Any] = []
    for item in items:
        if "parallel" in item:
            found.append(Parallel([_nodes(b) for b in item["parallel"]]))
        elif "each" in item:
            found.append(Each(_nodes(item["each"]), item.get("over"),
                              item.get("max_concurrency", 0)))
        elif "list" in item:
            found.append(_nodes(item["list"]))
        else:
            job = item["step"]
            catch = item.get("catch")
            found.append(Step(job if isinstance(job, str) else object(), item.get("retries", 0),
                              item.get("interval", "30s"),
                              catch if isinstance(catch, str) or catch is None else object()))
    return found


def describe_app(root: Path, env: dict[str, str]) -> tuple[App | None, list[Problem]]:
    """The project's app as its own interpreter sees it, or the problem importing it."""
    python, extra = python_and_env(root)
    with tempfile.TemporaryDirectory(prefix="fargo-describe-") as scratch:
        output = Path(scratch) / "app.json"  # not stdout: app.py may print while imported
        try:
            done = subprocess.run([python, "-m", "fargo.runtime", "--describe"], cwd=root,
                                  env={**env, **extra, "FARGO_PROJECT_DIR": str(root),
                                       "FARGO_DESCRIBE_OUTPUT": str(output)},
                                  capture_output=True, text=True, timeout=300)
        except OSError as exc:
            return None, [Problem(f"cannot run the project's interpreter {python}: "
                                  f"{exc.strerror} (FARGO_PYTHON, or the project's .venv)",
                                  "app.py")]
        try:
            result = json.loads(output.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            result = None
    if not isinstance(result, dict):
        too_old = _too_old(python)
        if too_old:
            return None, [Problem(f"the project's interpreter {python} is Python {too_old}; "
                                  f"fargo's runtime needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} "
                                  "or newer (FARGO_PYTHON, or the project's .venv)", "app.py")]
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, [Problem(f"the project's interpreter {python} could not read the app: "
                              f"{tail}", "app.py")]
    return _read(root, result, python)


MIN_PYTHON = (3, 10)  # as the package's requires-python


def _too_old(python: str) -> str | None:
    """The interpreter's version when it is older than the runtime supports (asked only after
    a failure, so a working set-up pays nothing)."""
    try:
        asked = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, timeout=30)
        major, minor = (int(part) for part in asked.stdout.strip().split("."))
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return f"{major}.{minor}" if (major, minor) < MIN_PYTHON else None


def _relative(root: Path, file: str | None) -> str:
    if not file:
        return "app.py"
    try:
        return str(Path(file).resolve().relative_to(root.resolve()))
    except ValueError:
        return file


def _read(root: Path, result: dict[str, Any], python: str | None = None
          ) -> tuple[App | None, list[Problem]]:
    if "not_found" in result:
        return None, [Problem(str(result["not_found"]).split(": ", 1)[-1], "app.py")]
    if "syntax" in result:
        found = result["syntax"]
        return None, [Problem(f"syntax error: {found['message']}",
                              _relative(root, found.get("file")), f"line {found.get('line')}")]
    if "exit" in result:
        return None, [Problem(f"importing the app called sys.exit({result['exit']}); app.py "
                              "must only define jobs when imported (put script code under "
                              "if __name__ == \"__main__\":)", "app.py")]
    if "raised" in result:
        found = result["raised"]
        hint = ""
        if found["type"] == "ModuleNotFoundError":
            from fargo.project.interpreter import missing_module_hint, project_python

            hint = missing_module_hint(root, python if project_python(root) else None)
        return None, [Problem(f"importing the app failed: {found['type']}: {found['message']}"
                              f"{hint}", _relative(root, found.get("file")),
                              f"line {found['line']}" if found.get("line") else None)]
    data = result["ok"]
    app = App(data["app_name"])
    for task in data["tasks"]:
        app._record(TaskDefinition(task["name"], _stand_in(task), task["kind"],
                                   dict(task.get("settings") or {})))
    for name, first, second in data.get("duplicates", []):
        app.duplicates.append((TaskDefinition(name, _stand_in(first), "task"),
                               TaskDefinition(name, _stand_in(second), "task")))
    app.left_out = [(str(name), str(what)) for name, what in data.get("left_out", [])]
    for workflow in data.get("workflows", []):
        app.workflows.append(WorkflowDefinition(workflow["name"], _nodes(workflow["steps"]),
                                                dict(workflow.get("settings") or {})))
    return app, []
