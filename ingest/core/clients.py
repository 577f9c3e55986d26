"""AWS clients, created once per process (reused across warm invocations).

boto3 honours AWS_ENDPOINT_URL, which is how the local stack points them at the moto server.
"""

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from ingest.core.runtime import runtime

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_sqs import SQSClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@runtime.cached
def dynamodb_client() -> "DynamoDBClient":
    return boto3.client("dynamodb", config=_CONFIG)


@runtime.cached
def sqs_client() -> "SQSClient":
    return boto3.client("sqs", config=_CONFIG)


@runtime.cached
def kms_client() -> "KMSClient":
    return boto3.client("kms", config=_CONFIG)
