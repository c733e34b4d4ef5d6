"""The audit log of the writes made through the console (collection `adminActions`, queue DB).

An action is recorded *before* it writes anything, with the outcome "pending", then completed
with its outcome ("ok", "not_supported" or "failed"), error code, message and counts. So:
- if the audit log cannot be written, the operation does not run (no write goes unrecorded);
- if the process dies half-way, the "pending" entry tells operators which dataset to look at
  (and a retry of the same operation completes it).
Failing to *complete* the entry never hides the operation's own result or error.

A document: `actor`, `actor_org`?, `action`, `parameters` (None values left out),
`requested_at`, `outcome`, and on completion `finished_at`, `result`, `error_code`?,
`message`?. Dry runs change nothing and are not recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from foundation.core.errors import AdminError
from foundation.core.identity import HubIdentity
from foundation.core.words import printable
from foundation.database import mongo
from foundation.hub.dataset_support import NotSupportedError

logger = logging.getLogger(__name__)
write_logger = logging.getLogger("adminsite.writes")

PENDING, OK, NOT_SUPPORTED, FAILED = "pending", "ok", "not_supported", "failed"


@dataclass
class AuditRecord:
    """What the audited block reports: its counts, and a refusal it answers without raising."""

    result: dict[str, Any] = field(default_factory=dict)
    not_supported: NotSupportedError | None = None


def _start(*, actor: HubIdentity, action: str, parameters: dict[str, Any]) -> ObjectId:
    document = mongo.without_none(
        {
            "actor": actor.name,
            "actor_org": actor.org,
            "action": action,
            "parameters": mongo.without_none(parameters),
            "requested_at": mongo.utc_now(),
            "outcome": PENDING,
        }
    )
    inserted: ObjectId = mongo.queue_database()[mongo.ADMIN_ACTIONS].insert_one(document).inserted_id
    return inserted


def _finish(*, action_id: ObjectId, outcome: str, result: dict[str, Any], error: AdminError | None) -> None:
    update: dict[str, Any] = {"outcome": outcome, "finished_at": mongo.utc_now(), "result": result}
    if error is not None:
        update |= {"error_code": error.error_code, "message": error.message}
    try:
        mongo.queue_database()[mongo.ADMIN_ACTIONS].update_one({"_id": action_id}, {"$set": update})
    except Exception:
        logger.exception("could not complete audit entry %s (outcome %s, result %s)", action_id, outcome, result)


@contextmanager
def audited(*, actor: HubIdentity, action: str, parameters: dict[str, Any]) -> Iterator[AuditRecord]:
    """Record the block as one action of `actor`; its exceptions are recorded, then re-raised.

    Each completed action also gives one line of the operator's log, with its outcome.
    """
    action_id = _start(actor=actor, action=action, parameters=parameters)
    record = AuditRecord()

    def finish(outcome: str, error: AdminError | None) -> None:
        _finish(action_id=action_id, outcome=outcome, result=record.result, error=error)
        error_detail = {"error_code": error.error_code} if error is not None else {}
        details = {**mongo.without_none(parameters), **error_detail, **record.result}
        log_write(actor=actor, action=action, outcome=outcome, details=details)

    try:
        yield record
    except NotSupportedError as refusal:
        finish(NOT_SUPPORTED, refusal)
        raise
    except AdminError as error:
        finish(FAILED, error)
        raise
    except BaseException as error:
        finish(FAILED, AdminError(f"Unexpected error: {type(error).__name__}"))
        raise
    finish(NOT_SUPPORTED if record.not_supported is not None else OK, record.not_supported)


def log_write(*, actor: HubIdentity, action: str, outcome: str, details: Mapping[str, object]) -> None:
    """One line for a write and its outcome (the audit log writes it for every audited action), e.g.

        log_write(actor=alice, action="force-refresh", outcome="ok",
                  details={"dataset": "org/ds", "job_type": "dataset-info"})
        -> write force-refresh outcome=ok caller=alice dataset=org/ds job_type=dataset-info

    Pass names and counts, never a token or a request header.
    """
    detail_text = " ".join(f"{printable(name)}={printable(value)}" for name, value in details.items())
    write_logger.info(
        "write %s outcome=%s caller=%s%s",
        printable(action),
        printable(outcome),
        printable(actor.name),
        f" {detail_text}" if detail_text else "",
    )
