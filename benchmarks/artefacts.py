"""What fargo ships, measured on a real Docker engine: build time, size, and start to first line.

Run: eval "$(scripts/docker-engine start)" && python benchmarks/artefacts.py [runs]

In a project made by `fargo new` (its base image set to the engine's local one):
- the image build, cold (`--no-cache`) and warm (one line of app.py changed: only the code
  layers are rebuilt), and the image's size beside its base;
- the Lambda zip's size;
- a no-op Fargate job's container start to its first log line and to its end, interleaved with a
  bare `python -c pass` container of the same image, as the floor;
- a no-op Lambda job under awslambdaric from its zip, start to response, beside the floor.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOOP = '''

@app.task("rate(1 hour)")
def noop(event, context):
    return None


@app.lambda_function()
def lambda_noop(event, context):
    return None
'''


def fargo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fargo", *args], cwd=cwd, capture_output=True,
                          text=True, check=True)


def first_line_and_end(argv: list[str]) -> tuple[float, float]:
    began = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    process.stdout.readline()
    first = time.perf_counter() - began
    process.stdout.read()
    process.wait()
    return first, time.perf_counter() - began


def image_size(reference: str) -> int:
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", reference],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    base = os.environ.get("FARGO_TEST_BASE_IMAGE",
                          f"python:{sys.version_info.major}.{sys.version_info.minor}-slim")
    from fargo.local import lambda_sandbox

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        fargo("new", "demo", cwd=Path(tmp))
        config = json.loads((root / ".fargo/config.json").read_text())
        config["base_image"] = base
        (root / ".fargo/config.json").write_text(json.dumps(config))
        with open(root / "app.py", "a", encoding="utf-8") as app:
            app.write(NOOP)
        fargo("build", "--stage", "dev", "--network", "host", cwd=root)  # fills the pip cache
        context = root / ".fargo/build/dev/image"
        began = time.perf_counter()
        subprocess.run(["docker", "build", "--no-cache", "--network", "host", "-q", "-t",
                        "bench-cold", str(context)], check=True, capture_output=True)
        cold = time.perf_counter() - began
        with open(root / "app.py", "a", encoding="utf-8") as app:
            app.write("\n# a change of code only\n")
        began = time.perf_counter()
        fargo("build", "--stage", "dev", "--network", "host", "--tag", "warm", cwd=root)
        warm = time.perf_counter() - began
        built = json.loads((root / ".fargo/build/dev/image.json").read_text())
        reference = f"{built['repository']}:{built['tag']}"
        zip_size = (root / ".fargo/build/dev/lambda.zip").stat().st_size

        job = ["docker", "run", "--rm", "--network", "none", "--memory", "512m", reference,
               "noop"]
        bare = ["docker", "run", "--rm", "--network", "none", "--memory", "512m",
                "--entrypoint", "python", reference, "-c", "print('x')"]
        job_times, bare_times = [], []
        for _ in range(runs):
            job_times.append(first_line_and_end(job))
            bare_times.append(first_line_and_end(bare))

        from fargo.project.load import load_project

        project = load_project(root, "dev")
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        image = lambda_sandbox.ensure_runtime_image(base, python, os.environ, "host")
        configuration = lambda_sandbox.function_configuration(project.require("lambda_noop"),
                                                              python)
        lambda_times = []
        for _ in range(runs):
            began = time.perf_counter()
            answer = lambda_sandbox.invoke(root / ".fargo/build/dev/lambda.zip", configuration,
                                           {}, image=image, region="us-east-1",
                                           client_env=os.environ)
            assert answer.status == "succeeded", answer
            lambda_times.append(time.perf_counter() - began)

    def median(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f} ms"

    print(f"image build: cold {cold:.1f} s, warm (code only) {warm:.1f} s")
    print(f"image size: {image_size(reference) / 2**20:.1f} MiB "
          f"(base {image_size(base) / 2**20:.1f} MiB)")
    print(f"Lambda zip: {zip_size / 1024:.0f} KiB")
    print(f"Fargate no-op job, container start to first log line: "
          f"{median([t[0] for t in job_times])} (bare python -c: "
          f"{median([t[0] for t in bare_times])}); to its end: "
          f"{median([t[1] for t in job_times])} (bare: {median([t[1] for t in bare_times])})")
    print(f"Lambda no-op job under awslambdaric, container start to response: "
          f"{median(lambda_times)}  ({runs} runs each, medians)")


if __name__ == "__main__":
    main()
