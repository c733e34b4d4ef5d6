"""One shape per entity: the dataset page and the JSON API get the same typed job rows (datetimes, not strings)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.test import Client

from datasets import selectors
from jobs.rows import Job
from tests.support.write_helpers import upstream_job

DATASET = "org/ds"


def test_the_page_and_the_api_read_the_same_job_rows_and_only_the_api_writes_json(queue_db: Any) -> None:
    created = datetime(2026, 12, 1, 19, 11, 38, 507000)
    document = upstream_job(job_type="dataset-config-names", dataset=DATASET, created_at=created, difficulty=50)
    queue_db["jobsBlue"].insert_one(document)
    expected = Job(
        id=str(document["_id"]),
        type="dataset-config-names",
        dataset=DATASET,
        revision=document["revision"],
        config=None,
        split=None,
        unicity_id=document["unicity_id"],
        namespace="org",
        priority="low",
        status="waiting",
        difficulty=50,
        created_at=created.replace(tzinfo=UTC),
        started_at=None,
        last_heartbeat=None,
    )
    assert selectors.dataset_status(dataset=DATASET)["dataset-config-names"]["jobs"] == [expected]
    [row] = [
        row for section in selectors.dataset_overview(dataset=DATASET).sections for row in section.rows if row.jobs
    ]
    assert row.jobs == [expected]
    answer = Client().get(f"/admin/dataset-status?dataset={DATASET}")
    assert answer.json()["dataset-config-names"]["jobs"][0]["created_at"] == "2026-12-01T19:11:38.507000"
    assert Client().get("/admin/pending-jobs").json()["dataset-config-names"]["waiting"][0]["created_at"] == (
        "2026-12-01T19:11:38.507000"
    )
