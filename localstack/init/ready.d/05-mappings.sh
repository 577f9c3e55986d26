#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py: do not edit.
# Change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
#
# Event source mappings with every setting the template declares. Never run this against moto:
# mappings there make it invoke Lambdas through Docker and drop stream records (the embedded
# stack's local ESM runner reads them from template.yaml instead).
# Idempotent: a function already mapped to the same source is left as it is.
set -euo pipefail

events_stream_arn=$(awslocal dynamodbstreams list-streams --table-name triggers-local-events --query 'Streams[0].StreamArn' --output text)
existing=$(awslocal lambda list-event-source-mappings --output text \
  --query 'EventSourceMappings[].[FunctionArn, EventSourceArn]')

map() {  # function, source ARN, CreateEventSourceMapping request
  if grep -qF ":function:$1"$'\t'"$2" <<<"$existing"; then
    echo "mapping $2 -> $1 exists"
    return
  fi
  awslocal lambda create-event-source-mapping --cli-input-json "$3" >/dev/null
  echo "mapping $2 -> $1 created"
}

map triggers-local-fanout "${events_stream_arn}" '{"FunctionName": "triggers-local-fanout",
  "EventSourceArn": "'"${events_stream_arn}"'",
  "BatchSize": 10, "MaximumBatchingWindowInSeconds": 5, "StartingPosition": "TRIM_HORIZON",
  "BisectBatchOnFunctionError": true, "MaximumRetryAttempts": 10, "MaximumRecordAgeInSeconds": 86400,
  "ParallelizationFactor": 1, "FunctionResponseTypes": ["ReportBatchItemFailures"],
  "FilterCriteria": {"Filters": [{"Pattern": "{\"eventName\": [\"INSERT\"]}"}]},
  "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:triggers-local-stream-dlq"}}}'
map triggers-local-retry arn:aws:sqs:us-east-1:000000000000:triggers-local-delivery-retry '{"FunctionName": "triggers-local-retry",
  "EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:triggers-local-delivery-retry", "BatchSize": 10,
  "MaximumBatchingWindowInSeconds": 1, "FunctionResponseTypes": ["ReportBatchItemFailures"]}'
map triggers-local-indexer "${events_stream_arn}" '{"FunctionName": "triggers-local-indexer",
  "EventSourceArn": "'"${events_stream_arn}"'",
  "BatchSize": 10, "MaximumBatchingWindowInSeconds": 5, "StartingPosition": "TRIM_HORIZON",
  "BisectBatchOnFunctionError": true, "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": 86400,
  "ParallelizationFactor": 1, "FunctionResponseTypes": ["ReportBatchItemFailures"],
  "FilterCriteria": {"Filters": [{"Pattern": "{\"eventName\": [\"INSERT\", \"MODIFY\", \"REMOVE\"]}"}]},
  "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:triggers-local-stream-dlq"}}}'
