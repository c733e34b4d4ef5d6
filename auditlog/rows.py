"""One action of the audit log as its selector hands it to the page and the API: a typed row with datetimes.

Built from an `adminActions` document (missing fields None; `parameters` and `result` `{}`);
its JSON is `auditlog.serializers.audit_action_dict`, its words and times the template's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from foundation.database.mongo import date_or_none


class AuditAction(NamedTuple):
    id: str
    actor: Any
    actor_org: Any
    action: Any
    parameters: Any
    requested_at: datetime | None
    finished_at: datetime | None
    outcome: Any
    error_code: Any
    message: Any
    result: Any


def audit_action_row(document: Mapping[str, Any]) -> AuditAction:
    field = document.get
    return AuditAction(
        id=str(document["_id"]),
        actor=field("actor"),
        actor_org=field("actor_org"),
        action=field("action"),
        parameters=field("parameters", {}),
        requested_at=date_or_none(field("requested_at")),
        finished_at=date_or_none(field("finished_at")),
        outcome=field("outcome"),
        error_code=field("error_code"),
        message=field("message"),
        result=field("result", {}),
    )
