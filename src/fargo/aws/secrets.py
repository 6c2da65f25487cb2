"""A task definition's secrets resolved as ECS resolves them when it starts the container.

`valueFrom` is an SSM parameter (a name, or its ARN) or a Secrets Manager secret ARN, which may
name a JSON key, a version stage and a version id after the ARN:
`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf:KEY:STAGE:VERSION`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from fargo.aws.session import AwsFailed, aws_errors, client

_SECRET_PARTS = 7  # arn, aws, secretsmanager, region, account, "secret", name-suffix


def resolve(secrets: Mapping[str, str], region: str) -> dict[str, str]:
    """{variable: value} for {variable: valueFrom}; AwsFailed naming what could not be read."""
    values: dict[str, str] = {}
    for name, reference in sorted(secrets.items()):
        if reference.startswith("arn:") and ":secretsmanager:" in reference:
            values[name] = _secret(reference, region)
        else:
            values[name] = _parameter(reference, region)
    return values


def _parameter(reference: str, region: str) -> str:
    with aws_errors(f"reading the SSM parameter {reference}"):
        answer = client("ssm", _region_of(reference, region)).get_parameter(
            Name=reference, WithDecryption=True)
    return str(answer["Parameter"]["Value"])


def _secret(reference: str, region: str) -> str:
    parts = reference.split(":")
    arn = ":".join(parts[:_SECRET_PARTS])
    key, stage, version = [*parts[_SECRET_PARTS:], "", "", ""][:3]
    asked: dict[str, str] = {"SecretId": arn}
    if stage:
        asked["VersionStage"] = stage
    if version:
        asked["VersionId"] = version
    with aws_errors(f"reading the secret {arn}"):
        text = client("secretsmanager", _region_of(reference, region)).get_secret_value(
            **asked)["SecretString"]
    if not key:
        return str(text)
    try:
        document = json.loads(text)
    except ValueError:
        raise AwsFailed(f"the secret {arn} is not JSON, so it has no key {key!r}") from None
    if not isinstance(document, dict) or key not in document:
        raise AwsFailed(f"the secret {arn} has no JSON key {key!r}")
    return str(document[key])


def _region_of(reference: str, region: str) -> str:
    parts = reference.split(":")
    return parts[3] if reference.startswith("arn:") and len(parts) > 3 and parts[3] else region
