"""A workflow as an Amazon States Language definition, and a job as a Task state to paste.

A Fargate step is `ecs:runTask.waitForTaskToken`: the task gets the step's input as
FARGO_EVENT and the token as FARGO_TASK_TOKEN, and the runtime sends its result back
(SendTaskSuccess, SendTaskFailure, heartbeats). A Lambda step is `lambda:invoke` with the input
wrapped as {"fargo_step": true, "input": ...}, its output the function's return value. The same
shape runs locally (fargo.local.workflow), with the same retries, catches and limits.
"""

from __future__ import annotations

import json
from typing import Any

from fargo.project import names
from fargo.project.model import Project, TaskSpec
from fargo.project.runner import GRACE_SECONDS
from fargo.project.workflows import EachSpec, Node, ParallelSpec, StepSpec, WorkflowSpec
from fargo.runtime import contract

HEARTBEAT_SECONDS = 300  # the runtime beats every 60 s; five missed beats fail the step
BACKOFF_RATE = 2.0


def task_state(project: Project, spec: TaskSpec, group: str) -> dict[str, Any]:
    """The Task state that runs `spec` as a step and passes its result on."""
    if spec.compute == "lambda":
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": spec.full_name,
                           "Payload": {"fargo_step": True, "input.$": "$"}},
            "OutputPath": "$.Payload",
            "TimeoutSeconds": spec.timeout + GRACE_SECONDS["lambda"],
        }
    stage = project.stage
    subnets = list(spec.subnets or stage.subnets)
    groups = list(spec.security_groups or stage.security_groups)
    parameters: dict[str, Any] = {
        "Cluster": stage.cluster,
        "TaskDefinition": spec.full_name,
        "PlatformVersion": "LATEST",
        "NetworkConfiguration": {"AwsvpcConfiguration": {
            "Subnets": subnets, "SecurityGroups": groups,
            "AssignPublicIp": "ENABLED" if stage.assign_public_ip else "DISABLED"}},
        "Group": group,
        "PropagateTags": "TASK_DEFINITION",
        "Overrides": {"ContainerOverrides": [{"Name": "job", "Environment": [
            {"Name": "FARGO_TASK_TOKEN", "Value.$": "$$.Task.Token"},
            {"Name": contract.EVENT, "Value.$": "States.JsonToString($)"},
            {"Name": contract.RUN_ID, "Value.$": "$$.Execution.Name"},
        ]}]},
    }
    if spec.spot:
        parameters["CapacityProviderStrategy"] = [{"CapacityProvider": "FARGATE_SPOT",
                                                   "Weight": 1}]
    else:
        parameters["LaunchType"] = "FARGATE"
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
        "Parameters": parameters,
        "TimeoutSeconds": spec.timeout + GRACE_SECONDS["fargate"],
        "HeartbeatSeconds": HEARTBEAT_SECONDS,
    }


class _Builder:
    def __init__(self, project: Project, workflow: WorkflowSpec) -> None:
        self.project = project
        self.group = names.workflow_task_group(project.app_name, project.stage.name,
                                               workflow.name)
        self.used: set[str] = set()

    def name(self, wanted: str) -> str:
        """A state name not used anywhere in the definition (Step Functions wants them unique
        across the whole state machine), at most 80 characters."""
        base = wanted[:72]
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base} #{n}"
        self.used.add(name)
        return name

    def chain(self, nodes: tuple[Node, ...]) -> dict[str, Any]:
        """{"StartAt": ..., "States": {...}} running `nodes` in order."""
        states: dict[str, Any] = {}
        entries: list[str] = []
        exits: list[list[str]] = []  # per node: the states whose Next is the following node
        for node in nodes:
            first, last = self.node(node, states)
            entries.append(first)
            exits.append(last)
        for index, ends in enumerate(exits):
            for end in ends:
                if index + 1 < len(entries):
                    states[end]["Next"] = entries[index + 1]
                else:
                    states[end]["End"] = True
        return {"StartAt": entries[0], "States": states}

    def node(self, node: Node, states: dict[str, Any]) -> tuple[str, list[str]]:
        """Add the node's states; (its first state, the states it leaves from)."""
        if isinstance(node, StepSpec):
            return self.step(node, states)
        if isinstance(node, ParallelSpec):
            name = self.name("parallel " + " | ".join(_first_job(b) for b in node.branches))
            states[name] = {"Type": "Parallel",
                            "Branches": [self.chain(branch) for branch in node.branches]}
            return name, [name]
        assert isinstance(node, EachSpec)
        name = self.name(f"each {node.over or 'item'}: {_first_job(node.body)}")
        body = self.chain(node.body)
        states[name] = {
            "Type": "Map",
            "ItemsPath": f"$.{node.over}" if node.over else "$",
            "MaxConcurrency": node.max_concurrency,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **body},
        }
        return name, [name]

    def step(self, step: StepSpec, states: dict[str, Any]) -> tuple[str, list[str]]:
        name = self.name(step.job)
        state = task_state(self.project, self.project.require(step.job), self.group)
        if step.retries:
            state["Retry"] = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": step.interval,
                               "MaxAttempts": step.retries, "BackoffRate": BACKOFF_RATE}]
        states[name] = state
        if step.catch is None:
            return name, [name]
        catch_name = self.name(f"{step.catch} (catch of {step.job})")
        state["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": catch_name}]
        states[catch_name] = task_state(self.project, self.project.require(step.catch),
                                        self.group)
        return name, [name, catch_name]


def _first_job(nodes: tuple[Node, ...]) -> str:
    node = nodes[0]
    if isinstance(node, StepSpec):
        return node.job
    if isinstance(node, ParallelSpec):
        return "parallel"
    return "each"


DEFINITION_MAX_BYTES = 1024 * 1024  # Step Functions: a state machine's definition, at most 1 MB


def definition_text(project: Project, workflow: WorkflowSpec) -> str:
    """The definition as deployed; ProblemsError when Step Functions would refuse its size."""
    text = json.dumps(definition(project, workflow), sort_keys=True, separators=(",", ":"))
    size = len(text.encode())
    if size > DEFINITION_MAX_BYTES:
        from fargo.problems import Problem, ProblemsError

        raise ProblemsError([Problem(
            f"workflow {workflow.name!r}: its state machine definition is {size / 2**20:.1f} MB; "
            "Step Functions allows 1 MB: split it into workflows, or use each() over a list "
            "instead of repeating steps", "app.py")])
    return text


def definition(project: Project, workflow: WorkflowSpec) -> dict[str, Any]:
    """The workflow's state machine definition."""
    builder = _Builder(project, workflow)
    asl: dict[str, Any] = {"Comment": f"fargo workflow {workflow.full_name}"
                           + (f": {workflow.description}" if workflow.description else "")}
    asl.update(builder.chain(workflow.steps))
    if workflow.timeout is not None:
        asl["TimeoutSeconds"] = workflow.timeout
    return asl
