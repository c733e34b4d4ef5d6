"""Recreate beside other writes of the same dataset: locks, truthful answers, metric rows equal to a recount.

Issue 23, items 1 and 2, and issue 22, item 10. Each interleaving that a race only sometimes
produced is forced here every time (`inside_window_of`: the other write runs in the middle of
the recreate, at a chosen driver call), then the same writes race freely, released together
by a barrier, round after round. After each, the metric rows are compared with a recount of
the documents (`tests.support.metric_recount`, written from the collectors' rules).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from jobs import locks
from tests.support.metric_recount import drift_figure, rows_off, write_recounted_rows
from tests.support.races import inside_window_of, run_together
from tests.support.write_helpers import (
    OLD_SHA,
    SHA,
    serve_dataset,
    set_config,
    snapshot_tree,
    upstream_cache_entry,
    upstream_job,
)

DATASET = "org/ds"
OTHER = "org/other"
KIND = "config-parquet"  # a config step of difficulty 20: its jobs count as "light"
ROUNDS = 5
DELETES = ("delete_many", "bulk_write")
"""The driver calls that delete documents (the window opens at the first on a collection)."""


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    for root in ("assets", "cached-assets"):
        for dataset in (DATASET, OTHER):
            folder = tmp_path / root / dataset / "--" / "default"
            folder.mkdir(parents=True)
            (folder / "file.parquet").write_bytes(b"PAR1")
    set_config(assets_storage_root=tmp_path / "assets", cached_assets_storage_root=tmp_path / "cached-assets")
    return tmp_path


@pytest.fixture
def hub(fake_hub: Any) -> Any:
    set_config(hf_timeout_seconds=10.0)  # the fake Hub answers one request at a time
    serve_dataset(fake_hub, DATASET)
    serve_dataset(fake_hub, OTHER)
    return fake_hub


@pytest.fixture
def short_lock_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A held lock is given up after 0.2 s instead of 2 s (the tests then last less)."""
    monkeypatch.setattr(locks, "LOCK_DEADLINE_SECONDS", 0.2)


def seed_world(cache_db: Any, queue_db: Any) -> None:
    """40 entries and 12 pending jobs of DATASET, a few of OTHER, metric rows equal to the recount."""
    for name in ("cachedResponsesBlue", "cacheTotalMetric"):
        cache_db[name].delete_many({})
    for name in ("jobsBlue", "jobTotalMetric", "workerTypeJobCounts", "locks", "adminActions"):
        queue_db[name].delete_many({})
    cache_db["cachedResponsesBlue"].insert_many(
        [
            upstream_cache_entry(
                kind=kind,
                dataset=DATASET,
                config=f"c{number}",
                http_status=500 if number % 4 == 0 else 200,
                error_code="X" if number % 4 == 0 else None,
            )
            for kind in (KIND, "config-info")
            for number in range(20)
        ]
        + [upstream_cache_entry(kind=KIND, dataset=OTHER, config=f"c{number}") for number in range(5)]
    )
    queue_db["jobsBlue"].insert_many(
        [upstream_job(job_type=KIND, dataset=DATASET, config=f"c{number}", difficulty=20) for number in range(10)]
        + [
            upstream_job(job_type="dataset-config-names", dataset=DATASET, revision=OLD_SHA, difficulty=50),
            upstream_job(
                job_type="split-first-rows",
                dataset=DATASET,
                config="c1",
                split="train",
                status="started",
                difficulty=70,
            ),
            upstream_job(job_type=KIND, dataset=OTHER, config="c0", difficulty=20),
        ]
    )
    write_recounted_rows(cache_db, queue_db)


def recreate() -> tuple[int, dict[str, Any]]:
    response = Client().post(f"/admin/recreate-dataset?dataset={DATASET}", data="", content_type="application/json")
    return response.status_code, response.json()


def force_refresh(config: str, difficulty: int) -> tuple[int, dict[str, Any]]:
    response = Client().post(f"/admin/force-refresh/{KIND}?dataset={DATASET}&config={config}&difficulty={difficulty}")
    return response.status_code, response.json()


def bulk_refresh() -> tuple[int, dict[str, Any]]:
    response = Client().post(
        f"/admin/bulk-refresh?kind={KIND}&dry_run=false&limit=1000", data="", content_type="application/json"
    )
    return response.status_code, response.json()


