"""Reads of the audit log (`adminActions`, queue database)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditlog.serializers import AuditActionDict, audit_action_dict
from foundation.core.cursors import parse_cursor
from foundation.database import mongo


@dataclass(frozen=True)
class AuditLogPage:
    actions: list[AuditActionDict]
    next_cursor: str


def audit_log_page(*, cursor: str, limit: int) -> AuditLogPage:
    """One page of the audit log, newest first (by `_id` descending).

    `cursor` is the string `_id` of the last action of the previous page ("" for the first);
    `next_cursor` is the `_id` of the last action when the page is full, else "". Read from
    the primary: an operator expects to see the action they just made.
    """
    before = parse_cursor(cursor)
    query: dict[str, Any] = {} if before is None else {"_id": {"$lt": before}}
    actions = list(mongo.queue_database()[mongo.ADMIN_ACTIONS].find(query).sort("_id", -1).limit(limit))
    next_cursor = str(actions[-1]["_id"]) if len(actions) == limit else ""
    return AuditLogPage([audit_action_dict(action) for action in actions], next_cursor)
