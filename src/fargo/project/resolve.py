"""Merge decorator arguments and config levels into TaskSpecs, checking every value.

Precedence, most specific wins:
    defaults < top level < stages.<stage> < decorator < tasks.<name> < stages.<stage>.tasks.<name>

Why the decorator sits in the middle: it is the job's own setting, written by its author, so a
blanket value for all jobs (top level or stage-wide) must not silently override it; but config
that names the job (tasks.<name>, stages.<stage>.tasks.<name>) does, which is how a stage adapts
a job without touching code.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fargo import limits
from fargo.app import TaskDefinition
from fargo.iam import read_policy
from fargo.problems import Problem, ProblemsError, Severity
from fargo.project import names
from fargo.project.config import check_against_schema
from fargo.project.deadline import resolve_deadline
from fargo.project.model import Compute, Stage, TaskSpec, job_variables
from fargo.project.paths import CONFIG_DIR, CONFIG_FILE
from fargo.project.runner import runner_reasons
from fargo.project.settings import (
    BY_NAME,
    FARGATE_DEFAULTS,
    LAMBDA_DEFAULTS,
    STAGE_SETTINGS,
    TASK_SETTINGS,
)
from fargo.runtime import contract
from fargo.schedule import ScheduleError, load_zone, parse, to_aws
from fargo.timeutil import parse_duration

TASK_SPECIFIC = ("decorator", "task", "stage-task")


@dataclass(frozen=True)
class Source:
    """Where a value came from: a level name, the file and key to name in messages."""

    level: str  # default | top | stage | decorator | task | stage-task
    file: str | None
    key: str | None

    def describe(self) -> str:
        if self.level == "default":
            return "default"
        return f"{self.file}: {self.key}" if self.key else str(self.file)


@dataclass
class Resolved:
    value: Any
    source: Source


def _levels(config: dict[str, Any], stage: str, definition: TaskDefinition, root: Path
            ) -> list[tuple[Source, dict[str, Any]]]:
    stage_conf = (config.get("stages") or {}).get(stage) or {}
    name = definition.name
    module_file = relative_path(root, _module_file(definition))
    return [
        (Source("top", CONFIG_FILE, ""), config),
        (Source("stage", CONFIG_FILE, f"stages.{stage}"), stage_conf),
        (Source("decorator", module_file, f"@app.{definition.decorator}(...) on {name}"),
         definition.settings),
        (Source("task", CONFIG_FILE, f"tasks.{name}"), (config.get("tasks") or {}).get(name) or {}),
        (Source("stage-task", CONFIG_FILE, f"stages.{stage}.tasks.{name}"),
         (stage_conf.get("tasks") or {}).get(name) or {}),
    ]


def _module_file(definition: TaskDefinition) -> str:
    code = getattr(definition.function, "__code__", None)
    filename = getattr(code, "co_filename", None) or "app.py"
    return filename


def _with_key(source: Source, setting: str) -> Source:
    if source.level == "decorator":
        key = (source.key or "").replace("(...)", f"({setting}=...)")
        return Source(source.level, source.file, key)
    key = f"{source.key}.{setting}" if source.key else setting
    return Source(source.level, source.file, key)


def resolve_setting(name: str, levels: list[tuple[Source, dict[str, Any]]]) -> Resolved:
    setting = BY_NAME[name]
    if setting.merge:
        merged: dict[str, Any] = {}
        last = Source("default", None, None)
        for source, values in levels:
            value = values.get(name)
            if isinstance(value, dict):
                merged.update(value)
                if value:
                    last = _with_key(source, name)
        return Resolved(merged, last)
    result = Resolved(setting.default, Source("default", None, None))
    for source, values in levels:
        if name in values:
            result = Resolved(values[name], _with_key(source, name))
    return result


def relative_path(root: Path, file: str | None) -> str | None:
    if not file:
        return file
    return _relative(root, file)


@functools.lru_cache(maxsize=4096)
def _relative(root: Path, file: str) -> str:
    """Resolving a path asks the file system; every job of a module asks for the same one."""
    try:
        return str(Path(file).resolve().relative_to(root))
    except ValueError:
        return file


class TaskResolver:
    """Builds one TaskSpec, collecting every problem on the way."""

    def __init__(self, root: Path, app_name: str, stage: str, config: dict[str, Any],
                 definition: TaskDefinition) -> None:
        self.root = root
        self.app_name = app_name
        self.stage = stage
        self.definition = definition
        self.levels = _levels(config, stage, definition, root)
        self.problems: list[Problem] = []
        self.notices: list[Problem] = []
        self.provenance: dict[str, str] = {}
        self.sources: dict[str, Source] = {}

    def _problem(self, source: Source, message: str, severity: Severity = "error") -> None:
        file = relative_path(self.root, source.file)
        problem = Problem(message, file, source.key, severity)
        (self.problems if severity == "error" else self.notices).append(problem)

    def get(self, name: str) -> Any:
        resolved = resolve_setting(name, self.levels)
        self.sources[name] = resolved.source
        self.provenance[name] = resolved.source.describe()
        return resolved.value

    def key_source(self, name: str, key: str) -> Source:
        """Where one key of a merged setting (an environment variable, a tag) was set: the last
        level that names it, so a message points at the line to change."""
        found = self.sources[name]
        for source, values in self.levels:
            value = values.get(name)
            if isinstance(value, dict) and key in value:
                found = _with_key(source, name)
        return found

    def resolve(self) -> TaskSpec | None:
        d = self.definition
        # Decorator arguments get the same type checks as config (the JSON Schema's task_settings).
        decorator_source = self.levels[2][0]
        for problem in check_against_schema(d.settings, "task_settings", "", ""):
            self._problem(_with_key(decorator_source, problem.key or ""), problem.message)
        values = {s.name: self.get(s.name) for s in TASK_SETTINGS}
        compute: Compute = "lambda" if values["compute"] == "lambda" else "fargate"
        defaults = FARGATE_DEFAULTS if compute == "fargate" else LAMBDA_DEFAULTS
        for key, default in defaults.items():
            if values[key] is None:
                values[key] = default
                self.provenance[key] = f"default for {compute}"
                self.sources[key] = Source("default", None, None)
        for setting in TASK_SETTINGS:  # the table says which compute each setting is for
            if setting.applies_to not in ("all", compute):
                self._not_for(compute, setting.name, values[setting.name])
                values[setting.name] = None
        self._check_name()
        self._check_handler()
        schedule = self._schedule(values["schedule"])
        timezone = self._timezone(values["timezone"])
        events = self._events(values["events"])
        cpu, memory = self._size(compute, values["cpu"], values["memory"])
        timeout = self._timeout(compute, values["timeout"])
        ephemeral = values["ephemeral_storage_gib"]
        concurrency = values["reserved_concurrency"]
        subnets, groups = self._network(compute, values["subnets"], values["security_groups"])
        spot = bool(values["spot"])
        if ephemeral is not None and not (
            limits.FARGATE_EPHEMERAL_GIB[0] <= ephemeral <= limits.FARGATE_EPHEMERAL_GIB[1]
        ):
            self._problem(self.sources["ephemeral_storage_gib"],
                          f"{ephemeral} GiB is outside Fargate's 21-200 GiB (the default 20 GiB "
                          "needs no setting)")
        env = values["environment_variables"]
        secrets = values["secrets"]
        self._check_env(compute, env, secrets, values["local_environment_variables"])
        self._check_secrets(secrets)
        self._check_tags(values["tags"])
        self._check_description(compute, values["description"])
        policy_file, policy = self._policy(values["iam_policy_file"])
        role = values["task_role_arn"]
        if role is not None and policy is not None:
            self._problem(self.sources["task_role_arn"], f"the job uses the existing role {role} "
                          f"but also has the policy {policy_file}: fargo attaches policies only "
                          "to roles it creates; grant the permissions on that role, or drop "
                          "task_role_arn")
        start, end = self._window(values["start_date"], values["end_date"])
        event_sources = self._event_sources(values["event_sources"])
        deadline, wrong = resolve_deadline(values["deadline"], schedule)
        for message in wrong:
            self._problem(self.sources["deadline"], message)
        if self.problems:
            return None
        spec = TaskSpec(
            name=d.name, app_name=self.app_name, stage=self.stage, kind=d.kind,
            handler=d.location, compute=compute, schedule=schedule, timezone=timezone,
            flexible_window_minutes=values["flexible_window_minutes"], start_date=start,
            end_date=end,
            enabled=bool(values["enabled"]), cpu=cpu, memory=memory,
            ephemeral_storage_gib=ephemeral, architecture=values["architecture"], spot=spot,
            subnets=subnets, security_groups=groups, timeout=timeout,
            reserved_concurrency=concurrency, layers=tuple(values["layers"] or ()),
            event_sources=event_sources,
            events=events, event_fields=dict(values["event_fields"] or {}),
            s3=self._s3(compute, values["s3"]), step_of=tuple(values["step_of"] or ()),
            retries=int(values["retries"]),
            retry_timeouts=bool(values["retry_timeouts"]), overlap=values["overlap"],
            catchup=values["catchup"], environment_variables=dict(env),
            local_environment_variables=dict(values["local_environment_variables"]),
            secrets=dict(secrets),
            iam_policy_file=policy_file, iam_policy=policy, task_role_arn=role,
            tags=dict(values["tags"]),
            log_retention_days=int(values["log_retention_days"]),
            description=values["description"], provenance=dict(self.provenance),
            deadline=deadline,
        )
        return self._on_aws(spec)

    def _on_aws(self, spec: TaskSpec) -> TaskSpec:
        """The job as AWS runs it: through the runner when it needs it (project/runner.py)."""
        reasons = runner_reasons(spec)
        changes: dict[str, Any] = {"runner_reasons": reasons}
        guard = spec.overlap != "allow" and any(r.startswith("overlap=") for r in reasons)
        if guard and spec.compute == "lambda":
            # The runner keeps a Lambda job's runs apart with the function's own concurrency.
            if spec.reserved_concurrency is None:
                changes["reserved_concurrency"] = 1
                changes["provenance"] = {**spec.provenance, "reserved_concurrency":
                                         f"1: keeps runs apart on AWS (overlap={spec.overlap})"}
            elif spec.reserved_concurrency != 1:
                self._problem(self.sources["reserved_concurrency"], f"overlap={spec.overlap} "
                              "cannot be kept "
                              f"on AWS with reserved_concurrency {spec.reserved_concurrency}: "
                              "the runner keeps a Lambda job's runs apart with a reserved "
                              "concurrency of 1; set it to 1 (or leave it unset), or set "
                              "overlap to allow", "warning")
        if spec.rule_patterns:
            rule = names.event_rule(spec.app_name, spec.stage, spec.name)
            if len(rule) > limits.NAME_MAX:
                self._problem(self.sources["events"], f"the job's event rule {rule!r} would be "
                              f"{len(rule)} characters; EventBridge allows {limits.NAME_MAX}: "
                              "shorten the job, stage or app name")
            if len(spec.rule_patterns) > 1:  # each was checked alone; the rule takes them all
                from fargo.patterns.check import PATTERN_MAX_CHARS

                joined = names.event_pattern([dict(p) for p in spec.rule_patterns])
                size = len(json.dumps(joined, separators=(",", ":")))
                if size > PATTERN_MAX_CHARS:
                    self._problem(self.sources["events"], f"the job's {len(spec.rule_patterns)} "
                                  f"event patterns make one rule pattern of {size} characters "
                                  f"($or); EventBridge allows {PATTERN_MAX_CHARS} (a quota that "
                                  "can be raised to 4096): merge the patterns, or shorten them")
        if spec.schedule is not None and not spec.provenance.get("catchup", "default") \
                .startswith("default"):
            self._problem(self.sources["catchup"], f"catchup={spec.catchup} applies to fargo up "
                          "only: on AWS a fire missed while the schedule was paused or disabled "
                          "is not run later", "notice")
        return dataclasses.replace(spec, **changes)

    # --- individual checks -------------------------------------------------------------------

    def _check_name(self) -> None:
        name = self.definition.name
        full = names.job_name(self.app_name, self.stage, name)
        source = Source("decorator", relative_path(self.root, _module_file(self.definition)),
                        f"@app.{self.definition.decorator}(name=...) on "
                        f"{self.definition.location}")
        if not isinstance(name, str):
            self._problem(source, f"job name must be a string, found {name!r}")
            return
        if name.lower() in limits.STAGE_SUFFIXES:
            self._problem(source, f"job name {name!r} is taken by the stage's own resources "
                          f"({self.app_name}-{self.stage}-{name.lower()}); choose another")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            self._problem(source, f"job name {name!r} may contain only letters, digits, '_' and "
                          "'-' (it becomes part of AWS resource names)")
        elif len(full) > limits.NAME_MAX:
            self._problem(source, f"AWS name {full!r} is {len(full)} characters; IAM roles, "
                          f"schedules and Lambda functions allow {limits.NAME_MAX}: shorten the "
                          "job, stage or app name")

    def _schedule(self, value: Any) -> str | None:
        if value is None:
            return None
        source = self.sources["schedule"]
        try:
            converted = to_aws(value)
            expression = parse(converted.expression)
        except ScheduleError as exc:
            for message in exc.messages:
                self._problem(source, message)
            return None
        if converted.notice:
            self._problem(source, converted.notice, "notice")
        return expression.text

    def _events(self, value: Any) -> tuple[dict[str, Any], ...]:
        """The job's event patterns, each checked as EventBridge checks it."""
        if not value:
            return ()
        from fargo.patterns import check

        source = self.sources["events"]
        patterns = value if isinstance(value, list) else [value]
        for index, pattern in enumerate(patterns):
            for message in check(pattern):
                if source.level == "decorator":  # the key names the decorator: index the text
                    self._problem(source, f"events[{index}]: {message}")
                else:
                    self._problem(Source(source.level, source.file,
                                         f"{source.key or 'events'}[{index}]"), message)
        return tuple(p for p in patterns if isinstance(p, dict))

    def _s3(self, compute: str, value: Any) -> tuple[dict[str, Any], ...]:
        """S3 triggers; on Fargate they arrive through EventBridge, which must get them."""
        if not value:
            return ()
        from fargo.patterns import check
        from fargo.patterns.s3 import bucket_problems, s3_patterns, unknown_events, unsupported

        source = self.sources["s3"]
        triggers = [t for t in (value if isinstance(value, list) else [value])
                    if isinstance(t, dict) and isinstance(t.get("bucket"), str)]
        for trigger in triggers:
            events = list(trigger.get("events") or [])
            bucket = trigger["bucket"]
            for message in bucket_problems(bucket):
                self._problem(source, message)
            unknown = unknown_events(events)
            if unknown:
                self._problem(source, f"{', '.join(unknown)}: not an S3 event type (S3 sends "
                              "s3:ObjectCreated:*, s3:ObjectRemoved:*, s3:ObjectRestore:*, "
                              "s3:ObjectTagging:*, s3:LifecycleExpiration:*, ... and their "
                              "members)")
                events = [e for e in events if e not in unknown]
            if compute == "fargate":
                missing = unsupported(events)
                if missing:
                    self._problem(source, f"S3 does not send {', '.join(missing)} to "
                                  "EventBridge, through which a Fargate job gets S3 events: keep "
                                  "this job on Lambda, or start it on another event")
                self._problem(source, f"bucket {bucket!r} must send its events to EventBridge "
                              "for this job to start: turn on the bucket's EventBridge "
                              "notifications (fargo does not change buckets it does not own)",
                              "notice")
            else:
                self._problem(source, f"bucket {bucket!r}: this stage's deploy sets the "
                              "bucket's notification configuration to its Lambda triggers, as "
                              "chalice deploy does (notifications set there by other tools are "
                              "replaced)", "notice")
            for pattern in s3_patterns(bucket, [e for e in events if e not in unsupported(
                    events)], str(trigger.get("prefix") or ""), str(trigger.get("suffix") or "")):
                for message in check(pattern):
                    self._problem(source, f"the prefix and suffix make a key filter "
                                  f"EventBridge refuses: {message}")
        return tuple(triggers)

    def _event_sources(self, value: Any) -> tuple[dict[str, Any], ...]:
        """What invokes a Lambda job, each with the defaults Chalice gives it; checked as
        Lambda's CreateEventSourceMapping and SNS's Subscribe check them."""
        from fargo.project.sources import duplicates, source_problems, with_defaults

        found = tuple(with_defaults(s) for s in (value or []) if isinstance(s, dict))
        for index, source in enumerate(found):
            for message in source_problems(source):
                self._problem(self.sources["event_sources"], f"[{index}]: {message}")
        for message in duplicates(list(found)):
            self._problem(self.sources["event_sources"], message)
        return found

    def _timezone(self, value: Any) -> str:
        if not isinstance(value, str):
            return "UTC"
        try:
            load_zone(value)
        except ScheduleError as exc:
            for message in exc.messages:
                self._problem(self.sources["timezone"], message)
        return value

    def _not_for(self, compute: str, name: str, value: Any) -> None:
        """A setting for the other compute: ignored when inherited, an error on the job itself."""
        source = self.sources[name]
        if source.level in TASK_SPECIFIC and value not in (None, False):
            other = "Fargate" if compute == "lambda" else "Lambda"
            hint = " (set compute: fargate to move it)" if compute == "lambda" else ""
            self._problem(source, f"{name} applies to {other} jobs only; this job runs on "
                          f"{'Lambda' if compute == 'lambda' else 'Fargate'}{hint}")
        self.provenance[name] = f"not used on {'Lambda' if compute == 'lambda' else 'Fargate'}"

    def _network(self, compute: str, subnets: list[str], groups: list[str]
                 ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """A Lambda job in a VPC needs both subnets and security groups (AWS's VpcConfig)."""
        if compute == "lambda" and bool(subnets) != bool(groups):
            missing = "security_groups" if subnets else "subnets"
            have = "subnets" if subnets else "security_groups"
            self._problem(self.sources[have], f"a Lambda job in a VPC needs {missing} too "
                          f"(it has {have} from {self.sources[have].describe()}); set "
                          f"{missing}, or {have}: [] for the job to keep it out of the VPC")
        return tuple(subnets), tuple(groups)

    def _size(self, compute: str, cpu_value: Any, memory_value: Any) -> tuple[int | None, int]:
        memory = parse_memory(memory_value)
        memory_source = self.sources["memory"]
        if memory is None:
            self._problem(memory_source, f"{memory_value!r} is not a memory size (MiB as a number,"
                          " or '2 GB')")
            memory = 0
        if compute == "lambda":
            low, high = limits.LAMBDA_MEMORY
            if memory and not low <= memory <= high:
                hint = ""
                if memory > high:
                    fit = limits.smallest_fargate_size(memory)
                    hint = (f"; move this job to Fargate (compute: fargate), e.g. cpu {fit[0]} "
                            f"with memory {fit[1]}") if fit else ""
                self._problem(memory_source, f"{memory} MB is outside Lambda's {low}-{high} MB"
                              + hint)
            return None, memory
        cpu = parse_cpu(cpu_value)
        cpu_source = self.sources["cpu"]
        if cpu is None:
            self._problem(cpu_source, f"{cpu_value!r} is not a Fargate cpu size (allowed: "
                          f"{', '.join(map(str, limits.FARGATE_SIZES))}, or '0.25 vCPU' ... "
                          "'16 vCPU')")
            return None, memory
        if memory and not limits.fargate_size_ok(cpu, memory):
            choices = limits.fargate_memory_choices(cpu)
            allowed = (", ".join(map(str, choices)) if len(choices) <= 4
                       else f"{choices[0]}-{choices[-1]} in steps of {choices[1] - choices[0]}")
            fit = limits.smallest_fargate_size(memory)
            hint = f"; the smallest size with {memory} MiB is cpu {fit[0]} with memory {fit[1]}" \
                if fit and fit[1] == memory else ""
            if not fit:
                hint = "; Fargate's largest task has 122880 MiB"
            self._problem(memory_source, f"memory {memory} MiB does not fit cpu {cpu} "
                          f"(from {cpu_source.describe()}); with cpu {cpu} Fargate allows "
                          f"{allowed} MiB{hint}")
        return cpu, memory

    def _timeout(self, compute: str, value: Any) -> int:
        source = self.sources["timeout"]
        try:
            seconds = parse_duration(value, source.key or "timeout", source.file)
        except Exception:
            self._problem(source, f"{value!r} is not a duration (e.g. 900, '90s', '15m', '2h')")
            return 0
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            self._problem(source, f"timeout must be a number of seconds, found {value!r}")
            return 0
        if seconds > contract.TIMEOUT_MAX:
            self._problem(source, f"{value!r} is longer than fargo's limit of 30 days "
                          f"({contract.TIMEOUT_MAX} s)")
            return 0
        if seconds < 1 or seconds != int(seconds):
            self._problem(source, f"timeout must be a whole number of seconds >= 1, found "
                          f"{value!r}")
            return 0
        if compute == "lambda" and seconds > limits.LAMBDA_TIMEOUT_MAX:
            self._problem(source, f"{int(seconds)} s is more than Lambda's 900 s (15 minutes); "
                          "move this job to Fargate (compute: fargate), which has no limit")
        return int(seconds)

    def _check_env(self, compute: str, env: dict[str, str], secrets: dict[str, str],
                   local: dict[str, str]) -> None:
        source = self.sources["environment_variables"]
        for key, value in env.items():
            if key.startswith(contract.RESERVED_PREFIX):
                self._problem(self.key_source("environment_variables", key),
                              f"{key}: names starting with FARGO_ are reserved for fargo")
            if isinstance(value, str) and ("${" in value or "%{" in value):
                self._problem(self.key_source("environment_variables", key),
                              f"{key}: {value!r} reaches the job literally: fargo never "
                              "evaluates Terraform expressions in settings (a Chalice project "
                              "that used ${...} references needs the real value, or a secret)",
                              "warning")
        for key in local:
            if key.startswith(contract.RESERVED_PREFIX):
                self._problem(self.key_source("local_environment_variables", key),
                              f"{key}: names starting with FARGO_ are reserved for fargo")
        for key in sorted(set(env) & set(secrets)):
            self._problem(self.key_source("secrets", key),
                          f"{key} is both an environment variable and a secret; keep one")
        for key in secrets:
            if key.startswith(contract.RESERVED_PREFIX):
                self._problem(self.key_source("secrets", key),
                              f"{key}: names starting with FARGO_ are reserved for fargo")
        if compute == "fargate":
            entries = [{"name": k, "value": str(v)} for k, v in env.items()]
            size = len(json.dumps(entries, ensure_ascii=False).encode())
            if size > limits.TASK_DEFINITION_ENV_BUDGET:
                self._problem(source, f"environment variables take {size} bytes in the task "
                              "definition; ECS accepts a task definition of at most 64 KiB: "
                              "move large values to S3, SSM parameters or secrets")
        if compute == "lambda":
            for key in sorted(set(env) & limits.LAMBDA_RESERVED_ENV):
                self._problem(self.key_source("environment_variables", key),
                              f"{key} is reserved by Lambda, which sets it itself")
            own = job_variables(self.app_name, self.stage, str(self.definition.name),
                                contract.TIMEOUT_MAX, 10240)  # the longest values they take
            size = sum(len(k.encode()) + len(str(v).encode())
                       for k, v in {**env, **own}.items())
            if size > limits.LAMBDA_ENV_MAX_BYTES:
                self._problem(source, f"environment variables take {size} bytes with fargo's "
                              "FARGO_* variables; Lambda allows 4 KB (4096 bytes) in total "
                              "(move large values to secrets or to Fargate)")
            if secrets and self.sources["secrets"].level in TASK_SPECIFIC:
                self._problem(self.sources["secrets"], "secrets are injected by ECS and apply to "
                              "Fargate jobs only; a Lambda job reads them at run time")

    def _check_secrets(self, secrets: dict[str, str]) -> None:
        for key, ref in secrets.items():
            if not is_secret_reference(ref):
                self._problem(self.key_source("secrets", key),
                              f"{key}: {ref!r} is not an SSM parameter name or ARN, or a "
                              "Secrets Manager ARN (config holds references, never values)")

    def _check_tags(self, tags: dict[str, str]) -> None:
        source = self.sources["tags"]
        total = len(set(tags) | set(limits.FARGO_TAGS))
        if total > limits.TAGS_MAX:
            self._problem(source, f"{len(tags)} tags plus fargo's own "
                          f"({', '.join(limits.FARGO_TAGS)}) make {total}; AWS allows "
                          f"{limits.TAGS_MAX} per resource")
        for key, value in tags.items():
            if key.lower().startswith("aws:"):
                self._problem(self.key_source("tags", key),
                              f"tag {key!r}: the aws: prefix is reserved by AWS")
            for what, text, most in (("key", key, limits.TAG_KEY_MAX),
                                     ("value", str(value), limits.TAG_VALUE_MAX)):
                bad = sorted({c for c in text
                              if not (c.isalnum() or c in limits.TAG_PUNCTUATION)})
                if bad or len(text) > most or (what == "key" and not text):
                    self._problem(self.key_source("tags", key),
                                  f"tag {key!r}: the {what} must be 1-{most} letters, "
                                  f"digits, spaces and _ . : / = + - @" + (
                                      f" (found {''.join(bad)!r})" if bad else ""))

    def _check_handler(self) -> None:
        """A Chalice event handler is called with the event: one that takes none fails at
        every run (Chalice deploys it all the same)."""
        definition = self.definition
        if definition.kind in ("chalice_lambda_function", "task", "schedule", "lambda_function"):
            return
        import inspect

        try:
            inspect.signature(definition.function).bind(object())
        except TypeError:
            self._problem(Source("decorator", relative_path(self.root, _module_file(definition)),
                                 definition.location),
                          "takes no event argument, but Chalice calls "
                          f"@app.{definition.decorator} handlers with the event: every run "
                          "fails with TypeError; add an `event` parameter", "warning")
        except ValueError:  # no signature to read (a builtin): nothing to say
            return

    def _check_description(self, compute: str, description: Any) -> None:
        if not isinstance(description, str):
            return
        most = limits.LAMBDA_DESCRIPTION_MAX if compute == "lambda" else limits.DESCRIPTION_MAX
        if len(description) > most:
            where = "a Lambda function's" if compute == "lambda" else "a schedule's"
            self._problem(self.sources["description"], f"{len(description)} characters; "
                          f"{where} description allows {most}")
        if any(c == "\0" or "\ud800" <= c <= "\udfff" for c in description):
            self._problem(self.sources["description"], "holds a NUL or a lone surrogate, which "
                          "AWS refuses in a description")

    def _window(self, start: Any, end: Any) -> tuple[str | None, str | None]:
        """start_date/end_date as RFC 3339 UTC; end after start."""
        from fargo.timeutil import format_utc, parse_instant

        parsed = {}
        for name, value in (("start_date", start), ("end_date", end)):
            if value is None:
                continue
            try:
                parsed[name] = parse_instant(str(value), name)
            except Exception:
                self._problem(self.sources[name], f"{value!r} is not an ISO 8601 instant "
                              "(e.g. 2025-01-01T00:00:00Z)")
        if len(parsed) == 2 and parsed["end_date"] <= parsed["start_date"]:
            self._problem(self.sources["end_date"], "end_date must be after start_date")
        return (format_utc(parsed["start_date"]) if "start_date" in parsed else None,
                format_utc(parsed["end_date"]) if "end_date" in parsed else None)

    def _policy(self, value: Any) -> tuple[str | None, dict[str, Any] | None]:
        source = self.sources["iam_policy_file"]
        explicit = value is not None
        relative = value if explicit else f"policy-{self.definition.name}.json"
        path = (self.root / CONFIG_DIR / str(relative))
        shown = f"{CONFIG_DIR}/{relative}"
        if not path.is_file():
            if explicit:
                self._problem(source, f"policy file {shown} not found")
            else:
                self.provenance["iam_policy_file"] = f"none ({shown} does not exist)"
            return None, None
        if not explicit:
            self.provenance["iam_policy_file"] = f"default ({shown} exists)"
        document, problems = read_policy(path, shown)
        self.problems.extend(problems)
        return shown, document


def parse_cpu(value: Any) -> int | None:
    """Fargate cpu units from 256 or '0.25 vCPU' / '1vcpu' / '.5 vCPU'."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value in limits.FARGATE_SIZES else None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d*\.?\d+)\s*(?i:vcpu)?\s*", value)
        if match and re.search(r"(?i)vcpu", value):
            units = float(match.group(1)) * 1024
            return int(units) if units in limits.FARGATE_SIZES else None
        if match and match.group(1).isdigit():
            return parse_cpu(int(match.group(1)))
    return None


def parse_memory(value: Any) -> int | None:
    """MiB from 2048, '2 GB', '2GB', '2 GiB', '512 MB', '512 MiB'."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d*\.?\d+)\s*(GB|GiB|MB|MiB)?\s*", value, re.IGNORECASE)
        if not match:
            return None
        number = float(match.group(1))
        unit = (match.group(2) or "MiB").lower()
        mib = number * 1024 if unit in ("gb", "gib") else number
        return int(mib) if mib == int(mib) and mib > 0 else None
    return None


