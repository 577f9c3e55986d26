#!/usr/bin/env bash
# GENERATED from template.yaml (stage local) by devtools/initscripts.py. Do not
# edit: change template.yaml, then run `make init-scripts` (or `uv run triggers init-scripts`).
# The helpers are in ../lib.sh; each looks before it creates, so the script can run again.
#
# KMS keys with their rotation and alias, before anything that uses them (the functions name
# each key by its alias). The template's key policies name IAM roles, which LocalStack's free tier
# neither creates nor enforces: they are left out.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

create_key alias/triggers-local-secrets '{"Description": "Triggers local subscriber credentials (webhook signing secrets)",
  "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT"}' true
