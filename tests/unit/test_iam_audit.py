"""The IAM audit the stack-bound suites run at session end (tests/iam_audit.py) judges as IAM does."""

import pytest

from devtools.template import Template
from tests.iam_audit import Access, Permissions, accesses

FANOUT, INGEST = "triggers-local-fanout", "triggers-local-ingest"


@pytest.fixture(scope="module")
def permissions() -> Permissions:
    return Permissions(Template("local"))


def test_a_transaction_is_authorised_item_by_item() -> None:
    params = {
        "TransactItems": [
            {"Update": {"TableName": "subs", "Key": {}}},
            {"Put": {"TableName": "subs", "Item": {}}},
            {"ConditionCheck": {"TableName": "events", "Key": {}}},
        ]
    }

    assert sorted(accesses("dynamodb", "TransactWriteItems", params)) == [
        ("dynamodb:ConditionCheckItem", "events"),
        ("dynamodb:PutItem", "subs"),
        ("dynamodb:UpdateItem", "subs"),
    ]


def test_batches_and_queues_name_their_own_actions() -> None:
    batch = {"RequestItems": {"a": [], "b": []}}
    assert sorted(accesses("dynamodb", "BatchWriteItem", batch)) == [
        ("dynamodb:BatchWriteItem", "a"),
        ("dynamodb:BatchWriteItem", "b"),
    ]
    send = {"QueueUrl": "http://127.0.0.1:4566/000000000000/triggers-local-delivery-retry"}
    expected = [("sqs:SendMessage", "triggers-local-delivery-retry")]
    assert list(accesses("sqs", "SendMessageBatch", send)) == expected
    query = {"TableName": "t", "IndexName": "by_status"}
    assert list(accesses("dynamodb", "Query", query)) == [("dynamodb:Query", "t/index/by_status")]


def test_what_a_role_grants_passes(permissions: Permissions) -> None:
    granted = [
        Access(FANOUT, "dynamodb:BatchWriteItem", "triggers-local-deliveries"),
        Access(FANOUT, "sqs:SendMessage", "triggers-local-delivery-retry"),
        Access(FANOUT, "kms:Decrypt", "alias/triggers-local-secrets"),  # granted by the key policy
    ]

    assert permissions.denied(granted) == []


def test_what_no_statement_grants_is_reported(permissions: Permissions) -> None:
    refused = [
        Access(FANOUT, "dynamodb:DeleteItem", "triggers-local-events"),
        Access(FANOUT, "sqs:SendMessage", "triggers-local-index-dlq"),
        Access(INGEST, "kms:Decrypt", "alias/triggers-local-secrets"),  # only the signing functions
    ]

    assert permissions.denied(refused) == [
        "triggers-local-fanout (FanoutRole): dynamodb:DeleteItem on EventsTable",
        "triggers-local-fanout (FanoutRole): sqs:SendMessage on IndexDLQ",
        "triggers-local-ingest (IngestRole): kms:Decrypt on SecretsKey",
    ]


def test_functions_outside_the_template_are_not_judged(permissions: Permissions) -> None:
    assert permissions.denied([Access("recording", "dynamodb:DeleteTable", "anything")]) == []
