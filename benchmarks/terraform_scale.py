"""How `terraform plan` of fargo's package grows with the number of jobs, against moto.

For each size: `fargo package`, `terraform init`, then a timed `terraform plan -refresh=false`
of a new stage (every resource to create), in the layout fargo chooses and in the other one
(job groups below the split line; one instance of the module above it, up to --single-max).

Run: python benchmarks/terraform_scale.py [--sizes 100,200,400,1000] [--single-max 400]
Needs terraform and the provider (a mirror, see tests/conftest.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.aws_local import moto_endpoint  # noqa: E402
from benchmarks.deploy_bench import fargo_project, terraform_env  # noqa: E402

from fargo.synth.groups import SPLIT_ABOVE  # noqa: E402


def plan_seconds(root: Path, env: dict[str, str], split_above: int) -> tuple[float, int, int]:
    """Seconds of the plan, resources it creates, and module instances in the root."""
    env = {**env, "AWS_DEFAULT_REGION": "us-east-1"}
    if split_above >= 0:
        env["FARGO_SPLIT_ABOVE"] = str(split_above)
    subprocess.run([sys.executable, "-m", "fargo", "package", "--stage", "dev"], cwd=root,
                   env=env, check=True, capture_output=True)
    package = root / ".fargo" / "deploy" / "dev"
    subprocess.run(["terraform", "init", "-input=false"], cwd=package, env=env, check=True,
                   capture_output=True)
    start = time.perf_counter()
    done = subprocess.run(["terraform", "plan", "-input=false", "-refresh=false",
                           "-out=tfplan"], cwd=package, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    shown = subprocess.run(["terraform", "show", "-json", "tfplan"], cwd=package, env=env,
                           check=True, capture_output=True, text=True)
    changes = json.loads(shown.stdout)["resource_changes"]
    created = sum(1 for c in changes if "create" in c["change"]["actions"])
    modules = len(json.loads((package / "main.tf.json").read_text())["module"])
    return seconds, created, modules


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,200,400,1000")
    parser.add_argument("--single-max", type=int, default=400)
    args = parser.parse_args()
    with moto_endpoint() as endpoint, tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = terraform_env(base, endpoint)
        print(f"{'jobs':>5} {'layout':>22} {'plan s':>8} {'s/job':>7} {'resources':>9}")
        for size in (int(s) for s in args.sizes.split(",")):
            root = base / f"jobs{size}"
            fargo_project(root, size)
            layouts = [("fargo", -1)]  # fargo's own choice (synth/groups.py)
            if size <= SPLIT_ABOVE:
                layouts.append(("groups", 0))
            elif size <= args.single_max:
                layouts.append(("one instance", size))
            for name, split_above in layouts:
                seconds, created, modules = plan_seconds(root, env, split_above)
                label = f"{name} ({modules} modules)"
                print(f"{size:>5} {label:>22} {seconds:>8.1f} {seconds / size:>7.3f} "
                      f"{created:>9}", flush=True)


if __name__ == "__main__":
    main()
