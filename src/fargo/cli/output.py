"""Shared terminal output: problems to stderr, notices, JSON to stdout.

Rich's markup and emoji codes are off: what fargo prints is full of text it does not own (job
output, exception messages, file names, AWS errors), and `[/x]` or `:a:` in it must print as
written. Styles are given as `Text` parts (`styled`), never as markup in a string.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from rich.console import Console
from rich.text import Text

from fargo.problems import Problem

# Piped output is read by people in logs and by grep: don't squeeze tables into 80 columns.
_WIDTH = None if sys.stdout.isatty() else 200
out = Console(highlight=False, soft_wrap=True, width=_WIDTH, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH, markup=False,
              emoji=False)

EXIT_FAILED = 1  # a tool fargo drives (terraform, docker) failed
EXIT_BAD_INPUT = 2  # bad input or an AWS error: one message per problem


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 run', '2 runs' (irregular plurals by `many`)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def print_json(data: Any) -> None:
    """Exactly one JSON document on stdout, for scripts. A long list has one element a line
    (json's C encoder writes each; indenting goes through its slow Python one)."""
    if isinstance(data, list) and len(data) > LIST_INDENTED_MAX:
        sys.stdout.write("[\n" + ",\n".join(json.dumps(item) for item in data) + "\n]\n")
    else:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


LIST_INDENTED_MAX = 100  # longer lists (a history of thousands of runs) one element a line


def styled(*parts: str | tuple[str, str]) -> Text:
    """One line from plain strings and (text, style) pairs; no part is read as markup."""
    return Text.assemble(*parts)


def notice(text: str) -> None:
    err.print(styled(("note:", "cyan"), " ", text))


def warn(text: str) -> None:
    err.print(styled(("warning:", "yellow"), " ", text))


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
            err.print(styled(("error:", "red"), " ", str(problem)))
    return errors


def fail(problems: Iterable[Problem]) -> NoReturn:
    """Report bad input and exit 2."""
    report(problems)
    sys.exit(EXIT_BAD_INPUT)



# Above this many rows a table is printed as plain aligned text: rich lays out every cell of a
# table before it prints the first line (seconds at thousands of rows), plain rows stream.
RICH_ROWS_MAX = 200


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str | Text]]) -> None:
    """A titled table: rich's on a few rows, plain aligned columns on many."""
    if len(rows) <= RICH_ROWS_MAX:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    cells = [[c.plain if isinstance(c, Text) else str(c) for c in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in cells:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in cells]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