_SSM_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9_.\-/]+$")
_SECRETS_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+"
    r"(:[^:]*:[^:]*:[^:]*)?$"
)
_SSM_NAME = re.compile(r"^/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")


def is_secret_reference(ref: str) -> bool:
    if ref.startswith("arn:"):
        return bool(_SSM_ARN.match(ref) or _SECRETS_ARN.match(ref))
    return bool(_SSM_NAME.match(ref)) and len(ref) <= 2048


_CLUSTER_ARN = re.compile(r"^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):cluster/([A-Za-z0-9_-]+)$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$")


def resolve_stage(config: dict[str, Any], stage: str,
                  environ: Mapping[str, str] | None = None) -> tuple[Stage, list[Problem]]:
    """The stage's placement: top level < stages.<stage> (region: then the AWS environment)."""
    stage_conf = (config.get("stages") or {}).get(stage) or {}
    levels = [(Source("top", CONFIG_FILE, ""), config),
              (Source("stage", CONFIG_FILE, f"stages.{stage}"), stage_conf)]
    values: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    sources: dict[str, Source] = {}
    for setting in (*STAGE_SETTINGS, BY_NAME["subnets"], BY_NAME["security_groups"]):
        resolved = resolve_setting(setting.name, levels)
        values[setting.name] = resolved.value
        provenance[setting.name] = resolved.source.describe()
        sources[setting.name] = resolved.source
    problems: list[Problem] = []
    app_name = config.get("app_name", "")
    if values["region"] is None:
        from fargo.project.region import region_from_environment

        found = region_from_environment(environ)
        if found is not None:
            region, where = found
            if _REGION.match(region):
                values["region"] = region
                provenance["region"] = where
            else:
                problems.append(Problem(f"{region!r} is not an AWS region such as eu-west-1",
                                        where))
        else:
            provenance["region"] = "not set (no region in the config, the environment or the " \
                "AWS profile)"
    cluster = values["cluster"]
    cluster_arn = None
    cluster_name = f"{app_name}-{stage}"
    if cluster is None:
        cluster = cluster_name
        provenance["cluster"] = "default (<app>-<stage>, created by fargo)"
    else:
        match = _CLUSTER_ARN.match(cluster)
        cluster_name = match.group(4) if match else cluster
        if match:
            cluster_arn = cluster
            given = sources["cluster"]
            if values["region"] is not None and match.group(2) != values["region"]:
                problems.append(Problem(
                    f"{cluster!r} is in region {match.group(2)}, but the stage deploys to "
                    f"{values['region']}: ECS runs tasks only in the cluster's own region",
                    given.file, given.key))
            if values["account"] is not None and match.group(3) != values["account"]:
                problems.append(Problem(
                    f"{cluster!r} belongs to account {match.group(3)}, not the stage's account "
                    f"{values['account']}", given.file, given.key))
    pending_limit = 600
    try:
        pending_limit = int(parse_duration(values["pending_limit"], "pending_limit"))
    except ProblemsError as exc:
        given = sources["pending_limit"]
        problems += [Problem(p.message, given.file, given.key) for p in exc.problems]
    else:
        if not PENDING_LIMIT[0] <= pending_limit <= PENDING_LIMIT[1]:
            given = sources["pending_limit"]
            problems.append(Problem(
                f"pending_limit is {values['pending_limit']!r}; allowed: 1m to 24h (Fargate "
                "takes seconds to minutes to start a task; the watchdog runs every 5 minutes)",
                given.file, given.key))
    return Stage(
        name=stage, region=values["region"], account=values["account"],
        cluster=cluster, cluster_name=cluster_name, cluster_arn=cluster_arn,
        create_cluster=values["cluster"] is None,
        execution_role_arn=values["execution_role_arn"],
        subnets=tuple(values["subnets"]), security_groups=tuple(values["security_groups"]),
        assign_public_ip=bool(values["assign_public_ip"]), image=values["image"],
        base_image=values["base_image"],
        schedule_backend=values["schedule_backend"], max_parallel=values["max_parallel"],
        terraform_state=values["terraform_state"],
        create_dead_letter_queue=bool(values["create_dead_letter_queue"]),
        alerts=values["alerts"], pending_limit=pending_limit, provenance=provenance,
    ), problems


PENDING_LIMIT = (60, 86400)  # seconds: the module's pending_limit_seconds validation


def resolve_task(root: Path, app_name: str, stage: str, config: dict[str, Any],
                 definition: TaskDefinition) -> tuple[TaskSpec | None, list[Problem],
                                                      list[Problem]]:
    resolver = TaskResolver(root, app_name, stage, config, definition)
    spec = resolver.resolve()
    return spec, resolver.problems, resolver.notices
