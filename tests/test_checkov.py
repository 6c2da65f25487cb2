"""checkov on the plan of the example package: every finding fixed, or skipped with a reason."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, _run

pytestmark = pytest.mark.slow
CHECKOV_VERSION = "3.3.30"


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov in its own virtual environment (it pins libraries fargo's tests also use)."""
    venv = Path(os.environ.get("FARGO_CHECKOV_VENV",
                               Path.home() / ".cache" / "fargo-tests" / f"checkov-{CHECKOV_VERSION}"))
    binary = venv / "bin" / "checkov"
    venv.parent.mkdir(parents=True, exist_ok=True)
    # Both test workers may need it at once: one installs, the other waits on the lock.
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                                   f"checkov=={CHECKOV_VERSION}"], capture_output=True,
                                  text=True)
            if done.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                message = f"checkov could not be installed: {done.stderr[-500:]}"
                if os.environ.get("FARGO_REQUIRE_TERRAFORM") == "1":
                    pytest.fail(message)
                pytest.skip(message)
    return binary


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_no_unexplained_checkov_findings(stage: str, tmp_path: Path, aws: dict[str, str],
                                         checkov: Path) -> None:
    example = tmp_path / "etl-platform"
    shutil.copytree(REPO / "examples" / "etl-platform", example,
                    ignore=shutil.ignore_patterns("data", "__pycache__", "local", "deploy"))
    package = tmp_path / "package"
    r = _run(["plan", "--stage", stage, "--json", "--out", str(package)], cwd=example, env=aws,
             timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    show = subprocess.run(["terraform", "show", "-json", "tfplan"], cwd=package,
                          capture_output=True, text=True, env={**os.environ, **aws}, check=True)
    (package / "plan.json").write_text(show.stdout)
    scan = subprocess.run(
        [str(checkov), "-f", "plan.json", "--framework", "terraform_plan", "--skip-download",
         "--repo-root-for-plan-enrichment", str(package), "-o", "json"],
        cwd=package, capture_output=True, text=True, env={**os.environ, "CHECKOV_NO_OUTPUT": ""})
    report = json.loads(scan.stdout)
    report = report if isinstance(report, dict) else report[0]
    results = report["results"]
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert failed == [], failed
    assert report["summary"]["passed"] > 50, "checkov checked nothing"
    for skipped in results["skipped_checks"]:
        reason = skipped.get("check_result", {}).get("suppress_comment", "")
        assert len(reason) > 20, (skipped["check_id"], reason)
