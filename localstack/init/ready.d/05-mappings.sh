#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py. Do not
# edit: change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
# The helpers are in ../lib.sh; each looks before it creates, so the script can run again.
#
# Event source mappings with every setting the template declares, each waited for until it is
# Enabled. LocalStack accepts but does not honour BisectBatchOnFunctionError and
# ParallelizationFactor (see localstack/README.md). Never run this against moto: mappings there make
# it invoke Lambdas through Docker and drop stream records (the embedded stack's local ESM runner
# reads them from template.yaml instead).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

events_stream_arn=$(stream_arn triggers-local-events)
map triggers-local-fanout "${events_stream_arn}" '{"FunctionName": "triggers-local-fanout", "EventSourceArn": "'"${events_stream_arn}"'", "BatchSize": 10,
  "MaximumBatchingWindowInSeconds": 5, "StartingPosition": "TRIM_HORIZON", "BisectBatchOnFunctionError": true,
  "MaximumRetryAttempts": 10, "MaximumRecordAgeInSeconds": 86400, "ParallelizationFactor": 1,
  "FunctionResponseTypes": ["ReportBatchItemFailures"],
  "FilterCriteria": {"Filters": [{"Pattern": "{\"eventName\": [\"INSERT\"]}"}]},
  "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:triggers-local-stream-dlq"}}}'
map triggers-local-retry arn:aws:sqs:us-east-1:000000000000:triggers-local-delivery-retry '{"FunctionName": "triggers-local-retry",
  "EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:triggers-local-delivery-retry", "BatchSize": 10,
  "MaximumBatchingWindowInSeconds": 1, "FunctionResponseTypes": ["ReportBatchItemFailures"]}'
map triggers-local-indexer "${events_stream_arn}" '{"FunctionName": "triggers-local-indexer", "EventSourceArn": "'"${events_stream_arn}"'", "BatchSize": 10,
  "MaximumBatchingWindowInSeconds": 5, "StartingPosition": "TRIM_HORIZON", "BisectBatchOnFunctionError": true,
  "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": 86400, "ParallelizationFactor": 1,
  "FunctionResponseTypes": ["ReportBatchItemFailures"],
  "FilterCriteria": {"Filters": [{"Pattern": "{\"eventName\": [\"INSERT\", \"MODIFY\", \"REMOVE\"]}"}]},
  "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:triggers-local-stream-dlq"}}}'
