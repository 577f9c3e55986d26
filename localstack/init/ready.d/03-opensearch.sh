#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py. Do not
# edit: change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
# The helpers are in ../lib.sh; each looks before it creates, so the script can run again.
#
# The log groups the OpenSearch domain publishes to, the domain and, once it answers, the
# indexer's index template and first index behind its alias (processors/indexer/index.py creates the
# same when they are missing). The domain's access policy names the functions' roles, which the free
# tier does not have (one shared role, no IAM enforced): it is left out here.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

create_log_group /aws/opensearch/triggers-local/search-slow 30
create_log_group /aws/opensearch/triggers-local/index-slow 30
create_log_group /aws/opensearch/triggers-local/errors 30
create_domain triggers-local '{"DomainName": "triggers-local", "EngineVersion": "OpenSearch_2.13",
  "ClusterConfig": {"InstanceType": "t3.small.search", "InstanceCount": 1},
  "EBSOptions": {"EBSEnabled": true, "VolumeSize": 10}, "EncryptionAtRestOptions": {"Enabled": true},
  "NodeToNodeEncryptionOptions": {"Enabled": true},
  "DomainEndpointOptions": {"EnforceHTTPS": true, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
  "AdvancedOptions": {"rest.action.multi.allow_explicit_index": "false"},
  "LogPublishingOptions": {"SEARCH_SLOW_LOGS": {"Enabled": true,
      "CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:000000000000:log-group:/aws/opensearch/triggers-local/search-slow:*"},
    "INDEX_SLOW_LOGS": {"Enabled": true,
      "CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:000000000000:log-group:/aws/opensearch/triggers-local/index-slow:*"},
    "ES_APPLICATION_LOGS": {"Enabled": true,
      "CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:000000000000:log-group:/aws/opensearch/triggers-local/errors:*"}}}'
create_index triggers-local events events-v1 "${INDEX_TEMPLATE_FILE:-$(dirname "$0")/../../../processors/indexer/index_template.json}"
