"""Find the project's app object: import app.py from the project directory."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from fargo.app import App, from_chalice, is_chalice_app


class AppNotFound(Exception):
    """app.py is missing or defines no App."""


def project_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    return Path(explicit or os.environ.get("FARGO_PROJECT_DIR") or os.getcwd()).resolve()


def import_app_module(root: Path) -> ModuleType:
    """Import <root>/app.py as module `app`, with <root> first on sys.path (for chalicelib)."""
    path = root / "app.py"
    if not path.is_file():
        raise AppNotFound(f"{path}: no app.py here (set FARGO_PROJECT_DIR or run from the project)")
    for name in [m for m in sys.modules if m == "app" or m.split(".")[0] == "chalicelib"]:
        del sys.modules[name]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location("app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    return module


def find_app(module: ModuleType) -> App:
    """The module's `app` if it is an App (or a chalice.Chalice app), else the only one."""
    candidate = getattr(module, "app", None)
    if isinstance(candidate, App):
        return candidate
    if is_chalice_app(candidate):
        return from_chalice(candidate)
    apps = [v for v in vars(module).values() if isinstance(v, App)]
    chalice_apps = [v for v in vars(module).values() if is_chalice_app(v)]
    if not apps and len(chalice_apps) == 1:
        return from_chalice(chalice_apps[0])
    if len(apps) == 1:
        return apps[0]
    raise AppNotFound(
        f"{module.__file__}: defines no fargo App; add `app = App(\"name\")`"
        if not apps else f"{module.__file__}: defines {len(apps)} apps; name the one to use `app`"
    )
