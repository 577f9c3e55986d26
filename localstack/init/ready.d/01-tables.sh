#!/usr/bin/env bash
# DynamoDB tables of template.yaml. Idempotent: an existing table is left as it is.
# Run by LocalStack on ready, and by `triggers up` against the embedded moto server.
# Encryption at rest uses the AWS managed key, as template.yaml does for the `local` stage (its
# customer-managed KMS key exists only when deployed); deletion protection is a `prod` setting.
set -euo pipefail
STAGE="${STAGE:-local}"

create_table() {  # name, then create-table arguments
  local name="$1"; shift
  if awslocal dynamodb describe-table --table-name "$name" >/dev/null 2>&1; then
    echo "table $name exists"
    return
  fi
  awslocal dynamodb create-table --table-name "$name" --billing-mode PAY_PER_REQUEST \
    --sse-specification Enabled=true "$@" >/dev/null
  # moto creates tables ACTIVE at once; LocalStack and AWS need the wait.
  [ "${TRIGGERS_EMBEDDED:-}" = 1 ] || awslocal dynamodb wait table-exists --table-name "$name"
  echo "table $name created"
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

enable_pitr() {  # name (idempotent in AWS)
  awslocal dynamodb update-continuous-backups --table-name "$1" \
    --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true >/dev/null
}

# Tables are independent: created side by side (each AWS CLI start-up costs about half a second).
pids=()

events="triggers-${STAGE}-events"
{
  create_table "$events" \
    --attribute-definitions \
      AttributeName=tenant_id,AttributeType=S AttributeName=event_id,AttributeType=S \
      AttributeName=type_key,AttributeType=S AttributeName=status_key,AttributeType=S \
    --key-schema AttributeName=tenant_id,KeyType=HASH AttributeName=event_id,KeyType=RANGE \
    --global-secondary-indexes '[
      {"IndexName": "EventTypeIndex", "Projection": {"ProjectionType": "ALL"},
       "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"},
                     {"AttributeName": "type_key", "KeyType": "RANGE"}]},
      {"IndexName": "StatusIndex", "Projection": {"ProjectionType": "ALL"},
       "KeySchema": [{"AttributeName": "tenant_id", "KeyType": "HASH"},
                     {"AttributeName": "status_key", "KeyType": "RANGE"}]}]' \
    --stream-specification StreamEnabled=true,StreamViewType=NEW_IMAGE
  enable_ttl "$events" expires_at
  enable_pitr "$events"
} &
pids+=($!)

api_keys="triggers-${STAGE}-api-keys"
{
  create_table "$api_keys" \
    --attribute-definitions AttributeName=key_hash,AttributeType=S \
    --key-schema AttributeName=key_hash,KeyType=HASH
  enable_pitr "$api_keys"
} &
pids+=($!)

idempotency="triggers-${STAGE}-idempotency"
{
  create_table "$idempotency" \
    --attribute-definitions AttributeName=id,AttributeType=S \
    --key-schema AttributeName=id,KeyType=HASH
  enable_ttl "$idempotency" expiration
} &
pids+=($!)

subscriptions="triggers-${STAGE}-subscriptions"
{
  create_table "$subscriptions" \
    --attribute-definitions \
      AttributeName=tenant_id,AttributeType=S AttributeName=subscription_id,AttributeType=S \
    --key-schema AttributeName=tenant_id,KeyType=HASH AttributeName=subscription_id,KeyType=RANGE
  enable_pitr "$subscriptions"
} &
pids+=($!)

deliveries="triggers-${STAGE}-deliveries"
{
  create_table "$deliveries" \
    --attribute-definitions \
      AttributeName=event_id,AttributeType=S AttributeName=subscription_id,AttributeType=S \
    --key-schema AttributeName=event_id,KeyType=HASH AttributeName=subscription_id,KeyType=RANGE \
    --global-secondary-indexes '[
      {"IndexName": "SubscriptionIndex", "Projection": {"ProjectionType": "ALL"},
       "KeySchema": [{"AttributeName": "subscription_id", "KeyType": "HASH"},
                     {"AttributeName": "event_id", "KeyType": "RANGE"}]}]'
  enable_ttl "$deliveries" expires_at
  enable_pitr "$deliveries"
} &
pids+=($!)

for pid in "${pids[@]}"; do
  wait "$pid"
done
