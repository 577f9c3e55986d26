# Helpers of the generated init scripts in ready.d/ (sourced, not run): each looks before it
# creates, so a script can run again and change nothing. The values come from the scripts, which
# devtools/initscripts.py generates from template.yaml (`make init-scripts`).

# awscli-local >= 0.23 prints a deprecation banner (pointing to `lstk aws`) on every call unless
# this is set (awscli-local's bin/awslocal, print_deprecation_notice).
export DISABLE_DEPRECATION_NOTICE="${DISABLE_DEPRECATION_NOTICE:-1}"

create_key() {  # alias, CreateKey request, "true" to rotate the key material yearly
  if awslocal kms describe-key --key-id "$1" >/dev/null 2>&1; then
    echo "key $1 exists"
    return
  fi
  local key_id
  key_id=$(awslocal kms create-key --cli-input-json "$2" --query KeyMetadata.KeyId --output text)
  if [ "$3" = true ]; then
    awslocal kms enable-key-rotation --key-id "$key_id"
  fi
  awslocal kms create-alias --alias-name "$1" --target-key-id "$key_id"
  echo "key $1 created"
}

create_table() {  # name, CreateTable request
  if awslocal dynamodb describe-table --table-name "$1" >/dev/null 2>&1; then
    echo "table $1 exists"
    return
  fi
  awslocal dynamodb create-table --cli-input-json "$2" >/dev/null
  awslocal dynamodb wait table-exists --table-name "$1"
  echo "table $1 created"
}

enable_ttl() {  # table, attribute (enabling it twice is an error in AWS, so look first)
  local status
  status=$(awslocal dynamodb describe-time-to-live --table-name "$1" \
    --query TimeToLiveDescription.TimeToLiveStatus --output text)
  if [ "$status" != ENABLED ] && [ "$status" != ENABLING ]; then
    awslocal dynamodb update-time-to-live --table-name "$1" \
      --time-to-live-specification "Enabled=true,AttributeName=$2" >/dev/null
  fi
}

enable_pitr() {  # table
  awslocal dynamodb update-continuous-backups --table-name "$1" \
    --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true >/dev/null
}

create_queue() {  # name, attributes (create-queue returns the queue that has them already)
  awslocal sqs create-queue --queue-name "$1" --attributes "$2" >/dev/null
  echo "queue $1 ready"
}

queue_url() {  # name
  awslocal sqs get-queue-url --queue-name "$1" --query QueueUrl --output text
}

describe_domain() {  # name, DomainStatus field
  awslocal opensearch describe-domain --domain-name "$1" --query "DomainStatus.$2" --output text
}

domain_url() {  # name: the URL the functions and create_index use for the domain
  # Plain http: LocalStack serves the domain endpoint (OPENSEARCH_ENDPOINT_STRATEGY=domain,
  # <name>.<region>.opensearch.localhost.localstack.cloud:4566) on http and https, but its
  # certificate does not cover that name (localstack/localstack#9824), and an https endpoint makes
  # the functions sign requests (ingest/core/opensearch_client.py). The functions' containers
  # resolve *.localhost.localstack.cloud to LocalStack through its DNS server.
  echo "http://$(describe_domain "$1" Endpoint)"
}

create_domain() {  # name, CreateDomain request
  if describe_domain "$1" DomainName >/dev/null 2>&1; then
    echo "domain $1 exists"
  else
    awslocal opensearch create-domain --cli-input-json "$2" >/dev/null
    echo "domain $1 created"
  fi
}

create_index() {  # domain, alias, first index, index template file
  if [ ! -f "$4" ]; then
    echo "no $4: the indexer creates its index template and alias"
    return
  fi
  # OpenSearch has no `awslocal ... wait` waiter: poll the domain until it stops processing.
  local deadline=$((SECONDS + 900)) url  # LocalStack downloads OpenSearch on the first start
  until [ "$(describe_domain "$1" Processing)" = False ]; do
    if ((SECONDS >= deadline)); then
      echo "domain $1 still processing after 900 s" >&2
      return 1
    fi
    sleep 5
  done
  url=$(domain_url "$1")
  curl -fsS "$url/_cluster/health?wait_for_status=yellow&timeout=120s" >/dev/null
  curl -fsS -X PUT "$url/_index_template/$2" -H 'Content-Type: application/json' --data-binary "@$4" >/dev/null
  echo "index template $2 applied from $4"
  if curl -fsS --head "$url/_alias/$2" >/dev/null 2>&1; then
    echo "alias $2 exists"
  else
    curl -fsS -X PUT "$url/$3" -H 'Content-Type: application/json' \
      --data "{\"aliases\": {\"$2\": {\"is_write_index\": true}}}" >/dev/null
    echo "index $3 created behind alias $2"
  fi
}

