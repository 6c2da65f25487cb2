"""Shared terminal output: problems to stderr, notices, JSON to stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

from rich.console import Console

from fargo.problems import Problem

# Piped output is read by people in logs and by grep: don't squeeze tables into 80 columns.
_WIDTH = None if sys.stdout.isatty() else 200
out = Console(highlight=False, soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH)

EXIT_FAILED = 1  # a tool fargo drives (terraform, docker) failed
EXIT_BAD_INPUT = 2  # bad input or an AWS error: one message per problem


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 run', '2 runs' (irregular plurals by `many`)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def print_json(data: Any) -> None:
    """Exactly one JSON document on stdout, for scripts."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def notice(text: str) -> None:
    err.print(f"[cyan]note:[/cyan] {_escape(text)}")


def warn(text: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {_escape(text)}")


def report(problems: Iterable[Problem]) -> int:
    """Print every problem (errors and warnings); return how many were errors."""
    errors = 0
    for problem in problems:
        if problem.severity == "warning":
            warn(str(problem))
        elif problem.severity == "notice":
            notice(str(problem))
        else:
            errors += 1
            err.print(f"[red]error:[/red] {_escape(str(problem))}")
    return errors


def fail(problems: Iterable[Problem]) -> NoReturn:
    """Report bad input and exit 2."""
    report(problems)
    sys.exit(EXIT_BAD_INPUT)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
