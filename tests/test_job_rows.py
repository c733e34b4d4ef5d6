"""One shape per entity: the dataset page and the JSON API get the same typed job rows (datetimes, not strings)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.test import Client

from datasetops import selectors
from jobs.rows import Job, job_row
from jobs.serializers import job_dict, job_document_dict
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


@pytest.mark.parametrize(
    "document",
    [
        {"type": "dataset-config-names", "dataset": DATASET},  # every optional field missing
        {
            "type": "split-first-rows",
            "dataset": DATASET,
            "revision": "3e4f",
            "config": "default",
            "split": "train",
            "unicity_id": "split-first-rows,org/ds,default,train",
            "namespace": "org",
            "priority": "high",
            "status": "started",
            "difficulty": 70.0,
            "created_at": datetime(2026, 12, 1, 19, 11, 38, 507000),
            "started_at": datetime(2026, 12, 1, 19, 12, tzinfo=UTC),
            "last_heartbeat": datetime(2026, 12, 1, 21, 12, tzinfo=timezone(timedelta(hours=2))),
        },
        {"type": "dataset-info", "dataset": DATASET, "difficulty": 20.5, "created_at": "2026-12-01", "status": None},
    ],
)
def test_a_job_document_gives_the_dict_of_its_row(document: dict[str, Any]) -> None:
    """pending-jobs writes job documents without building rows: the same dict as through a row."""
    assert job_document_dict(document) == job_dict(job_row(document))


def test_a_job_dict_is_the_contract_s_shape_written_out() -> None:
    """The expected dict is written out here, not computed by the code under test (REFERENCE.md's job dict)."""
    document = {
        "_id": "6745f1c2a9b8c7d6e5f4a3b2",
        "type": "split-first-rows",
        "dataset": DATASET,
        "revision": "3e4f",
        "config": "default",
        "split": "train",
        "unicity_id": "split-first-rows,org/ds,3e4f,default,train",
        "namespace": "org",
        "priority": "high",
        "status": "started",
        "difficulty": 70.0,
        "created_at": datetime(2026, 12, 1, 19, 11, 38, 507000, tzinfo=UTC),
        "started_at": datetime(2026, 12, 1, 19, 12, tzinfo=UTC),
    }
    expected = {
        "type": "split-first-rows",
        "dataset": DATASET,
        "revision": "3e4f",
        "config": "default",
        "split": "train",
        "unicity_id": "split-first-rows,org/ds,3e4f,default,train",
        "namespace": "org",
        "priority": "high",
        "status": "started",
        "difficulty": 70,
        "created_at": "2026-12-01T19:11:38.507000",
        "started_at": "2026-12-01T19:12:00",
        "last_heartbeat": None,
    }
    assert job_dict(job_row(document)) == expected
    assert job_document_dict(document) == expected