def everything(cache_db: Any, queue_db: Any) -> dict[str, list[dict[str, Any]]]:
    queue = {name: list(queue_db[name].find()) for name in ("jobsBlue", "jobTotalMetric", "workerTypeJobCounts")}
    return queue | {name: list(cache_db[name].find()) for name in ("cachedResponsesBlue", "cacheTotalMetric")}


def waiting_jobs_older_than_dataset_init(queue_db: Any) -> list[dict[str, Any]]:
    """The waiting jobs of DATASET queued before its `dataset-init`: jobs of the old cache left beside it."""
    init = queue_db["jobsBlue"].find_one({"dataset": DATASET, "type": "dataset-init", "status": "waiting"})
    if init is None:
        return []
    waiting = queue_db["jobsBlue"].find({"dataset": DATASET, "status": "waiting", "_id": {"$lt": init["_id"]}})
    return list(waiting)


# --- item 1: two recreates of one dataset ----------------------------------------------------------


def test_a_recreate_inside_another_ones_window_leaves_the_cache_rows_exact(
    hub: Any, cache_db: Any, queue_db: Any, storage: Path, short_lock_waits: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second call came between the first one's look at the entries and its delete: each subtracted 40."""
    seed_world(cache_db, queue_db)
    with inside_window_of(monkeypatch, methods=DELETES, collection="cachedResponsesBlue", action=recreate) as inner:
        outer = recreate()
    assert outer[0] == 200
    assert inner[0][0] in (200, 500)  # today: 500, the dataset's lock is held by the outer one
    assert cache_db["cachedResponsesBlue"].count_documents({"dataset": DATASET}) == 0
    assert rows_off(cache_db, queue_db) == {}


def test_concurrent_recreates_leave_the_metric_rows_equal_to_the_recount(
    hub: Any, cache_db: Any, queue_db: Any, storage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures, answers, left = [], [], []
    for _ in range(ROUNDS):
        seed_world(cache_db, queue_db)
        answers += run_together(recreate, recreate, recreate, recreate)
        figures.append(drift_figure(rows_off(cache_db, queue_db)))
        left.append(
            (
                cache_db["cachedResponsesBlue"].count_documents({"dataset": DATASET}),
                queue_db["jobsBlue"].count_documents({"dataset": DATASET, "status": "waiting"}),
            )
        )
    with capsys.disabled():
        print(f"\n4 concurrent recreates, (rows off, drift) a round: {figures}")
    assert figures == [(0, 0)] * ROUNDS
    assert left == [(0, 1)] * ROUNDS  # no entry, one waiting job: the new dataset-init
    for status, body in answers:
        # a recreate that waited for the dataset's lock past its wait says that nothing was changed
        assert status == 200 or (status == 500 and body["error"].endswith("nothing was changed.")), body


# --- item 2: the locks of the jobs and of the dataset ------------------------------------------------


def hold_lock_as_a_worker(queue_db: Any, key: str, owner: str = "6745f1c2a9b8c7d6e5f4a3b2") -> None:
    """The lock as a worker holds it while it starts (or runs) a job of that unicity_id (taken now, ttl 600 s)."""
    now = datetime.now(UTC)
    queue_db["locks"].insert_one({"_id": key, "owner": owner, "ttl": 600, "created_at": now, "updated_at": now})


def test_a_waiting_job_whose_lock_a_worker_holds_is_not_deleted_and_nothing_is_changed(
    hub: Any, cache_db: Any, queue_db: Any, storage: Path, short_lock_waits: None
) -> None:
    seed_world(cache_db, queue_db)
    key = f"{KIND},{DATASET},{SHA},c3"
    hold_lock_as_a_worker(queue_db, key)
    before, tree = everything(cache_db, queue_db), snapshot_tree(storage)

    status, body = recreate()

    assert (status, body) == (
        500,
        {"error": f"Another process is working on '{key}'; gave up after 0.2s: nothing was changed."},
    )
    assert everything(cache_db, queue_db) == before
    assert snapshot_tree(storage) == tree
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["error_code"], action["message"], action["result"]) == (
        "failed",
        "LockTimeoutError",
        body["error"],
        {},
    )
    assert queue_db["locks"].find_one({"_id": key})["owner"] == "6745f1c2a9b8c7d6e5f4a3b2"


def test_with_the_dataset_init_lock_held_by_a_worker_nothing_is_changed_and_the_answer_says_so(
    hub: Any, cache_db: Any, queue_db: Any, storage: Path, short_lock_waits: None
) -> None:
    seed_world(cache_db, queue_db)
    key = f"dataset-init,{DATASET},{SHA}"
    hold_lock_as_a_worker(queue_db, key)
    before, tree = everything(cache_db, queue_db), snapshot_tree(storage)

    status, body = recreate()

    assert (status, body) == (
        500,
        {"error": f"Another process is working on '{key}'; gave up after 0.2s: nothing was changed."},
    )
    assert everything(cache_db, queue_db) == before
    assert snapshot_tree(storage) == tree
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["message"], action["result"]) == ("failed", body["error"], {})


