"""Find the project's app object: import app.py from the project directory."""

from __future__ import annotations

import os
import sys
from types import ModuleType

from fargo.app import App, is_chalice_app

TYPE_CHECKING = False  # `typing` costs milliseconds at every job start; mypy reads this as usual
if TYPE_CHECKING:
    from typing import Any


class AppNotFound(Exception):
    """app.py is missing or defines no App."""


# The loader class app.py is loaded with; None: importlib's SourceFileLoader. fargo up's
# launcher sets the one that takes the code it compiled once (runtime/sources.py).
source_loader: Any = None


def project_root(explicit: str | os.PathLike[str] | None = None) -> str:
    """The project directory as an absolute path (the runtime avoids pathlib's import cost)."""
    return os.path.realpath(os.fspath(explicit or os.environ.get("FARGO_PROJECT_DIR")
                                      or os.getcwd()))


def import_app_module(root: str | os.PathLike[str]) -> ModuleType:
    """Import <root>/app.py as module `app`, with <root> first on sys.path (for chalicelib).

    Built from importlib.machinery directly: importlib.util costs a few milliseconds to import
    and this runs at every job start. Bytecode caches (__pycache__) are used as by `import`.
    """
    from importlib.machinery import ModuleSpec, SourceFileLoader

    directory = os.fspath(root)
    path = os.path.join(directory, "app.py")
    if not os.path.isfile(path):
        raise AppNotFound(f"{path}: no app.py here (run from the project directory, or name it "
                          "with fargo -C DIR)")
    for name in [m for m in sys.modules if m == "app" or m.split(".")[0] == "chalicelib"]:
        del sys.modules[name]
    if directory in sys.path:  # first, so this project's chalicelib wins over any other
        sys.path.remove(directory)
    sys.path.insert(0, directory)
    loader = (source_loader or SourceFileLoader)("app", path)
    spec = ModuleSpec("app", loader, origin=path)
    spec.has_location = True
    module = ModuleType("app")
    module.__file__ = path
    module.__spec__ = spec
    module.__loader__ = loader
    sys.modules["app"] = module
    try:
        loader.exec_module(module)
    except BaseException:
        sys.modules.pop("app", None)
        raise
    return module


def find_app(module: ModuleType) -> App:
    """The module's `app` if it is an App (or a chalice.Chalice app), else the only one."""
    candidate = getattr(module, "app", None)
    if isinstance(candidate, App):
        return candidate
    if is_chalice_app(candidate):
        return _from_chalice(candidate)
    apps = [v for v in vars(module).values() if isinstance(v, App)]
    chalice_apps = [v for v in vars(module).values() if is_chalice_app(v)]
    if not apps and len(chalice_apps) == 1:
        return _from_chalice(chalice_apps[0])
    if len(apps) == 1:
        return apps[0]
    raise AppNotFound(
        f"{module.__file__}: defines no fargo App; add `app = App(\"name\")`"
        if not apps else f"{module.__file__}: defines {len(apps)} apps; name the one to use `app`"
    )


def _from_chalice(chalice_app: object) -> App:
    from fargo.runtime.chalice import from_chalice  # only Chalice projects pay for it

    return from_chalice(chalice_app)
