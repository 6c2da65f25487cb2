"""Problems found in user input.

Bad input must never surface as a traceback: every layer collects `Problem`s and raises one
`ProblemsError` carrying all of them, so the CLI can print each on its own line and exit 2.
Standard library only: the runtime uses it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "notice"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is and what is wrong."""

    message: str
    file: str | None = None
    key: str | None = None
    severity: Severity = "error"  # a warning or notice is shown; only errors exit 2

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.key) if part)
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, str | None]:
        return {
            "file": self.file,
            "key": self.key,
            "message": self.message,
            "severity": self.severity,
        }


class ProblemsError(Exception):
    """Raised with every problem found, never just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def listed(names: Iterable[str], most: int = 12) -> str:
    """Names for a message: all of them, or the first `most` and how many more (a project of
    300 jobs must not print 300 names in every line)."""
    shown = list(names)
    if len(shown) <= most:
        return ", ".join(shown)
    return f"{', '.join(shown[:most])} and {len(shown) - most} more"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix, or '' when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def json_problem(text: str, file: str | None, key: str | None = None
                 ) -> tuple[object, Problem | None]:
    """Parse user JSON; (value, None) or (None, the one problem) — never an exception.

    Beyond syntax errors, Python refuses integers of more than 4,300 digits (ValueError) and
    recurses once per nesting level (RecursionError): both are the user's input, not a crash.
    """
    import json

    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, Problem(f"is not valid JSON: {exc.msg}", file,
                             key or f"line {exc.lineno}, column {exc.colno}")
    except RecursionError:
        return None, Problem("is nested too deeply to read (keep JSON under a few hundred "
                             "levels)", file, key)
    except ValueError as exc:
        return None, Problem(f"holds a value Python cannot read ({exc}); numbers that long "
                             "are not meaningful here", file, key)
