"""Where moto 5.2.5 differs from AWS in ways the runner's tests depend on, make it behave as AWS.

The test server runs moto in this process, so these are applied to moto's own classes once,
before the server starts. Each one names the AWS behaviour it restores; none touches fargo.

- Step Functions: `ValidateStateMachineDefinition` and `ListStateMachineVersions` are missing
  from moto's HTTP responses (terraform's aws_sfn_state_machine calls both); moto's own ASL
  parser implements the validation, so the handler calls it.
- EventBridge: `TestEventPattern` answers nothing in moto; the handler asks moto's own
  pattern matcher (the one its rules deliver events with).
- Service integrations: AWS takes PascalCase parameters (`Cluster`, `TaskDefinition`) and
  returns PascalCase results; moto passes the parameters to boto3 unchanged (which rejects
  them). The request and response are converted with botocore's own service model.
- `ecs:runTask`: AWS takes `CapacityProviderStrategy` (Fargate Spot; CDK's EcsRunTask
  capacity-provider integration test runs it); moto's list of parameters predates it.
- `ecs:runTask.sync`: AWS fails the state with `States.TaskFailed` when a container exits
  non-zero, its cause the task's description as JSON; moto returns the task as a success.
- `RunTask` refuses overrides over 8192 characters, JSON syntax included ("Container
  Overrides length must be at most 8192", InvalidParameterException); moto takes any size.
- EventBridge input transformers: a placeholder outside quotes is replaced by the value as
  JSON (a string gets its quotes: the AWS guide's `{"instance": <instance>}` gives
  `{"instance": "i-0123..."}`); moto inserts a string's bare text, which is not JSON.
- S3 `GetBucketNotificationConfiguration` leaves out `EventBridgeConfiguration` although moto
  stores it and sends the bucket's events to EventBridge; AWS returns it when it is on.
- EventBridge delivers an event to each target of a rule on its own; moto stops at the first
  target it cannot deliver to (a Step Functions state machine raises NotImplementedError), so
  the rule's other targets never get it. Each target is tried on its own here.
- `SendTaskFailure`: moto's HTTP handler drops the `cause`; AWS keeps it (a Catch's output
  and the execution's failure carry it).
- waitForTaskToken with HeartbeatSeconds: moto sets up the heartbeat watch only after the
  task is started; a SendTaskSuccess that comes first (a fast job) is then never seen, and the
  state fails with a heartbeat timeout. AWS has no such window: a result that already came is
  taken as the heartbeat.
- `ListTasks(desiredStatus=RUNNING)`: in AWS a task that stopped wants STOPPED; moto leaves
  every task's desired status RUNNING forever, so a stopped run would look like one going on.
- Containers: moto never runs one, so every task "exits" 0. A stand-in container decides: a
  test in this process registers the exit codes the next tasks of a family end with
  (`exit_next_tasks`); a test talking to a moto of its own process puts them in the run's
  event, `{"moto_exit_codes": [1, 0]}`, one per attempt (FARGO_ATTEMPT). A task whose event
  holds `{"moto_status": "PROVISIONING"}` stays in that state, as a task AWS cannot place does
  (moto starts every task RUNNING). Tasks get the `createdAt` and `startedAt` AWS reports.
- Retries: an AWS SDK retries a request whose answer it did not get (a connection dropped by
  the loaded test server) under the same `amz-sdk-invocation-id`. AWS had answered the first
  attempt; moto then does the work twice (CreateRole: EntityAlreadyExists for the role it
  just made). A retry of a write that moto already answered with success gets that answer
  again, and every retry is reported on stderr with what the first attempt got.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from datetime import datetime, timezone
from typing import Any

CONTAINER_EXITS: dict[str, deque[int | None]] = defaultdict(deque)
_LOCK = threading.Lock()
_applied = False


def exit_next_tasks(family: str, *codes: int | None) -> None:
    """The next tasks of `family` stop with these container exit codes (None: no exit code)."""
    with _LOCK:
        CONTAINER_EXITS[family].clear()
        CONTAINER_EXITS[family].extend(codes)


def reset() -> None:
    with _LOCK:
        CONTAINER_EXITS.clear()


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    _stepfunctions_handlers()
    _test_event_pattern()
    _service_integration_casing()
    _ecs_sync_failure()
    _container_exits()
    _overrides_limit()
    _input_transformer_strings()
    _bucket_eventbridge()
    _each_target_on_its_own()
    _task_failure_cause()
    _early_task_result()
    _retries_see_first_answer()


def _stepfunctions_handlers() -> None:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser
    from moto.stepfunctions.responses import StepFunctionResponse

    def validate_state_machine_definition(self: Any) -> ActionResult:
        definition = self._get_param("definition")
        diagnostics = []
        try:
            StaticAnalyser().analyse(definition)  # what moto's own provider runs
            result = "OK"
        except Exception as exc:  # moto's InvalidDefinition and parser errors alike
            result = "FAIL"
            diagnostics.append({"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED",
                                "message": str(getattr(exc, "message", exc))})
        return ActionResult({"result": result, "diagnostics": diagnostics, "truncated": False})

    def list_state_machine_versions(self: Any) -> ActionResult:
        return ActionResult({"stateMachineVersions": []})

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions


def _test_event_pattern() -> None:
    from moto.events.models import EventPattern
    from moto.events.responses import EventsHandler

    def test_event_pattern(self: Any) -> str:
        pattern = EventPattern.load(self._get_param("EventPattern"))
        event = json.loads(self._get_param("Event"))
        return json.dumps({"Result": bool(pattern.matches_event(event))})

    EventsHandler.test_event_pattern = test_event_pattern


def _operation_model(service: str, snake_action: str) -> Any:
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    for name in model.operation_names:
        if xform_name(name) == snake_action:
            return model.operation_model(name)
    return None


def _service_integration_casing() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service,
    )

    service_class = state_task_service.StateTaskService

    def normalise_parameters(self: Any, parameters: dict[str, Any],
                             boto_service_name: str | None = None,
                             service_action_name: str | None = None) -> None:
        service = self._get_boto_service_name(boto_service_name=boto_service_name)
        action = self._get_boto_service_action(service_action_name=service_action_name)
        operation = _operation_model(service, action)
        if operation is not None and operation.input_shape is not None:
            self._to_boto_request(parameters, operation.input_shape)

    def normalise_response(self: Any, response: Any, boto_service_name: str | None = None,
                           service_action_name: str | None = None) -> None:
        service = self._get_boto_service_name(boto_service_name=boto_service_name)
        action = self._get_boto_service_action(service_action_name=service_action_name)
        operation = _operation_model(service, action)
        if operation is not None and operation.output_shape is not None:
            self._from_boto_response(response, operation.output_shape)

    service_class._normalise_parameters = normalise_parameters
    service_class._normalise_response = normalise_response


def _ecs_sync_failure() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_ecs,
    )

    state_task_service_ecs._SUPPORTED_API_PARAM_BINDINGS["runtask"].add(
        "CapacityProviderStrategy")
    ecs_class = state_task_service_ecs.StateTaskServiceEcs
    original = ecs_class._build_sync_resolver

    def build_sync_resolver(self: Any, *args: Any, **kwargs: Any) -> Any:
        resolve = original(self, *args, **kwargs)

        def resolver() -> Any:
            task = resolve()
            if task is None:
                return None
            codes = [c.get("ExitCode") for c in task.get("Containers", [])]
            if any(code is None or code != 0 for code in codes):
                raise _TaskFailed(json.dumps(task, default=str, separators=(",", ":")))
            return task

        return resolver

    original_from_error = ecs_class._from_error

    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        if not isinstance(ex, _TaskFailed):
            return original_from_error(self, env, ex)
        from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
            FailureEvent,
        )
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
            StatesErrorName,
        )
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
            StatesErrorNameType,
        )
        from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

        return FailureEvent(
            env=env, error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                error="States.TaskFailed", cause=ex.cause, resource="runTask.sync",
                resourceType="ecs")))

    ecs_class._build_sync_resolver = build_sync_resolver
    ecs_class._from_error = from_error


def _asked_for(overrides: dict[str, Any]) -> int | None:
    """The exit code the run's event asks the stand-in container for (0 when it asks none)."""
    given = {}
    for override in overrides.get("containerOverrides", []):
        for item in override.get("environment", []):
            given[item.get("name")] = item.get("value")
    try:
        codes = json.loads(given.get("FARGO_EVENT") or "{}").get("moto_exit_codes") or []
        attempt = int(given.get("FARGO_ATTEMPT") or 1)
    except (ValueError, AttributeError):
        return 0
    return codes[min(attempt, len(codes)) - 1] if codes else 0


