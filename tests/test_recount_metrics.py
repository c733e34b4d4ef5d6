"""`manage.py recount_metrics [--dry-run]`: the metric rows recomputed from the documents, as the collectors do.

The repair of issue 23 ("after any fault, a rerun or the metric recount repairs the rows"): the
rows are compared with `tests.support.metric_recount`, an oracle written from the other
services' collectors (every job by type, status and blocked-or-not; every job of a dataset not
blocked with 0 < difficulty <= 100 by worker size; cache entries by kind, status and error).
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.support.metric_recount import rows_off
from tests.support.write_helpers import A_DATE, upstream_cache_entry, upstream_job


def run(*args: str) -> tuple[int, str]:
    """(exit status, output) of the command."""
    out = StringIO()
    try:
        call_command("recount_metrics", *args, stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def drifting_world(cache_db: Any, queue_db: Any) -> None:
    """Documents, and metric rows off them in every way a row can be off."""
    cache_db["cachedResponsesBlue"].insert_many(
        [
            upstream_cache_entry(kind="dataset-info", dataset="org/a"),
            upstream_cache_entry(kind="dataset-info", dataset="org/b"),
            upstream_cache_entry(kind="dataset-info", dataset="org/c", http_status=500, error_code="X"),
        ]
    )
    cache_db["cacheTotalMetric"].insert_many(
        [
            {"kind": "dataset-info", "http_status": 200, "total": 5, "created_at": A_DATE},  # 3 too high
            # ("dataset-info", 500, "X") has no row: 1 too low
            {"kind": "config-info", "http_status": 200, "total": 2, "created_at": A_DATE},  # counts nothing
            {"kind": "config-size", "http_status": 200, "total": 0, "created_at": A_DATE},  # obsolete, at 0
        ]
    )
    queue_db["jobsBlue"].insert_many(
        [
            upstream_job(job_type="dataset-init", dataset="org/a", difficulty=50),
            upstream_job(job_type="split-first-rows", dataset="org/a", config="c", split="s", status="started"),
            upstream_job(job_type="config-parquet", dataset="org/blocked", config="c", difficulty=20),
            upstream_job(job_type="dataset-filetypes", dataset="org/a", difficulty=0),
        ]
    )
    queue_db["datasetBlockages"].insert_one({"dataset": "org/blocked", "blocked_at": datetime.now(UTC)})
    queue_db["jobTotalMetric"].insert_many(
        [
            {"job_type": "dataset-init", "status": "waiting", "dataset_status": "normal", "total": 1},
            # the writers count a blocked dataset's job as "normal": the collector puts it apart
            {"job_type": "config-parquet", "status": "waiting", "dataset_status": "normal", "total": 1},
            {"job_type": "dataset-filetypes", "status": "waiting", "dataset_status": "normal", "total": -2},
        ]
    )
    queue_db["workerTypeJobCounts"].insert_many(
        [{"worker_size": "light", "jobs_count": 3}, {"worker_size": "medium", "jobs_count": 1}]
    )


DRIFT_LINES = [
    "cacheTotalMetric kind=config-info, http_status=200, error_code=None: row 2, recount nothing (obsolete row) (+2)",
    "cacheTotalMetric kind=config-size, http_status=200, error_code=None: row 0, recount nothing (obsolete row) (+0)",
    "cacheTotalMetric kind=dataset-info, http_status=200, error_code=None: row 5, recount 2 (+3)",
    "cacheTotalMetric kind=dataset-info, http_status=500, error_code=X: row no row, recount 1 (-1)",
    "jobTotalMetric job_type=config-parquet, status=waiting, dataset_status=blocked: row no row, recount 1 (-1)",
    "jobTotalMetric job_type=config-parquet, status=waiting, dataset_status=normal: row 1, recount nothing"
    " (obsolete row) (+1)",
    "jobTotalMetric job_type=dataset-filetypes, status=waiting, dataset_status=normal: row -2, recount 1 (-3)",
    "jobTotalMetric job_type=split-first-rows, status=started, dataset_status=normal: row no row, recount 1 (-1)",
    "workerTypeJobCounts worker_size=heavy: row no row, recount 0 (+0)",
    "workerTypeJobCounts worker_size=light: row 3, recount 0 (+3)",
    "workerTypeJobCounts worker_size=medium: row 1, recount 2 (-1)",
]


def test_a_dry_run_prints_how_far_off_each_row_is_changes_nothing_and_exits_2(
    cache_db: Any, queue_db: Any, drifting_world: None
) -> None:
    before = rows_off(cache_db, queue_db)
    assert len([row for rows in before.values() for row in rows]) == 9

    status, output = run("--dry-run")

    assert status == 2
    assert output.splitlines() == [
        *DRIFT_LINES,
        "9 rows off the recount (drift 16 in all); dry run, nothing changed",
    ]
    assert rows_off(cache_db, queue_db) == before
    assert list(queue_db["adminActions"].find()) == []


def test_a_run_sets_every_row_to_the_recount_as_the_collectors_would(
    cache_db: Any, queue_db: Any, drifting_world: None
) -> None:
    status, output = run()

    assert status == 0
    expected = [
        line + (": row removed" if "obsolete" in line else ": set to " + line.split("recount ")[1].split(" ")[0])
        for line in DRIFT_LINES
    ]
    assert output.splitlines() == [*expected, "9 rows off the recount (drift 16 in all): set to the recount"]
    assert rows_off(cache_db, queue_db) == {}
    assert [row["kind"] for row in cache_db["cacheTotalMetric"].find({"kind": {"$ne": "dataset-info"}})] == []
    sizes = {row["worker_size"]: row["jobs_count"] for row in queue_db["workerTypeJobCounts"].find()}
    assert sizes == {"light": 0, "medium": 2, "heavy": 0}
    [action] = list(queue_db["adminActions"].find())
    assert (action["action"], action["outcome"], action["result"]) == (
        "recount-metrics",
        "ok",
        {"rows_off": 9, "total_drift": 16, "rows_left": 0},
    )
    assert action["actor"].startswith("command:")

    assert run() == (0, "every metric row equals the recount\n")
    assert run("--dry-run") == (0, "every metric row equals the recount (dry run, nothing changed)\n")


def test_a_row_that_moves_while_it_is_counted_is_left_and_the_run_exits_2(
    cache_db: Any, queue_db: Any, drifting_world: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's `$inc` landing during the count: the row's drift cannot be told apart from it."""
    from jobs import selectors

    count = selectors.jobs_by_metric_row

    def count_while_a_worker_writes() -> Any:
        queue_db["jobTotalMetric"].update_one({"job_type": "dataset-init"}, {"$inc": {"total": 1}})
        return count()

    monkeypatch.setattr(selectors, "jobs_by_metric_row", count_while_a_worker_writes)
    status, output = run()

    assert status == 2
    line = "jobTotalMetric job_type=dataset-init, status=waiting, dataset_status=normal: row 2, recount 1 (+1)"
    assert f"{line}: moved while counted, left as it is" in output.splitlines()
    assert output.splitlines()[-1] == ("10 rows off the recount; set to it except 1 row that moved while counted")
    assert queue_db["jobTotalMetric"].find_one({"job_type": "dataset-init"})["total"] == 2
    assert list(rows_off(cache_db, queue_db)) == ["jobTotalMetric"]
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["result"]["rows_left"]) == ("partial", 1)
