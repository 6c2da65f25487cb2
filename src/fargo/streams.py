"""Output whose reader went away (`fargo up | head`): fargo goes on, quietly.

Unix tools end on a broken pipe; fargo's commands run jobs, and a job is not stopped, nor its
run left unrecorded, because whoever read its output stopped reading.
"""

from __future__ import annotations

import contextlib
import os
from typing import TextIO


def silence(stream: TextIO) -> None:
    """Point the stream's descriptor at /dev/null: later writes, and the flush at exit, go
    nowhere instead of raising BrokenPipeError again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