def _held_status(overrides: dict[str, Any]) -> str | None:
    """The state the run's event asks the stand-in task to stay in (`moto_status`)."""
    for override in overrides.get("containerOverrides", []):
        for item in override.get("environment", []):
            if item.get("name") == "FARGO_EVENT":
                try:
                    held = json.loads(item.get("value") or "{}").get("moto_status")
                except (ValueError, AttributeError):
                    return None
                return str(held) if held else None
    return None


class _TaskFailed(Exception):
    """A stopped task whose container exited non-zero (or never ran), as AWS reports it."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def _container_exits() -> None:
    from moto.ecs import models

    original_init = models.Task.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        family = self.task_definition_arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]
        with _LOCK:
            queue = CONTAINER_EXITS.get(family)
            code = queue.popleft() if queue else _asked_for(self.overrides)
        for container in self.containers:
            container.exitCode = code
        held = _held_status(self.overrides)
        if held:
            self.__dict__["_held"] = held
        # AWS reports when a task was created and when it started running; moto neither
        self.created_at = datetime.now(timezone.utc)
        if not held:
            self.started_at = self.created_at

    models.Task.__init__ = init
    original_status = models.Task.last_status

    def last_status(self: Any) -> str:
        held = self.__dict__.get("_held")
        if held and self.__dict__.get("_desired") != "STOPPED":
            return str(held)
        return str(original_status.fget(self))

    models.Task.last_status = property(last_status, original_status.fset)

    def desired_status(self: Any) -> str:
        if self.__dict__.get("_desired") == "STOPPED" or self._status == "STOPPED":
            return "STOPPED"
        return "RUNNING"

    def set_desired_status(self: Any, value: str) -> None:
        self.__dict__["_desired"] = value

    models.Task.desired_status = property(desired_status, set_desired_status)


OVERRIDES_MAX_CHARS = 8192  # RunTask's documented limit (see the module docstring)


def _overrides_limit() -> None:
    from moto.ecs import models
    from moto.ecs.exceptions import InvalidParameterException

    original = models.EC2ContainerServiceBackend.run_task

    def run_task(self: Any, cluster_str: str, task_definition_str: str, count: int,
                 overrides: dict[str, Any] | None, *args: Any, **kwargs: Any) -> Any:
        if overrides and len(json.dumps(overrides, separators=(",", ":"))) > OVERRIDES_MAX_CHARS:
            raise InvalidParameterException(
                f"Container Overrides length must be at most {OVERRIDES_MAX_CHARS}")
        return original(self, cluster_str, task_definition_str, count, overrides, *args,
                        **kwargs)

    models.EC2ContainerServiceBackend.run_task = run_task


def _input_transformer_strings() -> None:
    import re

    from jsonpath_ng.ext import parse as jsonpath
    from moto.events.utils import EventTemplateParser

    original = EventTemplateParser.parse

    def parse(input_template: str, input_paths_map: dict[str, Any], event: Any) -> Any:
        template = input_template
        for name, path in (input_paths_map or {}).items():
            found = jsonpath(path).find(event)
            if found and isinstance(found[0].value, str):
                # outside quotes: the value as a JSON string; inside a string: left to moto
                template = re.sub(rf'(?<!")<{re.escape(name)}>(?!")',
                                  lambda _m, v=found[0].value: json.dumps(v), template)
        return original(template, input_paths_map, event)

    EventTemplateParser.parse = staticmethod(parse)


def _bucket_eventbridge() -> None:
    from moto.core.responses import ActionResult
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is None or config.event_bridge is None:
            return original(self)
        serialized = self.serialized

        def with_eventbridge(result: Any) -> Any:
            if isinstance(result, ActionResult) and isinstance(result.result, dict):
                result = ActionResult({**result.result, "EventBridgeConfiguration": {}})
            return serialized(result)

        self.serialized = with_eventbridge
        try:
            return original(self)
        finally:
            del self.serialized

    S3Response.get_bucket_notification = get_bucket_notification


def _each_target_on_its_own() -> None:
    from moto.events.models import Rule

    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        targets = self.targets
        try:
            for target in targets:
                self.targets = [target]
                try:
                    original(self, original_event, transform_input)
                except NotImplementedError:  # a target moto cannot deliver to
                    continue
        finally:
            self.targets = targets

    Rule.send_to_targets = send_to_targets


def _task_failure_cause() -> None:
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"),
            cause=self._get_param("cause"))
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure


def _early_task_result() -> None:
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

    original = CallbackEndpoint.setup_heartbeat_endpoint

    def setup_heartbeat_endpoint(self: Any, heartbeat_seconds: int) -> Any:
        endpoint = original(self, heartbeat_seconds)
        if self._outcome is not None:  # the task answered before the watch began
            endpoint.notify()
        return endpoint

    CallbackEndpoint.setup_heartbeat_endpoint = setup_heartbeat_endpoint


_ANSWERS: dict[str, tuple[str, list[tuple[str, str]], bytes]] = {}


def _retries_see_first_answer() -> None:
    import sys

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
        attempt = environ.get("HTTP_AMZ_SDK_REQUEST", "").partition("attempt=")[2]
        attempt = attempt.split(";")[0].strip()
        if not invocation or environ.get("REQUEST_METHOD") != "POST":
            return original(self, environ, start_response)
        if attempt not in ("", "1"):
            with _LOCK:
                first = _ANSWERS.get(invocation)
            print(f"moto: attempt {attempt} of {environ.get('HTTP_X_AMZ_TARGET') or environ.get('PATH_INFO')}"
                  f" (first attempt: {first[0] if first else 'no answer'})", file=sys.stderr)
            if first and first[0].startswith("2"):
                start_response(first[0], first[1])
                return [first[2]]
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        body = b"".join(original(self, environ, capture))
        with _LOCK:
            if len(_ANSWERS) > 5000:
                _ANSWERS.clear()
            _ANSWERS[invocation] = (seen.get("status", "500"), seen.get("headers", []), body)
        return [body]

    DomainDispatcherApplication.__call__ = __call__
