#!/usr/bin/env bash
# Smoke test of a running Triggers stack, LocalStack or `triggers up`, with only awslocal and curl.
#
#   triggers receiver --port 8787 &                      # a webhook receiver to deliver to
#   RECEIVER_URL=http://127.0.0.1:8787/webhook devtools/scripts/smoke.sh
#
# It creates an API key and a subscription, posts events, and checks the stream mapping state,
# the table, the search index, a signed delivery and a delivery DLQ round-trip (break the
# receiver, see the delivery dead-lettered, heal it, redrive the letter, see it delivered).
# It stops at the first failure with a message saying what was expected.
#
# Environment:
#   RECEIVER_URL      webhook target as the functions reach it (required), e.g.
#                     http://host.docker.internal:8787/webhook from LocalStack's Lambda containers
#   RECEIVER_CONTROL  the same receiver as this script reaches it (default: RECEIVER_URL's origin)
#   API_URL           ingest API (default: the running `make up`'s, else the ingest function's URL,
#                     `lambda get-function-url-config`)
#   STAGE             resource name stage (default local: triggers-local-*)
#   SMOKE_TIMEOUT     seconds to wait for each asynchronous step (default 90)
#   AWS_ENDPOINT_URL or LOCALSTACK_HOST as awslocal expects (default localhost:4566)
set -euo pipefail

STAGE="${STAGE:-local}"
prefix="triggers-$STAGE"
timeout="${SMOKE_TIMEOUT:-90}"
RECEIVER_URL="${RECEIVER_URL:?set RECEIVER_URL to a running triggers receiver, e.g. http://127.0.0.1:8787/webhook}"
control="${RECEIVER_CONTROL:-$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$RECEIVER_URL")}/_receiver"
run_id="smoke$(date +%s)$RANDOM"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export DISABLE_DEPRECATION_NOTICE="${DISABLE_DEPRECATION_NOTICE:-1}"  # awslocal's banner on every call
# Without a venv activated, use the project's awslocal (and its AWS CLI v2) that `make up` installed.
project_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
project_bin="$project_root/.venv/bin"
if ! command -v awslocal >/dev/null 2>&1 && [ -x "$project_bin/awslocal" ]; then
  export PATH="$project_bin:$PATH"
fi

step() { printf '\n== %s\n' "$*"; }
# sha256 of stdin as hex: GNU coreutils' sha256sum, or macOS's shasum.
sha256_hex() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi | cut -d' ' -f1
}
ok() { printf '   ok: %s\n' "$*"; }
fail() {
  printf '\nSMOKE FAILED: %s\n' "$*" >&2
  exit 1
}

# eventually DESCRIPTION COMMAND...: run COMMAND every second until it succeeds or time runs out.
eventually() {
  local what="$1" deadline=$((SECONDS + timeout))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "$what: not true after ${timeout}s"
    sleep 1
  done
  ok "$what"
}

# http METHOD PATH [curl args...]: the API's answer as "<status> <body>".
http() {
  local method="$1" path="$2"
  shift 2
  curl -sS -o /tmp/smoke-body.$$ -w '%{http_code}' -X "$method" "$API_URL$path" \
    -H "Authorization: Bearer $api_key" "$@" | tr -d '\n'
  printf ' '
  cat /tmp/smoke-body.$$
}
trap 'rm -f /tmp/smoke-body.$$' EXIT

expect_status() {  # WANT "<status> <body>" DESCRIPTION
  [ "${2%% *}" = "$1" ] || fail "$3: expected HTTP $1, got ${2:0:300}"
  ok "$3 (HTTP $1)"
}

json_field() {  # NAME <<< JSON: the first string value of "NAME"
  grep -Eo "\"$1\": ?\"[^\"]*\"" | head -n1 | sed -E 's/.*: ?"([^"]*)"/\1/'
}

delivery_state_is() {  # EVENT_ID STATE
  http GET "/v1/events/$1/deliveries" | grep -Eq "\"state\": ?\"$2\""
}

step "tables and stream ($prefix)"
status=$(awslocal dynamodb describe-table --table-name "$prefix-events" --query Table.TableStatus --output text) ||
  fail "cannot describe $prefix-events: is the stack up and AWS_ENDPOINT_URL/LOCALSTACK_HOST right?"
[ "$status" = ACTIVE ] || fail "$prefix-events is $status, expected ACTIVE"
view=$(awslocal dynamodb describe-table --table-name "$prefix-events" \
  --query Table.StreamSpecification.StreamViewType --output text)
