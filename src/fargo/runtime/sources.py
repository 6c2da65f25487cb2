"""The project's Python files compiled once by fargo up's launcher, for every job it forks.

Each job imports app.py and chalicelib/ afresh, in its own process. Where Python may not write
bytecode (PYTHONDONTWRITEBYTECODE, as many container images set it, or a read-only project)
every job compiled them again: about 15 ms for a 60 KB app.py, before the job's first line. The
launcher compiles each of the project's files once, and again when it changes; a job it forks
executes that code, as `import` executes a .pyc, with nothing written anywhere. Each job still
checks the file's size and modification time when it imports it: a file changed since (or one
the launcher does not know) is compiled by the job as usual.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import PathFinder, SourceFileLoader

from fargo.runtime import loader

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import CodeType, ModuleType

MAX_FILES = 2000  # .py files; past this many the jobs compile the rest themselves
MAX_ENTRIES = 20000  # names looked at: a project's data folders are not walked for long
SKIPPED = {"node_modules", "venv", "env", "site-packages", "__pycache__", "tests", "test"}

# path -> ((st_mtime_ns, st_size) when compiled, its code); in a job, what the launcher compiled
CODE: dict[str, tuple[tuple[int, int], CodeType]] = {}
# project directory -> its .py files, found once (a file added later is compiled by its jobs)
FILES: dict[str, list[str]] = {}


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def _files(root: str) -> list[str]:
    """The project's .py files: not in hidden folders, virtual environments or tests."""
    found: list[str] = []
    seen = 0
    for folder, folders, names in os.walk(root):
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f not in SKIPPED
                            and not os.path.exists(os.path.join(folder, f, "pyvenv.cfg")))
        found.extend(os.path.join(folder, n) for n in sorted(names) if n.endswith(".py"))
        seen += len(names) + len(folders)
        if len(found) >= MAX_FILES or seen >= MAX_ENTRIES:
            break
    return found[:MAX_FILES]


def refresh(root: str) -> None:
    """In the launcher: compile the project's files under `root` that are new or changed."""
    if root not in FILES:
        FILES[root] = _files(root)
    for path in FILES[root]:
        stamp = _stamp(path)
        known = CODE.get(path)
        if stamp is None or (known is not None and known[0] == stamp):
            continue
        try:
            with open(path, "rb") as handle:
                source = handle.read()
            CODE[path] = stamp, compile(source, path, "exec", dont_inherit=True)
        except (OSError, SyntaxError, ValueError):  # the job reports it, as it would unaided
            CODE.pop(path, None)


class CompiledLoader(SourceFileLoader):
    """A source loader that takes the launcher's code while the file is as it was compiled."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        known = CODE.get(path)
        if known is not None and _stamp(path) == known[0]:
            return known[1]
        code: CodeType = super().get_code(fullname)  # type: ignore[assignment]
        return code


class CompiledFinder:
    """Finds modules as the path finder does; the project's files get the CompiledLoader."""

    @classmethod
    def find_spec(cls, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.origin in CODE and type(spec.loader) is SourceFileLoader:
            spec.loader = CompiledLoader(fullname, spec.origin)
        return spec


def install() -> None:
    """In a forked job: import the project's files with the launcher's code (app.py included,
    which the runtime loads itself)."""
    finders = sys.meta_path
    where = next((i for i, f in enumerate(finders) if f is PathFinder), len(finders))
    finders.insert(where, CompiledFinder)
    loader.source_loader = CompiledLoader
