"""Precompiled bytecode for the image and the Lambda zip.

Without it every container start and every cold start compiles app.py, chalicelib/ and fargo's
runtime again (the image sets PYTHONDONTWRITEBYTECODE, and Lambda's code directory is
read-only). The .pyc files are hash-based and unchecked (PEP 552): they hold no timestamp, so
the same sources give the same bytes, and the interpreter uses them without reading the source
first. They are compiled by this interpreter, which is also the image's and the zip's Python.
"""

from __future__ import annotations

import importlib.util
import py_compile
import sys
import tempfile
from pathlib import Path


def cache_name(name: str) -> str:
    """Where the interpreter looks for the bytecode of archive path `name`."""
    return importlib.util.cache_from_source(name)


def compiled(sources: dict[str, bytes], install_dir: str) -> dict[str, bytes]:
    """{cache path: .pyc bytes} for every .py in `sources` that compiles.

    `install_dir` is where the files will live (/app, /var/task): tracebacks name those paths.
    """
    result: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="fargo-pyc-") as tmp:
        base = Path(tmp)
        for name, data in sorted(sources.items()):
            if not name.endswith(".py"):
                continue
            source = base / "src" / name
            target = base / "pyc" / name
            source.parent.mkdir(parents=True, exist_ok=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(data)
            try:
                py_compile.compile(str(source), cfile=str(target), dfile=f"{install_dir}/{name}",
                                   doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            except (py_compile.PyCompileError, ValueError, OSError):
                continue  # Python runs it from source, as it would have anyway
            result[cache_name(name)] = target.read_bytes()
    return result


def python_tag() -> str:
    """The interpreter the bytecode is for, e.g. cpython-311."""
    return sys.implementation.cache_tag or "none"
