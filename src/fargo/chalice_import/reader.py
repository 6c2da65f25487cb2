"""Read a Chalice project's functions: by importing app.py as Chalice does, else by parsing it.

Importing is exact — computed names and schedules, an app built in another module, any
decorator of the project's own — and runs app.py with the first stage's environment set, as
Chalice does. When it cannot be imported here (chalice not installed, the import fails),
app.py and chalicelib/ are parsed with `ast` instead, and the caller is told why.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fargo.problems import Problem, ProblemsError

DECORATORS = ("schedule", "lambda_function", "on_cw_event", "on_s3_event", "on_sns_message",
              "on_sqs_message", "on_dynamodb_record", "on_kinesis_record")


@dataclass(frozen=True)
class ChaliceFunction:
    """One function Chalice deploys as a Lambda function (HTTP routes are not fargo's)."""

    name: str  # the Chalice function name (name_prefix + name= or the def's name)
    function: str  # the Python def
    file: str
    kind: str  # schedule | lambda_function | on_cw_event | on_s3_event
    schedule: str | None = None


@dataclass
class ChaliceApp:
    app_name: str
    functions: list[ChaliceFunction] = field(default_factory=list)
    routes: int = 0
    other_events: list[tuple[str, str]] = field(default_factory=list)  # (function, what)


_RATE_UNITS = {"MINUTES": "minutes", "HOURS": "hours", "DAYS": "days"}


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Attribute) and node.attr in _RATE_UNITS:
        return node.attr
    return ast.literal_eval(node)


