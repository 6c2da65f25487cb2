"""Chalice's effective settings per function and stage, and their fargo equivalents.

Chalice resolves a per-function setting in this order (chalice/config.py, `_chain_lookup`):
stages.<S>.lambda_functions.<F>  >  stages.<S>  >  lambda_functions.<F>  >  top level  >  default
— so a stage-wide value beats a top-level per-function one. Environment variables and tags merge
(`_chain_merge`): default < top level < stages.<S> < stages.<S>.lambda_functions.<F>; a
top-level lambda_functions.<F> environment is ignored. fargo reproduces exactly that, then writes
each value at the least specific fargo level that yields the same result everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fargo import limits
from fargo.chalice_import.reader import ChaliceApp, ChaliceFunction
from fargo.problems import Problem, ProblemsError, json_problem

DEFAULTS: dict[str, Any] = {"lambda_memory_size": 128, "lambda_timeout": 60,
                            "autogen_policy": True}


@dataclass
class Row:
    """One line of the report: a Chalice setting of a function in a stage and where it went."""

    function: str
    stage: str
    setting: str
    chalice: str
    source: str
    fargo: str


@dataclass
class Imported:
    config: dict[str, Any]
    policies: dict[str, bytes]  # file name under .fargo/ -> content
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)  # what Chalice would refuse, or lose


def lookup(config: dict[str, Any], stage: str, function: str, name: str) -> tuple[Any, str]:
    stage_conf = (config.get("stages") or {}).get(stage) or {}
    chain = [
        (((stage_conf.get("lambda_functions") or {}).get(function) or {}),
         f"stages.{stage}.lambda_functions.{function}"),
        (stage_conf, f"stages.{stage}"),
        (((config.get("lambda_functions") or {}).get(function) or {}),
         f"lambda_functions.{function}"),
        (config, "top level"),
        (DEFAULTS, "Chalice default"),
    ]
    for values, source in chain:
        if isinstance(values, dict) and values.get(name) is not None:
            return values[name], source
    return None, "not set"


def merge(config: dict[str, Any], stage: str, function: str, name: str) -> dict[str, str]:
    stage_conf = (config.get("stages") or {}).get(stage) or {}
    merged: dict[str, str] = {}
    for values in (config, stage_conf,
                   ((stage_conf.get("lambda_functions") or {}).get(function) or {})):
        value = values.get(name) if isinstance(values, dict) else None
        if isinstance(value, dict):
            merged.update({str(k): str(v) for k, v in value.items()})
    return merged


AUTOGEN_POLICY = "autogen-policy.json"  # written as .fargo/chalice-autogen-policy.json


def autogen_policy(root: Path) -> bytes | str | None:
    """The policy `chalice deploy` would generate (Chalice's own generator, from app.py).

    JSON bytes without the CloudWatch Logs and VPC statements (fargo grants those itself);
    None when app.py makes no AWS call; a reason (str) when the generator cannot run.
    """
    try:
        from chalice.policy import policy_from_source_code
    except ImportError:
        result: bytes | str | None = "Chalice's policy generator is not installed here " \
            "(pip install chalice)"
    else:
        try:
            policy = policy_from_source_code((root / "app.py").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
            result = f"Chalice's policy generator cannot read app.py ({exc})"
        else:
            # Chalice names each statement with a random Sid: numbered instead, so that
            # importing again writes the same file
            statements = [{**statement, "Sid": f"ChaliceAutogen{number}"}
                          for number, statement in enumerate(policy.get("Statement") or [], 1)]
            result = None if not statements else (json.dumps(
                {"Version": policy.get("Version", "2012-10-17"), "Statement": statements},
                indent=2, sort_keys=True) + "\n").encode()
    return result


def fargate_size(memory: int) -> tuple[int, int, str]:
    fit = limits.smallest_fargate_size(max(memory, 512))
    assert fit is not None
    cpu, mib = fit
    why = (f"smallest Fargate size with at least {memory} MB: {cpu / 1024:g} vCPU / {mib} MiB"
           if mib != memory else f"{cpu / 1024:g} vCPU / {mib} MiB")
    return cpu, mib, why


SOURCE_DECORATORS = ("on_sns_message", "on_sqs_message", "on_dynamodb_record",
                     "on_kinesis_record")


def import_project(root: Path, app: ChaliceApp, fargate: set[str],
                   all_scheduled: bool, leave_behind: set[str] | None = None) -> Imported:
    """The fargo config of a Chalice project. Raises ProblemsError with every stage Chalice
    would refuse and every handler the import would drop that `leave_behind` does not name."""
    config_path = root / ".chalice" / "config.json"
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProblemsError([Problem("not found: not a Chalice project", ".chalice/config.json")]) \
            from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemsError([Problem(f"cannot be read: {exc}", ".chalice/config.json")]) \
            from None
    loaded, problem = json_problem(text, ".chalice/config.json")
    if problem is not None:
        raise ProblemsError([problem])
    if not isinstance(loaded, dict):
        raise ProblemsError([Problem("must be a JSON object", ".chalice/config.json")])
    chalice_config: dict[str, Any] = loaded
    given = chalice_config.get("stages")
    declared: dict[str, Any] = given if isinstance(given, dict) else {}
    stages = sorted(k for k, v in declared.items() if isinstance(v, dict)) or ["dev"]
    misplaced = sorted(k for k, v in declared.items() if not isinstance(v, dict))
    known = {f.name for f in app.functions}
    unknown = sorted(fargate - known)
    if unknown:
        raise ProblemsError([Problem(f"no Chalice function named {name!r} (functions: "
                                     f"{', '.join(sorted(known)) or 'none'})", key="--fargate")
                             for name in unknown])
    invoked = sorted(f.name for f in app.functions
                     if f.name in fargate and f.kind in SOURCE_DECORATORS)
    if invoked:
        raise ProblemsError([Problem(
            f"{name} is invoked by its event source (@app.{kind}), which only a Lambda "
            "function can have (an SNS subscription or an event source mapping): it stays on "
            "Lambda", key="--fargate")
            for name, kind in ((n, next(f.kind for f in app.functions if f.name == n))
                               for n in invoked)])
    dropped = {name for name, _ in app.other_events}
    stray = sorted((leave_behind or set()) - dropped)
    if stray:
        raise ProblemsError([Problem(
            f"{name!r} is no handler the import would leave behind (those: "
            f"{', '.join(sorted(dropped)) or 'none'})", key="--leave-behind") for name in stray])
    result = Imported(config={}, policies={})
    for key in misplaced:  # a setting put under "stages" by mistake: Chalice ignores it too
        result.notes.append(f".chalice/config.json: stages.{key} is not a stage (a stage is an "
                            f"object, found {json.dumps(declared[key])}): ignored, as Chalice "
                            f"does; as a setting it belongs at the top level or in a stage")
    generated = autogen_policy(root)
    # values[(function, stage)][fargo setting] = value
    values: dict[tuple[str, str], dict[str, Any]] = {}
    for function in app.functions:
        on_fargate = function.name in fargate or (all_scheduled and function.kind == "schedule")
        for stage in stages:
            values[(function.name, stage)] = _function_stage(
                root, chalice_config, function, stage, on_fargate, result, generated)
    for name, conf in (chalice_config.get("lambda_functions") or {}).items():
        if name not in known:
            result.notes.append(f"lambda_functions.{name}: no such function in app.py (ignored)")
        if isinstance(conf, dict) and conf.get("environment_variables"):
            result.notes.append(
                f"lambda_functions.{name}.environment_variables: Chalice ignores a top-level "
                "per-function environment, so fargo does too")
    if app.routes:
        result.notes.append(f"{app.routes} HTTP routes stay with Chalice/API Gateway "
                            "(fargo runs scheduled and Lambda-style jobs)")
    for name, what in app.other_events:
        message = (f"{what}: fargo carries schedules, CloudWatch, S3, SNS, SQS, DynamoDB and "
                   "Kinesis events and plain Lambda functions; this handler would not be "
                   "deployed")
        if name in (leave_behind or set()):
            result.notes.append(f"{message}: left behind, as --leave-behind says")
        else:
            result.errors.append(Problem(
                f"{message}, and what feeds it would stop silently; keep it deployed by Chalice "
                f"and name it in --leave-behind {name}", "app.py", name))
    if result.errors:
        raise ProblemsError(result.errors)
    result.config = _factor(app, stages, values, chalice_config, result)
    if leave_behind:
        result.config["leave_behind"] = sorted(leave_behind)
    return result


def _function_stage(root: Path, chalice_config: dict[str, Any], function: ChaliceFunction,
                    stage: str, on_fargate: bool, result: Imported,
                    generated: bytes | str | None) -> dict[str, Any]:
    name = function.name
    out: dict[str, Any] = {}

    def row(setting: str, value: Any, source: str, fargo: str) -> None:
        result.rows.append(Row(name, stage, setting, json.dumps(value), source, fargo))

    out["compute"] = "fargate" if on_fargate else "lambda"
    memory, source = lookup(chalice_config, stage, name, "lambda_memory_size")
    if on_fargate:
        cpu, mib, why = fargate_size(int(memory))
        out["cpu"], out["memory"] = cpu, mib
        row("lambda_memory_size", memory, source, f"Fargate cpu {cpu}, memory {mib} ({why})")
    else:
        out["memory"] = int(memory)
        row("lambda_memory_size", memory, source, f"memory {memory}")
    timeout, source = lookup(chalice_config, stage, name, "lambda_timeout")
    out["timeout"] = int(timeout)
    flag = " — at Lambda's 15-minute limit: a candidate for Fargate" \
        if int(timeout) >= limits.LAMBDA_TIMEOUT_MAX and not on_fargate else ""
    row("lambda_timeout", timeout, source, f"timeout {timeout}{flag}")
    env = merge(chalice_config, stage, name, "environment_variables")
    out["environment_variables"] = env
    if env:
        row("environment_variables", sorted(env), "merged", "environment_variables (same keys)")
    tags = {k: v for k, v in merge(chalice_config, stage, name, "tags").items()
            if k != "aws-chalice"}
    out["tags"] = tags
    if tags:
        row("tags", tags, "merged", "tags")
    for setting, target in (("subnet_ids", "subnets"), ("security_group_ids",
                                                        "security_groups")):
        value, source = lookup(chalice_config, stage, name, setting)
        if value:
            out[target] = list(value)
            row(setting, value, source, f"{target} (the stage's when every function of the "
                "stage has the same, else the job's)")
    concurrency, source = lookup(chalice_config, stage, name, "reserved_concurrency")
    if concurrency is not None and not on_fargate:
        out["reserved_concurrency"] = int(concurrency)
        row("reserved_concurrency", concurrency, source,
            f"reserved_concurrency {concurrency} (the function's, as Chalice sets it)")
    elif concurrency is not None:
        if int(concurrency) == 0:
            out["enabled"] = False
            row("reserved_concurrency", concurrency, source, "enabled: false (0 = never runs)")
        else:
            out["overlap"] = "skip" if int(concurrency) == 1 else "allow"
            row("reserved_concurrency", concurrency, source,
                f"overlap: {out['overlap']} (at most {concurrency} at once)")
    retention, source = lookup(chalice_config, stage, name, "log_retention_in_days")
    if retention is not None:
        if int(retention) in limits.LOG_RETENTION_DAYS:
            out["log_retention_days"] = int(retention)
            row("log_retention_in_days", retention, source, f"log_retention_days {retention}")
        else:
            row("log_retention_in_days", retention, source, "not mapped: not a CloudWatch value")
    autogen, source = lookup(chalice_config, stage, name, "autogen_policy")
    if autogen:
        if isinstance(generated, str):
            row("autogen_policy", autogen, source, f"not mapped: {generated}; write "
                f".fargo/policy-{name}.json with what the job needs")
        elif generated is None:
            row("autogen_policy", autogen, source, "nothing to grant: Chalice's policy "
                "generator finds no AWS calls in app.py (fargo's own log permissions remain)")
        else:
            out["policy"] = (AUTOGEN_POLICY, generated)
            row("autogen_policy", autogen, source, "the policy Chalice generates from app.py's "
                f"AWS calls (on \"*\", as Chalice grants them): .fargo/chalice-{AUTOGEN_POLICY}"
                "; narrow its Resource to what the job touches")
    else:
        policy, source = lookup(chalice_config, stage, name, "iam_policy_file")
        policy_name = policy or f"policy-{stage}.json"
        path = root / ".chalice" / str(policy_name)
        if path.is_file():
            out["policy"] = (str(policy_name), path.read_bytes())
            row("iam_policy_file", policy_name, source if policy else "Chalice default",
                f"the job's policy (from .chalice/{policy_name})")
        elif lookup(chalice_config, stage, name, "manage_iam_role")[0] is not False:
            named = f" (iam_policy_file, from {source})" if policy else ""
            problem = Problem(
                f"autogen_policy is false and .chalice/{policy_name}{named} does not exist; "
                f"chalice package refuses this stage (\"Unable to load IAM policy file "
                f".chalice/{policy_name}\"), and a job without it would fail with "
                f"AccessDenied: write the file, set autogen_policy true, or give an existing "
                f"role (manage_iam_role false with iam_role_arn)", ".chalice/config.json",
                f"stages.{stage}")
            if problem not in result.errors:
                result.errors.append(problem)
    role, source = lookup(chalice_config, stage, name, "iam_role_arn")
    managed, _ = lookup(chalice_config, stage, name, "manage_iam_role")
    if role and managed is False:
        out["task_role_arn"] = str(role)
        row("iam_role_arn", role, source, "task_role_arn (the existing role; fargo creates none)")
    elif managed is False:
        row("manage_iam_role", managed, source, "not mapped: no iam_role_arn given, so fargo "
            "creates the job's role")
    layers, source = lookup(chalice_config, stage, name, "layers")
    if layers and not on_fargate:
        out["layers"] = [str(layer) for layer in layers]
        row("layers", layers, source, "layers (the function's, as Chalice sets them)")
    elif layers:
        row("layers", layers, source, "not mapped: a Fargate image has no layers; put their "
            "packages in requirements.txt (the image installs it)")
    automatic, source = lookup(chalice_config, stage, name, "automatic_layer")
    if automatic:
        row("automatic_layer", automatic, source, "not needed: fargo puts requirements.txt's "
            "packages in the Lambda zip and the image")
    for setting, reason in (("xray", "fargo jobs log JSON lines; tracing is not configured"),

                            ("lambda_ephemeral_storage", "set ephemeral_storage_gib on Fargate")):
        value, source = lookup(chalice_config, stage, name, setting)
        if value is not None:
            row(setting, value, source, f"not mapped: {reason}")
    return out


def _factor(app: ChaliceApp, stages: list[str], values: dict[tuple[str, str], dict[str, Any]],
            chalice_config: dict[str, Any], result: Imported) -> dict[str, Any]:
    """Write each value at the least specific fargo level that gives it everywhere it applies."""
    # Chalice names what it deploys after the config's app_name, not the app object's
    name = chalice_config.get("app_name")
    app_name = name if isinstance(name, str) and name else app.app_name
    if app_name != app.app_name:
        result.notes.append(f"app_name: .chalice/config.json says {app_name!r}, app.py's "
                            f"Chalice(app_name=...) {app.app_name!r}; Chalice deploys under "
                            f"{app_name!r}, and so does fargo")
    config: dict[str, Any] = {"$schema": "./config.schema.json", "app_name": app_name}
    tasks: dict[str, dict[str, Any]] = {}
    stage_tasks: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in stages}
    stage_conf: dict[str, dict[str, Any]] = {s: {} for s in stages}
    names = sorted({f.name for f in app.functions})
    for merged in ("environment_variables", "tags"):
        everywhere, by_stage = _shared_entries(merged, names, stages, values)
        if everywhere:
            config[merged] = everywhere
        for stage in stages:
            if by_stage[stage]:
                stage_conf[stage][merged] = by_stage[stage]
        for name in names:
            for stage in stages:  # what the top and stage levels hold is not repeated per job
                own = values[(name, stage)].get(merged)
                if isinstance(own, dict):
                    shared = {**everywhere, **by_stage[stage]}
                    values[(name, stage)][merged] = {
                        k: v for k, v in own.items() if shared.get(k, object()) != v}
    _factor_shared(names, stages, values, config, stage_conf)
    for name in names:
        per_stage = [values[(name, s)] for s in stages]
        keys = sorted({k for v in per_stage for k in v})
        for key in keys:
            if key in ("subnets", "security_groups"):
                for stage, v in zip(stages, per_stage, strict=True):
                    if key not in v:
                        continue
                    if all(values[(n, stage)].get(key) == v[key] for n in names):
                        # every function of the stage has it: the stage's network
                        stage_conf[stage][key] = v[key]
                    else:  # only this function's (a Lambda job in its own VPC, say)
                        stage_tasks[stage].setdefault(name, {})[key] = v[key]
                continue
            if key == "policy":
                _policy(name, stages, per_stage, tasks, stage_tasks, result)
                continue
            if key in ("environment_variables", "tags"):
                _factor_dict(name, key, stages, per_stage, tasks, stage_tasks)
                continue
            present = [v.get(key) for v in per_stage]
            if all(p == present[0] for p in present) and present[0] is not None:
                tasks.setdefault(name, {})[key] = present[0]
            else:
                for stage, value in zip(stages, present, strict=True):
                    if value is not None:
                        stage_tasks[stage].setdefault(name, {})[key] = value
    if tasks:
        config["tasks"] = {k: dict(sorted(v.items())) for k, v in sorted(tasks.items())}
    config["stages"] = {}
    for stage in stages:
        entry: dict[str, Any] = dict(sorted(stage_conf[stage].items()))
        region = ((chalice_config.get("stages") or {}).get(stage) or {}).get("region")
        if region:
            entry["region"] = region
        if stage_tasks[stage]:
            entry["tasks"] = {k: dict(sorted(v.items()))
                              for k, v in sorted(stage_tasks[stage].items())}
        config["stages"][stage] = entry
    return config


# Chalice settings the functions of a stage usually share (its config's top or stage level),
# written once at that level. Only those that are right for any job the project adds later:
# a stage-wide memory, timeout or policy would reach new Fargate jobs too (Chalice's 60 s
# timeout, its Lambda policy), so those stay with each job the import brings.
SHARED_KEYS = ("log_retention_days",)


def _stage_value(found: list[Any]) -> Any:
    """What the stage's level can hold: the value every function of the stage has."""
    if not found or found[0] is None or any(v != found[0] for v in found):
        return None
    return found[0]


def _factor_shared(names: list[str], stages: list[str],
                   values: dict[tuple[str, str], dict[str, Any]], config: dict[str, Any],
                   stage_conf: dict[str, dict[str, Any]]) -> None:
    """A value every function of a stage has goes to the stage's level (to the top level when
    every stage has it), not to each job; each job keeps only what is its own."""
    for key in SHARED_KEYS:
        common: dict[str, Any] = {}
        for stage in stages:
            value = _stage_value([values[(n, stage)].get(key) for n in names])
            if value is not None:
                common[stage] = value
        if not common:
            continue
        everywhere = len(common) == len(stages) and all(
            v == common[stages[0]] for v in common.values())
        for stage, value in common.items():
            for name in names:
                del values[(name, stage)][key]
            (config if everywhere else stage_conf[stage])[key] = value


def _shared_entries(key: str, names: list[str], stages: list[str],
                    values: dict[tuple[str, str], dict[str, Any]]
                    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Entries of a merged setting (environment variables, tags) every function has: at the
    top level (every stage) or the stage's level.

    That is where Chalice's own config keeps them, and for variables where fargo sets them
    before it imports app.py for a stage (a schedule may read them).
    """
    per_stage: dict[str, dict[str, Any]] = {}
    for stage in stages:
        envs = [values[(n, stage)].get(key) or {} for n in names]
        per_stage[stage] = {k: v for k, v in (envs[0] if envs else {}).items()
                            if all(e.get(k) == v for e in envs)}
    first = per_stage[stages[0]] if stages else {}
    top = {k: v for k, v in first.items() if all(per_stage[s].get(k) == v for s in stages)}
    return dict(sorted(top.items())), {
        s: dict(sorted((k, v) for k, v in per_stage[s].items() if k not in top)) for s in stages}


def _factor_dict(name: str, key: str, stages: list[str], per_stage: list[dict[str, Any]],
                 tasks: dict[str, dict[str, Any]],
                 stage_tasks: dict[str, dict[str, dict[str, Any]]]) -> None:
    dicts = [v.get(key) or {} for v in per_stage]
    common = {k: val for k, val in dicts[0].items() if all(d.get(k) == val for d in dicts)}
    if common:
        tasks.setdefault(name, {})[key] = dict(sorted(common.items()))
    for stage, d in zip(stages, dicts, strict=True):
        rest = {k: val for k, val in d.items() if k not in common}
        if rest:
            stage_tasks[stage].setdefault(name, {})[key] = dict(sorted(rest.items()))


def _policy(name: str, stages: list[str], per_stage: list[dict[str, Any]],
            tasks: dict[str, dict[str, Any]],
            stage_tasks: dict[str, dict[str, dict[str, Any]]], result: Imported) -> None:
    """Chalice's policy files are copied once each as chalice-<file> and referenced."""
    sources = [v.get("policy") for v in per_stage]
    for source in sources:
        if source is not None:
            result.policies[f"chalice-{Path(source[0]).name}"] = source[1]
    if all(src == sources[0] for src in sources) and sources[0] is not None:
        tasks.setdefault(name, {})["iam_policy_file"] = f"chalice-{Path(sources[0][0]).name}"
        return
    for stage, source in zip(stages, sources, strict=True):
        if source is not None:
            stage_tasks[stage].setdefault(name, {})["iam_policy_file"] = \
                f"chalice-{Path(source[0]).name}"
