"""Run terraform on a package directory, with progress and a per-job summary of changes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fargo.problems import Problem, ProblemsError

PLAN_FILE = "tfplan"
STAGE_KEY = "(stage)"


class TerraformFailed(Exception):
    """terraform exited non-zero; the message holds its error diagnostics."""


def find_terraform() -> str:
    explicit = os.environ.get("FARGO_TERRAFORM")
    binary = explicit or shutil.which("terraform")
    if not binary or not Path(binary).exists():
        raise ProblemsError([Problem(
            "terraform is not installed (or not on PATH): install Terraform >= 1.9, or set "
            "FARGO_TERRAFORM to its path", key="terraform")])
    return binary


def terraform_env() -> dict[str, str]:
    env = dict(os.environ)
    config = env.get("TF_CLI_CONFIG_FILE")
    if config and not Path(config).exists():
        env.pop("TF_CLI_CONFIG_FILE")  # a dangling setting only produces warnings
    env["TF_IN_AUTOMATION"] = "1"
    env.setdefault("CHECKPOINT_DISABLE", "1")  # no look-up of newer terraform versions
    env.setdefault("TF_INPUT", "0")
    return env


@dataclass
class Changes:
    """What a plan does, in total and per job."""

    add: int = 0
    change: int = 0
    destroy: int = 0
    moved: int = 0  # resources that only move to another address (job groups, synth/groups.py)
    jobs: dict[str, dict[str, int]] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  # schedules paused in AWS, re-enabled

    @property
    def empty(self) -> bool:
        return self.add == self.change == self.destroy == self.moved == 0

    def to_dict(self) -> dict[str, Any]:
        return {"add": self.add, "change": self.change, "destroy": self.destroy,
                "moved": self.moved,
                "jobs": self.jobs, "resources": self.resources, "resumed": self.resumed}


def summarize(plan: dict[str, Any], job_names: tuple[str, ...] = ()) -> Changes:
    """Count creates, updates and deletes (a replacement is one add and one destroy).

    A resource counts for a job when its for_each key is one of `job_names` or a job the
    state still has (a removed job); any other key (an alert e-mail) belongs to the stage.
    """
    changes = Changes()
    known = set(job_names) | {
        r.get("index") for r in plan.get("resource_changes", [])
        if r.get("type") == "aws_cloudwatch_log_group" and r.get("name") == "job"}
    for resource in plan.get("resource_changes", []):
        actions = resource.get("change", {}).get("actions", [])
        if resource.get("previous_address") not in (None, resource.get("address")):
            changes.moved += 1
        if actions in (["no-op"], ["read"]) or resource.get("mode") == "data":
            continue
        add = int("create" in actions)
        destroy = int("delete" in actions)
        update = int(actions == ["update"])
        changes.add += add
        changes.destroy += destroy
        changes.change += update
        index = resource.get("index")
        job = index if isinstance(index, str) and index in known else STAGE_KEY
        change = resource.get("change", {})
        if (actions == ["update"] and isinstance(index, str)
                and (change.get("before") or {}).get("state") in ("DISABLED",)
                and (change.get("after") or {}).get("state") == "ENABLED"):
            changes.resumed.append(index)
        counts = changes.jobs.setdefault(job, {"add": 0, "change": 0, "destroy": 0})
        counts["add"] += add
        counts["change"] += update
        counts["destroy"] += destroy
        changes.resources.append({"address": resource["address"], "actions": actions,
                                  "job": job})
    changes.jobs = dict(sorted(changes.jobs.items()))
    return changes


# Beside terraform's own files in .terraform/: what the last successful init was for.
INIT_STAMP = "fargo-init.json"


class Terraform:
    """One package directory; `say` receives progress lines."""

    def __init__(self, workdir: Path, say: Callable[[str], None]) -> None:
        self.workdir = workdir
        self.binary = find_terraform()
        self.env = terraform_env()
        self.say = say

    def _run(self, args: list[str], stream_json: bool = False) -> str:
        command = [self.binary, *args]
        if not stream_json:
            done = subprocess.run(command, cwd=self.workdir, env=self.env, capture_output=True,
                                  text=True)
            if done.returncode != 0:
                raise TerraformFailed(_clean(done.stderr or done.stdout))
            return done.stdout
        errors: list[str] = []
        process = subprocess.Popen(command, cwd=self.workdir, env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            self._progress(line, errors)
        stderr = process.stderr.read() if process.stderr else ""
        if process.wait() != 0:
            raise TerraformFailed("\n".join(errors) or _clean(stderr) or "terraform failed")
        return ""

    def _progress(self, line: str, errors: list[str]) -> None:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            return
        kind = message.get("type")
        if kind == "diagnostic":
            diagnostic = message.get("diagnostic", {})
            text = f"{diagnostic.get('summary', '')}: {diagnostic.get('detail', '')}".strip(": ")
            if diagnostic.get("severity") == "error":
                errors.append(text)
            else:
                self.say(f"warning: {text}")
        elif kind in ("apply_start", "apply_complete", "apply_errored", "change_summary"):
            self.say(message.get("@message", ""))

    def init(self) -> None:
        """terraform init, unless this directory was initialised for exactly what init reads
        (backend, providers, module blocks, the module's version constraints, the binary):
        a second init of an unchanged package only costs seconds."""
        key = self.init_key()
        stamp = self.workdir / ".terraform" / INIT_STAMP
        lock = self.workdir / ".terraform.lock.hcl"
        if key and lock.exists():
            try:
                if json.loads(stamp.read_text(encoding="utf-8")).get("key") == key:
                    self.say("terraform init: already done for this package")
                    return
            except (OSError, ValueError, AttributeError):
                pass
        self.say("terraform init")
        stamp.unlink(missing_ok=True)
        self._run(["init", "-input=false", "-no-color"])
        if key:
            stamp.write_text(json.dumps({"key": key}), encoding="utf-8")

    def init_key(self) -> str | None:
        """A digest of what `terraform init` reads; None when the root cannot be read (init
        then always runs)."""
        import hashlib

        try:
            root = json.loads((self.workdir / "main.tf.json").read_text(encoding="utf-8"))
            binary = Path(self.binary).stat()
        except (OSError, ValueError):
            return None
        modules = {name: block.get("source") for name, block in
                   (root.get("module") or {}).items() if isinstance(block, dict)}
        versions = sorted(
            (str(path.relative_to(self.workdir)), path.read_text(encoding="utf-8"))
            for path in self.workdir.glob("modules/*/versions.tf"))
        extra = sorted(p.name for p in self.workdir.glob("*.tf*") if p.name != "main.tf.json")
        basis = {"terraform": root.get("terraform"), "modules": modules, "versions": versions,
                 "other_files": extra, "binary": [self.binary, binary.st_size,
                                                  binary.st_mtime_ns],
                 "env": {k: v for k, v in sorted(self.env.items())
                         if k.startswith(("TF_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR"))}}
        return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()

    def state_addresses(self) -> list[str]:
        """The resource addresses in the state (none before the first apply)."""
        command = [self.binary, "state", "list"]
        done = subprocess.run(command, cwd=self.workdir, env=self.env, capture_output=True,
                              text=True)
        if done.returncode != 0:
            if "No state file" in done.stderr or "does not exist" in done.stderr:
                return []
            raise TerraformFailed(_clean(done.stderr or done.stdout))
        return done.stdout.split()

    def plan(self, variables: dict[str, str], job_names: tuple[str, ...] = (),
             destroy: bool = False) -> Changes:
        args = ["plan", "-input=false", "-no-color", f"-out={PLAN_FILE}", "-lock-timeout=60s"]
        if destroy:
            args.append("-destroy")
        for name, value in sorted(variables.items()):
            args.append(f"-var={name}={value}")
        self.say("terraform plan" + (" -destroy" if destroy else ""))
        self._run(args)
        return summarize(json.loads(self._run(["show", "-json", PLAN_FILE])), job_names)

    def apply(self) -> None:
        self._run(["apply", "-input=false", "-no-color", "-json", "-lock-timeout=60s",
                   PLAN_FILE], stream_json=True)


def _clean(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    kept = [line.strip("│╷╵ ").rstrip() for line in lines]
    return "\n".join(line for line in kept if line).strip()
