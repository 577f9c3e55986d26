#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py. Do not
# edit: change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
# The helpers are in ../lib.sh; each looks before it creates, so the script can run again.
#
# SQS queues with their attributes and redrive policies.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

create_queue triggers-local-delivery-retry-dlq '{"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}'
create_queue triggers-local-delivery-dlq '{"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}'
create_queue triggers-local-stream-dlq '{"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}'
create_queue triggers-local-index-dlq '{"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}'
create_queue triggers-local-delivery-retry '{"VisibilityTimeout": "60", "MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true",
  "RedrivePolicy": "{\"deadLetterTargetArn\": \"arn:aws:sqs:us-east-1:000000000000:triggers-local-delivery-retry-dlq\", \"maxReceiveCount\": \"5\"}"}'