def _schedule(node: ast.AST) -> str:
    """The AWS text of a schedule argument: a string, Rate(...) or Cron(...)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call):
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else \
            getattr(node.func, "id", "")
        args = [_literal(a) for a in node.args]
        kwargs = {k.arg: _literal(k.value) for k in node.keywords if k.arg}
        if callee == "Rate":
            value = args[0] if args else kwargs["value"]
            unit = _RATE_UNITS[str(args[1] if len(args) > 1 else kwargs["unit"])]
            return f"rate({value} {unit[:-1] if value == 1 else unit})"
        if callee == "Cron":
            names = ["minutes", "hours", "day_of_month", "month", "day_of_week", "year"]
            values = [*args, *(kwargs[n] for n in names[len(args):])]
            return "cron(" + " ".join(str(v) for v in values) + ")"
    raise ValueError(ast.unparse(node))


def _decorated(tree: ast.Module, owners: set[str], file: str,
               problems: list[Problem]
               ) -> tuple[list[ChaliceFunction], int, list[tuple[str, str]]]:
    functions: list[ChaliceFunction] = []
    routes = 0
    others: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                    and isinstance(decorator.func.value, ast.Name)
                    and decorator.func.value.id in owners):
                continue
            kind = decorator.func.attr
            if kind == "route":
                routes += 1
                continue
            if kind not in DECORATORS:
                if kind.startswith("on_"):
                    others.append((node.name, f"@{decorator.func.value.id}.{kind}"))
                continue
            kwargs = {k.arg: k.value for k in decorator.keywords if k.arg}
            name = node.name
            if "name" in kwargs:
                name = _literal(kwargs["name"])
            elif kind == "lambda_function" and decorator.args:
                name = _literal(decorator.args[0])
            schedule = None
            if kind == "schedule":
                target = decorator.args[0] if decorator.args else kwargs.get("expression")
                try:
                    schedule = _schedule(target) if target is not None else None
                except (ValueError, KeyError, IndexError, SyntaxError):
                    # computed (from an environment variable, say): fargo imports the app per
                    # stage, as Chalice does, and reads the schedule there
                    schedule = None
            if kind == "schedule" and "name" in kwargs:
                name = _literal(kwargs["name"])
            functions.append(ChaliceFunction(name, node.name, file, kind, schedule))
    return functions, routes, others


def _owners(tree: ast.Module, constructor: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            callee = node.value.func
            called = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            if called == constructor:
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def read_app(root: Path) -> tuple[ChaliceApp, str | None]:
    """The project's functions, and why app.py was parsed rather than imported (None: it was
    imported)."""
    imported = imported_app(root)
    if isinstance(imported, ChaliceApp):
        return imported, None
    return parsed_app(root), imported


def imported_app(root: Path) -> ChaliceApp | str:
    """The functions the Chalice app registers, by importing app.py; else why it cannot."""
    from fargo.project.load import environment, stage_environment
    from fargo.runtime.loader import AppNotFound, import_app_module

    try:
        import chalice  # noqa: F401  # the project's own framework, where fargo runs
    except ImportError:
        return "chalice is not installed where fargo runs"
    config = _chalice_config(root)
    stages = sorted((config.get("stages") or {}) if isinstance(config, dict) else {})
    env = stage_environment(config if isinstance(config, dict) else None,
                            stages[0] if stages else "dev")
    try:
        with environment(env):
            module = import_app_module(root)
    except (AppNotFound, FileNotFoundError):
        return "no app.py"
    except BaseException as exc:  # the project's import failed: the parser may still read it
        return f"importing app.py failed ({type(exc).__name__}: {exc})"
    from fargo.app import is_chalice_app

    candidates = [getattr(module, "app", None), *vars(module).values()]
    chalice_app = next((c for c in candidates if is_chalice_app(c)), None)
    if chalice_app is None:
        return "app.py defines no Chalice app object"
    return _registered(root, chalice_app)


def _registered(root: Path, chalice_app: Any) -> ChaliceApp:
    from fargo.app import _schedule_text

    result = ChaliceApp(str(chalice_app.app_name))
    from fargo.runtime.chalice import SOURCES

    kinds = {"ScheduledEventConfig": "schedule", "CloudWatchEventConfig": "on_cw_event",
             "S3EventConfig": "on_s3_event", **SOURCES}
    for source in getattr(chalice_app, "event_sources", []):
        kind = kinds.get(type(source).__name__)
        handler = chalice_app.handler_map.get(source.name)
        if kind is None or handler is None:
            result.other_events.append((source.name, type(source).__name__))
            continue
        schedule = getattr(source, "schedule_expression", None)
        result.functions.append(ChaliceFunction(
            source.name, _def_name(handler), _file_of(root, handler), kind,
            _schedule_text(schedule) if schedule is not None else None))
    for function in getattr(chalice_app, "pure_lambda_functions", []):
        handler = chalice_app.handler_map.get(function.name)
        result.functions.append(ChaliceFunction(
            function.name, _def_name(handler), _file_of(root, handler), "lambda_function"))
    for route, handler in sorted((getattr(chalice_app, "websocket_handlers", None) or {}).items()):
        name = getattr(handler, "name", None) or _def_name(getattr(handler, "handler", handler))
        result.other_events.append((str(name), f"websocket handler of {route}"))
    result.routes = sum(len(methods) for methods in getattr(chalice_app, "routes", {}).values())
    return result


def _def_name(handler: Any) -> str:
    return str(getattr(getattr(handler, "func", handler), "__name__", "?"))


def _file_of(root: Path, handler: Any) -> str:
    code = getattr(getattr(handler, "func", handler), "__code__", None)
    if code is None:
        return "app.py"
    try:
        return Path(code.co_filename).resolve().relative_to(root).as_posix()
    except ValueError:
        return str(code.co_filename)


def parsed_app(root: Path) -> ChaliceApp:
    """The functions app.py and chalicelib/ declare, read with `ast` (nothing is run)."""
    path = root / "app.py"
    problems: list[Problem] = []
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise ProblemsError([Problem("no app.py: not a Chalice project", str(root))]) from None
    except SyntaxError as exc:
        raise ProblemsError([Problem(f"syntax error: {exc.msg}", "app.py",
                                     f"line {exc.lineno}")]) from None
    apps = _owners(tree, "Chalice")
    if not apps:
        raise ProblemsError([Problem("defines no Chalice(app_name=...) app", "app.py")])
    app_name = ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) \
                == "Chalice":
            given = [k.value for k in node.keywords if k.arg == "app_name"] + node.args[:1]
            for value in given[:1]:
                try:
                    app_name = str(_literal(value))
                except ValueError:  # a variable: .chalice/config.json names the app too
                    app_name = _config_app_name(root) or ""
    if not app_name:
        raise ProblemsError([Problem(
            "the Chalice app's name is not a literal and .chalice/config.json has no app_name: "
            "add \"app_name\" to .chalice/config.json", "app.py")])
    result = ChaliceApp(app_name)
    functions, result.routes, result.other_events = _decorated(tree, apps, "app.py", problems)
    result.functions.extend(functions)
    prefixes = _blueprint_prefixes(tree, apps)
    lib = root / "chalicelib"
    for module in sorted(lib.rglob("*.py")) if lib.is_dir() else []:
        relative = module.relative_to(root).as_posix()
        try:
            mtree = ast.parse(module.read_text(encoding="utf-8"), str(module))
        except SyntaxError as exc:
            problems.append(Problem(f"syntax error: {exc.msg}", relative, f"line {exc.lineno}"))
            continue
        blueprints = _owners(mtree, "Blueprint")
        if not blueprints:
            continue
        found, routes, others = _decorated(mtree, blueprints, relative, problems)
        result.routes += routes
        result.other_events += others
        module_name = relative[:-3].replace("/", ".").removesuffix(".__init__")
        for bp_name in blueprints:
            key = (module_name, bp_name)
            if key not in prefixes:
                continue  # defined but never registered on the app
            for function in found:
                result.functions.append(ChaliceFunction(
                    prefixes[key] + function.name, function.function, function.file,
                    function.kind, function.schedule))
    if problems:
        raise ProblemsError(problems)
    return result


def _blueprint_prefixes(tree: ast.Module, apps: set[str]) -> dict[tuple[str, str], str]:
    """(module, blueprint variable) -> name_prefix, from imports and register_blueprint calls."""
    imported: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                imported[alias.asname or alias.name] = (node.module, alias.name)
    prefixes: dict[tuple[str, str], str] = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "register_blueprint"
                and isinstance(node.func.value, ast.Name) and node.func.value.id in apps
                and node.args):
            target = node.args[0]
            prefix = ""
            for keyword in node.keywords:
                if keyword.arg == "name_prefix":
                    prefix = _literal(keyword.value) or ""
            if len(node.args) > 1:
                prefix = _literal(node.args[1]) or ""
            if isinstance(target, ast.Name) and target.id in imported:
                prefixes[imported[target.id]] = prefix
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                    and target.value.id in imported:
                module = ".".join(imported[target.value.id])
                prefixes[(module, target.attr)] = prefix
    return prefixes


def _chalice_config(root: Path) -> Any:
    import json

    try:
        return json.loads((root / ".chalice" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def _config_app_name(root: Path) -> str | None:
    """`app_name` of .chalice/config.json (every Chalice project has it)."""
    value = _chalice_config(root)
    name = value.get("app_name") if isinstance(value, dict) else None
    return name if isinstance(name, str) and name else None
