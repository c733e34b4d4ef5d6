"""The audit log of the writes made through the console (collection `adminActions`, queue DB).

An action is recorded *before* it writes anything, with the outcome "pending", then completed
with its outcome, error code, message and counts:
- "ok": done; "partial": done, with parts left undone and said why (a bulk refresh's skipped
  entries); "not_supported": the Hub refused the dataset (a recreate removed it);
- "failed": stopped by an error. Its `result` holds what was done before (each count is
  recorded as its step ends) and its message says so: an error after a write never claims
  that nothing was changed.
So:
- if the audit log cannot be written, the operation does not run (no write goes unrecorded);
- if the database is lost half-way, the outcome "failed" is written once it is back (a
  background retry, `foundation.database.deferred_writes`): the entry does not stay "pending";
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
from pymongo.errors import ConnectionFailure

from foundation.core.errors import AdminError, DatabaseUnavailableError
from foundation.core.identity import HubIdentity
from foundation.core.words import printable
from foundation.database import deferred_writes, mongo
from foundation.hub.dataset_support import NotSupportedError

logger = logging.getLogger(__name__)
write_logger = logging.getLogger("adminsite.writes")

PENDING, OK, PARTIAL, NOT_SUPPORTED, FAILED = "pending", "ok", "partial", "not_supported", "failed"

DATABASE_LOST_MESSAGE = (
    "The database became unavailable: the operation stopped there. The result says what was done"
    " before; a write in flight when the database was lost may have been applied, so the metric rows"
    " may be off until `manage.py recount_metrics` (a rerun of the operation finishes it)."
)


@dataclass
class AuditRecord:
    """What the audited block reports: its counts, a refusal it answers without raising, parts left undone."""

    result: dict[str, Any] = field(default_factory=dict)
    not_supported: NotSupportedError | None = None
    partial: bool = False
    """Set by a block that completed with parts left undone (each with its reason in its answer)."""


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


def _finish(
    *, action_id: ObjectId, outcome: str, result: dict[str, Any], error: AdminError | None, database_lost: bool
) -> None:
    """Write the outcome; when the database is away, in the background once it is back (never "pending" for good)."""
    update: dict[str, Any] = {"outcome": outcome, "finished_at": mongo.utc_now(), "result": dict(result)}
    if error is not None:
        update |= {"error_code": error.error_code, "message": error.message}
    actions = mongo.queue_database()[mongo.ADMIN_ACTIONS]

    def complete() -> None:
        actions.update_one({"_id": action_id}, {"$set": update})

    what = f"complete audit entry {action_id} (outcome {outcome})"
    if database_lost:  # trying now would wait the whole server-selection timeout inside the request
        deferred_writes.retry_later(what=what, write=complete)
        return
    try:
        complete()
    except ConnectionFailure:
        deferred_writes.retry_later(what=what, write=complete)
    except Exception:
        logger.exception("could not complete audit entry %s (outcome %s, result %s)", action_id, outcome, result)


@contextmanager
def audited(*, actor: HubIdentity, action: str, parameters: dict[str, Any]) -> Iterator[AuditRecord]:
    """Record the block as one action of `actor`; its exceptions are recorded, then re-raised.

    Each completed action also gives one line of the operator's log, with its outcome.
    """
    action_id = _start(actor=actor, action=action, parameters=parameters)
    record = AuditRecord()

    def finish(outcome: str, error: AdminError | None, *, database_lost: bool = False) -> None:
        _finish(action_id=action_id, outcome=outcome, result=record.result, error=error, database_lost=database_lost)
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
    except ConnectionFailure:
        finish(FAILED, DatabaseUnavailableError(DATABASE_LOST_MESSAGE), database_lost=True)
        raise
    except BaseException as error:
        finish(FAILED, AdminError(f"Unexpected error: {type(error).__name__}"))
        raise
    if record.not_supported is not None:
        finish(NOT_SUPPORTED, record.not_supported)
    else:
        finish(PARTIAL if record.partial else OK, None)


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
