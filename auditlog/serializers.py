"""The audit log's entries as the API shows them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from foundation.core.serialization import iso_datetime

AuditActionDict = dict[str, Any]


def audit_action_dict(action: Mapping[str, Any]) -> AuditActionDict:
    """One entry of the audit log (`adminActions`) as the API shows it; missing fields are null."""
    return {
        "id": str(action["_id"]),
        "actor": action.get("actor"),
        "actor_org": action.get("actor_org"),
        "action": action.get("action"),
        "parameters": action.get("parameters", {}),
        "requested_at": iso_datetime(action.get("requested_at")),
        "finished_at": iso_datetime(action.get("finished_at")),
        "outcome": action.get("outcome"),
        "error_code": action.get("error_code"),
        "message": action.get("message"),
        "result": action.get("result", {}),
    }
