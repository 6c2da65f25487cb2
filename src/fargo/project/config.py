"""Read `.fargo/config.json` and check it against the shipped JSON Schema.

Every schema violation becomes one Problem naming the file, the key path, what was found and
what is allowed; unknown keys get a "did you mean" hint.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from fargo.problems import Problem, did_you_mean, json_problem
from fargo.project.paths import CONFIG_FILE, ProjectPaths

SCHEMA_NAME = "config.schema.json"

_FRIENDLY_PATTERNS = {
    "app_name": "letters, digits, '-' and '_', starting with a letter or digit",
    "region": "an AWS region such as eu-west-1",
    "account": "a 12-digit AWS account id",
    "cluster": "an ECS cluster name (1-255 letters, digits, '-' or '_') or cluster ARN",
    "execution_role_arn": "an IAM role ARN such as arn:aws:iam::123456789012:role/name",
    "task_role_arn": "an IAM role ARN such as arn:aws:iam::123456789012:role/name",
    "subnets": "a subnet id such as subnet-0abc1234",
    "security_groups": "a security group id such as sg-0abc1234",
    "environment_variables": "a variable name: letters, digits and '_', not starting with a digit",
    "local_environment_variables": "a variable name: letters, digits and '_', not starting "
                                   "with a digit",
    "secrets": "a variable name: letters, digits and '_', not starting with a digit",
    "bucket": "an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')",
    "key": "an S3 key of printable ASCII without '${' or '%{' (Terraform reads backend "
           "settings as templates)",
    "dynamodb_table": "a DynamoDB table name (3-255 letters, digits, '_', '.' and '-')",
    "stages": "a stage name: letters, digits, '-' and '_' (at most 20)",
    "topic_arn": "an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:alerts",
    "emails": "an email address such as oncall@example.com",
    "layers": "a Lambda layer version ARN such as "
              "arn:aws:lambda:eu-west-1:123456789012:layer:name:3",
    "step_of": "a Step Functions state machine ARN such as "
               "arn:aws:states:eu-west-1:123456789012:stateMachine:name",
    "events": "an S3 event type such as s3:ObjectCreated:* or s3:ObjectRemoved:Delete",
    "event_fields": "a field name: a letter, then letters, digits and '_' (at most 64)",
    "event_fields[]": "a JSONPath into the event such as $.detail.object.key",
    "image": "an image reference such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1 "
             "(registry/repository[:tag][@sha256:digest], no spaces or template characters)",
    "base_image": "an image reference such as public.ecr.aws/docker/library/python:3.11-slim "
                  "(registry/repository[:tag][@sha256:digest])",
}


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("fargo.project").joinpath(SCHEMA_NAME).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator(definition: str | None) -> Draft202012Validator:
    root = schema()
    if definition is None:
        return Draft202012Validator(root)
    return Draft202012Validator({"$defs": root["$defs"], "$ref": f"#/$defs/{definition}"})


def schema_path() -> Path:
    return Path(str(resources.files("fargo.project").joinpath(SCHEMA_NAME)))


def read_config(root: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The parsed config (None when unreadable) and every problem with it.

    Values that break the schema are removed from the returned config, so the rest of the
    project can still be checked in the same run without tripping over them again.
    """
    path = ProjectPaths(root).config_file
    if not path.is_file():
        hint = ("this is a Chalice project: fargo import-chalice . writes it"
                if (root / ".chalice" / "config.json").is_file()
                else "every fargo project has one (fargo new NAME makes one)")
        return None, [Problem(f"not found; {hint}", CONFIG_FILE)]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(f"is not UTF-8 text ({exc.reason})", CONFIG_FILE)]
    except OSError as exc:
        return None, [Problem(f"cannot be read: {exc.strerror or exc}", CONFIG_FILE)]
    data, problem = json_problem(text, CONFIG_FILE)
    if problem is not None:
        return None, [problem]
    if not isinstance(data, dict):
        return None, [Problem(f"must be a JSON object, found {_json_type(data)}", CONFIG_FILE)]
    problems: list[Problem] = []
    targets: list[list[Any]] = []
    for error in sorted(_validator(None).iter_errors(data), key=lambda e: list(e.absolute_path)):
        found = _to_problems(error, CONFIG_FILE, "")
        problems.extend(found)
        targets += [_target(list(error.absolute_path), problem, error) for problem in found]
    removed: set[tuple[Any, ...]] = set()
    for path in reversed(targets):  # the last first: deleting a list item moves the later ones
        if path and tuple(path) not in removed:
            removed.add(tuple(path))
            _remove(data, path)
    return data, problems


