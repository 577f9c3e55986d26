"""AWS clients, created once per process (reused across warm invocations).

boto3 honours AWS_ENDPOINT_URL, which is how the local stack points them at the moto server.
"""

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@lru_cache(maxsize=1)
def dynamodb_client() -> "DynamoDBClient":
    return boto3.client("dynamodb", config=_CONFIG)


@lru_cache(maxsize=1)
def sqs_client() -> "SQSClient":
    return boto3.client("sqs", config=_CONFIG)
