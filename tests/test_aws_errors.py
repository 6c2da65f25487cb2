"""AWS errors become one clear message each (real botocore exception objects, no AWS needed)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from fargo.aws.session import AwsFailed, aws_errors


@pytest.mark.parametrize(("error", "needles"), [
    (ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}},
                 "RunTask"), ["AccessDeniedException", "lack this permission"]),
    (ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                 "DescribeTasks"), ["ThrottlingException", "retry in a moment"]),
    (ClientError({"Error": {"Code": "ClusterNotFoundException", "Message": "missing"}},
                 "RunTask"), ["not deployed (fargo deploy)"]),
    (ClientError({"Error": {"Code": "ExpiredTokenException", "Message": "expired"}},
                 "RunTask"), ["log in again"]),
    (NoCredentialsError(), ["no AWS credentials"]),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), ["cannot reach AWS"]),
])
def test_translation(error: Exception, needles: list[str]) -> None:
    with pytest.raises(AwsFailed) as info, aws_errors("starting a job"):
        raise error
    assert str(info.value).startswith("starting a job: ")
    for needle in needles:
        assert needle in str(info.value)
