"""Which records of a batch failed, in the form Powertools' BatchProcessor reports them.

Each processor works on a whole batch at once (concurrent deliveries, one `_bulk`), then hands
`check` to `process_partial_response` as its record handler: it raises for exactly the records
that failed, which Powertools turns into `batchItemFailures`.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


@dataclass
class ItemFailures:
    """Errors by record identifier: a stream record's sequence number or an SQS message id."""

    errors: dict[str, Exception] = field(default_factory=dict)

    def fail(self, identifier: str, error: Exception) -> None:
        self.errors.setdefault(identifier, error)

    def fail_all(self, identifiers: Iterable[str], error: Exception) -> None:
        for identifier in identifiers:
            self.fail(identifier, error)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def check(self, record: DynamoDBRecord | SQSRecord) -> None:
        if isinstance(record, SQSRecord):
            identifier = record.message_id
        else:
            identifier = (record.dynamodb.sequence_number if record.dynamodb else None) or ""
        error = self.errors.get(identifier)
        if error is not None:
            raise error
