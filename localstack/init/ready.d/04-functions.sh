#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py: do not edit.
# Change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
#
# Lambda functions (each from $LAMBDA_BUILD_DIR/<function>.zip, built by `make package`), their
# execution role and log groups; a function URL for each function behind the HTTP API, which
# LocalStack's free tier does not have. LocalStack's free tier does not enforce IAM, so the
# functions share one role. Idempotent: an existing function, role or log group is left as it is.
# Overridable from the environment: RETRY_SCHEDULE.
set -euo pipefail

root="$(cd "$(dirname "$0")/../../.." && pwd)"
build_dir="${LAMBDA_BUILD_DIR:-$root/build/lambda}"
RETRY_SCHEDULE="${RETRY_SCHEDULE:-5s,5m,30m,2h,5h,10h,10h}"  # parameter RetrySchedule

for function in ingest fanout retry indexer; do
  if [ ! -f "$build_dir/$function.zip" ]; then
    echo "$build_dir/$function.zip not found: run \`make package\` before starting LocalStack" >&2
    exit 1
  fi
done

role=triggers-local-lambda
role_arn=$(awslocal iam get-role --role-name "$role" --query Role.Arn --output text 2>/dev/null) ||
  role_arn=$(awslocal iam create-role --role-name "$role" --query Role.Arn --output text \
    --assume-role-policy-document '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')
delivery_dlq_url=$(awslocal sqs get-queue-url --queue-name triggers-local-delivery-dlq --query QueueUrl --output text)
index_dlq_url=$(awslocal sqs get-queue-url --queue-name triggers-local-index-dlq --query QueueUrl --output text)
delivery_retry_url=$(awslocal sqs get-queue-url --queue-name triggers-local-delivery-retry --query QueueUrl --output text)
search_endpoint=$(awslocal opensearch describe-domain --domain-name triggers-local --query DomainStatus.Endpoint --output text)

create_function() {  # name, zip, CreateFunction request without role and code
  if awslocal lambda get-function --function-name "$1" >/dev/null 2>&1; then
    echo "function $1 exists"
    return
  fi
  awslocal lambda create-function --cli-input-json "$3" --role "$role_arn" \
    --zip-file "fileb://$build_dir/$2.zip" >/dev/null
  awslocal lambda wait function-active-v2 --function-name "$1"
  echo "function $1 created"
}

create_log_group() {  # name, retention in days
  local found
  found=$(awslocal logs describe-log-groups --log-group-name-prefix "$1" \
    --query "logGroups[?logGroupName=='$1'].logGroupName" --output text)
  if [ -z "$found" ]; then
    awslocal logs create-log-group --log-group-name "$1"
    echo "log group $1 created"
  fi
  awslocal logs put-retention-policy --log-group-name "$1" --retention-in-days "$2"
}

create_function_url() {  # name: the HTTP API's payload-2.0 events, authenticated by the API's own keys
  if ! awslocal lambda get-function-url-config --function-name "$1" >/dev/null 2>&1; then
    awslocal lambda create-function-url-config --function-name "$1" --auth-type NONE >/dev/null
    echo "function URL of $1 created"
  fi
}

