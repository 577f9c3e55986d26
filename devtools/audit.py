"""How operators' commands record their changes in the audit trail (ingest/core/audit_table.py)."""

import getpass
from typing import Any

from devtools.template import Template
from ingest.core.audit_table import AuditLog

DEFAULT_RETENTION_DAYS = 365


def cli_actor() -> str:
    """`cli:<user>`: the operating-system user who ran the command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


def cli_audit_log(dynamodb: Any, template: Template) -> AuditLog:
    """The stage's audit table; records are kept the template's AuditRetentionDays."""
    retention = int(template.parameters.get("AuditRetentionDays") or DEFAULT_RETENTION_DAYS)
    return AuditLog(dynamodb, template.physical_name("AuditTable"), retention)
