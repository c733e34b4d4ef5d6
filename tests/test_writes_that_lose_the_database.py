"""Writes that lose the database half-way: no lasting drift, the audit entry ends "failed", a rerun finishes.

Issue 23, item 3. The service talks to the engine through a TCP proxy (`tests.support.tcp_proxy`)
that cuts or stalls at an exact command: "cut_after" lets the server apply a write and drops its
answer (the write landed, the service cannot know), "cut_before" drops the write itself. While
the database is away the call answers 503 at once; once it is back, what the call still owes
(the metric moves of what landed, its locks, its audit entry) is written in the background
(`foundation.database.deferred_writes`). The metric rows are then compared with a recount of the
documents (`tests.support.metric_recount`), straight on the engine, not through the proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from django.test import Client

from foundation.database import deferred_writes, mongo
from tests.support.metric_recount import drift_figure, rows_off, write_recounted_rows
from tests.support.tcp_proxy import MongoProxy, mongo_proxy
from tests.support.write_helpers import OLD_SHA, serve_dataset, set_config, upstream_cache_entry, upstream_job

DATASET = "org/ds"
SETTLE_SECONDS = 60
STEPS = [("config-parquet", 20), ("config-info", 50), ("config-size", 90), ("split-first-rows", 70)]


@pytest.fixture
def proxy(mongo_server: Any, cache_db: Any, queue_db: Any, fake_hub: Any, tmp_path: Path) -> Iterator[MongoProxy]:
    """The service's databases behind the proxy (1 s to find the server); the test's, straight on the engine."""
    set_config(
        assets_storage_root=tmp_path / "assets", cached_assets_storage_root=tmp_path / "cached", hf_timeout_seconds=10.0
    )
    with mongo_proxy(mongo_server.queue_url) as proxy:
        set_config(cache_mongo_url=proxy.url, queue_mongo_url=proxy.url, mongo_timeout_seconds=4.0)
        try:
            yield proxy
        finally:
            proxy.restore()
            assert deferred_writes.wait_until_settled(SETTLE_SECONDS)
    mongo.close_clients()  # the proxy's clients, whose server is gone


def seed_big_dataset(cache_db: Any, queue_db: Any) -> None:
    """1,000 waiting jobs (4 types, 3 worker sizes) and 100 cache entries of DATASET; rows equal to the recount."""
    queue_db["jobsBlue"].insert_many(
        [
            upstream_job(
                job_type=step,
                dataset=DATASET,
                revision=OLD_SHA,
                config=f"c{number}",
                split="train" if step.startswith("split") else None,
                difficulty=difficulty,
            )
            for step, difficulty in STEPS
            for number in range(250)
        ]
    )
    cache_db["cachedResponsesBlue"].insert_many(
        [
            upstream_cache_entry(
                kind=step,
                dataset=DATASET,
                config=f"c{number}",
                http_status=500 if number % 5 else 200,
                error_code="X" if number % 5 else None,
            )
            for step, _ in STEPS
            for number in range(25)
        ]
    )
    write_recounted_rows(cache_db, queue_db)


def recreate() -> tuple[int, dict[str, Any]]:
    response = Client().post(f"/admin/recreate-dataset?dataset={DATASET}", data="", content_type="application/json")
    return response.status_code, response.json()


def settled(proxy: MongoProxy) -> None:
    """The database back, and everything the failed call owed written."""
    proxy.restore()
    assert deferred_writes.wait_until_settled(SETTLE_SECONDS)


DATABASE_LOST = (503, {"error": "The database is unavailable, please retry later."})


@pytest.mark.parametrize(
    ("collection", "nth_delete", "mode"),
    # its jobs are deleted in 2 bulk deletes (batches of 500), then its entries in 1
    [
        ("jobsBlue", 1, "cut_after"),
        ("jobsBlue", 2, "cut_after"),
        ("cachedResponsesBlue", 1, "cut_after"),
        ("jobsBlue", 2, "cut_before"),
        ("cachedResponsesBlue", 1, "cut_before"),
    ],
)
def test_a_recreate_cut_at_a_delete_leaves_no_drift_and_ends_failed(
    proxy: MongoProxy,
    cache_db: Any,
    queue_db: Any,
    fake_hub: Any,
    collection: str,
    nth_delete: int,
    mode: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serve_dataset(fake_hub, DATASET)
    seed_big_dataset(cache_db, queue_db)
    proxy.fault_on("delete", collection=collection, nth=nth_delete, mode=mode)

    assert recreate() == DATABASE_LOST

    assert proxy.fired.is_set()
    during = drift_figure(rows_off(cache_db, queue_db))
    [action] = list(queue_db["adminActions"].find())
    assert action["outcome"] == "pending"  # the database is away: its outcome waits for it
    settled(proxy)
    after = drift_figure(rows_off(cache_db, queue_db))
    with capsys.disabled():
        print(f"\n{mode} delete {nth_delete} on {collection}: (rows off, drift) while away {during}, once back {after}")
    assert after == (0, 0)
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["error_code"]) == ("failed", "DatabaseUnavailableError")
    assert action["message"].startswith("The database became unavailable")
    # what was recorded as deleted was deleted; the delete in flight is not claimed
    deleted = 1000 - queue_db["jobsBlue"].count_documents({"dataset": DATASET})
    entries_left = cache_db["cachedResponsesBlue"].count_documents({"dataset": DATASET})
    assert action["result"].get("deleted_jobs", 0) <= deleted
    assert action["result"].get("deleted_cached_responses", 0) <= 100 - entries_left
    assert [lock["owner"] for lock in queue_db["locks"].find({"owner": {"$ne": None}})] == []

    status, body = recreate()  # the rerun finishes it
    assert status == 200, body
    assert (body["deleted_jobs"], body["deleted_cached_responses"]) == (1000 - deleted, entries_left)
    assert queue_db["jobsBlue"].count_documents({"dataset": DATASET, "status": "waiting"}) == 1
    assert rows_off(cache_db, queue_db) == {}


def test_a_recreate_stalled_in_its_cache_delete_then_cut_leaves_no_drift(
    proxy: MongoProxy, cache_db: Any, queue_db: Any, fake_hub: Any
) -> None:
    serve_dataset(fake_hub, DATASET)
    seed_big_dataset(cache_db, queue_db)
    proxy.fault_on("delete", collection="cachedResponsesBlue", mode="stall")
    answers: list[tuple[int, dict[str, Any]]] = []
    call = Thread(target=lambda: answers.append(recreate()))
    call.start()
    assert proxy.fired.wait(timeout=SETTLE_SECONDS)  # the delete of the entries is held: the call hangs on it
    proxy.cut()  # the held delete never reached the server
    call.join(timeout=SETTLE_SECONDS)

    assert answers == [DATABASE_LOST]
    settled(proxy)
    assert rows_off(cache_db, queue_db) == {}
    assert queue_db["jobsBlue"].count_documents({"dataset": DATASET}) == 0  # the jobs went before the entries
    assert cache_db["cachedResponsesBlue"].count_documents({"dataset": DATASET}) == 100
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["result"]) == ("failed", {"deleted_jobs": 1000})


def bulk_refresh() -> tuple[int, dict[str, Any]]:
    response = Client().post(
        "/admin/bulk-refresh?kind=config-parquet&dry_run=false&limit=1000", data="", content_type="application/json"
    )
    return response.status_code, response.json()


@pytest.mark.parametrize("mode", ["cut_before", "cut_after"])
def test_a_bulk_refresh_cut_at_an_insert_leaves_no_drift_and_ends_failed(
    proxy: MongoProxy, cache_db: Any, queue_db: Any, fake_hub: Any, mode: Any
) -> None:
    datasets = [f"org/d{number}" for number in range(3)]
    for dataset in datasets:
        serve_dataset(fake_hub, dataset)
    cache_db["cachedResponsesBlue"].insert_many(
        [
            upstream_cache_entry(kind="config-parquet", dataset=dataset, config=f"c{number}")
            for dataset in datasets
            for number in range(4)
        ]
    )
    write_recounted_rows(cache_db, queue_db)
    proxy.fault_on("insert", collection="jobsBlue", nth=2, mode=mode)

    assert bulk_refresh() == DATABASE_LOST

    settled(proxy)
    assert rows_off(cache_db, queue_db) == {}
    inserted = queue_db["jobsBlue"].count_documents({})
    assert inserted == (4 if mode == "cut_before" else 8)
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["error_code"]) == ("failed", "DatabaseUnavailableError")
    assert [lock["owner"] for lock in queue_db["locks"].find({"owner": {"$ne": None}})] == []


def test_a_force_refresh_whose_insert_answer_is_lost_counts_its_job_once_back(
    proxy: MongoProxy, cache_db: Any, queue_db: Any, fake_hub: Any
) -> None:
    serve_dataset(fake_hub, DATASET)
    write_recounted_rows(cache_db, queue_db)
    proxy.fault_on("insert", collection="jobsBlue", mode="cut_after")

    response = Client().post(f"/admin/force-refresh/dataset-config-names?dataset={DATASET}")

    assert (response.status_code, response.json()) == DATABASE_LOST
    settled(proxy)
    assert queue_db["jobsBlue"].count_documents({}) == 1
    assert rows_off(cache_db, queue_db) == {}
    [action] = list(queue_db["adminActions"].find())
    assert action["outcome"] == "failed"
