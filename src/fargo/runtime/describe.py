"""`python -m fargo.runtime --describe`: the project's jobs and workflows as JSON, from the
project's own interpreter.

When fargo runs from an environment of its own (pipx) and the project has another (its
.venv, with its own pinned libraries), app.py is imported here, in the project's interpreter,
with only this standard-library runtime on the path; fargo reads what the decorators recorded.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _function(definition: Any) -> dict[str, Any]:
    function = definition.function
    code = getattr(function, "__code__", None)
    positional = None
    varargs = False
    if code is not None:
        positional = code.co_argcount - (1 if hasattr(function, "__self__") else 0)
        varargs = bool(code.co_flags & 0x04)
    return {"file": getattr(code, "co_filename", None), "line": getattr(code, "co_firstlineno",
                                                                       None),
            "function": getattr(function, "__name__", definition.name),
            "qualname": getattr(function, "__qualname__", definition.name),
            "module": getattr(function, "__module__", "app"),
            "positional": positional, "varargs": varargs}


def _nodes(items: Any, names: dict[int, str]) -> Any:
    from fargo.workflow import Each, Parallel, Step

    if not isinstance(items, (list, tuple)):
        return _nodes([items], names)[0]
    found: list[Any] = []
    for item in items:
        if isinstance(item, Parallel):
            found.append({"parallel": [_nodes(b if isinstance(b, (list, tuple)) else [b], names)
                                       for b in item.branches]})
        elif isinstance(item, Each):
            found.append({"each": _nodes(item.body, names), "over": item.over,
                          "max_concurrency": item.max_concurrency})
        elif isinstance(item, (list, tuple)):
            found.append({"list": _nodes(item, names)})
        else:
            step = item if isinstance(item, Step) else Step(item)
            found.append({"step": _ref(step.job, names), "retries": step.retries,
                          "interval": step.interval,
                          "catch": None if step.catch is None else _ref(step.catch, names)})
    return found


def _ref(job: Any, names: dict[int, str]) -> Any:
    if isinstance(job, str):
        return job
    return names.get(id(job), {"unknown": getattr(job, "__name__", repr(job))})


def describe(root: str) -> dict[str, Any]:
    from fargo.runtime.loader import find_app, import_app_module

    app = find_app(import_app_module(root))
    names: dict[int, str] = {}
    for name, definition in app.tasks.items():
        names[id(definition.handler)] = name
        names[id(definition.function)] = name
    return {
        "app_name": app.app_name,
        "tasks": [{"name": d.name, "kind": d.kind, "settings": d.settings, **_function(d)}
                  for d in app.tasks.values()],
        "duplicates": [[first.name, _function(first), _function(second)]
                       for first, second in app.duplicates],
        "left_out": [list(pair) for pair in getattr(app, "left_out", [])],
        "workflows": [{"name": w.name, "settings": w.settings, "steps": _nodes(w.steps, names)}
                      for w in app.workflows],
    }


def main() -> int:
    from fargo.runtime.loader import AppNotFound, project_root

    root = project_root()
    try:
        result: dict[str, Any] = {"ok": describe(root)}
    except AppNotFound as exc:
        result = {"not_found": str(exc)}
    except SyntaxError as exc:
        result = {"syntax": {"message": exc.msg, "file": exc.filename, "line": exc.lineno}}
    except SystemExit as exc:
        result = {"exit": repr(exc.code)}
    except BaseException as exc:  # the user's module raised while importing
        frames = traceback.extract_tb(exc.__traceback__)
        real_root = os.path.realpath(root)
        inside = [f for f in frames if not f.filename.startswith("<")
                  and os.path.realpath(f.filename).startswith(real_root + os.sep)]
        where = inside[-1] if inside else None
        result = {"raised": {"type": type(exc).__name__, "message": str(exc),
                             "file": where.filename if where else None,
                             "line": where.lineno if where else None}}
    text = json.dumps(result, default=repr) + "\n"
    target = os.environ.get("FARGO_DESCRIBE_OUTPUT")
    if target:  # a file of its own: app.py may print anything while it is imported
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0
