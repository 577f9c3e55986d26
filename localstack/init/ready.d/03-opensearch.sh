#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py: do not edit.
# Change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
#
# The OpenSearch domain and, once it answers, the indexer's index template and first index
# behind its alias (processors/indexer/index.py creates the same when they are missing).
# Idempotent: what exists is left as it is.
set -euo pipefail
domain=triggers-local
alias_name=events
first_index=events-v1
template_file="${INDEX_TEMPLATE_FILE:-$(dirname "$0")/../../../processors/indexer/index_template.json}"
ready_timeout=900  # LocalStack downloads OpenSearch on the first start

describe() {  # DomainStatus field
  awslocal opensearch describe-domain --domain-name "$domain" --query "DomainStatus.$1" --output text
}

if describe DomainName >/dev/null 2>&1; then
  echo "domain $domain exists"
else
  awslocal opensearch create-domain --cli-input-json '{"DomainName": "triggers-local", "EngineVersion": "OpenSearch_2.13",
  "ClusterConfig": {"InstanceType": "t3.small.search", "InstanceCount": 1},
  "EBSOptions": {"EBSEnabled": true, "VolumeSize": 10}, "EncryptionAtRestOptions": {"Enabled": true},
  "NodeToNodeEncryptionOptions": {"Enabled": true},
  "DomainEndpointOptions": {"EnforceHTTPS": true, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"}}' >/dev/null
  echo "domain $domain created"
fi

if [ ! -f "$template_file" ]; then
  echo "no $template_file: the indexer creates its index template and alias"
  exit 0
fi
# OpenSearch has no `awslocal ... wait` waiter: poll the domain until it stops processing.
deadline=$((SECONDS + ready_timeout))
until [ "$(describe Processing)" = False ]; do
  if ((SECONDS >= deadline)); then
    echo "domain $domain still processing after ${ready_timeout} s" >&2
    exit 1
  fi
  sleep 5
done
url="http://$(describe Endpoint)"
curl -fsS "$url/_cluster/health?wait_for_status=yellow&timeout=120s" >/dev/null
echo "domain $domain ready at $url"

curl -fsS -X PUT "$url/_index_template/$alias_name" \
  -H 'Content-Type: application/json' --data-binary "@$template_file" >/dev/null
echo "index template $alias_name applied from $template_file"
if curl -fsS --head "$url/_alias/$alias_name" >/dev/null 2>&1; then
  echo "alias $alias_name exists"
else
  curl -fsS -X PUT "$url/$first_index" -H 'Content-Type: application/json' \
    --data "{\"aliases\": {\"$alias_name\": {\"is_write_index\": true}}}" >/dev/null
  echo "index $first_index created behind alias $alias_name"
fi
