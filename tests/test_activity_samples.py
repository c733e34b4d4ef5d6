"""Activity samples: one sample of the queue and the cache per interval, however many collectors run.

A round of `collect_counts` takes the sample of the interval that holds now
(ADMIN_ACTIVITY_SAMPLE_SECONDS) into `adminActivitySamples`, from the metric rows and a few
indexed counts; a second round, or a second collector, in the same interval takes none. The
activity page reads the samples of a window as rows. Samples past ADMIN_ACTIVITY_RETENTION_DAYS
are dropped.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from foundation.database import mongo
from jobs.documents import job_document
from overview import activity
from overview.activity import ActivitySample, activity_samples, activity_samples_of_the_last, take_activity_sample
from tests.test_server import PROJECT_ROOT, server_environment

T0 = datetime(2024, 6, 1, 12, 0, 30, tzinfo=UTC)
"""Half a minute into the interval of 12:00 (samples every 60 s by default)."""
INTERVAL = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
WAIT_SECONDS = 30  # only a hung thread ever waits this long


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The console's clock (`mongo.utc_now`), moved by hand."""
    moment = [T0]
    monkeypatch.setattr(mongo, "utc_now", lambda: moment[0])
    return moment


def job(dataset: str, *, status: str, created_at: datetime, priority: str = "low", **times: datetime) -> Any:
    return job_document(
        job_type="dataset-config-names",
        dataset=dataset,
        revision="r",
        config=None,
        split=None,
        priority=priority,
        status=status,
        difficulty=50,
        created_at=created_at,
        **times,
    )


def seed_system(cache_db: Any, queue_db: Any) -> None:
    """Metric rows as the workers keep them, a few jobs, two blocked datasets."""
    queue_db["jobTotalMetric"].insert_many(
        [
            {"job_type": "dataset-config-names", "status": "waiting", "dataset_status": "normal", "total": 7},
            {"job_type": "config-info", "status": "waiting", "dataset_status": "blocked", "total": 2},
            {"job_type": "config-info", "status": "started", "dataset_status": "normal", "total": 3},
            {"job_type": "split-first-rows", "status": "waiting", "dataset_status": "normal", "total": -1},  # drift
        ]
    )
    queue_db["workerTypeJobCounts"].insert_many(
        [{"worker_size": "light", "jobs_count": 4}, {"worker_size": "medium", "jobs_count": 5}]
    )
    cache_db["cacheTotalMetric"].insert_many(
        [
            {"kind": "dataset-config-names", "http_status": 200, "total": 40},
            {"kind": "config-info", "http_status": 200, "total": 30},
            {"kind": "config-info", "http_status": 500, "error_code": "E", "total": 6},
            {"kind": "config-info", "http_status": 404, "error_code": "F", "total": 0},
        ]
    )
    queue_db["jobsBlue"].insert_many(
        [
            job("org/old-normal", status="waiting", priority="normal", created_at=T0 - timedelta(hours=5)),
            job("org/older-low", status="waiting", created_at=T0 - timedelta(hours=6)),
            job("org/new-high", status="waiting", priority="high", created_at=T0 - timedelta(minutes=1)),
            job(
                "org/lost",
                status="started",
                created_at=T0 - timedelta(days=1),
                started_at=T0 - timedelta(hours=1),
                last_heartbeat=T0 - timedelta(minutes=10),
            ),
            job(
                "org/alive",
                status="started",
                created_at=T0 - timedelta(days=1),
                started_at=T0 - timedelta(hours=1),
                last_heartbeat=T0 - timedelta(seconds=30),
            ),
        ]
    )
    terminated = job(
        "org/terminated",
        status="started",
        created_at=T0 - timedelta(days=1),
        started_at=T0 - timedelta(hours=1),
        last_heartbeat=T0 - timedelta(seconds=30),
    )
    queue_db["jobsBlue"].insert_one(terminated | {"terminated_at": T0 - timedelta(minutes=6)})
    queue_db["datasetBlockages"].insert_many(
        [
            {"dataset": "spam/a", "blocked_at": T0 - timedelta(minutes=5)},
            {"dataset": "spam/a", "blocked_at": T0 - timedelta(minutes=50)},
            {"dataset": "spam/b", "blocked_at": T0 - timedelta(hours=2)},
        ]
    )


