#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py. Do not
# edit: change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
# The helpers are in ../lib.sh; each looks before it creates, so the script can run again.
#
# Lambda functions, each from $LAMBDA_BUILD_DIR/<function>.zip (`make package`) and for the
# architecture that build is for, with their log groups, and a function URL for each function behind
# the HTTP API (LocalStack's free tier has no HTTP API). The free tier enforces no IAM, so the
# functions share one role.
# Overridable from the environment: RETRY_SCHEDULE.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

build_dir="${LAMBDA_BUILD_DIR:-$(dirname "$0")/../../../build/lambda}"
# What `make package` built the zips for (this machine's architecture), else the template's.
architecture=$(build_architecture "$build_dir" arm64)
RETRY_SCHEDULE="${RETRY_SCHEDULE:-5s,5m,30m,2h,5h,10h,10h}"  # RetrySchedule
role_arn=$(ensure_role triggers-local-lambda '{"Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')
delivery_dlq_url=$(queue_url triggers-local-delivery-dlq)
index_dlq_url=$(queue_url triggers-local-index-dlq)
delivery_retry_url=$(queue_url triggers-local-delivery-retry)
search_endpoint=$(domain_url triggers-local)

create_function triggers-local-ingest "$build_dir/ingest.zip" "$role_arn" '{"FunctionName": "triggers-local-ingest",
  "Description": "HTTP API - validates events and writes them to the events table", "Runtime": "python3.12",
  "Handler": "ingest.handler.lambda_handler", "Architectures": ["'"${architecture}"'"], "MemorySize": 512,
  "Timeout": 10, "TracingConfig": {"Mode": "Active"},
  "Environment": {"Variables": {"STAGE": "local", "POWERTOOLS_LOG_LEVEL": "INFO",
      "POWERTOOLS_METRICS_NAMESPACE": "Triggers", "EVENTS_TABLE": "triggers-local-events",
      "EVENT_RETENTION_DAYS": "30", "SUBSCRIPTIONS_TABLE": "triggers-local-subscriptions",
      "DELIVERIES_TABLE": "triggers-local-deliveries", "AUDIT_TABLE": "triggers-local-audit",
      "AUDIT_RETENTION_DAYS": "365", "WEBHOOK_ALLOWED_PORTS": "", "OPENSEARCH_ENDPOINT": "'"${search_endpoint}"'",
      "INDEX_ALIAS": "events", "POWERTOOLS_SERVICE_NAME": "ingest", "ALLOW_LOOPBACK_WEBHOOKS": "true",
      "WEBHOOK_PRIVATE_HOSTS": "host.docker.internal", "API_KEYS_TABLE": "triggers-local-api-keys",
      "IDEMPOTENCY_TABLE": "triggers-local-idempotency", "SECRETS_KEY_ID": "alias/triggers-local-secrets",
      "TENANTS_TABLE": "triggers-local-tenants", "RETRY_QUEUE_URL": "'"${delivery_retry_url}"'"}}}'
create_log_group /aws/lambda/triggers-local-ingest 30
create_function_url triggers-local-ingest
create_function triggers-local-fanout "$build_dir/fanout.zip" "$role_arn" '{"FunctionName": "triggers-local-fanout",
  "Description": "Delivers new events to matching subscriber webhooks (signed); failures go to the retry queue",
  "Runtime": "python3.12", "Handler": "processors.fanout.handler.lambda_handler",
  "Architectures": ["'"${architecture}"'"], "MemorySize": 512, "Timeout": 60, "TracingConfig": {"Mode": "Active"},
  "Environment": {"Variables": {"STAGE": "local", "POWERTOOLS_LOG_LEVEL": "INFO",
      "POWERTOOLS_METRICS_NAMESPACE": "Triggers", "EVENTS_TABLE": "triggers-local-events",
      "EVENT_RETENTION_DAYS": "30", "SUBSCRIPTIONS_TABLE": "triggers-local-subscriptions",
      "DELIVERIES_TABLE": "triggers-local-deliveries", "AUDIT_TABLE": "triggers-local-audit",
      "AUDIT_RETENTION_DAYS": "365", "WEBHOOK_ALLOWED_PORTS": "", "OPENSEARCH_ENDPOINT": "'"${search_endpoint}"'",
      "INDEX_ALIAS": "events", "POWERTOOLS_SERVICE_NAME": "fanout",
      "RETRY_QUEUE_URL": "'"${delivery_retry_url}"'", "DELIVERY_DLQ_URL": "'"${delivery_dlq_url}"'",
      "SECRETS_KEY_ID": "alias/triggers-local-secrets", "RETRY_SCHEDULE": "'"${RETRY_SCHEDULE}"'",
      "ALLOW_LOOPBACK_WEBHOOKS": "true", "WEBHOOK_PRIVATE_HOSTS": "host.docker.internal"}}}'
