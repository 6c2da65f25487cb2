"""Chalice's runtime module, shipped with projects whose code imports chalice.

Chalice always bundles its own `chalice/app.py` (and `chalice/__init__.py`) into a deployment
package, so many Chalice projects leave `chalice` out of requirements.txt. fargo does what
Chalice does: when the project's code imports chalice and requirements.txt does not list it,
the Lambda zip and the image carry those two files from the chalice installed here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fargo.problems import Problem, ProblemsError
from fargo.project.requirements import imports_chalice, requirements_list_chalice


def chalice_files(root: Path, sources: list[Path]) -> list[tuple[str, Path]]:
    """(archive name, path) of Chalice's runtime module, when the project needs it shipped."""
    if not imports_chalice(sources) or requirements_list_chalice(root):
        return []
    spec = importlib.util.find_spec("chalice")
    if spec is None or not spec.origin:
        raise ProblemsError([Problem(
            "the project's code imports chalice, which requirements.txt does not list and which "
            "is not installed here: pip install chalice (fargo then ships its runtime module, "
            "as Chalice does), or add chalice to requirements.txt", "requirements.txt")])
    package = Path(spec.origin).parent
    return [("chalice/__init__.py", package / "__init__.py"),
            ("chalice/app.py", package / "app.py")]
