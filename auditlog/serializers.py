"""The audit log's entries as the API shows them."""

from __future__ import annotations

from typing import Any

from auditlog.rows import AuditAction
from foundation.core.serialization import iso_datetime

AuditActionDict = dict[str, Any]


def audit_action_dict(action: AuditAction) -> AuditActionDict:
    """One entry of the audit log (`adminActions`) as the API shows it; missing fields are null."""
    return {
        "id": action.id,
        "actor": action.actor,
        "actor_org": action.actor_org,
        "action": action.action,
        "parameters": action.parameters,
        "requested_at": iso_datetime(action.requested_at),
        "finished_at": iso_datetime(action.finished_at),
        "outcome": action.outcome,
        "error_code": action.error_code,
        "message": action.message,
        "result": action.result,
    }
