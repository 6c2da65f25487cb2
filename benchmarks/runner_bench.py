"""The runner's cost: AWS resources per job and per stage, state transitions per run, and the
monthly Step Functions bill for 100 hourly jobs.

Run: python benchmarks/runner_bench.py
Needs terraform (and a provider mirror, see tests/conftest.py); AWS is moto, in this process.

- Resources: a stage of 4 Fargate jobs (2 through the runner, 2 direct, each with a policy)
  planned by terraform; resources are counted per job (for_each keys) and per stage.
- Transitions: executions of the module's runner.asl.json on moto's Step Functions interpreter
  (tests/moto_fixes.py), one per path; AWS bills each state entered as one transition.
- Price: Step Functions Standard, $0.025 per 1,000 state transitions, 4,000 free a month
  (aws.amazon.com/step-functions/pricing, us-east-1, checked 2026-11).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests import moto_fixes  # noqa: E402
from tests.conftest import _provider_mirror  # noqa: E402

PRICE_PER_1000 = 0.025
FREE_PER_MONTH = 4000
ASL = HERE.parent / "src" / "fargo" / "synth" / "module" / "runner.asl.json"


def project(root: Path) -> None:
    (root / ".fargo").mkdir(parents=True)
    jobs = {"hourly_a": "rate(1 hour)", "hourly_b": "rate(1 hour)",
            "daily_a": "cron(0 2 * * ? *)", "daily_b": "cron(0 3 * * ? *)"}
    lines = ["from fargo import App", "app = App('bench')"]
    for name, schedule in jobs.items():
        lines += [f"@app.task({schedule!r})", f"def {name}(event):", "    pass"]
        (root / ".fargo" / f"policy-{name}.json").write_text(json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                    "Resource": "arn:aws:s3:::b/*"}]}))
    (root / "app.py").write_text("\n".join(lines) + "\n")
    (root / ".fargo" / "config.json").write_text(json.dumps({
        "app_name": "bench", "subnets": ["subnet-0123456789abcdef0"],
        "security_groups": ["sg-0123456789abcdef0"], "stages": {"dev": {}}}))


def resources(base: Path, endpoint: str) -> tuple[Counter[str], int]:
    root = base / "proj"
    project(root)
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    rc = base / "terraform.rc"
    mirror = _provider_mirror()
    rc.write_text("" if mirror is None else
                  'provider_installation {\n  filesystem_mirror {\n'
                  f'    path = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/*"]\n'
                  '  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n')
    env["TF_CLI_CONFIG_FILE"] = str(rc)
    fargo = [sys.executable, "-m", "fargo"]
    subprocess.run([*fargo, "package", "--stage", "dev"], cwd=root, env=env, check=True,
                   capture_output=True)
    out = root / ".fargo" / "deploy" / "dev"
    for command in (["terraform", "init", "-input=false"],
                    ["terraform", "plan", "-input=false", "-refresh=false", "-out=p",
                     "-var", "image_tag=v1"]):
        subprocess.run(command, cwd=out, env=env, check=True, capture_output=True)
    shown = json.loads(subprocess.run(["terraform", "show", "-json", "p"], cwd=out, env=env,
                                      check=True, capture_output=True, text=True).stdout)
    per_job: Counter[str] = Counter()
    stage = 0
    for change in shown["resource_changes"]:
        if change["mode"] != "managed":
            continue
        key = change.get("index")
        if isinstance(key, str):
            per_job[key] += 1
        else:
            stage += 1
    return per_job, stage


def transitions(endpoint: str) -> dict[str, int]:
    import boto3

    def client(service: str):  # type: ignore[no-untyped-def]
        return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint,
                            aws_access_key_id="t", aws_secret_access_key="t")

    urllib.request.urlopen(urllib.request.Request(
        f"{endpoint}/moto-api/config", method="POST",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode())).read()
    ec2, ecs, sfn = client("ec2"), client("ecs"), client("stepfunctions")
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])[
        "Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}])[
        "SecurityGroups"][0]["GroupId"]
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="f", requiresCompatibilities=["FARGATE"],
                                 networkMode="awsvpc", cpu="256", memory="512",
                                 containerDefinitions=[{"name": "job", "image": "x",
                                                        "memory": 512}])
    machine = sfn.create_state_machine(name="runner", definition=ASL.read_text(),
                                       roleArn="arn:aws:iam::123456789012:role/r")[
        "stateMachineArn"]
    base = {"job": "j", "compute": "fargate", "spot": False, "overlap": "skip", "retries": 2,
            "retry_timeouts": False, "timeout_seconds": 600, "backoff_seconds": 1,
            "backoff_max_seconds": 2, "queue_poll_seconds": 1, "run_id": "r",
            "scheduled_time": "", "event": {},
            "target": {"Cluster": "c", "TaskDefinition": "f", "Family": "f", "Group": "g",
                       "PlatformVersion": "LATEST", "FunctionName": None,
                       "NetworkConfiguration": {"AwsvpcConfiguration": {
                           "Subnets": [subnet], "SecurityGroups": [group],
                           "AssignPublicIp": "DISABLED"}}}}

    def run(exits: tuple[int, ...] = (), blocker: bool = False, **changes: object) -> int:
        moto_fixes.exit_next_tasks("f", *exits)
        blocking = None
        if blocker:
            blocking = ecs.run_task(cluster="c", taskDefinition="f", launchType="FARGATE",
                                    networkConfiguration={"awsvpcConfiguration": {
                                        "subnets": [subnet], "securityGroups": [group]}})
        arn = sfn.start_execution(stateMachineArn=machine, name=uuid.uuid4().hex,
                                  input=json.dumps({**base, **changes}))["executionArn"]
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            time.sleep(0.2)
        if blocking:
            ecs.stop_task(cluster="c", task=blocking["tasks"][0]["taskArn"])
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return sum(1 for e in events if e["type"].endswith("StateEntered"))

    return {
        "succeeded (overlap check, 1 attempt)": run(),
        "skipped (a run still going)": run(blocker=True),
        "succeeded (retries only, overlap allow)": run(overlap="allow"),
        "failed once, then succeeded": run(exits=(1, 0)),
        "failed 3 times (retries=2)": run(exits=(1, 1, 1)),
    }


def main() -> None:
    import logging

    moto_fixes.apply()
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # a failed attempt is logged loudly
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["MOTO_PORT"] = str(port)
    endpoint = f"http://{host}:{port}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            per_job, stage = resources(Path(tmp), endpoint)
        counts = transitions(endpoint)
    finally:
        server.stop()
    print("AWS resources per job (terraform plan, each job with a policy):")
    for job, count in sorted(per_job.items()):
        print(f"  {job:10} {count}  ({'runner' if job.startswith('hourly') else 'direct'})")
    print(f"per stage: {stage} (incl. the runner's state machine, role and policy, and its "
          "run-record rule and target)")
    print("\nstate transitions per run (moto's interpreter, StateEntered events):")
    for path, count in counts.items():
        print(f"  {path:42} {count}")
    runs = 100 * 24 * 365 / 12
    per_run = counts["succeeded (overlap check, 1 attempt)"]
    billed = max(0.0, runs * per_run - FREE_PER_MONTH)
    print(f"\n100 hourly jobs: {runs:,.0f} runs a month x {per_run} transitions = "
          f"{runs * per_run:,.0f} transitions; ${billed / 1000 * PRICE_PER_1000:,.2f} a month "
          f"at ${PRICE_PER_1000} per 1,000 after {FREE_PER_MONTH:,} free")


if __name__ == "__main__":
    main()
