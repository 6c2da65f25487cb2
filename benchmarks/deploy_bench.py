"""Deploy figures: AWS resources per job, `fargo package` for 500 jobs next to `chalice package`,
and `terraform apply` of 100 jobs against moto.

Run: python benchmarks/deploy_bench.py [--jobs 500] [--apply-jobs 100]
Needs terraform (and a provider mirror, see tests/conftest.py) and, for the comparison,
`pip install chalice` (not a dependency of fargo).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.conftest import _provider_mirror  # noqa: E402


def fargo_project(root: Path, jobs: int, lambdas: int = 0) -> None:
    (root / ".fargo").mkdir(parents=True)
    config = {"app_name": "bench", "subnets": ["subnet-0123456789abcdef0"],
              "security_groups": ["sg-0123456789abcdef0"], "stages": {"dev": {}}}
    (root / ".fargo" / "config.json").write_text(json.dumps(config))
    lines = ["from fargo import App", "app = App('bench')"]
    for i in range(jobs):
        compute = "lambda" if i < lambdas else "fargate"
        lines += [f"@app.task('cron({i % 60} 2 * * ? *)', compute={compute!r})",
                  f"def job{i}(event):", "    pass"]
        (root / ".fargo" / f"policy-job{i}.json").write_text(json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                    "Resource": f"arn:aws:s3:::b/{i}/*"}]}))
    (root / "app.py").write_text("\n".join(lines) + "\n")


def chalice_project(root: Path, jobs: int) -> None:
    (root / ".chalice").mkdir(parents=True)
    (root / ".chalice" / "config.json").write_text(json.dumps(
        {"version": "2.0", "app_name": "bench", "stages": {"dev": {"api_gateway_stage": "api"}}}))
    (root / "requirements.txt").write_text("")
    lines = ["from chalice import Chalice", "app = Chalice(app_name='bench')"]
    for i in range(jobs):
        lines += [f"@app.schedule('cron({i % 60} 2 * * ? *)')", f"def job{i}(event):",
                  "    pass"]
    (root / "app.py").write_text("\n".join(lines) + "\n")


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{command} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - start


def terraform_env(base: Path, endpoint: str) -> dict[str, str]:
    rc = base / "terraform.rc"
    mirror = _provider_mirror()
    rc.write_text("" if mirror is None else
                  'provider_installation {\n  filesystem_mirror {\n'
                  f'    path = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/*"]\n'
                  '  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n')
    return {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--apply-jobs", type=int, default=100)
    args = parser.parse_args()
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = terraform_env(base, endpoint)

        # 1. resources per job and per stage, from a real plan (1 and 2 Fargate jobs + 1 Lambda)
        counts = {}
        for jobs, lambdas in ((1, 0), (2, 0), (3, 1)):
            root = base / f"count{jobs}"
            fargo_project(root, jobs, lambdas)
            done = subprocess.run([sys.executable, "-m", "fargo", "plan", "--stage", "dev",
                                   "--json"], cwd=root, capture_output=True, text=True, env=env)
            plan = json.loads(done.stdout)
            counts[(jobs, lambdas)] = plan
        per_fargate = counts[(2, 0)]["add"] - counts[(1, 0)]["add"]
        stage_only = counts[(1, 0)]["add"] - per_fargate
        per_lambda = counts[(3, 1)]["add"] - stage_only - 2 * per_fargate
        kinds = Counter(r["address"].split(".")[2].split("[")[0] for r in
                        counts[(1, 0)]["resources"])
        print(f"1. AWS resources: {per_fargate} per Fargate job, {per_lambda} per Lambda job, "
              f"{stage_only} per stage (the original module: 10 per job, 2 IAM roles per job); "
              f"stage with one job: {dict(sorted(kinds.items()))}")

        # 2. fargo package vs chalice package, 500 jobs
        root = base / "package500"
        fargo_project(root, args.jobs)
        fargo_s = timed([sys.executable, "-m", "fargo", "package", "--stage", "dev"], root)
        line = f"2. package {args.jobs} jobs: fargo package {fargo_s:.2f} s"
        if shutil.which("chalice"):
            croot = base / "chalice500"
            chalice_project(croot, args.jobs)
            chalice_s = timed(["chalice", "package", "--pkg-format", "terraform",
                               str(base / "chalice-out")], croot,
                              {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
            line += f"; chalice package --pkg-format terraform {chalice_s:.2f} s"
        else:
            line += "; chalice not installed (pip install chalice) for the comparison"
        print(line)

        # 3. terraform apply of 100 jobs on moto
        root = base / "apply"
        fargo_project(root, args.apply_jobs)
        apply_s = timed([sys.executable, "-m", "fargo", "deploy", "--stage", "dev", "--yes"],
                        root, env)
        replan_s = timed([sys.executable, "-m", "fargo", "plan", "--stage", "dev", "--json"],
                         root, env)
        print(f"3. fargo deploy of {args.apply_jobs} Fargate jobs on moto (package, init, plan, "
              f"apply): {apply_s:.1f} s; the empty re-plan: {replan_s:.1f} s")
    server.stop()


if __name__ == "__main__":
    main()
