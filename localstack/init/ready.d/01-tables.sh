#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py. Do not
# edit: change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
# The helpers are in ../lib.sh; each looks before it creates, so the script can run again.
#
# DynamoDB tables with their keys, indexes, stream, encryption, TTL and point-in-time recovery.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

create_table triggers-local-events '{"TableName": "triggers-local-events", "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [{"AttributeName": "tenant_id", "AttributeType": "S"},
    {"AttributeName": "event_id", "AttributeType": "S"}, {"AttributeName": "type_key", "AttributeType": "S"},
    {"AttributeName": "status_key", "AttributeType": "S"}],
  "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"},
    {"AttributeName": "event_id", "KeyType": "RANGE"}],
  "GlobalSecondaryIndexes": [{"IndexName": "EventTypeIndex",
      "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"},
        {"AttributeName": "type_key", "KeyType": "RANGE"}],
      "Projection": {"ProjectionType": "ALL"}},
    {"IndexName": "StatusIndex",
      "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"},
        {"AttributeName": "status_key", "KeyType": "RANGE"}],
      "Projection": {"ProjectionType": "ALL"}}],
  "SSESpecification": {"Enabled": true},
  "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}}'
enable_ttl triggers-local-events expires_at
enable_pitr triggers-local-events
create_table triggers-local-api-keys '{"TableName": "triggers-local-api-keys", "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [{"AttributeName": "key_hash", "AttributeType": "S"}],
  "KeySchema": [{"AttributeName": "key_hash", "KeyType": "HASH"}], "SSESpecification": {"Enabled": true}}'
enable_pitr triggers-local-api-keys
create_table triggers-local-audit '{"TableName": "triggers-local-audit", "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [{"AttributeName": "tenant_id", "AttributeType": "S"},
    {"AttributeName": "audit_id", "AttributeType": "S"}],
  "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"},
    {"AttributeName": "audit_id", "KeyType": "RANGE"}],
  "SSESpecification": {"Enabled": true}}'
enable_ttl triggers-local-audit expires_at
enable_pitr triggers-local-audit
create_table triggers-local-idempotency '{"TableName": "triggers-local-idempotency", "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
  "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "SSESpecification": {"Enabled": true}}'
enable_ttl triggers-local-idempotency expiration
create_table triggers-local-subscriptions '{"TableName": "triggers-local-subscriptions", "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [{"AttributeName": "tenant_id", "AttributeType": "S"},
    {"AttributeName": "subscription_id", "AttributeType": "S"}],
  "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"},
    {"AttributeName": "subscription_id", "KeyType": "RANGE"}],
  "SSESpecification": {"Enabled": true}}'
enable_pitr triggers-local-subscriptions
create_table triggers-local-tenants '{"TableName": "triggers-local-tenants", "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [{"AttributeName": "tenant_id", "AttributeType": "S"},
    {"AttributeName": "record", "AttributeType": "S"}],
  "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"},
    {"AttributeName": "record", "KeyType": "RANGE"}],
  "SSESpecification": {"Enabled": true}}'
enable_ttl triggers-local-tenants expires_at
enable_pitr triggers-local-tenants
create_table triggers-local-deliveries '{"TableName": "triggers-local-deliveries", "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [{"AttributeName": "event_id", "AttributeType": "S"},
    {"AttributeName": "subscription_id", "AttributeType": "S"}],
  "KeySchema": [{"AttributeName": "event_id", "KeyType": "HASH"},
    {"AttributeName": "subscription_id", "KeyType": "RANGE"}],
  "GlobalSecondaryIndexes": [{"IndexName": "SubscriptionIndex",
      "KeySchema": [{"AttributeName": "subscription_id", "KeyType": "HASH"},
        {"AttributeName": "event_id", "KeyType": "RANGE"}],
      "Projection": {"ProjectionType": "ALL"}}],
  "SSESpecification": {"Enabled": true}}'
enable_ttl triggers-local-deliveries expires_at
enable_pitr triggers-local-deliveries
