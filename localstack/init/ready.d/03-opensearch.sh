#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py. Do not
# edit: change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
# The helpers are in ../lib.sh; each looks before it creates, so the script can run again.
#
# The OpenSearch domain and, once it answers, the indexer's index template and first index
# behind its alias (processors/indexer/index.py creates the same when they are missing).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

create_domain triggers-local '{"DomainName": "triggers-local", "EngineVersion": "OpenSearch_2.13",
  "ClusterConfig": {"InstanceType": "t3.small.search", "InstanceCount": 1},
  "EBSOptions": {"EBSEnabled": true, "VolumeSize": 10}, "EncryptionAtRestOptions": {"Enabled": true},
  "NodeToNodeEncryptionOptions": {"Enabled": true},
  "DomainEndpointOptions": {"EnforceHTTPS": true, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"}}'
create_index triggers-local events events-v1 "${INDEX_TEMPLATE_FILE:-$(dirname "$0")/../../../processors/indexer/index_template.json}"