[ "$view" = NEW_IMAGE ] || fail "events stream view type is $view, expected NEW_IMAGE"
ok "$prefix-events ACTIVE with a NEW_IMAGE stream"

step "stream mappings"
for function in fanout indexer; do
  states=$(awslocal lambda list-event-source-mappings --function-name "$prefix-$function" \
    --query 'EventSourceMappings[].State' --output text 2>/dev/null || true)
  if [ -z "$states" ] || [ "$states" = None ]; then
    # `triggers up` runs the mappings itself (moto must not), so the Lambda API lists none:
    # the deliveries and search results below prove they consume the stream.
    ok "$prefix-$function: no mapping in the Lambda API (embedded runner); checked by effect below"
    continue
  fi
  for state in $states; do
    [ "$state" = Enabled ] || fail "$prefix-$function mapping is $state, expected Enabled"
  done
  ok "$prefix-$function mapping(s) Enabled"
done

step "API"
# The embedded stack (`make up`) records its API URL in .triggers/stack.json; LocalStack serves a
# function URL.
embedded_state="${TRIGGERS_HOME:-$project_root/.triggers}/stack.json"
if [ -z "${API_URL:-}" ] && [ -f "$embedded_state" ]; then
  API_URL=$(sed -nE 's/^ *"api_url": *"([^"]+)".*/\1/p' "$embedded_state")
fi
if [ -z "${API_URL:-}" ]; then
  API_URL=$(awslocal lambda get-function-url-config --function-name "$prefix-ingest" \
    --query FunctionUrl --output text 2>/dev/null) || fail "no API_URL and no function URL for $prefix-ingest"
fi
API_URL="${API_URL%/}"
health=$(curl -sS -o /dev/null -w '%{http_code}' "$API_URL/health") || fail "cannot reach $API_URL"
[ "$health" = 200 ] || fail "GET $API_URL/health answered $health"
ok "$API_URL/health"

step "API key (tenant $run_id)"
api_key="trg_$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 43)"
key_hash=$(printf '%s' "$api_key" | sha256_hex)
awslocal dynamodb put-item --table-name "$prefix-api-keys" --condition-expression 'attribute_not_exists(key_hash)' \
  --item "{\"key_hash\":{\"S\":\"$key_hash\"},\"tenant_id\":{\"S\":\"$run_id\"},\"key_hint\":{\"S\":\"${api_key:0:8}\"},\"created_at\":{\"S\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}}"
ok "key stored as its SHA-256"
saved_key="$api_key"
api_key="trg_not_a_key"
expect_status 401 "$(http GET /v1/events)" "an unknown key is refused"
api_key="$saved_key"

step "subscription to $RECEIVER_URL"
curl -sS -o /dev/null "$control" || fail "no receiver control endpoint at $control (run triggers receiver)"
answer=$(http POST /v1/subscriptions -H 'content-type: application/json' \
  -d "{\"target_url\":\"$RECEIVER_URL\",\"event_types\":[\"smoke.ping\"]}")
expect_status 201 "$answer" "subscribed"
subscription_id=$(json_field id <<<"${answer#* }")
secret=$(json_field secret <<<"${answer#* }")
[ -n "$subscription_id" ] && [[ "$secret" == whsec_* ]] || fail "subscription answer lacks id or secret: $answer"
curl -sS -f -o /dev/null -X POST "$control/secrets" -d "{\"secret\":\"$secret\"}" ||
  fail "the receiver did not take the signing secret"
ok "subscription $subscription_id; the receiver verifies with its secret"