def collect() -> list[str]:
    out = StringIO()
    call_command("collect_counts", stdout=out)
    return out.getvalue().splitlines()


def test_a_round_takes_the_sample_of_its_interval(cache_db: Any, queue_db: Any, now: list[datetime]) -> None:
    seed_system(cache_db, queue_db)

    lines = collect()

    assert lines[0] == "activity sample: the interval of 2024-06-01 12:00:00Z: taken"
    assert list(queue_db["adminActivitySamples"].find()) == [
        {
            "_id": INTERVAL,
            "interval_seconds": 60,
            "taken_at": T0,
            "jobs": {"waiting": 9, "started": 3},
            "waiting_jobs_by_worker_size": {"light": 4, "medium": 5, "heavy": 0},
            "cache_entries_by_http_status": {"200": 70, "500": 6},
            "oldest_waiting_job_created_at": T0 - timedelta(hours=6),
            "stale_jobs": 2,
            "blocked_datasets": 2,
        }
    ]


def test_a_sample_reads_the_metric_rows_and_indexed_counts_only(
    cache_db: Any, queue_db: Any, db_commands: Any, now: list[datetime]
) -> None:
    seed_system(cache_db, queue_db)
    db_commands.collections.clear()
    activity.measure_activity(taken_at=T0, start=INTERVAL, interval_seconds=60)
    assert db_commands.collections == [
        ("find", "jobTotalMetric"),
        ("find", "workerTypeJobCounts"),
        ("find", "cacheTotalMetric"),
        ("find", "jobsBlue"),  # the oldest waiting job: one seek per priority on (priority, status, created_at)
        ("find", "jobsBlue"),
        ("find", "jobsBlue"),
        ("aggregate", "jobsBlue"),  # the stale jobs: a count of the started ones, index (status, type)
        ("distinct", "datasetBlockages"),  # index (dataset)
    ]


def test_a_second_round_in_the_same_interval_takes_none_and_the_next_interval_gets_its_own(
    cache_db: Any, queue_db: Any, db_commands: Any, now: list[datetime]
) -> None:
    seed_system(cache_db, queue_db)
    collect()
    now[0] = T0 + timedelta(seconds=20)
    db_commands.collections.clear()
    assert collect()[0] == "activity sample: the interval of 2024-06-01 12:00:00Z: already taken by another collector"
    assert ("find", "jobTotalMetric") not in db_commands.collections  # found taken: nothing read

    now[0] = T0 + timedelta(seconds=40)  # 12:01:10
    assert collect()[0] == "activity sample: the interval of 2024-06-01 12:01:00Z: taken"
    assert [sample["_id"] for sample in queue_db["adminActivitySamples"].find().sort("_id", 1)] == [
        INTERVAL,
        INTERVAL + timedelta(minutes=1),
    ]