def test_a_lock_refused_half_way_is_answered_with_what_the_recreate_did(
    hub: Any, cache_db: Any, queue_db: Any, storage: Path, short_lock_waits: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker queued a job (and holds its lock) after the recreate took its locks: it stops, and says what it did."""
    seed_world(cache_db, queue_db)
    late = upstream_job(job_type="config-info", dataset=DATASET, config="c9", difficulty=20)
    key = late["unicity_id"]

    def a_worker_queues_a_job() -> None:  # as the workers do: the job, its rows, and (starting it) its lock
        queue_db["jobsBlue"].insert_one(late)
        row = {"job_type": "config-info", "status": "waiting", "dataset_status": "normal"}
        queue_db["jobTotalMetric"].update_one(row, {"$inc": {"total": 1}}, upsert=True)
        queue_db["workerTypeJobCounts"].update_one({"worker_size": "light"}, {"$inc": {"jobs_count": 1}})
        hold_lock_as_a_worker(queue_db, key)

    with inside_window_of(monkeypatch, methods=DELETES, collection="jobsBlue", action=a_worker_queues_a_job):
        status, body = recreate()

    assert (status, body) == (
        500,
        {
            "error": f"Another process is working on '{key}'; gave up after 0.2s: the recreate stopped there, after"
            " it deleted 11 waiting jobs, 0 cache entries and 0 asset folders; no dataset-init job was queued."
            " Run the recreate again to finish it."
        },
    )
    assert list(queue_db["jobsBlue"].find({"dataset": DATASET, "status": "waiting"})) == [late]
    assert cache_db["cachedResponsesBlue"].count_documents({"dataset": DATASET}) == 40
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["message"], action["result"]) == ("failed", body["error"], {"deleted_jobs": 11})
    assert rows_off(cache_db, queue_db) == {}


@pytest.mark.parametrize("its_worker_holds_its_lock", [True, False])
def test_no_second_dataset_init_is_queued_beside_a_running_one(
    hub: Any, cache_db: Any, queue_db: Any, storage: Path, short_lock_waits: None, its_worker_holds_its_lock: bool
) -> None:
    """Issue 22, item 10: a started `dataset-init` of the revision stays, alone; the rest is recreated."""
    seed_world(cache_db, queue_db)
    running = upstream_job(job_type="dataset-init", dataset=DATASET, status="started", difficulty=50)
    queue_db["jobsBlue"].insert_one(running)
    if its_worker_holds_its_lock:  # the workers keep a job's lock until it finishes
        hold_lock_as_a_worker(queue_db, running["unicity_id"], owner=str(running["_id"]))
    write_recounted_rows(cache_db, queue_db)

    status, body = recreate()

    assert status == 200, body
    assert list(queue_db["jobsBlue"].find({"dataset": DATASET, "type": "dataset-init"})) == [running]
    assert queue_db["jobsBlue"].count_documents({"dataset": DATASET, "status": "waiting"}) == 0
    assert cache_db["cachedResponsesBlue"].count_documents({"dataset": DATASET}) == 0
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["result"]["job_action"], action["result"]["job_id"]) == (
        "ok",
        "already_started",
        str(running["_id"]),
    )
    assert rows_off(cache_db, queue_db) == {}


def test_a_force_refresh_inside_the_recreates_window_changes_no_row_under_it(
    hub: Any, cache_db: Any, queue_db: Any, storage: Path, short_lock_waits: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The force-refresh moved c0's job from light to heavy between the recreate's read of it and its delete."""
    seed_world(cache_db, queue_db)
    with inside_window_of(
        monkeypatch, methods=DELETES, collection="jobsBlue", action=lambda: force_refresh("c0", 90)
    ) as inner:
        outer = recreate()
    assert outer[0] == 200
    assert inner[0][0] == 500  # the dataset is being recreated: the force-refresh waited, then said so
    assert inner[0][1]["error"].endswith("nothing was changed.")
    assert waiting_jobs_older_than_dataset_init(queue_db) == []
    assert rows_off(cache_db, queue_db) == {}


def test_force_refreshes_racing_a_recreate_leave_no_old_job_and_exact_rows(
    hub: Any, cache_db: Any, queue_db: Any, storage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures, old_jobs = [], []
    for _ in range(ROUNDS):
        seed_world(cache_db, queue_db)
        answers = run_together(
            recreate,
            lambda: force_refresh("c0", 90),
            lambda: force_refresh("c1", 60),
            lambda: force_refresh("c2", 90),
            lambda: force_refresh("c7", 20),
        )
        assert answers[0][0] == 200, answers[0]
        assert all(status in (200, 500) for status, _ in answers), answers
        figures.append(drift_figure(rows_off(cache_db, queue_db)))
        old_jobs.append(len(waiting_jobs_older_than_dataset_init(queue_db)))
    with capsys.disabled():
        print(f"\nrecreate + 4 force-refreshes, (rows off, drift) a round: {figures}, old jobs left: {old_jobs}")
    assert figures == [(0, 0)] * ROUNDS
    assert old_jobs == [0] * ROUNDS


def test_a_bulk_refresh_that_read_its_entries_before_a_recreate_queues_nothing_of_the_old_cache(
    hub: Any, cache_db: Any, queue_db: Any, storage: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk refresh read its batch, then the recreate ran whole, then the bulk refresh queued its jobs."""
    from bulkops import services as bulk

    seed_world(cache_db, queue_db)
    ask_hub = bulk.hub_revisions
    recreated: list[tuple[int, dict[str, Any]]] = []

    def hub_revisions_then_a_recreate(*, datasets: list[str]) -> Any:
        revisions = ask_hub(datasets=datasets)
        recreated.append(recreate())
        return revisions

    monkeypatch.setattr(bulk, "hub_revisions", hub_revisions_then_a_recreate)
    status, body = bulk_refresh()

    assert recreated[0][0] == 200
    assert status == 200
    assert {(skipped["dataset"], skipped["reason"]) for skipped in body["skipped"]} == {
        (DATASET, "no longer in the cache (deleted meanwhile, e.g. by a recreate of its dataset): no job queued")
    }
    assert queue_db["jobsBlue"].count_documents({"dataset": DATASET, "type": KIND, "status": "waiting"}) == 0
    assert waiting_jobs_older_than_dataset_init(queue_db) == []
    assert rows_off(cache_db, queue_db) == {}


def test_bulk_refreshes_racing_a_recreate_leave_no_old_job_and_exact_rows(
    hub: Any, cache_db: Any, queue_db: Any, storage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures, old_jobs = [], []
    for _ in range(ROUNDS):
        seed_world(cache_db, queue_db)
        answers = run_together(recreate, bulk_refresh, bulk_refresh)
        assert answers[0][0] == 200, answers[0]
        assert [status for status, _ in answers[1:]] == [200, 200], answers
        figures.append(drift_figure(rows_off(cache_db, queue_db)))
        # whatever the order, the recreate deleted the cache entries: no job of them may wait
        old = queue_db["jobsBlue"].count_documents({"dataset": DATASET, "type": KIND, "status": "waiting"})
        old_jobs.append(old + len(waiting_jobs_older_than_dataset_init(queue_db)))
    with capsys.disabled():
        print(f"\nrecreate + 2 bulk refreshes, (rows off, drift) a round: {figures}, old jobs left: {old_jobs}")
    assert figures == [(0, 0)] * ROUNDS
    assert old_jobs == [0] * ROUNDS
