"""What the last successful apply of a stage was made from: a digest of all terraform reads.

`fargo deploy` and `fargo plan` compare it before running terraform. When the package's files
(the root, with every setting, policy and environment value; the module; the Lambda zip), the
variables (the image tag), the provider lock file, the terraform binary and fargo's version are
all unchanged, terraform would plan nothing, and is not run. Changes made in AWS outside
terraform are not seen that way: `--refresh` plans for real, and `fargo pause`/`resume` drop the
record. It is written only after an apply that succeeded (or a plan that found nothing to do)
and dropped before an apply starts, so a failed or partial apply never leaves one.

The record lives with the state: beside terraform.tfstate in the package directory, or as the
object `<state key>.fargo-applied.json` in the stage's S3 state bucket.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import fargo
from fargo.files import write_atomic
from fargo.project.model import Project

RECORD = ".fargo-applied.json"
LOCK_FILE = ".terraform.lock.hcl"


def digest(directory: Path, variables: dict[str, str], terraform: str) -> str:
    """sha256 over the package's files (its manifest's list), the variables and the tools."""
    from fargo.synth.package import MANIFEST

    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    names = [*manifest.get("files", []), LOCK_FILE]
    binary = Path(terraform).resolve()
    stat = binary.stat()
    hasher = hashlib.sha256()
    hasher.update(json.dumps({"fargo": fargo.__version__, "variables": sorted(variables.items()),
                              "terraform": [str(binary), stat.st_size, stat.st_mtime_ns]},
                             sort_keys=True).encode())
    for name in sorted(names):
        path = directory / name
        hasher.update(name.encode() + b"\0")
        hasher.update(path.read_bytes() if path.is_file() else b"(absent)")
        hasher.update(b"\0")
    return hasher.hexdigest()


@dataclass
class Record:
    """The record of one stage: a local file, or an object in the S3 state bucket."""

    path: Path | None = None
    bucket: str | None = None
    key: str | None = None
    region: str | None = None

    def read(self) -> dict[str, Any] | None:
        """The record, or None (absent or unreadable: then terraform plans for real)."""
        try:
            if self.path is not None:
                text = self.path.read_text(encoding="utf-8")
            else:
                text = self._s3().get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
            found = json.loads(text)
        except Exception:  # any failure only means: plan for real
            return None
        return found if isinstance(found, dict) and isinstance(found.get("digest"), str) else None

    def write(self, value: str) -> None:
        body = json.dumps({"digest": value, "applied": datetime.now(timezone.utc).isoformat(
            timespec="seconds").replace("+00:00", "Z")}, indent=2).encode() + b"\n"
        if self.path is not None:
            write_atomic(self.path, body)
        else:
            self._s3().put_object(Bucket=self.bucket, Key=self.key, Body=body,
                                  ContentType="application/json")

    def drop(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
        else:
            self._s3().delete_object(Bucket=self.bucket, Key=self.key)

    def _s3(self) -> Any:
        from fargo.aws.session import client

        return client("s3", self.region or "us-east-1")


def record_for(project: Project, directory: Path) -> Record:
    stage = project.stage
    if stage.terraform_state:
        from fargo.synth.root import state_backend

        backend = state_backend(project)["s3"]
        return Record(bucket=backend["bucket"], key=f"{backend['key']}{RECORD}",
                      region=backend["region"])
    return Record(path=directory / RECORD)


def drop_quietly(record: Record) -> str | None:
    """Drop the record; the reason it could not be, if any (the caller warns)."""
    try:
        record.drop()
    except Exception as exc:  # reported, never fatal
        return str(exc) or type(exc).__name__
    return None