def test_two_collectors_racing_for_one_interval_take_one_sample(
    cache_db: Any, queue_db: Any, now: list[datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both find the interval free and read; held at a barrier there, both insert: one wins, one is told."""
    seed_system(cache_db, queue_db)
    barrier = threading.Barrier(2)
    measure = activity.measure_activity

    def measure_at_the_barrier(**arguments: Any) -> ActivitySample:
        barrier.wait(WAIT_SECONDS)  # both collectors have found no sample of the interval
        return measure(**arguments)

    monkeypatch.setattr(activity, "measure_activity", measure_at_the_barrier)
    outcomes: list[str] = []

    def collector() -> None:
        outcomes.append(str(take_activity_sample(now=T0, interval_seconds=60)))

    threads = [threading.Thread(target=collector) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert sorted(outcomes) == [
        "the interval of 2024-06-01 12:00:00Z: already taken by another collector",
        "the interval of 2024-06-01 12:00:00Z: taken",
    ]
    assert queue_db["adminActivitySamples"].count_documents({}) == 1


def test_two_collector_processes_take_one_sample_per_interval_between_them(
    settings: Any, queue_db: Any, tmp_path: Any
) -> None:
    config = settings.ADMIN
    environ = server_environment(
        CACHE_MONGO_URL=config.cache_mongo_url,
        QUEUE_MONGO_URL=config.queue_mongo_url,
        CACHE_MONGO_DATABASE=config.cache_mongo_database,
        QUEUE_MONGO_DATABASE=config.queue_mongo_database,
        ADMIN_ACTIVITY_SAMPLE_SECONDS="3600",  # both start within the hour, or each names its own
    )
    command = [sys.executable, "manage.py", "collect_counts"]
    processes = [
        subprocess.Popen(command, cwd=PROJECT_ROOT, env=environ, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    sample_lines = []
    for process in processes:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        sample_lines += [line for line in output.splitlines() if line.startswith("activity sample: ")]
    taken_in = {line.split(": ")[1] for line in sample_lines if line.endswith(": taken")}
    named = {line.split(": ")[1] for line in sample_lines}
    assert len(sample_lines) == 2
    assert taken_in == named  # each interval named got its sample, from one process only
    assert sum(line.endswith(": taken") for line in sample_lines) == len(named)
    assert queue_db["adminActivitySamples"].count_documents({}) == len(named)


def test_the_activity_page_reads_the_samples_of_a_window_as_rows(
    cache_db: Any, queue_db: Any, now: list[datetime]
) -> None:
    seed_system(cache_db, queue_db)
    for minutes in (0, 1, 2, 61):
        now[0] = T0 + timedelta(minutes=minutes)
        take_activity_sample(now=now[0], interval_seconds=60)

    samples = activity_samples(since=INTERVAL + timedelta(minutes=1), until=INTERVAL + timedelta(minutes=61))
    assert [sample.interval_start for sample in samples] == [
        INTERVAL + timedelta(minutes=1),
        INTERVAL + timedelta(minutes=2),
    ]
    sample = samples[0]
    assert sample == ActivitySample(
        interval_start=INTERVAL + timedelta(minutes=1),
        interval_seconds=60,
        taken_at=T0 + timedelta(minutes=1),
        jobs_by_status={"waiting": 9, "started": 3},
        waiting_jobs_by_worker_size={"light": 4, "medium": 5, "heavy": 0},
        cache_entries_by_http_status={200: 70, 500: 6},
        oldest_waiting_job_created_at=T0 - timedelta(hours=6),
        stale_jobs=2,
        blocked_datasets=2,
    )
    assert sample.oldest_waiting_seconds == (6 * 60 + 1) * 60
    assert (sample.cache_entries, sample.cache_error_entries) == (76, 6)
    last_hour = activity_samples_of_the_last(3600, now=T0 + timedelta(minutes=61))
    assert [sample.interval_start for sample in last_hour] == [
        INTERVAL + timedelta(minutes=2),
        INTERVAL + timedelta(minutes=61),
    ]


def test_samples_older_than_the_retention_are_dropped_by_a_round(
    queue_db: Any, now: list[datetime], settings: Any
) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, activity_retention_days=14)
    for days in (15, 14, 13):
        taken_at = T0 - timedelta(days=days, seconds=1)
        queue_db["adminActivitySamples"].insert_one({"_id": taken_at, "interval_seconds": 60, "taken_at": taken_at})
    lines = collect()
    assert "expired activity samples: 2 older than 14 days deleted" in lines
    remaining = [sample["_id"] for sample in queue_db["adminActivitySamples"].find().sort("_id", 1)]
    assert remaining == [T0 - timedelta(days=13, seconds=1), INTERVAL]
