"""Compare what `chalice package` deploys with what fargo makes of the same Chalice project.

Run: python scripts/compare_chalice.py PROJECT [--fargate-all-scheduled]

In a copy of PROJECT (the project itself is not touched), for every stage of
.chalice/config.json: `chalice package --stage S --pkg-format terraform` (chalice must be
installed, with what app.py imports), then `fargo import-chalice`, `fargo validate`,
`fargo ls --stage S --json` and `fargo package --stage S`. Prints, per stage and function,
Chalice's and fargo's schedule, memory, timeout and environment, and every difference; exits 1
when there is one. fargo's environment is compared without its own FARGO_* variables.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    import os

    # both tools need a region; the project's own (or us-east-1) as a user would have one
    env = {"AWS_DEFAULT_REGION": "us-east-1", **os.environ}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env=env)


def chalice_side(root: Path, stage: str, out: Path) -> dict[str, dict[str, Any]] | str:
    """Per function: what chalice package writes to its Terraform (or why it could not)."""
    chalice = Path(sys.executable).with_name("chalice")
    done = run([str(chalice), "package", "--stage", stage, "--pkg-format", "terraform",
                str(out)], root)
    if done.returncode != 0:
        return (done.stderr or done.stdout).strip().splitlines()[-1]
    tf = json.loads((out / "chalice.tf.json").read_text())
    resources = tf.get("resource", {})
    functions: dict[str, dict[str, Any]] = {}
    for key, fn in resources.get("aws_lambda_function", {}).items():
        env = ((fn.get("environment") or {}).get("variables")) or {}
        functions[key] = {"memory": fn.get("memory_size"), "timeout": fn.get("timeout"),
                          "environment": dict(env), "schedule": None}
    for key, rule in resources.get("aws_cloudwatch_event_rule", {}).items():
        if "schedule_expression" in rule:
            functions.setdefault(key.removesuffix("-event"), {})["schedule"] = \
                rule["schedule_expression"]
    return functions


def fargo_side(root: Path, stage: str) -> dict[str, dict[str, Any]] | str:
    listed = run([sys.executable, "-m", "fargo", "ls", "--stage", stage, "--json"], root)
    if listed.returncode != 0:
        return listed.stderr.strip()
    configs: dict[str, dict[str, Any]] = {}
    for job in json.loads(listed.stdout):
        shown = run([sys.executable, "-m", "fargo", "config", job["name"], "--stage", stage,
                     "--json"], root)
        values = json.loads(shown.stdout) if shown.returncode == 0 else {}
        env = dict((values.get("environment_variables") or {}).get("value") or {})
        configs[job["name"]] = {"memory": job["memory"], "timeout": job["timeout"],
                                "environment": env, "schedule": job["schedule"],
                                "compute": job["compute"]}
    return configs


def compare(project: Path, fargate_all: bool) -> int:
    differences = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / project.name
        shutil.copytree(project, root, ignore=shutil.ignore_patterns(".fargo", "__pycache__"))
        config = json.loads((root / ".chalice" / "config.json").read_text())
        stages = sorted(k for k, v in (config.get("stages") or {"dev": {}}).items()
                        if isinstance(v, dict))
        imported = run([sys.executable, "-m", "fargo", "import-chalice", "."]
                       + (["--fargate-all-scheduled"] if fargate_all else []), root)
        print(f"== {project.name}: import-chalice exit {imported.returncode}")
        for line in (imported.stderr.strip().splitlines())[-8:]:
            print(f"   {line}")
        if imported.returncode != 0:
            return 1
        validated = run([sys.executable, "-m", "fargo", "validate"], root)
        print(f"   validate exit {validated.returncode}: "
              + " | ".join(validated.stdout.strip().splitlines()[-3:]
                           + validated.stderr.strip().splitlines()[-6:]))
        for stage in stages:
            packaged = run([sys.executable, "-m", "fargo", "package", "--stage", stage], root)
            print(f"-- stage {stage}: fargo package exit {packaged.returncode}"
                  + ("" if packaged.returncode == 0 else f": {packaged.stderr.strip()[-300:]}"))
            chalice = chalice_side(root, stage, Path(tmp) / f"chalice-{stage}")
            fargo = fargo_side(root, stage)
            if isinstance(chalice, str) or isinstance(fargo, str):
                print(f"   chalice: {chalice if isinstance(chalice, str) else 'ok'}; "
                      f"fargo: {fargo if isinstance(fargo, str) else 'ok'}")
                differences += 1
                continue
            prefix = f"{config.get('app_name')}-{stage}-"
            for name, ours in sorted(fargo.items()):
                theirs = chalice.get(name) or chalice.get(prefix + name) or {}
                for setting in ("schedule", "memory", "timeout", "environment"):
                    a, b = theirs.get(setting), ours.get(setting)
                    same = a == b or (setting == "memory" and ours["compute"] == "fargate"
                                      and (b or 0) >= (a or 0))
                    differences += not same
                    print(f"   {name:28} {setting:12} chalice {json.dumps(a):40} "
                          f"fargo {json.dumps(b)}{'' if same else '   <-- differs'}")
    return differences


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("project", type=Path)
    parser.add_argument("--fargate-all-scheduled", action="store_true")
    args = parser.parse_args()
    sys.exit(1 if compare(args.project.resolve(), args.fargate_all_scheduled) else 0)


if __name__ == "__main__":
    main()