create_log_group /aws/lambda/triggers-local-fanout 30
create_function triggers-local-retry "$build_dir/retry.zip" "$role_arn" '{"FunctionName": "triggers-local-retry",
  "Description": "Re-attempts failed webhook deliveries on the retry schedule; exhausted ones go to the DLQ",
  "Runtime": "python3.12", "Handler": "processors.retry.handler.lambda_handler",
  "Architectures": ["'"${architecture}"'"], "MemorySize": 256, "Timeout": 30, "TracingConfig": {"Mode": "Active"},
  "Environment": {"Variables": {"STAGE": "local", "POWERTOOLS_LOG_LEVEL": "INFO",
      "POWERTOOLS_METRICS_NAMESPACE": "Triggers", "EVENTS_TABLE": "triggers-local-events",
      "EVENT_RETENTION_DAYS": "30", "SUBSCRIPTIONS_TABLE": "triggers-local-subscriptions",
      "DELIVERIES_TABLE": "triggers-local-deliveries", "AUDIT_TABLE": "triggers-local-audit",
      "AUDIT_RETENTION_DAYS": "365", "WEBHOOK_ALLOWED_PORTS": "", "OPENSEARCH_ENDPOINT": "'"${search_endpoint}"'",
      "INDEX_ALIAS": "events", "POWERTOOLS_SERVICE_NAME": "retry", "RETRY_QUEUE_URL": "'"${delivery_retry_url}"'",
      "DELIVERY_DLQ_URL": "'"${delivery_dlq_url}"'", "SECRETS_KEY_ID": "alias/triggers-local-secrets",
      "RETRY_SCHEDULE": "'"${RETRY_SCHEDULE}"'", "ALLOW_LOOPBACK_WEBHOOKS": "true",
      "WEBHOOK_PRIVATE_HOSTS": "host.docker.internal"}}}'
create_log_group /aws/lambda/triggers-local-retry 30
create_function triggers-local-indexer "$build_dir/indexer.zip" "$role_arn" '{"FunctionName": "triggers-local-indexer",
  "Description": "Keeps the OpenSearch `events` index in step with the events table", "Runtime": "python3.12",
  "Handler": "processors.indexer.handler.lambda_handler", "Architectures": ["'"${architecture}"'"],
  "MemorySize": 256, "Timeout": 30, "TracingConfig": {"Mode": "Active"},
  "Environment": {"Variables": {"STAGE": "local", "POWERTOOLS_LOG_LEVEL": "INFO",
      "POWERTOOLS_METRICS_NAMESPACE": "Triggers", "EVENTS_TABLE": "triggers-local-events",
      "EVENT_RETENTION_DAYS": "30", "SUBSCRIPTIONS_TABLE": "triggers-local-subscriptions",
      "DELIVERIES_TABLE": "triggers-local-deliveries", "AUDIT_TABLE": "triggers-local-audit",
      "AUDIT_RETENTION_DAYS": "365", "WEBHOOK_ALLOWED_PORTS": "", "OPENSEARCH_ENDPOINT": "'"${search_endpoint}"'",
      "INDEX_ALIAS": "events", "POWERTOOLS_SERVICE_NAME": "indexer", "INDEX_DLQ_URL": "'"${index_dlq_url}"'"}}}'
create_log_group /aws/lambda/triggers-local-indexer 30
