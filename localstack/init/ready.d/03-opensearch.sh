#!/usr/bin/env bash
# OpenSearch domain of template.yaml (SearchDomain) and, once it answers, the indexer's index
# template and first index behind the `events` alias. Idempotent: what exists is left as it is.
# Embedded (`triggers up`, TRIGGERS_EMBEDDED=1): osmem-server already serves OpenSearch at
# $OPENSEARCH_ENDPOINT, so the domain is metadata only and the indexer creates its own index.
set -euo pipefail
STAGE="${STAGE:-local}"
domain="triggers-${STAGE}"
alias_name=events  # INDEX_ALIAS in template.yaml
first_index="${alias_name}-v1"  # processors/indexer/index.py versioned_index()
template_file="${INDEX_TEMPLATE_FILE:-$(dirname "$0")/../../../processors/indexer/index_template.json}"
ready_timeout=900  # LocalStack downloads OpenSearch on the first start

describe() {  # DomainStatus field
  awslocal opensearch describe-domain --domain-name "$domain" --query "DomainStatus.$1" --output text
}

if describe DomainName >/dev/null 2>&1; then
  echo "domain $domain exists"
else
  awslocal opensearch create-domain --domain-name "$domain" --engine-version OpenSearch_2.13 \
    --cluster-config InstanceType=t3.small.search,InstanceCount=1 \
    --ebs-options EBSEnabled=true,VolumeSize=10 \
    --encryption-at-rest-options Enabled=true \
    --node-to-node-encryption-options Enabled=true \
    --domain-endpoint-options EnforceHTTPS=true,TLSSecurityPolicy=Policy-Min-TLS-1-2-2019-07 >/dev/null
  echo "domain $domain created"
fi

if [ "${TRIGGERS_EMBEDDED:-}" = 1 ]; then
  echo "embedded stack: OpenSearch is served at ${OPENSEARCH_ENDPOINT:-?}; the indexer creates its index"
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

if [ ! -f "$template_file" ]; then
  echo "no $template_file: index template and alias are left to the indexer"
  exit 0
fi
curl -fsS -X PUT "$url/_index_template/${alias_name}" \
  -H 'Content-Type: application/json' --data-binary "@$template_file" >/dev/null
echo "index template ${alias_name} applied from $template_file"
if curl -fsS --head "$url/_alias/$alias_name" >/dev/null 2>&1; then
  echo "alias $alias_name exists"
else
  curl -fsS -X PUT "$url/$first_index" -H 'Content-Type: application/json' \
    --data "{\"aliases\": {\"$alias_name\": {\"is_write_index\": true}}}" >/dev/null
  echo "index $first_index created behind alias $alias_name"
fi
