"""An unchanged stage: `fargo deploy` with nothing changed since the last apply, against a real
no-change plan (`fargo plan --refresh`), on moto with real terraform.

Run: python benchmarks/unchanged_deploy.py [--jobs 100] [--rounds 5]
Needs terraform and the provider (a mirror, see tests/conftest.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.aws_local import moto_endpoint  # noqa: E402
from benchmarks.deploy_bench import fargo_project, terraform_env  # noqa: E402
from benchmarks.timing import interleaved, report  # noqa: E402
from tests.conftest import publish_image, use_network  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with moto_endpoint() as endpoint, tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        os.environ.update(terraform_env(base, endpoint))
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        root = base / "stage"
        fargo_project(root, args.jobs)
        use_network(root, dict(os.environ), "dev")
        publish_image(dict(os.environ), "bench", "v1")
        fargo = [sys.executable, "-m", "fargo", "-C", str(root)]
        start = time.perf_counter()
        subprocess.run([*fargo, "deploy", "--stage", "dev", "--yes", "--image-tag", "v1"],
                       check=True, capture_output=True)
        print(f"first deploy of {args.jobs} Fargate jobs: {time.perf_counter() - start:.1f} s")
        times = interleaved({
            "python -c pass": [sys.executable, "-c", "pass"],
            "fargo deploy (unchanged)": [*fargo, "deploy", "--stage", "dev", "--yes",
                                         "--image-tag", "v1"],
            "fargo plan --refresh": [*fargo, "plan", "--stage", "dev", "--image-tag", "v1",
                                     "--refresh"],
        }, root, args.rounds)
        report(f"{args.jobs} jobs, nothing changed", times)


if __name__ == "__main__":
    main()
