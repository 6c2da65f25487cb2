"""fargo up --watch-dir: files appearing under a directory become S3 "Object Created" events.

DIR/<bucket>/<key> stands for s3://<bucket>/<key>. Files there when fargo up starts are not
events; a file counts once it has stayed the same size and age between two looks, so a file
still being copied in is not announced half-written. Writing it again is another event, as an
overwrite is in S3. Names starting with "." (editors' and copy tools' temporary files) are
never events, and only regular files are objects: a FIFO, a socket or a device is not (reading
one would block the scheduler), and a symbolic link is not followed (it may point outside DIR).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any

from fargo.patterns.s3 import object_created

POLL_SECONDS = 0.5
ETAG_MAX_BYTES = 64 * 1024 * 1024  # larger files get no ETag (S3's is not an MD5 there either)


@dataclass
class DirectoryWatch:
    directory: Path
    account: str = "000000000000"
    region: str = "us-east-1"
    _known: dict[Path, tuple[int, int]] = field(default_factory=dict)  # announced or present
    _settling: dict[Path, tuple[tuple[int, int], float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._known = dict(self._files())

    def _files(self) -> list[tuple[Path, tuple[int, int]]]:
        found = []
        for folder, dirs, names in os.walk(self.directory):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                if name.startswith("."):
                    continue
                path = Path(folder) / name
                try:
                    stat = path.lstat()
                except OSError:  # gone between the listing and the look
                    continue
                if not S_ISREG(stat.st_mode):
                    continue
                found.append((path, (stat.st_size, stat.st_mtime_ns)))
        return found

    def events(self) -> list[dict[str, Any]]:
        """The events of files that appeared (or changed) and have settled since last time."""
        ready = []
        now = time.monotonic()
        for path, state in self._files():
            if self._known.get(path) == state:
                continue
            seen = self._settling.get(path)
            if seen is None or seen[0] != state:
                self._settling[path] = (state, now)  # announced when it looks the same later
                continue
            if now - seen[1] < POLL_SECONDS:
                continue
            del self._settling[path]
            self._known[path] = state
            relative = path.relative_to(self.directory).parts
            if len(relative) < 2:
                continue  # a file directly in DIR names no bucket
            ready.append(self._event(relative[0], "/".join(relative[1:]), path, state[0]))
        return ready

    def _event(self, bucket: str, key: str, path: Path, size: int) -> dict[str, Any]:
        etag = ""
        if size <= ETAG_MAX_BYTES:
            etag = _md5(path)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return object_created(bucket, key, size, etag, self.account, self.region,
                              str(uuid.uuid4()), stamp)


def _md5(path: Path) -> str:
    """The file's MD5, read without blocking and without following a link ("" when it is
    not a regular file by the time it is opened)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as handle:
        if not S_ISREG(os.fstat(handle.fileno()).st_mode):
            return ""
        digest = hashlib.md5(usedforsecurity=False)
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
        return digest.hexdigest()
