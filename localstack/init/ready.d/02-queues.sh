#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py: do not edit.
# Change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
#
# SQS queues with their attributes and redrive policies; dead-letter queues first.
# Idempotent: create-queue with the same attributes returns the existing queue.
set -euo pipefail

create_queue() {  # name, attributes
  awslocal sqs create-queue --queue-name "$1" --attributes "$2" >/dev/null
  echo "queue $1 ready"
}

pids=()
create_queue triggers-local-delivery-retry-dlq '{"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}' &
pids+=($!)
create_queue triggers-local-delivery-dlq '{"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}' &
pids+=($!)
create_queue triggers-local-stream-dlq '{"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}' &
pids+=($!)
create_queue triggers-local-index-dlq '{"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}' &
pids+=($!)
for pid in "${pids[@]}"; do
  wait "$pid"
done

pids=()
create_queue triggers-local-delivery-retry '{"MessageRetentionPeriod": "1209600", "VisibilityTimeout": "60", "SqsManagedSseEnabled": "true",
  "RedrivePolicy": "{\"deadLetterTargetArn\": \"arn:aws:sqs:us-east-1:000000000000:triggers-local-delivery-retry-dlq\", \"maxReceiveCount\": \"5\"}"}' &
pids+=($!)
for pid in "${pids[@]}"; do
  wait "$pid"
done
