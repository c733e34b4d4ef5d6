"""Error triage: root errors grouped by what broke (one aggregation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cachereports.rows import CacheErrors, ErrorGroup
from foundation.core.processing_graph import known_step
from foundation.database import mongo

SAMPLE_DATASETS = 5
"""How many datasets a group of root errors names (the first by name)."""


_ERROR_GROUP_KEY = {
    "kind": "$kind",
    "error_code": "$error_code",
    "cause_exception": "$details.cause_exception",
    # A copy always names its parent's kind: present for copies, absent for root errors.
    "copied_from": "$details.copied_from_artifact.kind",
}


def _error_match(kind: str | None) -> dict[str, Any]:
    """Error entries (of a kind): backed by index (http_status, error_code, kind, updated_at)."""
    match: dict[str, Any] = {"http_status": {"$gte": 400}}
    if kind is not None:
        match["kind"] = kind
    return match


@dataclass
class _GroupTally:
    count: int = 0
    latest_updated_at: datetime | None = None
    datasets: set[str] = field(default_factory=set)

    def add(self, *, count: int, latest_updated_at: object, datasets: list[object]) -> None:
        self.count += count
        if isinstance(latest_updated_at, datetime) and (
            self.latest_updated_at is None or latest_updated_at > self.latest_updated_at
        ):
            self.latest_updated_at = latest_updated_at
        self.datasets.update(str(dataset) for dataset in datasets if isinstance(dataset, str))


def _error_groups_aggregated(kind: str | None) -> list[dict[str, Any]]:
    """One `$group` with the count, the latest update and the distinct datasets of each group."""
    return list(
        mongo.cache_database_for_reports()[mongo.CACHED_RESPONSES].aggregate(
            [
                {"$match": _error_match(kind)},
                {
                    "$group": {
                        "_id": _ERROR_GROUP_KEY,
                        "count": {"$sum": 1},
                        "latest_updated_at": {"$max": "$updated_at"},
                        "datasets": {"$addToSet": "$dataset"},
                    }
                },
            ]
        )
    )


def cache_errors(*, kind: str | None) -> CacheErrors:
    """Root errors (no `details.copied_from_artifact`) by (kind, error_code, cause_exception), largest first.

    One aggregation over the error entries (http_status >= 400, of `kind` when given), grouped
    with whether they copy another entry: the copies are only counted (`copied`), since
    repairing their root repairs them. Ties are broken by kind, error code, exception, so the
    order is stable.
    """
    if kind is not None:
        known_step(kind)
    rows = _error_groups_aggregated(kind)
    tallies: dict[tuple[str, str | None, str | None], _GroupTally] = {}
    copied = 0
    for row in rows:
        key, count = row["_id"], int(row["count"])
        if key.get("copied_from") is not None:
            copied += count
            continue
        error_code, cause_exception = key.get("error_code"), key.get("cause_exception")
        group_key = (
            str(key.get("kind")),
            error_code if isinstance(error_code, str) else None,
            cause_exception if isinstance(cause_exception, str) else None,
        )
        tallies.setdefault(group_key, _GroupTally()).add(
            count=count, latest_updated_at=row.get("latest_updated_at"), datasets=list(row.get("datasets") or [])
        )
    groups = [
        ErrorGroup(
            kind=group_kind,
            error_code=error_code,
            cause_exception=cause_exception,
            count=tally.count,
            latest_updated_at=tally.latest_updated_at,
            sample_datasets=sorted(tally.datasets)[:SAMPLE_DATASETS],
        )
        for (group_kind, error_code, cause_exception), tally in tallies.items()
    ]
    groups.sort(key=lambda group: (-group.count, group.kind, group.error_code or "", group.cause_exception or ""))
    return CacheErrors(errors=groups, copied=copied)
