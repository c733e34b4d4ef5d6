"""The indexes of REFERENCE.md, declared once; `manage.py ensure_indexes` creates them.

Exactly the indexes the other services' workers declare, with their keys, names and options,
plus those of our own collections (`own_queue_indexes`), and no other: a worker creating its
own index finds ours identical, where an index of the same keys under another name or with
other options would make its index creation fail (error 85/86) and with it its queue. Nothing
in `locks` or `pastJobs` (theirs), never a unique index on `jobsBlue` (the workers insert
several waiting jobs of one unicity_id).

Every query of the selectors and services is backed by one of these. Creating an index that
already exists is a no-op (reported as "exists", a new one as "created"); one that exists with
other options (as the other services may have made it) is left as it is and reported, never
dropped; except an index of ours whose TTL changed with the configuration: its expiry is changed
in place (`collMod`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import pymongo
from django.conf import settings
from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

from foundation.database import mongo

_INDEX_CONFLICT_CODES = {85, 86}  # IndexOptionsConflict, IndexKeySpecsConflict

INDEX_BUILD_SECONDS = 3600.0
"""The bound of one index creation: building an index over tens of millions of documents takes
minutes, where every other call is bounded by ADMIN_MONGO_TIMEOUT_SECONDS (`mongo.client_for`)."""

SIX_HOURS_SECONDS = 6 * 3600
"""How long a dataset stays in `datasetBlockages` (the other services' TTL)."""
DAY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class IndexSpec:
    collection: str
    keys: list[tuple[str, int]]
    unique: bool = False
    expire_after_seconds: int | None = None
    given_name: str | None = None
    """The name the other services give it; otherwise MongoDB's default (`field_1_other_-1`)."""
    ours: bool = False
    """An index of our own collections: when it exists with another TTL, the TTL is changed to this one."""

    @property
    def name(self) -> str:
        return self.given_name or "_".join(f"{key}_{direction}" for key, direction in self.keys)

    @property
    def options(self) -> dict[str, Any]:
        """The options of `createIndexes`, as the workers send them."""
        options: dict[str, Any] = {"name": self.name}
        if self.unique:
            options["unique"] = True
        if self.expire_after_seconds is not None:
            options["expireAfterSeconds"] = self.expire_after_seconds
        return options


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
    IndexSpec(
        mongo.CACHED_RESPONSES,
        [
            ("details.cause_exception", ASCENDING),
            ("error_code", ASCENDING),
            ("details.copied_from_artifact", ASCENDING),
        ],
    ),
    IndexSpec(
        mongo.CACHED_RESPONSES,
        [("error_code", ASCENDING), ("kind", ASCENDING), ("details.copied_from_artifact", ASCENDING)],
    ),
    IndexSpec(
        mongo.CACHED_RESPONSES,
        [("http_status", ASCENDING), ("error_code", ASCENDING), ("kind", ASCENDING), ("updated_at", ASCENDING)],
    ),
    IndexSpec(mongo.CACHED_RESPONSES, [("kind", ASCENDING), ("http_status", ASCENDING), ("updated_at", ASCENDING)]),
    IndexSpec(
        mongo.CACHED_RESPONSES,
        [("kind", ASCENDING), ("updated_at", ASCENDING), ("dataset", ASCENDING)],
        given_name="kind_updated",
    ),
    IndexSpec(
        mongo.CACHE_TOTAL_METRIC,
        [("kind", ASCENDING), ("http_status", ASCENDING), ("error_code", ASCENDING)],
        unique=True,
    ),
]

