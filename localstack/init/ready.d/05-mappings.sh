#!/usr/bin/env bash
# Event source mappings of template.yaml with every setting it declares: the events stream into
# fanout and indexer (failed batches to the stream DLQ), the retry queue into retry.
# Idempotent: a function already mapped to the same source is left as it is.
# Embedded (`triggers up`, TRIGGERS_EMBEDDED=1): skipped. Mappings in moto make it invoke Lambdas
# through Docker and drop stream records; the local ESM runner reads them from template.yaml.
set -euo pipefail
STAGE="${STAGE:-local}"
prefix="triggers-${STAGE}"

if [ "${TRIGGERS_EMBEDDED:-}" = 1 ]; then
  echo "embedded stack: event source mappings are run by the local ESM runner, none created"
  exit 0
fi

queue_arn() {
  awslocal sqs get-queue-attributes --attribute-names QueueArn --output text --query Attributes.QueueArn \
    --queue-url "$(awslocal sqs get-queue-url --queue-name "$1" --output text --query QueueUrl)"
}

stream_arn=$(awslocal dynamodbstreams list-streams --table-name "${prefix}-events" \
  --query 'Streams[0].StreamArn' --output text)
stream_dlq_arn=$(queue_arn "${prefix}-stream-dlq")
retry_queue_arn=$(queue_arn "${prefix}-delivery-retry")
existing=$(awslocal lambda list-event-source-mappings --output text \
  --query 'EventSourceMappings[].[FunctionArn, EventSourceArn]')

map() {  # function short name, source ARN, then create-event-source-mapping settings
  local name="${prefix}-$1" source="$2"
  shift 2
  if grep -qF ":function:${name}"$'\t'"${source}" <<<"$existing"; then
    echo "mapping $source -> $name exists"
    return
  fi
  awslocal lambda create-event-source-mapping --function-name "$name" --event-source-arn "$source" \
    "$@" >/dev/null
  echo "mapping $source -> $name created"
}

stream_settings=(
  --starting-position TRIM_HORIZON
  --batch-size 10
  --maximum-batching-window-in-seconds 5
  --function-response-types ReportBatchItemFailures
  --bisect-batch-on-function-error
  --maximum-record-age-in-seconds 86400
  --parallelization-factor 1
  --destination-config "{\"OnFailure\": {\"Destination\": \"$stream_dlq_arn\"}}"
)
map fanout "$stream_arn" "${stream_settings[@]}" --maximum-retry-attempts 10 \
  --filter-criteria '{"Filters": [{"Pattern": "{\"eventName\": [\"INSERT\"]}"}]}'
# The indexer retries until a record is a day old: an OpenSearch outage must not drop index updates.
map indexer "$stream_arn" "${stream_settings[@]}" --maximum-retry-attempts -1 \
  --filter-criteria '{"Filters": [{"Pattern": "{\"eventName\": [\"INSERT\", \"MODIFY\", \"REMOVE\"]}"}]}'
map retry "$retry_queue_arn" \
  --batch-size 10 \
  --maximum-batching-window-in-seconds 1 \
  --function-response-types ReportBatchItemFailures