step "events"
expect_status 400 "$(http POST /v1/events -H 'content-type: application/json' -d '{not json')" "malformed JSON refused"
event_ids=()
for n in 1 2 3; do
  answer=$(http POST /v1/events -H 'content-type: application/json' -H "Idempotency-Key: $run_id-$n" \
    -d "{\"event_type\":\"smoke.ping\",\"payload\":{\"run\":\"$run_id\",\"n\":$n}}")
  expect_status 201 "$answer" "event $n accepted"
  event_ids+=("$(json_field id <<<"${answer#* }")")
done
again=$(http POST /v1/events -H 'content-type: application/json' -H "Idempotency-Key: $run_id-1" \
  -d "{\"event_type\":\"smoke.ping\",\"payload\":{\"run\":\"$run_id\",\"n\":1}}")
[ "$(json_field id <<<"${again#* }")" = "${event_ids[0]}" ] || fail "a retried POST made a new event: $again"
ok "a retried POST with the same Idempotency-Key returns the same event"

step "stored in DynamoDB"
for id in "${event_ids[@]}"; do
  found=$(awslocal dynamodb get-item --table-name "$prefix-events" --consistent-read \
    --key "{\"tenant_id\":{\"S\":\"$run_id\"},\"event_id\":{\"S\":\"$id\"}}" --query Item.event_id.S --output text)
  [ "$found" = "$id" ] || fail "event $id is not in $prefix-events"
done
ok "${#event_ids[@]} events in $prefix-events"

step "indexed (search through the API)"
indexed_all() {
  local body id
  body=$(http GET "/v1/events?q=$run_id")
  for id in "${event_ids[@]}"; do grep -q "$id" <<<"$body" || return 1; done
}
eventually "all ${#event_ids[@]} events found by q=$run_id" indexed_all

step "delivered"
for id in "${event_ids[@]}"; do
  eventually "event $id delivered" delivery_state_is "$id" delivered
done
verified_at_least() { curl -sS "$control" | grep -Eq "\"verified\": ?([3-9]|[1-9][0-9]+)"; }
eventually "the receiver verified the signatures" verified_at_least

step "delivery DLQ round-trip"
curl -sS -f -o /dev/null -X PUT "$control/faults" -d '{"status":503}' || fail "cannot break the receiver"
ok "receiver now answers 503"
answer=$(http POST /v1/events -H 'content-type: application/json' \
  -d "{\"event_type\":\"smoke.ping\",\"payload\":{\"run\":\"$run_id\",\"dlq\":true}}")
expect_status 201 "$answer" "event for the DLQ accepted"
dlq_event=$(json_field id <<<"${answer#* }")
eventually "its delivery failed after the retry schedule" delivery_state_is "$dlq_event" failed

dlq_url=$(awslocal sqs get-queue-url --queue-name "$prefix-delivery-dlq" --query QueueUrl --output text)
retry_url=$(awslocal sqs get-queue-url --queue-name "$prefix-delivery-retry" --query QueueUrl --output text)
letter_file=$(mktemp)
trap 'rm -f /tmp/smoke-body.$$ "$letter_file"' EXIT
find_letter() {  # receive until the letter of $dlq_event shows up; others become visible again
  local handle
  awslocal sqs receive-message --queue-url "$dlq_url" --max-number-of-messages 10 --visibility-timeout 30 \
    --query 'Messages[].[ReceiptHandle,Body]' --output text >"$letter_file.all" || return 1
  handle=$(grep -F "$dlq_event" "$letter_file.all" | head -n1 | cut -f1)
  grep -F "$dlq_event" "$letter_file.all" | head -n1 | cut -f2- >"$letter_file"
  cut -f1 "$letter_file.all" | grep -vxF "${handle:-none}" | while read -r other; do
    [ -n "$other" ] && awslocal sqs change-message-visibility --queue-url "$dlq_url" \
      --receipt-handle "$other" --visibility-timeout 0
  done
  [ -n "$handle" ] && printf '%s' "$handle" >"$letter_file.handle"
}
eventually "the letter of $dlq_event is in $prefix-delivery-dlq" find_letter
grep -q '"attempts"' "$letter_file" || fail "the letter lacks its attempts: $(cat "$letter_file")"
ok "the letter carries the attempts and the envelope"

curl -sS -f -o /dev/null -X PUT "$control/faults" -d '{}' || fail "cannot heal the receiver"
ok "receiver healed"
# Redrive: the letter goes back to the retry queue unchanged; it leaves the DLQ only once sent.
awslocal sqs send-message --queue-url "$retry_url" --message-body "$(cat "$letter_file")" >/dev/null ||
  fail "could not send the letter to the retry queue (it is still in the DLQ)"
awslocal sqs delete-message --queue-url "$dlq_url" --receipt-handle "$(cat "$letter_file.handle")"
rm -f "$letter_file.all" "$letter_file.handle"
ok "letter redriven to $prefix-delivery-retry"
eventually "event $dlq_event delivered after the redrive" delivery_state_is "$dlq_event" delivered

printf '\nSMOKE PASSED (tenant %s, subscription %s)\n' "$run_id" "$subscription_id"
