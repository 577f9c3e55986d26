#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py: do not edit.
# Change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
#
# DynamoDB tables with their keys, indexes, stream, encryption, TTL and point-in-time recovery.
# Idempotent: an existing table is left as it is. Tables are created side by side (each AWS CLI
# start-up costs about half a second).
set -euo pipefail

create_table() {  # name, CreateTable request
  if awslocal dynamodb describe-table --table-name "$1" >/dev/null 2>&1; then
    echo "table $1 exists"
    return
  fi
  awslocal dynamodb create-table --cli-input-json "$2" >/dev/null
  awslocal dynamodb wait table-exists --table-name "$1"
  echo "table $1 created"
}

enable_ttl() {  # name, attribute (enabling it twice is an error in AWS, so look first)
  local status
  status=$(awslocal dynamodb describe-time-to-live --table-name "$1" \
    --query TimeToLiveDescription.TimeToLiveStatus --output text)
  if [ "$status" != ENABLED ] && [ "$status" != ENABLING ]; then
    awslocal dynamodb update-time-to-live --table-name "$1" \
      --time-to-live-specification "Enabled=true,AttributeName=$2" >/dev/null
  fi
}

enable_pitr() {  # name
  awslocal dynamodb update-continuous-backups --table-name "$1" \
    --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true >/dev/null
}

pids=()
{
  create_table triggers-local-events '{"TableName": "triggers-local-events", "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": "tenant_id", "AttributeType": "S"}, {"AttributeName": "event_id", "AttributeType": "S"},
      {"AttributeName": "type_key", "AttributeType": "S"}, {"AttributeName": "status_key", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"}, {"AttributeName": "event_id", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [{"IndexName": "EventTypeIndex",
        "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"}, {"AttributeName": "type_key", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}},
      {"IndexName": "StatusIndex",
        "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"}, {"AttributeName": "status_key", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}}],
    "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"},
    "SSESpecification": {"Enabled": true}}'
  enable_ttl triggers-local-events expires_at
  enable_pitr triggers-local-events
} &
pids+=($!)
{
  create_table triggers-local-api-keys '{"TableName": "triggers-local-api-keys", "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": "key_hash", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "key_hash", "KeyType": "HASH"}], "SSESpecification": {"Enabled": true}}'
  enable_pitr triggers-local-api-keys
} &
pids+=($!)
{
  create_table triggers-local-idempotency '{"TableName": "triggers-local-idempotency", "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "SSESpecification": {"Enabled": true}}'
  enable_ttl triggers-local-idempotency expiration
} &
pids+=($!)
{
  create_table triggers-local-subscriptions '{"TableName": "triggers-local-subscriptions", "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": "tenant_id", "AttributeType": "S"},
      {"AttributeName": "subscription_id", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"},
      {"AttributeName": "subscription_id", "KeyType": "RANGE"}],
    "SSESpecification": {"Enabled": true}}'
  enable_pitr triggers-local-subscriptions
} &
pids+=($!)
{
  create_table triggers-local-deliveries '{"TableName": "triggers-local-deliveries", "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": "event_id", "AttributeType": "S"},
      {"AttributeName": "subscription_id", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "event_id", "KeyType": "HASH"}, {"AttributeName": "subscription_id", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [{"IndexName": "SubscriptionIndex",
        "KeySchema": [{"AttributeName": "subscription_id", "KeyType": "HASH"},
          {"AttributeName": "event_id", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}}],
    "SSESpecification": {"Enabled": true}}'
  enable_ttl triggers-local-deliveries expires_at
  enable_pitr triggers-local-deliveries
} &
pids+=($!)
for pid in "${pids[@]}"; do
  wait "$pid"
done