QUEUE_INDEXES = [
    IndexSpec(mongo.JOBS, [("dataset", ASCENDING), ("status", ASCENDING)]),
    IndexSpec(mongo.JOBS, [("type", ASCENDING), ("dataset", ASCENDING), ("status", ASCENDING)]),
    IndexSpec(
        mongo.JOBS,
        [
            ("priority", ASCENDING),
            ("status", ASCENDING),
            ("created_at", ASCENDING),
            ("namespace", ASCENDING),
            ("difficulty", ASCENDING),
            ("dataset", ASCENDING),
            ("unicity_id", ASCENDING),
        ],
    ),
    IndexSpec(
        mongo.JOBS,
        [
            ("priority", ASCENDING),
            ("status", ASCENDING),
            ("created_at", ASCENDING),
            ("namespace", ASCENDING),
            ("dataset", ASCENDING),
            ("difficulty", ASCENDING),
            ("unicity_id", ASCENDING),
        ],
    ),
    IndexSpec(
        mongo.JOBS,
        [
            ("priority", ASCENDING),
            ("status", ASCENDING),
            ("created_at", ASCENDING),
            ("difficulty", ASCENDING),
            ("dataset", ASCENDING),
            ("namespace", ASCENDING),
        ],
    ),
    IndexSpec(
        mongo.JOBS,
        [
            ("priority", ASCENDING),
            ("status", ASCENDING),
            ("created_at", ASCENDING),
            ("dataset", ASCENDING),
            ("difficulty", ASCENDING),
            ("namespace", ASCENDING),
        ],
    ),
    IndexSpec(
        mongo.JOBS,
        [
            ("priority", ASCENDING),
            ("status", ASCENDING),
            ("type", ASCENDING),
            ("namespace", ASCENDING),
            ("unicity_id", ASCENDING),
            ("created_at", ASCENDING),
            ("difficulty", DESCENDING),
        ],
    ),
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
    IndexSpec(
        mongo.DATASET_BLOCKAGES,
        [("blocked_at", ASCENDING)],
        expire_after_seconds=SIX_HOURS_SECONDS,
        given_name="DATASET_BLOCKAGE_EXPIRE_AFTER_SECONDS_BLUE",
    ),
]


def own_queue_indexes() -> list[IndexSpec]:
    """The indexes of our own collections in the queue database (REFERENCE.md: ours to choose).

    `adminActivitySamples` expires its samples ADMIN_ACTIVITY_RETENTION_DAYS after `taken_at`.
    """
    retention_seconds = settings.ADMIN.activity_retention_days * DAY_SECONDS
    return [
        IndexSpec(
            mongo.ADMIN_ACTIVITY_SAMPLES, [("taken_at", ASCENDING)], expire_after_seconds=retention_seconds, ours=True
        )
    ]


def _change_expiry(database: Database[mongo.MongoDocument], spec: IndexSpec) -> str:
    """`collMod` the TTL of an index of ours to the configured one (MongoDB refuses a second createIndexes)."""
    database.command(
        "collMod", spec.collection, index={"name": spec.name, "expireAfterSeconds": spec.expire_after_seconds}
    )
    return f"{spec.collection}.{spec.name}: expiry changed to {spec.expire_after_seconds} s"


def ensure_index(database: Database[mongo.MongoDocument], spec: IndexSpec, *, existing: Collection[str]) -> str:
    """Create one index; return what happened, in words.

    `existing` holds the names of the collection's indexes before the call: an index of that
    name "exists" (create_index is still sent, so that other options are still reported).
    """
    try:
        with pymongo.timeout(INDEX_BUILD_SECONDS):
            database[spec.collection].create_index(spec.keys, **spec.options)
    except OperationFailure as error:
        if error.code in _INDEX_CONFLICT_CODES:
            if spec.ours and spec.expire_after_seconds is not None:
                return _change_expiry(database, spec)
            return f"{spec.collection}.{spec.name}: exists with other options, left as it is"
        raise
    return f"{spec.collection}.{spec.name}: {'exists' if spec.name in existing else 'created'}"


def ensure_each_index() -> Iterator[str]:
    """Ensure the indexes one by one, yielding what happened to each as soon as it is known.

    One `listIndexes` per collection tells which ones existed before.
    """
    existing: dict[str, set[str]] = {}
    queue_indexes = QUEUE_INDEXES + own_queue_indexes()
    for database, specs in ((mongo.cache_database(), CACHE_INDEXES), (mongo.queue_database(), queue_indexes)):
        for spec in specs:
            if spec.collection not in existing:
                existing[spec.collection] = {index["name"] for index in database[spec.collection].list_indexes()}
            yield ensure_index(database, spec, existing=existing[spec.collection])


def ensure_all_indexes() -> list[str]:
    return list(ensure_each_index())
