"""A concurrent first upsert of a metric row: the loser's DuplicateKeyError is retried, both increments count.

The race itself (two upserts both find the row absent, both insert, the unique index refuses
the second) cannot be scheduled on a server, so it is made deterministic at the boundary: the
first upsert of our client lets a second client (its own connection: the other service) create
the row, then gets the answer the server gives the loser, E11000. What follows is real: our
retry runs against the server, and the rows read afterwards are the server's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from foundation.database import metric_rows, mongo
from tests.support.write_helpers import serve_dataset

DATASET = "org/ds"
STEP = "dataset-config-names"  # difficulty 50: "medium"


@contextmanager
def other_service(database: str, url: str) -> Iterator[Any]:
    """The other service's own client on the same server."""
    client: MongoClient[dict[str, Any]] = MongoClient(url)
    try:
        yield client[database]
    finally:
        client.close()


def lose_first_upsert_to(monkeypatch: pytest.MonkeyPatch, other_database: Any, collections: set[str]) -> list[str]:
    """Our first upsert on each of `collections`: the other client creates the row first, ours gets E11000."""
    real_update_one = Collection.update_one
    lost: list[str] = []

    def update_one(self: Collection[Any], filter: Any, update: Any, upsert: bool = False, **kwargs: Any) -> Any:
        if upsert and self.name in collections and self.name not in lost:
            lost.append(self.name)
            other_database[self.name].update_one(
                filter, {**update, "$inc": {next(iter(update["$inc"])): 1}}, upsert=True
            )
            raise DuplicateKeyError("E11000 duplicate key error collection: " + self.name, code=11000)
        return real_update_one(self, filter, update, upsert=upsert, **kwargs)

    monkeypatch.setattr(Collection, "update_one", update_one)
    return lost


def test_force_refresh_that_loses_both_first_upserts_succeeds_and_counts_both(
    fake_hub: Any, queue_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_dataset(fake_hub, DATASET)
    with other_service(settings.ADMIN.queue_mongo_database, settings.ADMIN.queue_mongo_url) as other:
        lost = lose_first_upsert_to(monkeypatch, other, {mongo.JOB_TOTAL_METRIC, mongo.WORKER_TYPE_JOB_COUNTS})
        response = Client().post(f"/admin/force-refresh/{STEP}?dataset={DATASET}")
    assert lost == [mongo.JOB_TOTAL_METRIC, mongo.WORKER_TYPE_JOB_COUNTS]
    assert (response.status_code, response.json()["status"], response.json()["action"]) == (200, "ok", "created")
    assert [
        (row["job_type"], row["status"], row["dataset_status"], row["total"])
        for row in queue_db["jobTotalMetric"].find()
    ] == [(STEP, "waiting", "normal", 2)]
    assert [(row["worker_size"], row["jobs_count"]) for row in queue_db["workerTypeJobCounts"].find()] == [
        ("medium", 2)
    ]
    assert queue_db["jobsBlue"].count_documents({}) == 1


def test_cache_metric_decrement_that_loses_the_first_upsert_counts_both(
    cache_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cachereports.services import decrement_cache_metric

    with other_service(settings.ADMIN.cache_mongo_database, settings.ADMIN.cache_mongo_url) as other:
        lose_first_upsert_to(monkeypatch, other, {mongo.CACHE_TOTAL_METRIC})
        decrement_cache_metric(kind=STEP, http_status=200, error_code=None, by=3)
    [row] = list(cache_db["cacheTotalMetric"].find({}, {"_id": 0, "created_at": 0}))
    assert row == {"kind": STEP, "http_status": 200, "error_code": None, "total": -2}  # theirs +1, ours -3


def test_bulk_increment_retries_only_the_rows_lost_to_a_concurrent_first_upsert(
    queue_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two rows in one bulk write; the other service creates the second first: ours is refused, retried."""
    real_bulk_write = Collection.bulk_write
    calls: list[int] = []

    with other_service(settings.ADMIN.queue_mongo_database, settings.ADMIN.queue_mongo_url) as other:

        def bulk_write(self: Collection[Any], requests: Any, ordered: bool = True, **kwargs: Any) -> Any:
            calls.append(len(requests))
            if len(calls) > 1:
                return real_bulk_write(self, requests, ordered=ordered, **kwargs)
            other[self.name].update_one({"worker_size": "heavy"}, {"$inc": {"jobs_count": 1}}, upsert=True)
            real_bulk_write(self, requests[:1], ordered=ordered, **kwargs)
            raise BulkWriteError(
                {"writeErrors": [{"index": 1, "code": 11000, "errmsg": "E11000 duplicate key"}], "nUpserted": 1}
            )

        monkeypatch.setattr(Collection, "bulk_write", bulk_write)
        metric_rows.increment_rows(
            queue_db["workerTypeJobCounts"],
            rows=[({"worker_size": "light"}, 4), ({"worker_size": "heavy"}, 5)],
            field="jobs_count",
            now=mongo.utc_now(),
        )
    assert calls == [2, 1]
    rows = {row["worker_size"]: row["jobs_count"] for row in queue_db["workerTypeJobCounts"].find()}
    assert rows == {"light": 4, "heavy": 6}


def test_an_error_other_than_a_lost_first_upsert_is_raised(queue_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def update_one(self: Collection[Any], *args: Any, **kwargs: Any) -> Any:
        raise OperationFailure("not authorized", code=13)

    monkeypatch.setattr(Collection, "update_one", update_one)
    with pytest.raises(OperationFailure):
        metric_rows.increment_row(
            queue_db["jobTotalMetric"], row={"job_type": STEP}, field="total", by=1, now=mongo.utc_now()
        )
