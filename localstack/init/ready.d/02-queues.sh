#!/usr/bin/env bash
# SQS queues of template.yaml: retry queue (+ its DLQ), delivery DLQ, stream DLQ, index DLQ.
# Idempotent: create-queue with the same attributes returns the existing queue.
set -euo pipefail
STAGE="${STAGE:-local}"
FOURTEEN_DAYS=1209600

create_queue() {  # name, then extra attribute JSON members (without braces)
  local name="$1" extra="${2:-}"
  local attributes="\"MessageRetentionPeriod\": \"$FOURTEEN_DAYS\", \"SqsManagedSseEnabled\": \"true\""
  [ -n "$extra" ] && attributes="$attributes, $extra"
  awslocal sqs create-queue --queue-name "$name" --attributes "{$attributes}" >/dev/null
  echo "queue $name ready"
}

queue_arn() {
  awslocal sqs get-queue-attributes --attribute-names QueueArn --output text --query Attributes.QueueArn \
    --queue-url "$(awslocal sqs get-queue-url --queue-name "$1" --output text --query QueueUrl)"
}

# The dead-letter queues are independent: created side by side (each AWS CLI start-up costs
# about half a second); the retry queue needs its DLQ's ARN, so it comes after.
pids=()
for queue in delivery-retry-dlq delivery-dlq stream-dlq index-dlq; do
  create_queue "triggers-${STAGE}-${queue}" &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  wait "$pid"
done

retry_dlq_arn=$(queue_arn "triggers-${STAGE}-delivery-retry-dlq")
redrive="{\\\"deadLetterTargetArn\\\":\\\"${retry_dlq_arn}\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}"
create_queue "triggers-${STAGE}-delivery-retry" "\"VisibilityTimeout\": \"60\", \"RedrivePolicy\": \"$redrive\""
