"""boto3 clients for CLI commands that talk to a running local stack."""

import os
from typing import Any

import boto3

from devtools.stack import LOCAL_CREDENTIALS


def default_endpoint() -> str:
    return os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")


def aws_client(service: str, endpoint: str | None = None) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint or default_endpoint(),
        region_name=os.environ.get("AWS_DEFAULT_REGION", LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"]),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]),
        aws_secret_access_key=os.environ.get(
            "AWS_SECRET_ACCESS_KEY", LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        ),
    )
