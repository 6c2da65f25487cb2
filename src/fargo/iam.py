"""IAM policy documents: check what users write, and (later) build what fargo generates.

A job's policy file must be an identity-based policy document that IAM would accept: fargo
checks its shape here so a typo fails in `fargo validate`, not halfway through a deploy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fargo.problems import Problem, json_problem

VERSIONS = ("2012-10-17", "2008-10-17")
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                   "Condition", "Principal", "NotPrincipal"}
_ACTION = re.compile(r"^(\*|[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+)$")
_SID = re.compile(r"^[A-Za-z0-9]*$")
POLICY_MAX_CHARS = 10240  # inline role policy size quota (non-whitespace characters)


def read_policy(path: Path, shown: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Load and check a policy file; `shown` is the path used in messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem("policy file not found", shown)]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(f"cannot be read: {exc}", shown)]
    document, problem = json_problem(text, shown)
    if problem is not None:
        return None, [problem]
    problems = check_policy(document, shown)
    compact = len(re.sub(r"\s", "", json.dumps(document)))
    if compact > POLICY_MAX_CHARS:
        problems.append(Problem(f"is {compact} characters without whitespace; an inline role "
                                f"policy may have at most {POLICY_MAX_CHARS}", shown))
    return (document if isinstance(document, dict) and not problems else None), problems


def check_policy(document: Any, shown: str) -> list[Problem]:
    """Problems that would make IAM reject this identity-based policy document."""
    if not isinstance(document, dict):
        return [Problem("must be a JSON object with Version and Statement", shown)]
    problems = []
    for key in document:
        if key not in ("Version", "Id", "Statement"):
            problems.append(Problem(f"unknown key {key!r} (allowed: Version, Id, Statement)",
                                    shown, key))
    version = document.get("Version")
    if version not in VERSIONS:
        problems.append(Problem(f"Version must be \"2012-10-17\", found {json.dumps(version)}",
                                shown, "Version"))
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        problems.append(Problem("Statement must be a non-empty list of statements", shown,
                                "Statement"))
        return problems
    for index, statement in enumerate(statements):
        problems.extend(_check_statement(statement, shown, f"Statement[{index}]"))
    return problems


def _check_statement(statement: Any, shown: str, where: str) -> list[Problem]:
    if not isinstance(statement, dict):
        return [Problem("must be an object", shown, where)]
    problems = []
    for key in statement:
        if key not in _STATEMENT_KEYS:
            problems.append(Problem(f"unknown key {key!r}", shown, f"{where}.{key}"))
    if "Principal" in statement or "NotPrincipal" in statement:
        problems.append(Problem("a role's policy cannot name a Principal (that belongs in a "
                                "trust policy)", shown, where))
    if statement.get("Effect") not in ("Allow", "Deny"):
        problems.append(Problem(f"Effect must be \"Allow\" or \"Deny\", found "
                                f"{json.dumps(statement.get('Effect'))}", shown, f"{where}.Effect"))
    if ("Action" in statement) == ("NotAction" in statement):
        problems.append(Problem("needs exactly one of Action or NotAction", shown, where))
    if ("Resource" in statement) == ("NotResource" in statement):
        problems.append(Problem("needs exactly one of Resource or NotResource", shown, where))
    sid = statement.get("Sid")
    if sid is not None and (not isinstance(sid, str) or not _SID.match(sid)):
        problems.append(Problem("Sid may contain only letters and digits", shown, f"{where}.Sid"))
    for key in ("Action", "NotAction"):
        for action in _strings(statement.get(key), problems, shown, f"{where}.{key}"):
            if not _ACTION.match(action):
                problems.append(Problem(f"{action!r} is not an action like 's3:GetObject'",
                                        shown, f"{where}.{key}"))
    for key in ("Resource", "NotResource"):
        for resource in _strings(statement.get(key), problems, shown, f"{where}.{key}"):
            # arn:partition:service:region:account:resource — six parts, the last not empty
            parts = resource.split(":", 5)
            if resource != "*" and (parts[0] != "arn" or len(parts) < 6 or not parts[1]
                                    or not parts[2] or not parts[5]):
                problems.append(Problem(f"{resource!r} is not an ARN "
                                        "(arn:partition:service:region:account:resource) or '*'",
                                        shown, f"{where}.{key}"))
    condition = statement.get("Condition")
    if condition is not None and not (
        isinstance(condition, dict) and all(isinstance(v, dict) for v in condition.values())
    ):
        problems.append(Problem("Condition must map operators to {key: value} objects", shown,
                                f"{where}.Condition"))
    if _has_non_finite(statement):
        problems.append(Problem("holds NaN or Infinity, which is not JSON: IAM rejects the "
                                "document", shown, where))
    return problems


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


def _strings(value: Any, problems: list[Problem], shown: str, where: str) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) for v in items):
        problems.append(Problem("must be a string or a non-empty list of strings", shown, where))
        return []
    return items
