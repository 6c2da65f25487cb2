"""boto3 clients for a stage, and AWS errors turned into messages.

boto3 honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> by itself, so fargo needs no
setting of its own to talk to a local stand-in of AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class AwsFailed(Exception):
    """An AWS call failed for a reason the user can act on; the message says which."""


def client(service: str, region: str) -> Any:
    import os

    import boto3
    from botocore.config import Config

    # Throttling is retried with backoff; AWS_MAX_ATTEMPTS / AWS_RETRY_MODE still win.
    retries = {} if os.environ.get("AWS_MAX_ATTEMPTS") else {"retries": {
        "max_attempts": 6, "mode": os.environ.get("AWS_RETRY_MODE", "adaptive")}}
    config = Config(connect_timeout=10, read_timeout=60, **retries)
    return boto3.session.Session().client(service, region_name=region, config=config)


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Translate botocore exceptions into AwsFailed with what went wrong and what to do."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    try:
        yield
    except ProfileNotFound as exc:
        raise AwsFailed(f"{action}: {exc} (check AWS_PROFILE)") from None
    except NoCredentialsError:
        raise AwsFailed(f"{action}: no AWS credentials (set AWS_PROFILE or "
                        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)") from None
    except NoRegionError:
        raise AwsFailed(f"{action}: no AWS region (set the stage's region)") from None
    except EndpointConnectionError as exc:
        raise AwsFailed(f"{action}: cannot reach AWS ({exc})") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        message = error.get("Message", str(exc))
        hint = {
            "AccessDeniedException": "your credentials lack this permission",
            "AccessDenied": "your credentials lack this permission",
            "UnrecognizedClientException": "the credentials are not valid",
            "ExpiredTokenException": "the session expired: log in again",
            "ThrottlingException": "AWS is throttling requests: retry in a moment",
            "ClusterNotFoundException": "the stage is not deployed (fargo deploy)",
            "ResourceNotFoundException": "the stage is not deployed (fargo deploy)",
            "StateMachineDoesNotExist": "the stage is not deployed (fargo deploy)",
        }.get(code)
        raise AwsFailed(f"{action}: {code}: {message}" + (f" ({hint})" if hint else "")) \
            from None
    except BotoCoreError as exc:
        raise AwsFailed(f"{action}: {exc}") from None


def poll_seconds() -> float:
    """How often fargo polls AWS while waiting (FARGO_POLL_SECONDS, default 2)."""
    import os

    try:
        return max(0.05, float(os.environ.get("FARGO_POLL_SECONDS") or 2.0))
    except ValueError:
        return 2.0


def account_id(region: str) -> str:
    with aws_errors("finding the AWS account"):
        identity = client("sts", region).get_caller_identity()
    return str(identity["Account"])

