"""Problems found in user input.

Bad input must never surface as a traceback: every layer collects `Problem`s and raises one
`ProblemsError` carrying all of them, so the CLI can print each on its own line and exit 2.
Standard library only: the runtime uses it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is and what is wrong."""

    message: str
    file: str | None = None
    key: str | None = None
    severity: str = "error"  # "error" or "warning"

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


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix, or '' when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
