"""The job dict: one job as the API shows it (REFERENCE.md); missing fields are null."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adminsite.core.serialization import as_int, iso_datetime

JobDict = dict[str, Any]


def job_dict(job: Mapping[str, Any]) -> JobDict:
    return {
        "type": job["type"],
        "dataset": job["dataset"],
        "revision": job.get("revision"),
        "config": job.get("config"),
        "split": job.get("split"),
        "unicity_id": job.get("unicity_id"),
        "namespace": job.get("namespace"),
        "priority": job.get("priority"),
        "status": job.get("status"),
        "difficulty": as_int(job.get("difficulty")),
        "created_at": iso_datetime(job.get("created_at")),
        "started_at": iso_datetime(job.get("started_at")),
        "last_heartbeat": iso_datetime(job.get("last_heartbeat")),
    }


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
