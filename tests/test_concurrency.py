"""The guarantees that rest on the engine's atomic single-document writes, with real concurrent clients.

"No duplicate waiting job" and "metric rows equal the recount" hold only if the server applies
each `$inc` and each conditional upsert atomically (FerretDB 1.24 did not: issue 13). Each test
starts its clients together on a barrier, each with its own connection(s), on the session's
server (the embedded engine, or the MongoDB of CACHE_MONGO_URL/QUEUE_MONGO_URL). The last test
shows that the force-refresh test bites: without the lock, and with every caller held at a
barrier between its check and its insert, the duplicates appear.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

from jobs import locks
from jobs.constants import worker_size
from tests.support.write_helpers import serve_dataset, set_config

DATASET = "org/ds"
STEP = "config-parquet"
CONFIG = "default"
JOIN_SECONDS = 120


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(0..count-1)` in `count` threads released at once; their results, or the first error."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(timeout=JOIN_SECONDS)
            results[index] = work(index)
        except BaseException as error:  # re-raised in the test's own thread below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    if errors:
        raise errors[0]
    return results


@contextmanager
def own_clients(count: int) -> Iterator[list[MongoClient[dict[str, Any]]]]:
    """`count` MongoClients of the queue server, one per concurrent caller (own pool, own sockets)."""
    clients: list[MongoClient[dict[str, Any]]] = [MongoClient(settings.ADMIN.queue_mongo_url) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            client.close()


def test_500_concurrent_incs_from_8_clients_count_500(queue_db: Any) -> None:
    """The metric rows' `$inc` upsert (jobs.services), on the unique row index, from an absent row."""
    call_command("ensure_indexes", verbosity=0)
    row = {"job_type": STEP, "status": "waiting", "dataset_status": "normal"}
    with own_clients(8) as clients:

        def increment(index: int) -> None:
            rows = clients[index][settings.ADMIN.queue_mongo_database]["jobTotalMetric"]
            for _ in range(index, 500, 8):  # 63 or 62 each: 500 in all
                rows.update_one(row, {"$inc": {"total": 1}}, upsert=True)

        run_together(8, increment)
    assert [document["total"] for document in queue_db["jobTotalMetric"].find(row)] == [500]


def test_50_workers_upserting_one_lock_admit_exactly_one(queue_db: Any) -> None:
    """The workers' protocol (REFERENCE.md "locks"): upsert `{_id: key, owner: in [None, me]}`.

    A duplicate-key error means "held by someone else": exactly one of 50 gets the lock.
    """
    key = f"{STEP},{DATASET},sha,{CONFIG}"
    with own_clients(50) as clients:

        def take(index: int) -> bool:
            lock_rows = clients[index][settings.ADMIN.queue_mongo_database]["locks"]
            try:
                lock_rows.update_one(
                    {"_id": key, "owner": {"$in": [None, f"worker-{index}"]}},
                    {"$set": {"owner": f"worker-{index}"}},
                    upsert=True,
                )
            except DuplicateKeyError:
                return False
            return True

        taken = run_together(50, take)
    assert taken.count(True) == 1
    [lock] = list(queue_db["locks"].find())
    assert lock == {"_id": key, "owner": f"worker-{taken.index(True)}"}


def test_50_concurrent_held_locks_admit_one_holder_at_a_time(queue_db: Any) -> None:
    """Our `held_lock` (one try each, deadline 0): one holder, the 49 others refused while it holds it."""
    key = f"{STEP},{DATASET},sha,{CONFIG}"
    everyone_tried = threading.Barrier(50, timeout=JOIN_SECONDS)

    def take(index: int) -> bool:
        try:
            with locks.held_lock(key=key, deadline_seconds=0):
                everyone_tried.wait()  # hold it until all 49 others have tried
                return True
        except locks.LockTimeoutError:
            everyone_tried.wait()
            return False

    taken = run_together(50, take)
    assert taken.count(True) == 1
    [lock] = list(queue_db["locks"].find())
    assert (lock["_id"], lock["owner"], lock["ttl"]) == (key, None, 600)  # released by its holder


def force_refresh_50_times(fake_hub: Any) -> list[tuple[int, dict[str, Any]]]:
    """50 concurrent POST /admin/force-refresh of one artifact, through the whole service, each its own client."""
    set_config(hf_timeout_seconds=30.0)  # the fake Hub answers one request at a time
    serve_dataset(fake_hub, DATASET)

    def call(index: int) -> tuple[int, dict[str, Any]]:
        response = Client().post(f"/admin/force-refresh/{STEP}?dataset={DATASET}&config={CONFIG}")
        return response.status_code, response.json()

    return run_together(50, call)


def waiting_jobs_and_metric_rows(queue_db: Any) -> tuple[int, dict[str, int], dict[str, int]]:
    """(waiting jobs of the step, jobTotalMetric rows by type, workerTypeJobCounts by size)."""
    jobs = list(queue_db["jobsBlue"].find({"type": STEP, "status": "waiting"}))
    totals = {row["job_type"]: row["total"] for row in queue_db["jobTotalMetric"].find({"status": "waiting"})}
    sizes = {row["worker_size"]: row["jobs_count"] for row in queue_db["workerTypeJobCounts"].find()}
    return len(jobs), totals, sizes


def recount(queue_db: Any) -> tuple[dict[str, int], dict[str, int]]:
    """What the metric rows should say: the waiting jobs counted by type and by worker size."""
    totals: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for job in queue_db["jobsBlue"].find({"status": "waiting"}):
        totals[job["type"]] = totals.get(job["type"], 0) + 1
        size = worker_size(int(job["difficulty"]))
        sizes[size] = sizes.get(size, 0) + 1
    return totals, sizes


def test_50_concurrent_force_refreshes_leave_one_waiting_job_and_rows_equal_to_the_recount(
    fake_hub: Any, queue_db: Any
) -> None:
    answers = force_refresh_50_times(fake_hub)
    assert [status for status, _ in answers] == [200] * 50
    assert sorted(body["action"] for _, body in answers) == ["already_waiting"] * 49 + ["created"]
    waiting, totals, sizes = waiting_jobs_and_metric_rows(queue_db)
    assert waiting == 1
    assert (totals, sizes) == recount(queue_db) == ({STEP: 1}, {"light": 1})
    assert {body["job_id"] for _, body in answers} == {str(queue_db["jobsBlue"].find_one()["_id"])}


def test_without_the_lock_the_same_calls_queue_duplicates(
    fake_hub: Any, queue_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test above bites: with `held_lock` a no-op, the 50 callers each find no waiting job, then insert.

    The interleaving is forced, not hoped for: every caller waits at a barrier after its check
    ("is a job waiting?") and before its insert (`is_dataset_blocked` is asked between the two).
    """
    from jobs import selectors, services

    @contextmanager
    def no_lock(*, key: str) -> Iterator[str]:
        yield "nobody"

    checked = threading.Barrier(50, timeout=JOIN_SECONDS)
    is_dataset_blocked = selectors.is_dataset_blocked

    def after_everyone_checked(**arguments: Any) -> bool:
        checked.wait()
        return is_dataset_blocked(**arguments)

    monkeypatch.setattr(services, "held_lock", no_lock)
    monkeypatch.setattr(selectors, "is_dataset_blocked", after_everyone_checked)
    answers = force_refresh_50_times(fake_hub)
    assert [body["action"] for _, body in answers] == ["created"] * 50
    waiting, totals, sizes = waiting_jobs_and_metric_rows(queue_db)
    assert waiting == 50, "without the lock every caller queues its own job"
    assert (totals, sizes) == recount(queue_db) == ({STEP: 50}, {"light": 50})