ensure_role() {  # name, assume-role policy: prints the role's ARN
  awslocal iam get-role --role-name "$1" --query Role.Arn --output text 2>/dev/null ||
    awslocal iam create-role --role-name "$1" --assume-role-policy-document "$2" --query Role.Arn --output text
}

build_architecture() {  # build directory, default: the architecture `make package` built it for
  # (its `architecture` file), else the default (the template's). LocalStack starts the function's
  # container for this platform; wheels of another one would need the host's QEMU.
  local arch=""
  if [ -f "$1/architecture" ]; then
    arch=$(tr -d '[:space:]' <"$1/architecture")
  fi
  case "${arch:-$2}" in
    arm64 | x86_64) echo "${arch:-$2}" ;;
    *)
      echo "$1/architecture says '$arch': expected arm64 or x86_64 (run \`make package\` again)" >&2
      return 1
      ;;
  esac
}

create_function() {  # name, zip file, role ARN, CreateFunction request without role and code
  if awslocal lambda get-function --function-name "$1" >/dev/null 2>&1; then
    echo "function $1 exists"
    return
  fi
  if [ ! -f "$2" ]; then
    echo "$2 not found: run \`make package\` before starting LocalStack" >&2
    return 1
  fi
  awslocal lambda create-function --cli-input-json "$4" --role "$3" --zip-file "fileb://$2" >/dev/null
  # The first function pulls the Lambda runtime image before it turns Active; one waiter run gives
  # up after 5 minutes, so allow three (a failed function fails each at once).
  awslocal lambda wait function-active-v2 --function-name "$1" ||
    awslocal lambda wait function-active-v2 --function-name "$1" ||
    awslocal lambda wait function-active-v2 --function-name "$1"
  echo "function $1 created"
}

create_log_group() {  # name, retention in days
  if [ -z "$(awslocal logs describe-log-groups --log-group-name-prefix "$1" \
    --query "logGroups[?logGroupName=='$1'].logGroupName" --output text)" ]; then
    awslocal logs create-log-group --log-group-name "$1"
    echo "log group $1 created"
  fi
  awslocal logs put-retention-policy --log-group-name "$1" --retention-in-days "$2"
}

create_function_url() {  # function: LocalStack's free tier has no HTTP API; the API's own keys authenticate
  if ! awslocal lambda get-function-url-config --function-name "$1" >/dev/null 2>&1; then
    awslocal lambda create-function-url-config --function-name "$1" --auth-type NONE >/dev/null
    echo "function URL of $1 created"
  fi
}

stream_arn() {  # table
  awslocal dynamodbstreams list-streams --table-name "$1" --query 'Streams[0].StreamArn' --output text
}

map() {  # function, source ARN, CreateEventSourceMapping request[, state to wait for: Enabled]
  local uuid
  uuid=$(awslocal lambda list-event-source-mappings --function-name "$1" --event-source-arn "$2" \
    --query 'EventSourceMappings[0].UUID' --output text)
  if [ -n "$uuid" ] && [ "$uuid" != None ]; then
    echo "mapping $2 -> $1 exists"
  else
    uuid=$(awslocal lambda create-event-source-mapping --cli-input-json "$3" --query UUID --output text)
    echo "mapping $2 -> $1 created"
  fi
  wait_for_mapping "$uuid" "${4:-Enabled}"
}

wait_for_mapping() {  # UUID, state. The AWS CLI has no `lambda wait` for mappings: poll.
  local deadline=$((SECONDS + 300)) state
  while :; do
    state=$(awslocal lambda get-event-source-mapping --uuid "$1" --query State --output text)
    case "$state" in
      "$2")
        echo "mapping $1 $state"
        return
        ;;
      Creating | Enabling | Updating | Disabling) ;;
      *)
        echo "mapping $1 is $state, expected $2" >&2
        return 1
        ;;
    esac
    if ((SECONDS >= deadline)); then
      echo "mapping $1 still $state after 300 s, expected $2" >&2
      return 1
    fi
    sleep 2
  done
}

put_alarm() {  # name, PutMetricAlarm request, then the settings every alarm shares as options
  awslocal cloudwatch put-metric-alarm --cli-input-json "$2" "${@:3}"
  echo "alarm $1 ready"
}
