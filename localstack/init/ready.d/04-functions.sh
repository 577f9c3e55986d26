#!/usr/bin/env bash
# Lambda functions of template.yaml (ingest, fanout, retry, indexer), their execution role and
# log groups. Idempotent: an existing function, role or log group is left as it is.
# LocalStack: each function's code is $LAMBDA_BUILD_DIR/<function>.zip, built by `make package`
# with the dependencies and Powertools vendored (the free tier ignores layers). LocalStack's free
# tier does not enforce IAM, so the functions share one role instead of the template's per-function
# roles. Embedded (`triggers up`, TRIGGERS_EMBEDDED=1): moto only stores the functions (the local
# ESM runner and API server run the handlers in-process), so a zip of the project code is enough;
# the runner creates the log groups it writes to.
set -euo pipefail
STAGE="${STAGE:-local}"
prefix="triggers-${STAGE}"
root="$(cd "$(dirname "$0")/../../.." && pwd)"
log_retention_days=30  # LogRetentionDays
# RetrySchedule; docker-compose.yml passes a short one locally so a broken receiver fills the DLQ in seconds.
retry_schedule="${RETRY_SCHEDULE:-5s,5m,30m,2h,5h,10h,10h}"
[ "$STAGE" = local ] && allow_loopback=true || allow_loopback=false
# LocalStack's Lambda containers reach a receiver on the host as host.docker.internal (private).
[ "$STAGE" = local ] && private_hosts=host.docker.internal || private_hosts=""

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
pids=()
wait_all() {  # the background jobs started since the last call; fails if one failed
  local pid
  for pid in "${pids[@]}"; do
    wait "$pid"
  done
  pids=()
}

# Independent calls run side by side: each AWS CLI start-up costs about half a second.
if [ "${TRIGGERS_EMBEDDED:-}" = 1 ]; then
  python3 -m zipfile -c "$workdir/code.zip" "$root/ingest" "$root/processors"
  code_zip() { echo "$workdir/code.zip"; }
  echo "$OPENSEARCH_ENDPOINT" >"$workdir/search-endpoint"
  # The local ESM runner creates the log groups it writes to.
  touch "$workdir/log-groups"
else
  build_dir="${LAMBDA_BUILD_DIR:-$root/build/lambda}"
  for function in ingest fanout retry indexer; do
    if [ ! -f "$build_dir/$function.zip" ]; then
      echo "$build_dir/$function.zip not found: run \`make package\` before starting LocalStack" >&2
      exit 1
    fi
  done
  code_zip() { echo "$build_dir/$1.zip"; }
  awslocal opensearch describe-domain --domain-name "$prefix" --query DomainStatus.Endpoint \
    --output text | sed 's|^|https://|' >"$workdir/search-endpoint" &
  pids+=($!)
  awslocal logs describe-log-groups --log-group-name-prefix "/aws/lambda/${prefix}-" \
    --query 'logGroups[].logGroupName' --output text >"$workdir/log-groups" &
  pids+=($!)
fi

ensure_role() {  # prints the ARN of the functions' execution role
  local name="${prefix}-lambda"
  awslocal iam get-role --role-name "$name" --query Role.Arn --output text 2>/dev/null ||
    awslocal iam create-role --role-name "$name" --query Role.Arn --output text \
      --assume-role-policy-document '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
}
ensure_role >"$workdir/role" &
pids+=($!)
awslocal sqs list-queues --queue-name-prefix "${prefix}-" --query QueueUrls --output text \
  >"$workdir/queues" &
pids+=($!)
awslocal lambda list-functions --query "Functions[?starts_with(FunctionName, '${prefix}-')].FunctionName" \
  --output text >"$workdir/functions" &
pids+=($!)
wait_all

role_arn=$(<"$workdir/role")
search_endpoint=$(<"$workdir/search-endpoint")
existing_functions=" $(tr '\t\n' '  ' <"$workdir/functions") "
existing_log_groups=" $(tr '\t\n' '  ' <"$workdir/log-groups") "
read -r -a queue_urls <<<"$(tr '\t\n' '  ' <"$workdir/queues")"
queue_url() {  # queue name -> its URL (02-queues.sh created every queue)
  local url
  for url in "${queue_urls[@]}"; do
    [ "${url##*/}" = "$1" ] && echo "$url" && return
  done
  echo "queue $1 not found: did 02-queues.sh run?" >&2
  return 1
}
retry_queue_url=$(queue_url "${prefix}-delivery-retry")
delivery_dlq_url=$(queue_url "${prefix}-delivery-dlq")
index_dlq_url=$(queue_url "${prefix}-index-dlq")

