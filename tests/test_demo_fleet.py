"""The demo's stand-in workers follow the workers' protocol of REFERENCE.md, step by step, on the embedded engine.

Each worker is driven one step at a time on a clock moved by hand: no sleep, no thread, the
same draws for the same seed. Jobs and cache entries are arranged as the workers write them;
after each write the documents and the metric rows are read back from the server.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from cachereports.services import JobResult, write_job_result
from demo.fleet.runner import FleetTally, fleet_workers, work_until_stopped
from demo.fleet.settings import FleetSettings, WorkerCounts
from demo.fleet.worker import StandInWorker
from demo.world import error_result, plan_dataset, seed_world, step_errors, success_content
from foundation.core.processing_graph import processing_graph
from foundation.database import mongo
from jobs import services as job_services
from jobs.locks import LockTimeoutError
from jobs.selectors import next_waiting_job
from tests.support.recount import duplicate_waiting_jobs, metric_rows, recount
from tests.support.write_helpers import A_DATE, OLD_SHA, SHA, upstream_job

DATASET = "org/ds"
QUIET = FleetSettings(failure_rate=0.0, death_rate=0.0, runaway_rate=0.0, job_seconds=(2.0, 2.0))
"""No failure, no death, no runaway; every job runs 2 s (120 s of compute at the scale of 60)."""


class HandClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def stand_in(
    size: str = "medium", *, clock: HandClock, settings: FleetSettings = QUIET, seed: int = 0
) -> StandInWorker:
    return StandInWorker(name=f"{size}-1", size=size, settings=settings, rng=random.Random(seed), clock=clock)


def arrange(
    cache_db: Any, queue_db: Any, *, jobs: Sequence[dict[str, Any]] = (), entries: Sequence[dict[str, Any]] = ()
) -> None:
    """Insert jobs and entries, and metric rows that count them exactly (as the other services keep them)."""
    if jobs:
        queue_db["jobsBlue"].insert_many(jobs)
    if entries:
        cache_db["cachedResponsesBlue"].insert_many(entries)
    counts = recount(cache_db, queue_db)
    for (job_type, status, dataset_status), total in counts["jobTotalMetric"].items():
        queue_db["jobTotalMetric"].insert_one(
            {"job_type": job_type, "status": status, "dataset_status": dataset_status, "total": total}
        )
    for size, total in counts["workerTypeJobCounts"].items():
        queue_db["workerTypeJobCounts"].insert_one({"worker_size": size, "jobs_count": total})
    for (kind, http_status, error_code), total in counts["cacheTotalMetric"].items():
        row = {"kind": kind, "http_status": http_status, "total": total}
        cache_db["cacheTotalMetric"].insert_one(row if error_code is None else {**row, "error_code": error_code})


def entry(kind: str, *, config: str | None = None, split: str | None = None, **fields: Any) -> dict[str, Any]:
    """A cache entry as the workers write it (a 200 at SHA unless `fields` say otherwise)."""
    document: dict[str, Any] = {"kind": kind, "dataset": DATASET}
    if config is not None:
        document["config"] = config
    if split is not None:
        document["split"] = split
    document |= {"http_status": 200, "content": {}, "dataset_git_revision": SHA, "job_runner_version": 1}
    document |= {"failed_runs": 0, "updated_at": A_DATE} | fields
    return document


def names_of(config_names: list[str]) -> dict[str, Any]:
    return {"config_names": [{"dataset": DATASET, "config": name} for name in config_names]}


def splits_of(config: str, splits: list[str]) -> dict[str, Any]:
    return {"splits": [{"dataset": DATASET, "config": config, "split": name} for name in splits]}


def jobs_as(queue_db: Any, *fields: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(job.get(name) for name in fields) for job in queue_db["jobsBlue"].find())


def rows_match_the_recount(cache_db: Any, queue_db: Any) -> bool:
    return metric_rows(cache_db, queue_db) == recount(cache_db, queue_db)


# --- 1. Pick -----------------------------------------------------------------------------------


def at(seconds: int) -> Any:
    return A_DATE + timedelta(seconds=seconds)


def test_the_pick_takes_the_highest_priority_then_the_oldest_within_the_size(queue_db: Any) -> None:
    queue_db["jobsBlue"].insert_many(
        [
            upstream_job(job_type="dataset-config-names", dataset="a/one", priority="low", created_at=at(0)),
            upstream_job(job_type="dataset-config-names", dataset="b/two", priority="normal", created_at=at(2)),
            upstream_job(job_type="dataset-config-names", dataset="c/three", priority="normal", created_at=at(1)),
            upstream_job(job_type="dataset-config-names", dataset="d/four", priority="high", difficulty=80),
            upstream_job(job_type="dataset-config-names", dataset="e/five", priority="high", difficulty=40),
            upstream_job(job_type="dataset-config-names", dataset="f/six", priority="high", difficulty=70),
        ]
    )
    picked = {size: (next_waiting_job(size=size) or {}).get("dataset") for size in ("light", "medium", "heavy")}
    assert picked == {"light": "e/five", "medium": "f/six", "heavy": "d/four"}
    queue_db["jobsBlue"].delete_many({"priority": "high"})
    assert next_waiting_job(size="medium")["dataset"] == "c/three"  # type: ignore[index]
    queue_db["jobsBlue"].delete_many({"priority": "normal"})
    assert next_waiting_job(size="medium")["dataset"] == "a/one"  # type: ignore[index]
    assert next_waiting_job(size="light") is None


def test_the_pick_skips_blocked_datasets(queue_db: Any) -> None:
    queue_db["jobsBlue"].insert_many(
        [
            upstream_job(job_type="dataset-config-names", dataset="a/blocked", created_at=at(0)),
            upstream_job(job_type="dataset-config-names", dataset="a/free", created_at=at(1)),
        ]
    )
    queue_db["datasetBlockages"].insert_one({"dataset": "a/blocked", "blocked_at": A_DATE})
    assert next_waiting_job(size="medium")["dataset"] == "a/free"  # type: ignore[index]


def test_the_pick_prefers_idle_namespaces_then_the_least_busy_and_never_a_started_unicity_id(queue_db: Any) -> None:
    started = [
        upstream_job(job_type="dataset-info", dataset="busy/x", status="started"),
        upstream_job(job_type="dataset-info", dataset="busy/y", status="started"),
        upstream_job(job_type="dataset-info", dataset="calm/x", status="started"),
    ]
    queue_db["jobsBlue"].insert_many(
        [
            *started,
            upstream_job(job_type="dataset-size", dataset="busy/x", created_at=at(0)),
            upstream_job(job_type="dataset-info", dataset="calm/x", created_at=at(1)),  # its unicity_id is started
            upstream_job(job_type="dataset-size", dataset="calm/x", created_at=at(2)),
            upstream_job(job_type="dataset-size", dataset="idle/x", created_at=at(3)),
        ]
    )
    assert next_waiting_job(size="medium")["dataset"] == "idle/x"  # type: ignore[index]
    queue_db["jobsBlue"].delete_many({"dataset": "idle/x"})
    picked = next_waiting_job(size="medium")
    assert (picked or {}).get("unicity_id") == f"dataset-size,calm/x,{SHA}"  # one started job, not two
    queue_db["jobsBlue"].delete_many({"dataset": "calm/x", "type": "dataset-size"})
    assert next_waiting_job(size="medium")["dataset"] == "busy/x"  # type: ignore[index]


# --- 2. Lock and start -------------------------------------------------------------------------


def test_start_takes_the_newest_waiting_job_of_the_unicity_id_deletes_the_others_and_moves_the_rows(
    cache_db: Any, queue_db: Any
) -> None:
    older = upstream_job(job_type="dataset-info", dataset=DATASET, created_at=at(0), difficulty=20)
    newer = upstream_job(job_type="dataset-info", dataset=DATASET, created_at=at(5), difficulty=50)
    other = upstream_job(job_type="dataset-size", dataset=DATASET, created_at=at(1), difficulty=20)
    arrange(cache_db, queue_db, jobs=[older, newer, other])
    clock = HandClock()
    step = stand_in("light", clock=clock).step()
    assert (step.action, step.job["_id"]) == ("started", newer["_id"])  # type: ignore[index]
    [job] = queue_db["jobsBlue"].find({"type": "dataset-info"})
    assert (job["_id"], job["status"], job["started_at"] >= A_DATE) == (newer["_id"], "started", True)
    assert rows_match_the_recount(cache_db, queue_db)
    assert metric_rows(cache_db, queue_db)["workerTypeJobCounts"] == Counter({"light": 1})
    [lock] = queue_db["locks"].find()
    assert (lock["_id"], lock["owner"], lock["ttl"]) == (newer["unicity_id"], None, 600)  # released


def test_start_gives_up_when_the_unicity_id_has_a_started_job(cache_db: Any, queue_db: Any) -> None:
    started = upstream_job(job_type="dataset-info", dataset=DATASET, status="started", difficulty=20)
    waiting = upstream_job(job_type="dataset-info", dataset=DATASET, created_at=at(5), difficulty=20)
    arrange(cache_db, queue_db, jobs=[started, waiting])
    assert job_services.start_newest_waiting_job(unicity=waiting["unicity_id"]) is None
    assert jobs_as(queue_db, "_id", "status") == sorted([(started["_id"], "started"), (waiting["_id"], "waiting")])
    assert rows_match_the_recount(cache_db, queue_db)


def test_start_waits_for_the_lock_of_the_unicity_id_and_gives_up_without_writing(
    cache_db: Any, queue_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = upstream_job(job_type="dataset-info", dataset=DATASET, difficulty=20)
    arrange(cache_db, queue_db, jobs=[waiting])
    held = {"_id": waiting["unicity_id"], "owner": "another-worker", "ttl": 600}
    queue_db["locks"].insert_one(held | {"created_at": mongo.utc_now(), "updated_at": mongo.utc_now()})
    monkeypatch.setattr(job_services, "WORKER_LOCK_DEADLINE_SECONDS", 0.0)
    with pytest.raises(LockTimeoutError):
        job_services.start_newest_waiting_job(unicity=waiting["unicity_id"])
    assert stand_in("light", clock=HandClock()).step().action == "gave_up"
    assert jobs_as(queue_db, "_id", "status") == [(waiting["_id"], "waiting")]
    assert rows_match_the_recount(cache_db, queue_db)
    queue_db["locks"].update_one({"_id": waiting["unicity_id"]}, {"$set": {"owner": None}})  # the other one is done
    assert stand_in("light", clock=HandClock()).step().action == "started"


# --- 3. Heartbeats, 4. finish ------------------------------------------------------------------


def test_a_job_beats_then_finishes_into_the_cache_and_queues_its_children(cache_db: Any, queue_db: Any) -> None:
    job = upstream_job(job_type="dataset-config-names", dataset=DATASET, priority="normal", difficulty=50)
    arrange(cache_db, queue_db, jobs=[job])
    clock = HandClock()
    worker = stand_in(clock=clock)
    assert worker.step().action == "started"
    assert worker.wake_at() == clock.now + 1.0
    clock.advance(1.0)
    assert worker.step().action == "beat"
    [started] = queue_db["jobsBlue"].find()
    assert started["last_heartbeat"] >= started["started_at"]
    clock.advance(0.5)
    assert worker.step().action == "running"
    clock.advance(0.5)
    step = worker.step()
    assert (step.action, step.http_status, step.blocked, step.children) == ("finished", 200, False, 8)
    [written] = cache_db["cachedResponsesBlue"].find({}, {"_id": 0})
    assert list(written) == [
        "kind",
        "dataset",
        "http_status",
        "content",
        "dataset_git_revision",
        "progress",
        "job_runner_version",
        "failed_runs",
        "updated_at",
        "duration",
    ]
    assert {name: value for name, value in written.items() if name != "updated_at"} == {
        "kind": "dataset-config-names",
        "dataset": DATASET,
        "http_status": 200,
        "content": names_of(["default"]),  # a dataset the demo world never drew: one config
        "dataset_git_revision": SHA,
        "progress": 1.0,
        "job_runner_version": 1,
        "failed_runs": 0,
        "duration": 120.0,  # 2 s at the demo's scale of 60
    }
    assert [(past["dataset"], past["duration"]) for past in queue_db["pastJobs"].find()] == [(DATASET, 120)]
    assert queue_db["jobsBlue"].count_documents({"_id": job["_id"]}) == 0
    children = jobs_as(queue_db, "type", "config", "split", "revision", "priority", "status", "difficulty")
    assert children == sorted(
        [
            ("config-parquet-and-info", "default", None, SHA, "normal", "waiting", 70),
            ("config-split-names", "default", None, SHA, "normal", "waiting", 60),
            *[
                (name, None, None, SHA, "normal", "waiting", 20)
                for name in (
                    "dataset-info",
                    "dataset-is-valid",
                    "dataset-opt-in-out-urls-count",
                    "dataset-parquet",
                    "dataset-size",
                    "dataset-split-names",
                )
            ],
        ]
    )
    assert rows_match_the_recount(cache_db, queue_db)
    assert [lock["owner"] for lock in queue_db["locks"].find()] == [None] * 9  # the job's, then its children's


def test_a_short_job_is_not_recorded_in_past_jobs(cache_db: Any, queue_db: Any) -> None:
    arrange(cache_db, queue_db, jobs=[upstream_job(job_type="dataset-size", dataset=DATASET, difficulty=20)])
    clock = HandClock()
    worker = stand_in("light", clock=clock, settings=FleetSettings(job_seconds=(0.4, 0.4), **_QUIET_RATES))
    worker.step()
    clock.advance(0.4)
    assert worker.step().action == "finished"
    assert queue_db["pastJobs"].count_documents({}) == 0  # 24 s of compute: under 30 s
    [written] = cache_db["cachedResponsesBlue"].find()
    assert written["duration"] == 24.0


_QUIET_RATES: dict[str, Any] = {"failure_rate": 0.0, "death_rate": 0.0, "runaway_rate": 0.0}


@pytest.mark.parametrize(
    ("previous", "result_status", "failed_runs"),
    [
        ({"failed_runs": 2, "dataset_git_revision": SHA}, 500, 3),
        ({"failed_runs": 2, "dataset_git_revision": SHA}, 200, 2),
        ({"failed_runs": 2, "dataset_git_revision": OLD_SHA}, 500, 1),
        ({"failed_runs": 2, "dataset_git_revision": OLD_SHA}, 200, 0),
        (None, 500, 1),
        (None, 200, 0),
    ],
)
def test_failed_runs_count_the_errors_at_the_same_revision(
    cache_db: Any, queue_db: Any, previous: dict[str, Any] | None, result_status: int, failed_runs: int
) -> None:
    old = entry("dataset-info", http_status=500, error_code="UnexpectedError", **(previous or {}))
    arrange(cache_db, queue_db, entries=[old] if previous else [])
    error = error_result(step_errors("dataset-info")[0])
    result = (
        JobResult(progress=None, **error)
        if result_status == 500
        else JobResult(http_status=200, error_code=None, content={"a": 1}, details=None, progress=1.0)
    )
    written = write_job_result(
        kind="dataset-info",
        dataset=DATASET,
        config=None,
        split=None,
        revision=SHA,
        job_runner_version=2,
        result=result,
        duration=3.5,
    )
    [stored] = cache_db["cachedResponsesBlue"].find()
    assert (stored["failed_runs"], stored["http_status"], stored.get("error_code")) == (
        failed_runs,
        result_status,
        "UnexpectedError" if result_status == 500 else None,
    )
    assert ("details" in stored, "error_code" in stored) == (result_status == 500, result_status == 500)
    assert (written.created, stored["_id"] == old.get("_id") if previous else True) == (previous is None, True)
    assert rows_match_the_recount(cache_db, queue_db)


def test_a_child_copies_its_parents_error_and_names_it(cache_db: Any, queue_db: Any) -> None:
    root = entry("dataset-config-names", http_status=500, error_code="ConfigNamesError")
    root |= error_result(step_errors("dataset-config-names")[0])
    arrange(
        cache_db,
        queue_db,
        jobs=[upstream_job(job_type="config-parquet-and-info", dataset=DATASET, config="default", difficulty=70)],
        entries=[root],
    )
    clock = HandClock()
    worker = stand_in(clock=clock)
    worker.step()
    clock.advance(2.0)
    assert worker.step().http_status == 500
    copied = cache_db["cachedResponsesBlue"].find_one({"kind": "config-parquet-and-info"})
    assert (copied["http_status"], copied["error_code"], copied["content"]) == (
        500,
        "ConfigNamesError",
        root["content"],
    )
    assert copied["details"] == root["details"] | {
        "copied_from_artifact": {"kind": "dataset-config-names", "dataset": DATASET, "config": None, "split": None}
    }
    # its own child copies it in turn: the links lead back to the root error
    worker = stand_in("light", clock=clock)
    grandchild_job = worker.step().job
    assert grandchild_job is not None and grandchild_job["type"] in {"config-info", "config-parquet", "config-size"}
    clock.advance(2.0)
    worker.step()
    grandchild = cache_db["cachedResponsesBlue"].find_one({"kind": grandchild_job["type"]})
    assert grandchild["details"]["copied_from_artifact"] == {
        "kind": "config-parquet-and-info",
        "dataset": DATASET,
        "config": "default",
        "split": None,
    }
    assert rows_match_the_recount(cache_db, queue_db)


def test_a_step_fails_at_the_rate_with_its_own_error_codes(cache_db: Any, queue_db: Any) -> None:
    arrange(cache_db, queue_db, jobs=[upstream_job(job_type="dataset-config-names", dataset=DATASET)])
    clock = HandClock()
    worker = stand_in(
        clock=clock, settings=FleetSettings(job_seconds=(2.0, 2.0), **{**_QUIET_RATES, "failure_rate": 1.0})
    )
    worker.step()
    clock.advance(2.0)
    assert worker.step().http_status in {500, 501}
    [written] = cache_db["cachedResponsesBlue"].find()
    codes = {error.error_code for error in step_errors("dataset-config-names")}
    assert written["error_code"] in codes
    assert "copied_from_artifact" not in written["details"]
    assert (written["failed_runs"], "progress" in written) == (1, False)
    # no config listed: the dataset-level children only, and they will copy the error
    assert {job["type"] for job in queue_db["jobsBlue"].find()} == {
        "dataset-info",
        "dataset-is-valid",
        "dataset-opt-in-out-urls-count",
        "dataset-parquet",
        "dataset-size",
        "dataset-split-names",
    }


def test_children_are_not_queued_when_a_job_of_that_artifact_and_revision_is_pending(
    cache_db: Any, queue_db: Any
) -> None:
    started_child = upstream_job(
        job_type="config-split-names", dataset=DATASET, config="default", status="started", difficulty=60
    )
    waiting_child = upstream_job(job_type="dataset-info", dataset=DATASET, difficulty=20)
    old_revision = upstream_job(job_type="dataset-size", dataset=DATASET, revision=OLD_SHA, difficulty=20)
    job = upstream_job(job_type="dataset-config-names", dataset=DATASET, created_at=at(-5))
    arrange(cache_db, queue_db, jobs=[job, started_child, waiting_child, old_revision])
    clock = HandClock()
    worker = stand_in(clock=clock)
    assert worker.step().job["_id"] == job["_id"]  # type: ignore[index]
    clock.advance(2.0)
    assert worker.step().children == 6
    assert queue_db["jobsBlue"].count_documents({"type": "config-split-names"}) == 1
    assert queue_db["jobsBlue"].count_documents({"type": "dataset-info"}) == 1
    assert sorted(job["revision"] for job in queue_db["jobsBlue"].find({"type": "dataset-size"})) == sorted(
        [SHA, OLD_SHA]
    )
    assert rows_match_the_recount(cache_db, queue_db)
    assert duplicate_waiting_jobs(queue_db) == {}


@pytest.mark.parametrize(("dataset_size", "difficulty"), [(3_000_000_000, 90), (2_999_999_999, 70)])
def test_split_children_get_the_bonus_when_the_config_has_at_least_3e9_bytes(
    cache_db: Any, queue_db: Any, dataset_size: int, difficulty: int
) -> None:
    info = {"dataset_info": {"dataset_size": dataset_size, "splits": {}}, "partial": False}
    arrange(
        cache_db,
        queue_db,
        jobs=[upstream_job(job_type="config-parquet-metadata", dataset=DATASET, config="default", difficulty=50)],
        entries=[
            entry("config-info", config="default", content=info),
            entry("config-split-names", config="default", content=splits_of("default", ["train", "test"])),
            entry("config-parquet", config="default"),
        ],
    )
    clock = HandClock()
    worker = stand_in(clock=clock)
    worker.step()
    clock.advance(2.0)
    worker.step()
    children = jobs_as(queue_db, "type", "split", "difficulty")
    assert ("split-descriptive-statistics", "test", difficulty) in children
    assert ("split-descriptive-statistics", "train", difficulty) in children
    assert ("split-first-rows", "train", 70) in children  # no bonus for that step
    assert {split for _, split, _ in children} == {"train", "test"}


# --- pastJobs and blocking ---------------------------------------------------------------------


def test_a_dataset_over_7200_s_of_compute_in_the_last_hour_is_blocked_and_leaves_the_worker_counts(
    cache_db: Any, queue_db: Any
) -> None:
    now = mongo.utc_now()
    queue_db["pastJobs"].insert_many(
        [
            {"dataset": DATASET, "duration": 7_100, "finished_at": now - timedelta(minutes=10)},
            {"dataset": DATASET, "duration": 9_000, "finished_at": now - timedelta(hours=2)},  # not in the hour
            {"dataset": "other/ds", "duration": 9_000, "finished_at": now},
        ]
    )
    job = upstream_job(job_type="dataset-size", dataset=DATASET, created_at=at(-5), difficulty=20)
    also_waiting = upstream_job(job_type="dataset-parquet", dataset=DATASET, difficulty=20)
    arrange(cache_db, queue_db, jobs=[job, also_waiting])
    clock = HandClock()
    worker = stand_in("light", clock=clock)
    worker.step()
    clock.advance(2.0)
    assert worker.step().blocked  # 7,100 + 120 > 7,200
    [blockage] = queue_db["datasetBlockages"].find({}, {"_id": 0})
    assert (list(blockage), blockage["dataset"]) == (["dataset", "blocked_at"], DATASET)
    assert metric_rows(cache_db, queue_db)["workerTypeJobCounts"] == Counter()  # its waiting jobs left the counts
    assert rows_match_the_recount(cache_db, queue_db)
    assert worker.step().action == "idle"  # nothing else but the blocked dataset's jobs
    job_services.record_past_job(dataset=DATASET, duration_seconds=500, finished_at=mongo.utc_now())
    assert job_services.block_dataset_over_budget(dataset=DATASET) is False  # blocked once
    assert queue_db["datasetBlockages"].count_documents({}) == 1


def test_a_runaway_job_alone_blocks_its_dataset(cache_db: Any, queue_db: Any) -> None:
    arrange(cache_db, queue_db, jobs=[upstream_job(job_type="dataset-size", dataset=DATASET, difficulty=20)])
    clock = HandClock()
    worker = stand_in(
        "light", clock=clock, settings=FleetSettings(job_seconds=(2.0, 2.0), **{**_QUIET_RATES, "runaway_rate": 1.0})
    )
    worker.step()
    clock.advance(2.0)
    assert worker.step().blocked
    [past] = queue_db["pastJobs"].find()
    assert 7_380 <= past["duration"] <= 10_800


# --- a worker that dies ------------------------------------------------------------------------


def test_a_worker_that_dies_leaves_its_job_started_without_heartbeats_and_goes_on(cache_db: Any, queue_db: Any) -> None:
    first = upstream_job(job_type="dataset-size", dataset=DATASET, created_at=at(0), difficulty=20)
    second = upstream_job(job_type="dataset-parquet", dataset=DATASET, created_at=at(1), difficulty=20)
    arrange(cache_db, queue_db, jobs=[first, second])
    clock = HandClock()
    worker = stand_in(
        "light", clock=clock, settings=FleetSettings(job_seconds=(2.0, 2.0), **{**_QUIET_RATES, "death_rate": 1.0})
    )
    assert worker.step().job["_id"] == first["_id"]  # type: ignore[index]
    clock.advance(1.0)
    assert worker.step().action == "beat"
    clock.advance(1.0)
    assert worker.step().action == "died"
    beaten = queue_db["jobsBlue"].find_one({"_id": first["_id"]})
    assert worker.step().job["_id"] == second["_id"]  # type: ignore[index]
    for _ in range(2):
        clock.advance(1.0)
        worker.step()
    dead = queue_db["jobsBlue"].find_one({"_id": first["_id"]})
    assert (dead["status"], dead["last_heartbeat"]) == ("started", beaten["last_heartbeat"])
    assert cache_db["cachedResponsesBlue"].count_documents({}) == 0
    assert rows_match_the_recount(cache_db, queue_db)


def test_a_worker_whose_job_was_removed_meanwhile_writes_nothing(cache_db: Any, queue_db: Any) -> None:
    arrange(cache_db, queue_db, jobs=[upstream_job(job_type="dataset-size", dataset=DATASET, difficulty=20)])
    clock = HandClock()
    worker = stand_in("light", clock=clock)
    started = worker.step().job
    assert started is not None
    queue_db["jobsBlue"].delete_one({"_id": started["_id"]})  # as a requeue of a stale job would
    clock.advance(2.0)
    assert worker.step().action == "lost"
    assert cache_db["cachedResponsesBlue"].count_documents({}) == 0


def test_a_stopped_worker_marks_its_job_terminated(cache_db: Any, queue_db: Any) -> None:
    arrange(cache_db, queue_db, jobs=[upstream_job(job_type="dataset-size", dataset=DATASET, difficulty=20)])
    worker = stand_in("light", clock=HandClock())
    started = worker.step().job
    assert worker.stop() == started
    [job] = queue_db["jobsBlue"].find()
    assert (job["status"], job["terminated_at"] >= job["started_at"]) == ("started", True)


# --- many steps of a whole fleet ---------------------------------------------------------------


def test_after_hundreds_of_steps_of_a_fleet_the_metric_rows_equal_a_recount(cache_db: Any, queue_db: Any) -> None:
    seed_world(datasets=6, jobs=80, seed=5)
    assert rows_match_the_recount(cache_db, queue_db)
    settings = FleetSettings(
        workers=WorkerCounts(2, 2, 1),
        failure_rate=0.3,
        death_rate=0.05,
        runaway_rate=0.02,
        job_seconds=(0.5, 3.0),
        world_seed=5,
    )
    clock = HandClock()
    began = mongo.utc_now()
    workers = fleet_workers(settings, seed=11)
    for worker in workers:
        worker.clock = clock
    actions: Counter[str] = Counter()
    for _ in range(300):
        for worker in workers:
            step = worker.step()
            actions[step.action] += 1
            actions["blocked"] += step.blocked
        clock.advance(0.5)
    assert actions["finished"] > 50 and actions["died"] > 0 and actions["blocked"] > 0, actions
    assert rows_match_the_recount(cache_db, queue_db)
    assert duplicate_waiting_jobs(queue_db) == {}
    # what the fleet wrote for the world's datasets is what the world holds for them
    plans = {plan.name: plan for plan in (plan_dataset(index, 5) for index in range(6))}
    written = list(cache_db["cachedResponsesBlue"].find({"http_status": 200, "updated_at": {"$gte": began}}))
    assert len(written) > 20
    for cache_entry in written:
        plan = plans[cache_entry["dataset"]]
        kind = processing_graph().steps_by_name[cache_entry["kind"]]
        config, split = cache_entry.get("config"), cache_entry.get("split")
        if config is None or config in {item.name for item in plan.configs}:
            assert cache_entry["content"] == success_content(plan, kind, config, split), cache_entry["kind"]


def test_a_job_the_fleet_cannot_run_is_dropped_as_a_crash_and_the_worker_goes_on(cache_db: Any, queue_db: Any) -> None:
    """A job of a step the graph lacks: the worker's thread reports it, leaves it started, and lives on."""
    job = upstream_job(job_type="no-such-step", dataset=DATASET, difficulty=20)
    arrange(cache_db, queue_db, jobs=[job])
    worker = stand_in("light", clock=HandClock(), settings=FleetSettings(job_seconds=(0.0, 0.0), **_QUIET_RATES))
    stop = threading.Event()
    lines: list[str] = []

    def report(line: str) -> None:
        lines.append(line)
        stop.set()  # one line is all this test waits for

    work_until_stopped(worker, stop, FleetTally(), report)
    assert lines == [f"stand-in worker light-1 crashed on {job['unicity_id']}: KeyError: 'no-such-step'"]
    assert (worker.running, queue_db["jobsBlue"].find_one()["status"]) == (None, "started")