def _target(path: list[Any], problem: Problem, error: ValidationError) -> list[Any]:
    """What to drop for a problem: the value, or the one unknown key or bad name."""
    if error.validator == "additionalProperties" and problem.key:
        return [*path, problem.key.rsplit(".", 1)[-1]]
    if _names_a_key(error) and isinstance(error.instance, str):
        return [*path, error.instance]
    return path


def _remove(data: dict[str, Any], path: list[Any]) -> None:
    """Drop the offending value from `data`, so the rest of the project is still checked in the
    same run: a bad name drops that entry only, a bad list item that item."""
    parent: Any = data
    for part in path[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
        del parent[path[-1]]


def check_against_schema(data: Any, definition: str | None, file: str,
                         prefix: str) -> list[Problem]:
    """Problems of `data` against the whole schema or one of its $defs."""
    problems = []
    errors = sorted(_validator(definition).iter_errors(data), key=lambda e: list(e.absolute_path))
    for error in errors:
        problems.extend(_to_problems(error, file, prefix))
    return problems


def _key(prefix: str, path: list[Any]) -> str:
    parts = [prefix] if prefix else []
    parts += [str(p) for p in path]
    return ".".join(parts)


def _to_problems(error: ValidationError, file: str, prefix: str) -> list[Problem]:
    path = list(error.absolute_path)
    key = _key(prefix, path)
    found = error.instance
    if error.validator == "additionalProperties" and isinstance(found, dict):
        assert isinstance(error.schema, dict)
        known = list((error.schema.get("properties") or {}).keys()) \
            if isinstance(error.schema, dict) else []
        unknown = [k for k in found if k not in known]
        from fargo.project.settings import STAGE_SETTING_NAMES

        def hint(k: str) -> str:
            if k in STAGE_SETTING_NAMES and k not in known:
                return f" ({k} is a stage setting: set it at the top level or in stages.<stage>)"
            return did_you_mean(k, known)

        return [Problem(f"unknown key {k!r}{hint(k)}", file, _key(prefix, [*path, k]))
                for k in unknown]
    if error.validator == "type":
        wanted = error.validator_value
        wanted_text = " or ".join(wanted) if isinstance(wanted, list) else str(wanted)
        shown = "null" if found is None else f"{_json_type(found)} {_short(found)}"
        return [Problem(f"expected {wanted_text}, found {shown}", file, key)]
    if error.validator == "enum":
        choices = error.validator_value if isinstance(error.validator_value, list) else []
        allowed = ", ".join(json.dumps(v) for v in choices)
        return [Problem(f"{_short(found)} is not allowed (allowed: {allowed})", file, key)]
    if error.validator == "pattern":
        what = _FRIENDLY_PATTERNS.get(_field(error, path),
                                      f"text matching {error.validator_value}")
        if _names_a_key(error):
            return [Problem(f"name {_short(found)} is not {what}", file, key)]
        return [Problem(f"{_short(found)} is not {what}", file, key)]
    if error.validator == "propertyNames":
        return []  # reported through the nested pattern error
    if _names_a_key(error):
        return [Problem(f"name {_plain_message(error)}", file, key)]
    return [Problem(_plain_message(error), file, key)]


def _field(error: ValidationError, path: list[Any]) -> str:
    """The setting a pattern belongs to: the nearest key above the value (past list indexes);
    for a value of a free-form object (event_fields), that object's name with '[]'."""
    names = [str(p) for p in path if not isinstance(p, int)]
    if not names:
        return ""
    if _reached_by(error) == "additionalProperties" and len(names) >= 2:
        return f"{names[-2]}[]"
    return names[-1]


def _names_a_key(error: ValidationError) -> bool:
    """The error is about a key of an object (its `propertyNames`), not a value."""
    return _reached_by(error) == "propertyNames"


_APPLICATORS = ("properties", "items", "prefixItems", "additionalProperties", "propertyNames",
                "patternProperties")


def _reached_by(error: ValidationError) -> str | None:
    """The schema keyword that led to the failing value last: `items` for a list element,
    `propertyNames` for a key, `additionalProperties` for a value of a free-form object."""
    return next((str(part) for part in reversed(error.relative_schema_path)
                 if part in _APPLICATORS), None)


def _plain_message(error: ValidationError) -> str:
    found = error.instance
    limits = {
        "maxLength": lambda v: f"{_short(found)} is longer than {v} characters",
        "minLength": lambda v: f"{_short(found)} is shorter than {v} characters",
        "minimum": lambda v: f"{_short(found)} is less than the minimum {v}",
        "maximum": lambda v: f"{_short(found)} is more than the maximum {v}",
        "maxItems": lambda v: f"has {len(found) if isinstance(found, list) else '?'} items; "
        f"at most {v} are allowed",
        "required": lambda v: error.message,
    }
    make = limits.get(str(error.validator))
    return make(error.validator_value) if make else error.message


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: Any) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."
