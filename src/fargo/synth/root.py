"""Build the Terraform root configuration (as JSON) for one stage of a project."""

from __future__ import annotations

import json
from typing import Any

from fargo.packaging.lambda_zip import lambda_python
from fargo.project import names
from fargo.project.model import Project, TaskSpec
from fargo.project.workflows import WorkflowSpec
from fargo.synth import groups
from fargo.synth.deadlines import deadline_checks

MODULE_DIR = "modules/fargo-jobs"
TERRAFORM_VERSION = ">= 1.9.0"
PROVIDER_VERSION = ">= 5.40.0"
LAMBDA_ZIP = "lambda.zip"
WATCHDOG_ZIP = "watchdog.zip"  # the stage's watchdog function (aws/watchdog_function.py)


def literal(value: Any) -> Any:
    """User data as Terraform JSON that evaluates to exactly itself.

    Terraform reads every JSON string (and object key) as a template: `${...}` and `%{...}`
    would run as code (`${file("~/.aws/credentials")}`). Doubling the sigil keeps them text.
    """
    if isinstance(value, str):
        return value.replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, dict):
        return {literal(k): literal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [literal(v) for v in value]
    return value


def job_input(spec: TaskSpec) -> dict[str, Any]:
    """One entry of the module's `jobs` map (user strings made literal); unset values left out."""
    job: dict[str, Any] = {
        "compute": spec.compute,
        "schedule": spec.schedule,
        "timezone": spec.timezone,
        "enabled": spec.enabled,
        "description": spec.description or "",
        "memory": spec.memory,
        "architecture": spec.architecture,
        "timeout": spec.timeout,
        "environment": dict(sorted(spec.environment_variables.items())),
        "tags": dict(sorted(spec.tags.items())),
        "log_retention_days": spec.log_retention_days,
        "flexible_window_minutes": spec.flexible_window_minutes,
        "start_date": spec.start_date,
        "end_date": spec.end_date,
        "retries": spec.retries,
        "retry_timeouts": spec.retry_timeouts,
        "overlap": spec.overlap,
        "runner": spec.uses_runner,  # fargo's decision (project/runner.py), not the module's
    }
    job["subnets"] = list(spec.subnets)
    job["security_groups"] = list(spec.security_groups)
    job["task_role_arn"] = spec.task_role_arn
    if spec.compute == "lambda":
        job["reserved_concurrency"] = spec.reserved_concurrency
        job["layers"] = list(spec.layers)
        if spec.event_sources:  # SNS subscriptions and event source mappings, as Chalice's
            job["event_sources"] = [dict(source) for source in spec.event_sources]
        if spec.s3:  # Chalice's S3 notifications, bucket -> this function
            job["s3_notifications"] = [
                {"bucket": t["bucket"], "events": list(t.get("events") or ["s3:ObjectCreated:*"]),
                 "prefix": t.get("prefix") or None, "suffix": t.get("suffix") or None}
                for t in spec.s3]
    if spec.compute == "fargate":
        if spec.s3:
            job["s3_buckets"] = sorted({str(t["bucket"]) for t in spec.s3})
        if spec.step_of:
            job["step_of"] = sorted(spec.step_of)
        job["cpu"] = spec.cpu
        job["spot"] = spec.spot
        job["secrets"] = dict(sorted(spec.secrets.items()))
        if spec.ephemeral_storage_gib is not None:
            job["ephemeral_storage_gib"] = spec.ephemeral_storage_gib
    if spec.rule_patterns:
        job["event_pattern"] = json.dumps(
            names.event_pattern([dict(p) for p in spec.rule_patterns]), sort_keys=True,
            separators=(",", ":"))
        if spec.compute == "fargate" and spec.event_fields:
            job["event_fields"] = dict(sorted(spec.event_fields.items()))
    if spec.iam_policy is not None:
        job["policy_json"] = json.dumps(spec.iam_policy, sort_keys=True, separators=(",", ":"))
    return {k: literal(v) for k, v in job.items() if v is not None}


def image_expression(project: Project) -> tuple[str, bool]:
    """The module's `image` (a Terraform expression) and whether it is the app's own repository.

    A stage `image` with a tag or digest is used as is; a bare repository gets `var.image_tag`;
    without one, the image is tagged in the app's ECR repository <app> of the stage's account
    (created by fargo build --push, shared by the app's stages, owned by none of them).
    """
    image = project.stage.image
    if image:
        last = image.rsplit("/", 1)[-1]
        if "@" in image or ":" in last:
            return literal(image), False
        return f"{literal(image)}:${{var.image_tag}}", False
    repository = names.ecr_url("${data.aws_caller_identity.current.account_id}",
                               project.stage.aws_region, project.app_name)
    return f"{repository}:${{var.image_tag}}", True


def workflow_input(project: Project, workflow: WorkflowSpec) -> dict[str, Any]:
    """One entry of the module's `workflows`: the definition fargo wrote and its jobs."""
    from fargo.synth.workflow_asl import definition_text

    jobs = [project.require(name) for name in workflow.jobs]
    entry: dict[str, Any] = {
        "definition": definition_text(project, workflow),
        "fargate_jobs": [j.name for j in jobs if j.compute == "fargate"],
        "lambda_jobs": [j.name for j in jobs if j.compute == "lambda"],
        "schedule": workflow.schedule,
        "timezone": workflow.timezone,
        "description": workflow.description,
    }
    return {k: literal(v) for k, v in entry.items() if v is not None}


def state_backend(project: Project) -> dict[str, Any]:
    """The root's backend block: local state in the package, or the stage's S3 state."""
    stage = project.stage
    if not stage.terraform_state:
        return {"local": {"path": "terraform.tfstate"}}
    state = dict(stage.terraform_state)
    return {"s3": {
        "bucket": state["bucket"],
        "key": state.get("key") or f"fargo/{project.app_name}/{stage.name}.tfstate",
        "region": state.get("region") or stage.aws_region,
        "encrypt": state.get("encrypt", True),
        **({"dynamodb_table": state["dynamodb_table"]} if state.get("dynamodb_table") else {}),
    }}


def build_root(project: Project, moved: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The root; `moved` carries resources the state holds elsewhere (groups.moves)."""
    stage = project.stage
    has_fargate = any(t.compute == "fargate" for t in project.tasks)
    has_lambda = any(t.compute == "lambda" for t in project.tasks)
    image, own_repository = image_expression(project)
    backend = state_backend(project)
    provider: dict[str, Any] = {
        "region": stage.aws_region,
        "default_tags": [{"tags": {"fargo:app": project.app_name, "fargo:stage": stage.name,
                                   "managed-by": "fargo"}}],  # names: [A-Za-z0-9_-] only
    }
    if stage.account:
        provider["allowed_account_ids"] = [stage.account]
    module: dict[str, Any] = {
        "source": f"./{MODULE_DIR}",
        "app_name": project.app_name,
        "stage": stage.name,
        "cluster_name": stage.cluster_name,
        "create_cluster": stage.create_cluster,
        "subnets": list(stage.subnets),
        "security_groups": list(stage.security_groups),
        "assign_public_ip": stage.assign_public_ip,
        "schedule_backend": stage.schedule_backend,
        "create_dead_letter_queue": stage.create_dead_letter_queue,
        "jobs": {t.name: job_input(t) for t in project.tasks},
    }
    if project.workflows:
        module["workflows"] = {w.name: workflow_input(project, w) for w in project.workflows}
    if stage.cluster_arn:
        module["cluster_arn"] = stage.cluster_arn
    if stage.execution_role_arn:
        module["execution_role_arn"] = stage.execution_role_arn
    alerts = dict(stage.alerts or {})
    if alerts.get("topic_arn"):
        module["alert_topic_arn"] = literal(alerts["topic_arn"])
    elif alerts:
        module["create_alert_topic"] = True
        module["alert_emails"] = literal(sorted(alerts.get("emails", [])))
    checks = deadline_checks(project)
    if has_fargate or checks:
        module["watchdog_package"] = f"${{path.module}}/{WATCHDOG_ZIP}"
    if checks:
        module["deadline_checks"] = {c["name"]: c["source"] for c in checks}
    if has_fargate:
        module["image"] = image
        module["pending_limit_seconds"] = stage.pending_limit
    if has_lambda:
        module["lambda_package"] = f"${{path.module}}/{LAMBDA_ZIP}"
        # the zip's wheels and bytecode are for this Python: the functions run the same one
        module["lambda_runtime"] = f"python{lambda_python()}"
    modules = {"jobs": module}
    if groups.split(project.tasks):
        modules = split_modules(project, module)
    root: dict[str, Any] = {
        "//": f"Generated by fargo package for {project.app_name} stage {stage.name}; "
              "edit .fargo/config.json and app.py, not this file.",
        "terraform": {
            "required_version": TERRAFORM_VERSION,
            "required_providers": {"aws": {"source": "hashicorp/aws",
                                           "version": PROVIDER_VERSION}},
            "backend": backend,
        },
        "provider": {"aws": provider},
        "variable": {"image_tag": {
            "type": "string", "default": "latest",
            "description": "Tag of the stage's image (fargo build sets it to the git commit).",
        }},
        "module": modules,
        "output": {
            name: {"value": f"${{module.jobs.{name}}}"}
            for name in ("jobs", "cluster_arn", "schedule_group", "execution_role_arn",
                         "scheduler_role_arn", "dead_letter_queue_arn", "network",
                         "runs_log_group", "alert_topic_arn", "runner_arn")
        },
    }
    if len(modules) > 1:
        parts = ", ".join(f"module.{name}.jobs" for name in modules if name != "jobs")
        root["output"]["jobs"] = {"value": f"${{merge({parts})}}"}
    if moved:
        root["moved"] = moved
    if own_repository and has_fargate:
        root["data"] = {"aws_caller_identity": {"current": {}}}
    return root


def split_modules(project: Project, module: dict[str, Any]) -> dict[str, Any]:
    """The stage's shared resources in `module.jobs`, each group's jobs in `module.jobs_NN`."""
    modules: dict[str, Any] = {"jobs": {**module, "part": "stage"}}
    shared = {k: v for k, v in module.items() if k not in (
        "jobs", "workflows", "create_alert_topic", "alert_emails", "alert_topic_arn",
        "deadline_checks")}
    for name, tasks in groups.groups(project.tasks).items():
        members = {t.name for t in tasks}
        part: dict[str, Any] = {**shared, "part": "jobs", "stage_refs": "${module.jobs.stage_refs}",
                                "jobs": {t.name: module["jobs"][t.name] for t in tasks}}
        # the steps' callback permissions need the workflows' names and jobs; the stage's
        # instance holds their definitions
        flows = {w: {"definition": "", "fargate_jobs": entry.get("fargate_jobs", []),
                     "lambda_jobs": entry.get("lambda_jobs", [])}
                 for w, entry in module.get("workflows", {}).items()
                 if members & set(entry.get("fargate_jobs", []))}
        if flows:
            part["workflows"] = flows
        modules[name] = part
    return modules


def render(root: dict[str, Any]) -> str:
    """Deterministic JSON text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(root, indent=2, sort_keys=True) + "\n"
