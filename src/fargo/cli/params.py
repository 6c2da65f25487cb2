"""Parameters shared by several commands: one definition each, one way to read them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fargo import limits
from fargo.problems import Problem, ProblemsError, json_problem
from fargo.runtime import contract

STAGE_HELP = {
    "local": "Stage whose settings to use (default: dev).",
    "deployed": "Deployed stage.",
    "work": "Stage to work on.",
    "read": "Read the deployed stage's records from AWS (default: local).",
}


def stage_option(kind: str = "local", required: bool = False,
                 help: str | None = None) -> Callable[[Any], Any]:
    """The one `--stage/-s` option; `kind` picks the help text that fits the command."""
    return click.option("--stage", "-s", required=required, help=help or STAGE_HELP[kind])


def read_text(value: str, key: str) -> str:
    """A value given as it is, or as @file (read bounded: @/dev/zero must not fill memory)."""
    if not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.EVENT_MAX_BYTES + 1)
        if len(data) > limits.EVENT_MAX_BYTES:
            raise ProblemsError([Problem(
                f"{path} is over {limits.EVENT_MAX_BYTES // (1024 * 1024)} MB; no AWS path "
                "takes an event that large (a Lambda invocation takes 6 MB, EventBridge and "
                "Step Functions 256 KB): pass a pointer to the data, such as an S3 key",
                key=key)])
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemsError([Problem(f"{path} is not UTF-8 text ({exc.reason})",
                                     key=key)]) from None
    except OSError as exc:
        raise ProblemsError([Problem(f"cannot read {path}: {exc.strerror}",
                                     key=key)]) from None


def read_event(value: str | None, key: str = "--event", any_json: bool = False) -> str | None:
    """--event JSON or --event @file: returns compact JSON text, or raises ProblemsError.

    An object, unless `any_json` (a workflow's input may be any JSON value)."""
    if value is None:
        return None
    text = read_text(value, key)
    parsed, problem = json_problem(text, None, key)
    if problem is not None:
        raise ProblemsError([problem])
    if not isinstance(parsed, dict) and not any_json:
        raise ProblemsError([Problem("must be a JSON object, e.g. '{\"detail\": {}}'",
                                     key=key)])
    return json.dumps(parsed)


def parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    """--env NAME=VALUE pairs; FARGO_ names belong to fargo."""
    env: dict[str, str] = {}
    problems = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.replace("_", "a").isalnum() or name[0].isdigit():
            problems.append(Problem(f"{pair!r} is not NAME=VALUE", key="--env"))
        elif name.startswith(contract.RESERVED_PREFIX):
            problems.append(Problem(f"{name}: FARGO_ variables are set by fargo", key="--env"))
        else:
            env[name] = value
    if problems:
        raise ProblemsError(problems)
    return env
