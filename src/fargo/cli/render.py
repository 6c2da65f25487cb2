"""Job log lines for people: time, level, job and message; tracebacks shown as tracebacks.

The runtime writes JSON lines (what CloudWatch Logs Insights and scripts want). On a terminal,
`fargo invoke`, `fargo logs` and `fargo run --follow` show them rendered; piped, or with
--json, they stay JSON lines. A traceback keeps only the user's frames: fargo's own (the
runtime calling the handler) are hidden unless --verbose.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rich.text import Text

import fargo

LEVEL_STYLE = {"debug": "dim", "info": "cyan", "warning": "yellow", "error": "red",
               "critical": "bold red"}
_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line \d+')
_FARGO_DIR = str(Path(fargo.__file__).resolve().parent)


def trim_traceback(text: str, verbose: bool = False) -> str:
    """The traceback without the frames in fargo's own code (unless `verbose`)."""
    if verbose:
        return text
    kept: list[str] = []
    hidden = 0
    skipping = False
    for line in text.splitlines():
        frame = _FRAME.match(line)
        if frame:
            path = frame.group("file")
            skipping = (path.startswith(_FARGO_DIR) or "/fargo/runtime/" in path
                        or path.endswith(("/fargo/app.py",)))
            hidden += skipping
            if not skipping:
                kept.append(line)
            continue
        if skipping and line.startswith("    "):
            continue  # the source line of a hidden frame
        skipping = False
        kept.append(line)
    if hidden:
        kept.insert(1 if kept and kept[0].startswith("Traceback") else 0,
                    f"  ({hidden} fargo frame{'s' if hidden != 1 else ''} hidden; "
                    "--verbose shows them)")
    return "\n".join(kept)


def render(line: str, verbose: bool = False) -> Text:
    """One line of a job's output, styled (lines that are not fargo's JSON: as they are)."""
    text = line.rstrip("\n")
    if not text.startswith("{"):
        return Text(text)
    try:
        entry = json.loads(text)
    except ValueError:
        return Text(text)
    if not isinstance(entry, dict) or "message" not in entry or "level" not in entry:
        return Text(text)
    stamp = str(entry.get("time", ""))[11:23]
    level = str(entry.get("level", "info")).lower()
    head = Text.assemble((stamp, "dim"), " ", (f"{level.upper():7}", LEVEL_STYLE.get(level, "")),
                         " ", (str(entry.get("task", "")), "bold"), " ", str(entry["message"]))
    extras = [f"{k}={json.dumps(v, default=str)}" for k, v in entry.items()
              if k in ("result", "duration_s", "attempt") and v is not None]
    if extras:
        head.append(" ")
        head.append(" ".join(extras), "dim")
    if entry.get("traceback"):
        head.append("\n")
        head.append(trim_traceback(str(entry["traceback"]), verbose), "red")
    return head
