#!/usr/bin/env bash
# CloudWatch alarms of template.yaml and the SNS topic they notify: every dead-letter queue (any
# visible message), each stream mapping's iterator age, each function's errors and throttles, each
# table's throttles and system errors. The HTTP API's alarms (5xx rate, p95 latency, success
# rate) need the API, which LocalStack's free tier does not have, so they exist only on AWS.
# Idempotent: create-topic returns the existing topic; put-metric-alarm creates or replaces.
# Embedded (`triggers up`, TRIGGERS_EMBEDDED=1): skipped. moto neither emits AWS metrics nor
# evaluates alarms, and some thirty AWS CLI start-ups would slow every start.
set -euo pipefail
STAGE="${STAGE:-local}"
prefix="triggers-${STAGE}"

if [ "${TRIGGERS_EMBEDDED:-}" = 1 ]; then
  echo "embedded stack: alarms are not created (moto does not evaluate them)"
  exit 0
fi

topic_arn=$(awslocal sns create-topic --name "${prefix}-alarms" --query TopicArn --output text)
echo "topic ${prefix}-alarms ready"

put_alarm() {  # alarm short name, description, then put-metric-alarm arguments
  local name="${prefix}-$1" description="$2"
  shift 2
  awslocal cloudwatch put-metric-alarm --alarm-name "$name" --alarm-description "$description" \
    --treat-missing-data notBreaching --alarm-actions "$topic_arn" --ok-actions "$topic_arn" "$@"
  echo "alarm $name ready"
}

metric_alarm() {  # short name, description, namespace, metric, dimension, statistic, period, periods, threshold
  put_alarm "$1" "$2" --namespace "$3" --metric-name "$4" --dimensions "$5" --statistic "$6" \
    --period "$7" --evaluation-periods "$8" --threshold "$9" --comparison-operator GreaterThanThreshold
}

dlq_alarm() {  # queue short name, description
  metric_alarm "$1" "$2" AWS/SQS ApproximateNumberOfMessagesVisible "Name=QueueName,Value=${prefix}-$1" \
    Maximum 300 1 0
}

function_alarms() {  # function short name, then its errors and throttles descriptions
  local dimension="Name=FunctionName,Value=${prefix}-$1"
  metric_alarm "$1-errors" "$2" AWS/Lambda Errors "$dimension" Sum 300 1 0
  metric_alarm "$1-throttles" "$3" AWS/Lambda Throttles "$dimension" Sum 300 1 0
}

iterator_age_alarm() {  # function short name, description
  metric_alarm "$1-iterator-age" "$2" AWS/Lambda IteratorAge "Name=FunctionName,Value=${prefix}-$1" \
    Maximum 60 5 300000
}

table_metric() {  # id, metric, table, [operation] -> one MetricStat query (5-minute sums)
  local dimensions="{\"Name\": \"TableName\", \"Value\": \"$3\"}"
  [ -n "${4:-}" ] && dimensions="$dimensions, {\"Name\": \"Operation\", \"Value\": \"$4\"}"
  echo "{\"Id\": \"$1\", \"ReturnData\": false, \"MetricStat\": {\"Metric\": {\"Namespace\": \"AWS/DynamoDB\",
    \"MetricName\": \"$2\", \"Dimensions\": [$dimensions]}, \"Period\": 300, \"Stat\": \"Sum\"}}"
}

table_alarms() {  # table short name, then the operations the functions call on it
  local short="$1" table="${prefix}-$1" operation metrics
  shift
  metrics="{\"Id\": \"throttles\", \"Expression\": \"reads + writes\", \"Label\": \"Throttled requests\"},
    $(table_metric reads ReadThrottleEvents "$table"), $(table_metric writes WriteThrottleEvents "$table")"
  put_alarm "$short-table-throttles" "Reads or writes on the $short table were throttled" \
    --metrics "[$metrics]" --evaluation-periods 2 --threshold 10 --comparison-operator GreaterThanThreshold
  metrics="{\"Id\": \"errors\", \"Expression\": \"SUM(METRICS())\", \"Label\": \"System errors\"}"
  for operation in "$@"; do
    metrics="$metrics, $(table_metric "${operation,,}" SystemErrors "$table" "$operation")"
  done
  put_alarm "$short-table-system-errors" "DynamoDB failed requests on the $short table (HTTP 500)" \
    --metrics "[$metrics]" --evaluation-periods 1 --threshold 0 --comparison-operator GreaterThanThreshold
}

# Side by side: each AWS CLI start-up costs about half a second.
pids=()
dlq_alarm delivery-retry-dlq "Retry messages the retry function could not process (pipeline failure)" &
pids+=($!)
dlq_alarm delivery-dlq "Webhook deliveries exhausted their retry schedule" &
pids+=($!)
dlq_alarm stream-dlq "Stream batches failed permanently (pipeline failure, not a subscriber)" &
pids+=($!)
dlq_alarm index-dlq "Documents OpenSearch rejected (mapping errors)" &
pids+=($!)
iterator_age_alarm fanout "Fanout is more than 5 minutes behind the events stream" &
pids+=($!)
iterator_age_alarm indexer "The indexer is more than 5 minutes behind the events stream" &
pids+=($!)
function_alarms ingest "The ingest function failed (unhandled error or timeout)" \
  "Ingest invocations were throttled (account or function concurrency)" &
pids+=($!)
function_alarms fanout "The fanout function failed (unhandled error or timeout)" \
  "Fanout invocations were throttled (account or function concurrency)" &
pids+=($!)
function_alarms retry "The retry function failed (unhandled error or timeout)" \
  "Retry invocations were throttled (account or function concurrency)" &
pids+=($!)
function_alarms indexer "The indexer function failed (unhandled error or timeout)" \
  "Indexer invocations were throttled (its reserved concurrency is below the shard count)" &
pids+=($!)
table_alarms events BatchWriteItem GetItem Query UpdateItem DeleteItem &
pids+=($!)
table_alarms api-keys GetItem PutItem &
pids+=($!)
table_alarms idempotency GetItem PutItem UpdateItem DeleteItem &
pids+=($!)
table_alarms subscriptions GetItem Query UpdateItem TransactWriteItems &
pids+=($!)
table_alarms deliveries GetItem Query UpdateItem &
pids+=($!)
for pid in "${pids[@]}"; do
  wait "$pid"
done