pids=()
{
  create_function triggers-local-ingest ingest '{"FunctionName": "triggers-local-ingest",
    "Description": "HTTP API - validates events and writes them to the events table", "Runtime": "python3.12",
    "Handler": "ingest.handler.lambda_handler", "Architectures": ["arm64"], "MemorySize": 512, "Timeout": 10,
    "TracingConfig": {"Mode": "Active"},
    "Environment": {"Variables": {"STAGE": "local", "POWERTOOLS_LOG_LEVEL": "INFO", "POWERTOOLS_METRICS_NAMESPACE": "Triggers",
        "EVENTS_TABLE": "triggers-local-events", "EVENT_RETENTION_DAYS": "30",
        "SUBSCRIPTIONS_TABLE": "triggers-local-subscriptions", "DELIVERIES_TABLE": "triggers-local-deliveries",
        "OPENSEARCH_ENDPOINT": "https://'"${search_endpoint}"'",
        "INDEX_ALIAS": "events", "POWERTOOLS_SERVICE_NAME": "ingest", "ALLOW_LOOPBACK_WEBHOOKS": "true",
        "WEBHOOK_PRIVATE_HOSTS": "host.docker.internal", "API_KEYS_TABLE": "triggers-local-api-keys",
        "IDEMPOTENCY_TABLE": "triggers-local-idempotency",
        "RETRY_QUEUE_URL": "'"${delivery_retry_url}"'"}}}'
  create_log_group /aws/lambda/triggers-local-ingest 30
  create_function_url triggers-local-ingest
} &
pids+=($!)
{
  create_function triggers-local-fanout fanout '{"FunctionName": "triggers-local-fanout",
    "Description": "Delivers new events to matching subscriber webhooks (signed); failures go to the retry queue",
    "Runtime": "python3.12", "Handler": "processors.fanout.handler.lambda_handler", "Architectures": ["arm64"],
    "MemorySize": 512, "Timeout": 60, "TracingConfig": {"Mode": "Active"},
    "Environment": {"Variables": {"STAGE": "local", "POWERTOOLS_LOG_LEVEL": "INFO", "POWERTOOLS_METRICS_NAMESPACE": "Triggers",
        "EVENTS_TABLE": "triggers-local-events", "EVENT_RETENTION_DAYS": "30",
        "SUBSCRIPTIONS_TABLE": "triggers-local-subscriptions", "DELIVERIES_TABLE": "triggers-local-deliveries",
        "OPENSEARCH_ENDPOINT": "https://'"${search_endpoint}"'",
        "INDEX_ALIAS": "events", "POWERTOOLS_SERVICE_NAME": "fanout",
        "RETRY_QUEUE_URL": "'"${delivery_retry_url}"'",
        "DELIVERY_DLQ_URL": "'"${delivery_dlq_url}"'",
        "RETRY_SCHEDULE": "'"${RETRY_SCHEDULE}"'", "ALLOW_LOOPBACK_WEBHOOKS": "true",
        "WEBHOOK_PRIVATE_HOSTS": "host.docker.internal"}}}'
  create_log_group /aws/lambda/triggers-local-fanout 30
} &
pids+=($!)
{
  create_function triggers-local-retry retry '{"FunctionName": "triggers-local-retry",
    "Description": "Re-attempts failed webhook deliveries on the retry schedule; exhausted ones go to the DLQ",
    "Runtime": "python3.12", "Handler": "processors.retry.handler.lambda_handler", "Architectures": ["arm64"],
    "MemorySize": 256, "Timeout": 30, "TracingConfig": {"Mode": "Active"},
    "Environment": {"Variables": {"STAGE": "local", "POWERTOOLS_LOG_LEVEL": "INFO", "POWERTOOLS_METRICS_NAMESPACE": "Triggers",
        "EVENTS_TABLE": "triggers-local-events", "EVENT_RETENTION_DAYS": "30",
        "SUBSCRIPTIONS_TABLE": "triggers-local-subscriptions", "DELIVERIES_TABLE": "triggers-local-deliveries",
        "OPENSEARCH_ENDPOINT": "https://'"${search_endpoint}"'",
        "INDEX_ALIAS": "events", "POWERTOOLS_SERVICE_NAME": "retry",
        "RETRY_QUEUE_URL": "'"${delivery_retry_url}"'",
        "DELIVERY_DLQ_URL": "'"${delivery_dlq_url}"'",
        "RETRY_SCHEDULE": "'"${RETRY_SCHEDULE}"'", "ALLOW_LOOPBACK_WEBHOOKS": "true",
        "WEBHOOK_PRIVATE_HOSTS": "host.docker.internal"}}}'
  create_log_group /aws/lambda/triggers-local-retry 30
} &
pids+=($!)
{
  create_function triggers-local-indexer indexer '{"FunctionName": "triggers-local-indexer",
    "Description": "Keeps the OpenSearch `events` index in step with the events table", "Runtime": "python3.12",
    "Handler": "processors.indexer.handler.lambda_handler", "Architectures": ["arm64"], "MemorySize": 256,
    "Timeout": 30, "TracingConfig": {"Mode": "Active"},
    "Environment": {"Variables": {"STAGE": "local", "POWERTOOLS_LOG_LEVEL": "INFO", "POWERTOOLS_METRICS_NAMESPACE": "Triggers",
        "EVENTS_TABLE": "triggers-local-events", "EVENT_RETENTION_DAYS": "30",
        "SUBSCRIPTIONS_TABLE": "triggers-local-subscriptions", "DELIVERIES_TABLE": "triggers-local-deliveries",
        "OPENSEARCH_ENDPOINT": "https://'"${search_endpoint}"'",
        "INDEX_ALIAS": "events", "POWERTOOLS_SERVICE_NAME": "indexer",
        "INDEX_DLQ_URL": "'"${index_dlq_url}"'"}}}'
  create_log_group /aws/lambda/triggers-local-indexer 30
} &
pids+=($!)
for pid in "${pids[@]}"; do
  wait "$pid"
done
