"""The indexes of REFERENCE.md, declared once; `manage.py ensure_indexes` creates them.

Every query of the selectors and services is backed by one of these. Creating an index that
already exists is a no-op (reported as "exists", a new one as "created"); one that exists with
other options (as the other services may have made it) is left as it is and reported, never
dropped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

from adminsite.database import mongo

_INDEX_CONFLICT_CODES = {85, 86}  # IndexOptionsConflict, IndexKeySpecsConflict

SIX_HOURS_SECONDS = 6 * 3600
"""How long a dataset stays in `datasetBlockages` (the other services' TTL)."""


@dataclass(frozen=True)
class IndexSpec:
    collection: str
    keys: list[tuple[str, int]]
    unique: bool = False
    expire_after_seconds: int | None = None
    options: dict[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return "_".join(f"{key}_{direction}" for key, direction in self.keys)


CACHE_INDEXES = [
    IndexSpec(
        mongo.CACHED_RESPONSES,
        [("kind", ASCENDING), ("dataset", ASCENDING), ("config", ASCENDING), ("split", ASCENDING)],
        unique=True,
    ),
    IndexSpec(mongo.CACHED_RESPONSES, [("dataset", ASCENDING), ("kind", ASCENDING), ("http_status", ASCENDING)]),
    IndexSpec(mongo.CACHED_RESPONSES, [("kind", ASCENDING), ("http_status", ASCENDING), ("error_code", ASCENDING)]),
    IndexSpec(mongo.CACHED_RESPONSES, [("kind", ASCENDING), ("http_status", ASCENDING), ("_id", ASCENDING)]),
    IndexSpec(mongo.CACHED_RESPONSES, [("kind", ASCENDING), ("_id", ASCENDING)]),
    IndexSpec(mongo.CACHED_RESPONSES, [("kind", ASCENDING), ("http_status", ASCENDING), ("updated_at", ASCENDING)]),
    IndexSpec(mongo.CACHED_RESPONSES, [("kind", ASCENDING), ("updated_at", ASCENDING), ("dataset", ASCENDING)]),
    IndexSpec(
        mongo.CACHE_TOTAL_METRIC,
        [("kind", ASCENDING), ("http_status", ASCENDING), ("error_code", ASCENDING)],
        unique=True,
    ),
]

QUEUE_INDEXES = [
    IndexSpec(mongo.JOBS, [("dataset", ASCENDING), ("status", ASCENDING)]),
    IndexSpec(mongo.JOBS, [("type", ASCENDING), ("dataset", ASCENDING), ("status", ASCENDING)]),
    IndexSpec(mongo.JOBS, [("status", ASCENDING), ("type", ASCENDING)]),
    IndexSpec(mongo.JOBS, [("type", ASCENDING), ("status", ASCENDING)]),
    IndexSpec(mongo.JOBS, [("unicity_id", ASCENDING), ("status", ASCENDING), ("created_at", DESCENDING)]),
    IndexSpec(
        mongo.JOB_TOTAL_METRIC,
        [("job_type", ASCENDING), ("status", ASCENDING), ("dataset_status", ASCENDING)],
        unique=True,
    ),
    IndexSpec(mongo.WORKER_TYPE_JOB_COUNTS, [("worker_size", ASCENDING)], unique=True),
    IndexSpec(mongo.DATASET_BLOCKAGES, [("dataset", ASCENDING)]),
    IndexSpec(mongo.DATASET_BLOCKAGES, [("blocked_at", ASCENDING)], expire_after_seconds=SIX_HOURS_SECONDS),
]


def ensure_index(database: Database[mongo.MongoDocument], spec: IndexSpec, *, existing: Collection[str]) -> str:
    """Create one index; return what happened, in words.

    `existing` holds the names of the collection's indexes before the call: an index of that
    name "exists" (create_index is still sent, so that other options are still reported).
    """
    options: dict[str, Any] = {"name": spec.name, **spec.options}
    if spec.unique:
        options["unique"] = True
    if spec.expire_after_seconds is not None:
        options["expireAfterSeconds"] = spec.expire_after_seconds
    try:
        database[spec.collection].create_index(spec.keys, **options)
    except OperationFailure as error:
        if error.code in _INDEX_CONFLICT_CODES:
            return f"{spec.collection}.{spec.name}: exists with other options, left as it is"
        if error.code == mongo.NOT_IMPLEMENTED:
            reason = (error.details or {}).get("errmsg", "not implemented")
            return f"{spec.collection}.{spec.name}: not supported by this server ({reason})"
        raise
    return f"{spec.collection}.{spec.name}: {'exists' if spec.name in existing else 'created'}"


def ensure_each_index() -> Iterator[str]:
    """Ensure the indexes one by one, yielding what happened to each as soon as it is known.

    One `listIndexes` per collection tells which ones existed before.
    """
    existing: dict[str, set[str]] = {}
    for database, specs in ((mongo.cache_database(), CACHE_INDEXES), (mongo.queue_database(), QUEUE_INDEXES)):
        for spec in specs:
            if spec.collection not in existing:
                existing[spec.collection] = {index["name"] for index in database[spec.collection].list_indexes()}
            yield ensure_index(database, spec, existing=existing[spec.collection])


def ensure_all_indexes() -> list[str]:
    return list(ensure_each_index())
