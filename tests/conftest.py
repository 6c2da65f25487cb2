"""Shared fixtures: run the real `fargo` CLI as a user would type it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parent.parent

# CI runs the same examples every time (a failure there is reproducible); locally they vary.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


NO_ENGINE = "unix:///nonexistent/fargo-tests-no-docker-engine.sock"


def _run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 120, input: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.pop("FARGO_PROJECT_DIR", None)
    full_env["COLUMNS"] = "200"
    full_env["NO_COLOR"] = "1"
    # No Docker engine unless the test asks for one (docker_env): builds stay deterministic
    full_env["DOCKER_HOST"] = NO_ENGINE
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "fargo", *args], cwd=cwd, env=full_env, capture_output=True,
        text=True, timeout=timeout, input=input,
    )


@pytest.fixture
def fargo() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `fargo ARGS...` in a real subprocess; returns the completed process."""
    return _run


def assert_clean_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, a message on stderr naming what is wrong, and no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def write_project(root: Path, app_src: str, config: dict | None = None,
                  policies: dict[str, object] | None = None,
                  files: dict[str, str] | None = None) -> Path:
    """A project on disk: app.py, .fargo/config.json, policy files and any extra files."""
    import json
    import textwrap

    root.mkdir(parents=True, exist_ok=True)
    (root / "app.py").write_text(textwrap.dedent(app_src), encoding="utf-8")
    (root / ".fargo").mkdir(exist_ok=True)
    if config is not None:
        (root / ".fargo" / "config.json").write_text(json.dumps(config, indent=2),
                                                     encoding="utf-8")
    for name, document in (policies or {}).items():
        text = document if isinstance(document, str) else json.dumps(document)
        (root / ".fargo" / name).write_text(text, encoding="utf-8")
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


POLICY = {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                         "Resource": "arn:aws:s3:::bucket/*"}]}


# --- AWS stand-ins: terraform with the real provider, moto's server over HTTP ------------------

def _provider_mirror() -> Path | None:
    """A local filesystem mirror of hashicorp/aws, if this machine has one."""
    explicit = os.environ.get("FARGO_TF_PLUGIN_MIRROR")
    candidates = [Path(explicit)] if explicit else []
    candidates += [Path("/opt/tf-plugins"), Path("/usr/share/terraform/plugins"),
                   Path("/usr/local/share/terraform/plugins"),
                   Path.home() / ".terraform.d" / "plugins"]
    for root in candidates:
        if (root / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return root
    return None


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for running terraform: skips without it, fails without it in CI."""
    import shutil

    if shutil.which("terraform") is None:
        message = "terraform is not installed"
        if os.environ.get("FARGO_REQUIRE_TERRAFORM") == "1":
            pytest.fail(message + " (FARGO_REQUIRE_TERRAFORM=1: CI must run these tests)")
        pytest.skip(message)
    config = tmp_path_factory.mktemp("terraform") / "terraform.rc"
    mirror = _provider_mirror()
    if mirror is not None:
        config.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path = "{mirror}"\n'
            '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
            '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n')
    else:
        config.write_text("")
    return {"TF_CLI_CONFIG_FILE": str(config)}


@pytest.fixture(scope="session")
def moto_server():
    """moto's standalone server on a free loopback port, for boto3 and terraform alike."""
    import logging

    from moto.server import ThreadedMotoServer

    from tests import moto_fixes

    moto_fixes.apply()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["MOTO_PORT"] = str(port)  # Step Functions' integrations call back into it
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server: str, terraform_env: dict[str, str]) -> dict[str, str]:
    """A clean moto and the environment fargo, boto3 and terraform need to reach it."""
    import urllib.request

    from tests import moto_fixes

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset",
                                                  method="POST")).read()
    moto_fixes.reset()
    return {
        **terraform_env,
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


def boto(aws_env: dict[str, str], service: str, region: str = "us-east-1"):
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=aws_env["AWS_ENDPOINT_URL"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of examples/etl-platform (no generated files)."""
    import shutil

    root = tmp_path / "etl-platform"
    shutil.copytree(REPO / "examples" / "etl-platform", root,
                    ignore=shutil.ignore_patterns("data", "__pycache__", "local", "deploy",
                                                  "build"))
    return root


def moto_network(aws_env: dict[str, str], region: str = "us-east-1") -> tuple[str, str]:
    """A subnet and security group of moto's default VPC (RunTask works only with those)."""
    ec2 = boto(aws_env, "ec2", region)
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
    group = ec2.describe_security_groups(Filters=[{"Name": "group-name",
                                                   "Values": ["default"]}])
    return subnet["Subnets"][0]["SubnetId"], group["SecurityGroups"][0]["GroupId"]


def use_network(root: Path, aws_env: dict[str, str], *stages: str,
                region: str = "us-east-1") -> None:
    """Point the stages' subnets and security groups at ones that exist in moto."""
    import json

    subnet, group = moto_network(aws_env, region)
    path = root / ".fargo" / "config.json"
    config = json.loads(path.read_text())
    for stage in stages:
        config["stages"][stage].update(subnets=[subnet], security_groups=[group])
    path.write_text(json.dumps(config, indent=2))


def publish_image(aws_env: dict[str, str], repository: str, tag: str,
                  region: str = "us-east-1") -> None:
    """What `docker push` leaves in ECR: the repository and a tagged manifest."""
    import contextlib
    import json

    ecr = boto(aws_env, "ecr", region)
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    manifest = {"schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "size": 2, "digest": "sha256:" + "0" * 64},
                "layers": []}
    # moto's backends live in the test process: a second server may already hold the image
    with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):
        ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest),
                      imageTag=tag)


