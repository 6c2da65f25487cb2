"""What a project's code needs that its requirements.txt may not say: Chalice's runtime, and
boto3, which Lambda's Python runtime provides and a container does not."""

from __future__ import annotations

import re
from pathlib import Path

_IMPORTS_CHALICE = re.compile(r"^\s*(?:from\s+chalice(?:\.app)?\s+import\b|import\s+chalice\b)",
                              re.M)
_IMPORTS_BOTO3 = re.compile(r"^\s*(?:from\s+(?:boto3|botocore)\b|import\s+(?:boto3|botocore)\b)",
                            re.M)
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def imports_chalice(sources: list[Path]) -> bool:
    return _imports(_IMPORTS_CHALICE, sources)


def imports_boto3(sources: list[Path]) -> bool:
    """Whether the code imports boto3 or botocore anywhere (at the top or inside a function)."""
    return _imports(_IMPORTS_BOTO3, sources)


def _imports(pattern: re.Pattern[str], sources: list[Path]) -> bool:
    for path in sources:
        try:
            if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False


def requirements_list_chalice(root: Path) -> bool:
    return requirements_list(root, "chalice")


def requirements_list(root: Path, package: str) -> bool:
    """Whether requirements.txt names `package` (any version, any extras)."""
    path = root / "requirements.txt"
    if not path.is_file():
        return False
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _NAME.match(line.split("#", 1)[0])
        if match and match.group(1).lower().replace("_", "-") == package:
            return True
    return False