environment() {  # NAME=value ... -> the --environment JSON, Globals of template.yaml first
  local json="" pair
  for pair in "STAGE=$STAGE" POWERTOOLS_LOG_LEVEL=INFO POWERTOOLS_METRICS_NAMESPACE=Triggers \
    "EVENTS_TABLE=${prefix}-events" EVENT_RETENTION_DAYS=30 "SUBSCRIPTIONS_TABLE=${prefix}-subscriptions" \
    "DELIVERIES_TABLE=${prefix}-deliveries" "OPENSEARCH_ENDPOINT=$search_endpoint" INDEX_ALIAS=events "$@"; do
    json="$json${json:+, }\"${pair%%=*}\": \"${pair#*=}\""
  done
  echo "{\"Variables\": {$json}}"
}

create_function() {  # short name, handler, memory MB, timeout s, then its own NAME=value variables
  local short="$1" name="${prefix}-$1" handler="$2" memory="$3" timeout="$4"
  shift 4
  if [[ "$existing_functions" == *[[:space:]]"$name"[[:space:]]* ]]; then
    echo "function $name exists"
    return
  fi
  awslocal lambda create-function --function-name "$name" --handler "$handler" --timeout "$timeout" \
    --runtime python3.12 --architectures arm64 --memory-size "$memory" --tracing-config Mode=Active \
    --role "$role_arn" --zip-file "fileb://$(code_zip "$short")" --environment "$(environment "$@")" >/dev/null
  # moto stores functions as Active at once; LocalStack starts them asynchronously.
  [ "${TRIGGERS_EMBEDDED:-}" = 1 ] || awslocal lambda wait function-active-v2 --function-name "$name"
  echo "function $name created"
}

create_log_group() {  # function short name
  local name="/aws/lambda/${prefix}-$1"
  if [[ "$existing_log_groups" == *[[:space:]]"$name"[[:space:]]* ]]; then
    echo "log group $name exists"
    return
  fi
  awslocal logs create-log-group --log-group-name "$name"
  awslocal logs put-retention-policy --log-group-name "$name" --retention-in-days "$log_retention_days"
  echo "log group $name created"
}

create_function ingest ingest.handler.lambda_handler 512 10 \
  POWERTOOLS_SERVICE_NAME=ingest "ALLOW_LOOPBACK_WEBHOOKS=$allow_loopback" "WEBHOOK_PRIVATE_HOSTS=$private_hosts" \
  "API_KEYS_TABLE=${prefix}-api-keys" "IDEMPOTENCY_TABLE=${prefix}-idempotency" \
  "RETRY_QUEUE_URL=$retry_queue_url" &
pids+=($!)
create_function fanout processors.fanout.handler.lambda_handler 512 60 \
  POWERTOOLS_SERVICE_NAME=fanout "RETRY_QUEUE_URL=$retry_queue_url" \
  "DELIVERY_DLQ_URL=$delivery_dlq_url" "RETRY_SCHEDULE=$retry_schedule" "ALLOW_LOOPBACK_WEBHOOKS=$allow_loopback" "WEBHOOK_PRIVATE_HOSTS=$private_hosts" &
pids+=($!)
create_function retry processors.retry.handler.lambda_handler 256 30 \
  POWERTOOLS_SERVICE_NAME=retry "RETRY_QUEUE_URL=$retry_queue_url" \
  "DELIVERY_DLQ_URL=$delivery_dlq_url" "RETRY_SCHEDULE=$retry_schedule" "ALLOW_LOOPBACK_WEBHOOKS=$allow_loopback" "WEBHOOK_PRIVATE_HOSTS=$private_hosts" &
pids+=($!)
create_function indexer processors.indexer.handler.lambda_handler 256 30 \
  POWERTOOLS_SERVICE_NAME=indexer "INDEX_DLQ_URL=$index_dlq_url" &
pids+=($!)
if [ "${TRIGGERS_EMBEDDED:-}" != 1 ]; then
  for function in ingest fanout retry indexer; do
    create_log_group "$function" &
    pids+=($!)
  done
fi
wait_all
if [ "${TRIGGERS_EMBEDDED:-}" != 1 ]; then
  # LocalStack's free tier has no HTTP API: a function URL gives the ingest function the same
  # payload-2.0 events over HTTP (devtools/scripts/smoke.sh finds it). Auth is the API's own keys.
  if ! awslocal lambda get-function-url-config --function-name "${prefix}-ingest" >/dev/null 2>&1; then
    awslocal lambda create-function-url-config --function-name "${prefix}-ingest" --auth-type NONE >/dev/null
    echo "function URL of ${prefix}-ingest created"
  fi
fi