# --- A real Docker engine: the image and the Lambda zip run as AWS runs them -------------------
@pytest.fixture(scope="session")
def docker_env() -> dict[str, str]:
    """The environment that reaches a Docker engine with the base image: skips without one,
    fails without one when FARGO_REQUIRE_DOCKER=1 (CI: .ci/run starts scripts/docker-engine)."""
    import shutil

    base = os.environ.get("FARGO_TEST_BASE_IMAGE",
                          f"python:{sys.version_info.major}.{sys.version_info.minor}-slim")
    env = {"DOCKER_HOST": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")}
    probe_env = {**os.environ, **env}
    problem = None
    if shutil.which("docker") is None:
        problem = "no docker client is installed"
    elif subprocess.run(["docker", "info"], env=probe_env, capture_output=True,
                        timeout=30).returncode != 0:
        problem = "no Docker engine answers (scripts/docker-engine start brings one up)"
    elif subprocess.run(["docker", "image", "inspect", base], env=probe_env,
                        capture_output=True, timeout=30).returncode != 0:
        problem = f"the engine has no base image {base} (scripts/docker-engine start makes it)"
    if problem is not None:
        if os.environ.get("FARGO_REQUIRE_DOCKER") == "1":
            pytest.fail(problem + " (FARGO_REQUIRE_DOCKER=1: CI must run these tests)")
        pytest.skip(problem)
    return {**env, "FARGO_TEST_BASE_IMAGE": base}


def use_base_image(root: Path, base: str) -> None:
    """Point the project's image at the engine's local base (no registry is reachable)."""
    import json

    path = root / ".fargo" / "config.json"
    config = json.loads(path.read_text())
    config["base_image"] = base
    path.write_text(json.dumps(config, indent=2))


@pytest.fixture
def registry(tmp_path: Path, docker_env: dict[str, str]):
    """A real image registry (Debian's docker-registry) on a free loopback port: host:port."""
    import shutil
    import socket
    import time
    import urllib.request

    binary = shutil.which("docker-registry")
    if binary is None:
        message = "docker-registry is not installed (apt-get install docker-registry)"
        if os.environ.get("FARGO_REQUIRE_DOCKER") == "1":
            pytest.fail(message + " (FARGO_REQUIRE_DOCKER=1: CI must run these tests)")
        pytest.skip(message)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "registry.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                      f"    rootdirectory: {tmp_path / 'registry'}\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2).read()
            break
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "no registry"
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)
