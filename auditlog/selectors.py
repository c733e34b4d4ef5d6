"""Reads of the audit log (`adminActions`, queue database)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from auditlog.rows import AuditAction, audit_action_row
from foundation.database import mongo


@dataclass(frozen=True)
class AuditLogPage:
    actions: list[AuditAction]
    next_cursor: str


def audit_log_page(*, before: ObjectId | None, limit: int) -> AuditLogPage:
    """One page of the audit log, newest first (by `_id` descending), before `before` (None: the newest).

    `before` is the `_id` of the last action of the previous page (its `next_cursor`);
    `next_cursor` is the `_id` of the last action when the page is full, else "". Read from
    the primary: an operator expects to see the action they just made.
    """
    query: dict[str, Any] = {} if before is None else {"_id": {"$lt": before}}
    actions = list(mongo.queue_database()[mongo.ADMIN_ACTIONS].find(query).sort("_id", -1).limit(limit))
    next_cursor = str(actions[-1]["_id"]) if len(actions) == limit else ""
    return AuditLogPage([audit_action_row(action) for action in actions], next_cursor)
