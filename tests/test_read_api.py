"""The read routes: exact JSON against documents written as the other services write them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import pytest
from bson import ObjectId
from django.test import Client

from cachereports import apis as cache_apis
from cachereports.documents import cache_entry_document
from cachereports.rows import cache_entry_row
from cachereports.selectors import reports
from foundation.core.processing_graph import processing_graph
from jobs.documents import job_document
from tests.support.read_routes import READ_ROUTES

REVISION = "a" * 40
T0 = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
T1 = datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
ERROR_DETAILS = {
    "error": "Cannot load the dataset split.",
    "cause_exception": "FileNotFoundError",
    "cause_message": "Couldn't find a dataset script",
    "cause_traceback": ["Traceback (most recent call last):\n", "FileNotFoundError\n"],
}


def empty_report(**fields: Any) -> dict[str, Any]:
    return {
        "kind": None,
        "dataset": None,
        "config": None,
        "split": None,
        "http_status": None,
        "error_code": None,
        "details": {},
        "updated_at": None,
        "job_runner_version": None,
        "dataset_git_revision": None,
        "progress": None,
        "failed_runs": 0,
        **fields,
    }


def job(**fields: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "config": None,
        "split": None,
        "revision": REVISION,
        "priority": "low",
        "status": "waiting",
        "difficulty": 50,
        "created_at": T0,
        **fields,
    }
    return job_document(**arguments)


# --- dataset-status -------------------------------------------------------------------------


def test_dataset_status_lists_every_step_alphabetically_with_reports_and_jobs(client: Client, cache_db, queue_db):
    cache_db["cachedResponsesBlue"].insert_many(
        [
            # written by an old worker: no job_runner_version, no progress, no failed_runs
            {
                "kind": "dataset-config-names",
                "dataset": "org/ds",
                "http_status": 200,
                "content": {"config_names": [{"dataset": "org/ds", "config": "default"}]},
                "dataset_git_revision": REVISION,
                "updated_at": T0,
            },
            cache_entry_document(
                kind="config-parquet-and-info",
                dataset="org/ds",
                config="default",
                http_status=HTTPStatus.NOT_IMPLEMENTED,
                error_code="DatasetTooBigFromHubError",
                content={"error": "too big"},
                dataset_git_revision=REVISION,
                job_runner_version=4,
                failed_runs=2,
                details=ERROR_DETAILS,
                updated_at=T1,
                duration=1.5,
            ),
            cache_entry_document(
                kind="split-first-rows",
                dataset="org/ds",
                config="default",
                split="train",
                content={"rows": []},
                dataset_git_revision=REVISION,
                progress=0.5,
                job_runner_version=4,
                updated_at=T1,
            ),
            cache_entry_document(
                kind="split-first-rows",
                dataset="org/ds",
                config="default",
                split="test",
                dataset_git_revision=REVISION,
                progress=1,  # an int, as a worker may store it: shown as the float 1.0
                job_runner_version=4,
                updated_at=T1,
            ),
            # another dataset, and a kind that is not a step: never shown
            cache_entry_document(kind="dataset-config-names", dataset="org/other", updated_at=T1),
            cache_entry_document(kind="old-removed-step", dataset="org/ds", updated_at=T1),
        ]
    )
    queue_db["jobsBlue"].insert_many(
        [
            job(job_type="dataset-info", dataset="org/ds", priority="high"),
            job(
                job_type="config-parquet",
                dataset="org/ds",
                config="default",
                status="started",
                difficulty=20,
                started_at=T1,
                last_heartbeat=T1,
            ),
            job(job_type="dataset-info", dataset="org/other"),
            {**job(job_type="dataset-size", dataset="org/ds"), "status": "success", "finished_at": T1},
        ]
    )

    response = client.get("/admin/dataset-status", {"dataset": "org/ds"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "max-age=10"
    body = response.json()
    assert list(body) == sorted(step.name for step in processing_graph())
    assert len(body) == 29
    expected_non_empty = {
        "dataset-config-names": {
            "cached_responses": [
                empty_report(
                    kind="dataset-config-names",
                    dataset="org/ds",
                    http_status=200,
                    updated_at="2024-01-02T03:04:05.678000",
                    dataset_git_revision=REVISION,
                )
            ],
            "jobs": [],
        },
        "config-parquet-and-info": {
            "cached_responses": [
                empty_report(
                    kind="config-parquet-and-info",
                    dataset="org/ds",
                    config="default",
                    http_status=501,
                    error_code="DatasetTooBigFromHubError",
                    details=ERROR_DETAILS,
                    updated_at="2024-02-03T04:05:06.789000",
                    job_runner_version=4,
                    dataset_git_revision=REVISION,
                    failed_runs=2,
                )
            ],
            "jobs": [],
        },
        "split-first-rows": {
            "cached_responses": [
                empty_report(
                    kind="split-first-rows",
                    dataset="org/ds",
                    config="default",
                    split=split,
                    http_status=200,
                    updated_at="2024-02-03T04:05:06.789000",
                    job_runner_version=4,
                    dataset_git_revision=REVISION,
                    progress=progress,
                )
                for split, progress in (("train", 0.5), ("test", 1.0))  # in _id order, as written
            ],
            "jobs": [],
        },
        "dataset-info": {
            "cached_responses": [],
            "jobs": [
                {
                    "type": "dataset-info",
                    "dataset": "org/ds",
                    "revision": REVISION,
                    "config": None,
                    "split": None,
                    "unicity_id": f"dataset-info,org/ds,{REVISION}",
                    "namespace": "org",
                    "priority": "high",
                    "status": "waiting",
                    "difficulty": 50,
                    "created_at": "2024-01-02T03:04:05.678000",
                    "started_at": None,
                    "last_heartbeat": None,
                }
            ],
        },
        "config-parquet": {
            "cached_responses": [],
            "jobs": [
                {
                    "type": "config-parquet",
                    "dataset": "org/ds",
                    "revision": REVISION,
                    "config": "default",
                    "split": None,
                    "unicity_id": f"config-parquet,org/ds,{REVISION},default",
                    "namespace": "org",
                    "priority": "low",
                    "status": "started",
                    "difficulty": 20,
                    "created_at": "2024-01-02T03:04:05.678000",
                    "started_at": "2024-02-03T04:05:06.789000",
                    "last_heartbeat": "2024-02-03T04:05:06.789000",
                }
            ],
        },
    }
    for step, status in body.items():
        assert status == expected_non_empty.get(step, {"cached_responses": [], "jobs": []}), step


def test_dataset_status_of_an_unknown_dataset_lists_every_step_empty(client: Client):
    response = client.get("/admin/dataset-status", {"dataset": "nobody/nothing"})
    assert response.status_code == 200
    assert response.json() == {step.name: {"cached_responses": [], "jobs": []} for step in processing_graph()}


@pytest.mark.parametrize("query", [{}, {"dataset": "   "}])
def test_dataset_status_without_dataset_is_422_missing_parameter(client: Client, query, db_commands):
    response = client.get("/admin/dataset-status", query)
    assert response.status_code == 422
    assert response["X-Error-Code"] == "MissingRequiredParameter"
    assert response.json() == {"error": "Parameter 'dataset' is required"}
    assert response["Cache-Control"] == "max-age=10"
    assert db_commands.commands == []


@pytest.mark.parametrize("dataset", ["../x", "a/b/c", "org/..", "org/", "/ds", "-ds", "ds.", "a..b", "x" * 10_000])
def test_dataset_status_of_an_invalid_name_is_422_and_touches_nothing(client: Client, dataset, db_commands):
    response = client.get("/admin/dataset-status", {"dataset": dataset})
    assert response.status_code == 422
    assert response["X-Error-Code"] == "InvalidParameter"
    assert response.json() == {"error": "Parameter 'dataset' is not a valid dataset name"}
    assert db_commands.commands == []


# --- pending jobs and blocked datasets ----------------------------------------------------------


def test_pending_jobs_groups_waiting_and_started_jobs_by_type_for_every_step(client: Client, queue_db):
    queue_db["jobsBlue"].insert_many(
        [
            job(job_type="dataset-config-names", dataset="squad", priority="normal"),
            job(job_type="dataset-config-names", dataset="org/a", priority="high", difficulty=60),
            job(
                job_type="split-first-rows",
                dataset="org/a",
                config="c",
                split="s",
                status="started",
                started_at=T1,
                last_heartbeat=T1,
            ),
            {**job(job_type="dataset-info", dataset="org/b"), "status": "error", "finished_at": T1},
            job(job_type="not-a-step-anymore", dataset="org/b"),
        ]
    )
    response = client.get("/admin/pending-jobs")
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=10"
    body = response.json()
    assert list(body) == sorted(step.name for step in processing_graph())
    expected: dict[str, dict[str, list[Any]]] = {
        step.name: {"waiting": [], "started": []} for step in processing_graph()
    }
    expected["dataset-config-names"]["waiting"] = [
        {
            "type": "dataset-config-names",
            "dataset": "squad",
            "revision": REVISION,
            "config": None,
            "split": None,
            "unicity_id": f"dataset-config-names,squad,{REVISION}",
            "namespace": "squad",
            "priority": "normal",
            "status": "waiting",
            "difficulty": 50,
            "created_at": "2024-01-02T03:04:05.678000",
            "started_at": None,
            "last_heartbeat": None,
        },
        {
            "type": "dataset-config-names",
            "dataset": "org/a",
            "revision": REVISION,
            "config": None,
            "split": None,
            "unicity_id": f"dataset-config-names,org/a,{REVISION}",
            "namespace": "org",
            "priority": "high",
            "status": "waiting",
            "difficulty": 60,
            "created_at": "2024-01-02T03:04:05.678000",
            "started_at": None,
            "last_heartbeat": None,
        },
    ]
    expected["split-first-rows"]["started"] = [
        {
            "type": "split-first-rows",
            "dataset": "org/a",
            "revision": REVISION,
            "config": "c",
            "split": "s",
            "unicity_id": f"split-first-rows,org/a,{REVISION},c,s",
            "namespace": "org",
            "priority": "low",
            "status": "started",
            "difficulty": 50,
            "created_at": "2024-01-02T03:04:05.678000",
            "started_at": "2024-02-03T04:05:06.789000",
            "last_heartbeat": "2024-02-03T04:05:06.789000",
        }
    ]
    assert body == expected


def test_pending_jobs_of_an_empty_queue_lists_every_step(client: Client):
    response = client.get("/admin/pending-jobs")
    assert response.json() == {step.name: {"waiting": [], "started": []} for step in processing_graph()}


def test_blocked_datasets_are_distinct_and_sorted(client: Client, queue_db):
    queue_db["datasetBlockages"].insert_many(
        [{"dataset": name, "blocked_at": T0} for name in ("org/b", "squad", "org/a", "org/b")]
    )
    response = client.get("/admin/blocked-datasets")
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=10"
    assert response.json() == {"blocked_datasets": ["org/a", "org/b", "squad"]}


def test_blocked_datasets_when_none(client: Client):
    assert client.get("/admin/blocked-datasets").json() == {"blocked_datasets": []}


# --- num-dataset-infos-by-builder-name ------------------------------------------------------------


def dataset_info(dataset: str, builder_name: str | None, http_status: int = 200, kind: str = "dataset-info"):
    default = {} if builder_name is None else {"builder_name": builder_name, "config_name": "default"}
    return cache_entry_document(
        kind=kind, dataset=dataset, http_status=http_status, content={"dataset_info": {"default": default}}
    )


def test_num_dataset_infos_by_builder_name_counts_successful_entries(client: Client, cache_db):
    cache_db["cachedResponsesBlue"].insert_many(
        [
            *(dataset_info(f"p{number}", "parquet") for number in range(3)),
            dataset_info("c", "csv"),
            dataset_info("j", "json"),
            dataset_info("i", "imagefolder"),
            dataset_info("w", "webdataset"),
            dataset_info("u", "some-script-builder"),  # other
            dataset_info("n", None),  # no builder name: other
            cache_entry_document(kind="dataset-info", dataset="m", content={"dataset_info": {"en": {}}}),  # other
            dataset_info("e", "parquet", http_status=500),  # error: not counted
            dataset_info("k", "parquet", kind="config-info"),  # another kind: not counted
        ]
    )
    response = client.get("/admin/num-dataset-infos-by-builder-name")
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=10"
    assert response.content == (
        b'{"parquet":3,"csv":1,"text":0,"imagefolder":1,"audiofolder":0,"json":1,"arrow":0,"webdataset":1,"other":3}'
    )


def test_num_dataset_infos_by_builder_name_of_an_empty_cache(client: Client):
    assert client.get("/admin/num-dataset-infos-by-builder-name").json() == {
        name: 0
        for name in ("parquet", "csv", "text", "imagefolder", "audiofolder", "json", "arrow", "webdataset", "other")
    }


# --- cache reports ------------------------------------------------------------------------------


def test_cache_reports_page_without_and_with_content(client: Client, cache_db, settings):
    settings.ADMIN = dataclasses.replace(
        settings.ADMIN, cache_reports_num_results=2, cache_reports_with_content_num_results=2
    )
    first, second, third = (ObjectId(f"65a000000000000000000{number:03d}") for number in (1, 2, 3))
    cache_db["cachedResponsesBlue"].insert_many(
        [
            {"_id": third, **cache_entry_document(kind="dataset-info", dataset="c", updated_at=T1)},
            {
                "_id": first,
                **cache_entry_document(
                    kind="dataset-info",
                    dataset="org/a",
                    http_status=500,
                    error_code="UnexpectedError",
                    content={"error": "boom"},
                    details={"error": "boom", "cause_exception": "ValueError"},
                    dataset_git_revision=REVISION,
                    job_runner_version=1,
                    updated_at=T0,
                ),
            },
            {"_id": ObjectId(), **cache_entry_document(kind="dataset-size", dataset="org/a")},
            {
                "_id": second,
                **cache_entry_document(
                    kind="dataset-info",
                    dataset="b",
                    content={"dataset_info": {}, "partial": False},
                    dataset_git_revision=REVISION,
                    progress=1.0,
                    job_runner_version=2,
                    updated_at=T1,
                ),
            },
        ]
    )
    report_a = empty_report(
        kind="dataset-info",
        dataset="org/a",
        http_status=500,
        error_code="UnexpectedError",
        details={"error": "boom", "cause_exception": "ValueError"},
        updated_at="2024-01-02T03:04:05.678000",
        job_runner_version=1,
        dataset_git_revision=REVISION,
    )
    report_b = empty_report(
        kind="dataset-info",
        dataset="b",
        http_status=200,
        updated_at="2024-02-03T04:05:06.789000",
        job_runner_version=2,
        dataset_git_revision=REVISION,
        progress=1.0,
    )

    response = client.get("/admin/cache-reports/dataset-info")
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=10"
    assert response.json() == {"cache_reports": [report_a, report_b], "next_cursor": str(second)}

    response = client.get("/admin/cache-reports-with-content/dataset-info", {"cursor": str(first)})
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=10"
    assert response.json() == {
        "cache_reports_with_content": [
            {**report_b, "content": {"dataset_info": {}, "partial": False}},
            {
                **empty_report(
                    kind="dataset-info",
                    dataset="c",
                    http_status=200,
                    updated_at="2024-02-03T04:05:06.789000",
                    dataset_git_revision="0" * 40,
                ),
                "content": {},
            },
        ],
        "next_cursor": str(third),
    }

    response = client.get("/admin/cache-reports/dataset-info", {"cursor": str(third)})
    assert response.json() == {"cache_reports": [], "next_cursor": ""}


def test_content_with_nan_and_infinity_is_shown_as_null(client: Client, monkeypatch):
    """MongoDB stores NaN (FerretDB cannot): the answer stays valid JSON, NaN shown as null."""
    content = {"statistics": [{"mean": float("nan"), "max": float("inf"), "min": 1.5}], "n": (float("-inf"),)}
    entry = cache_entry_row({"kind": "split-descriptive-statistics", "dataset": "org/ds", "content": content})
    monkeypatch.setattr(reports, "cache_reports_page", lambda **_: reports.CacheReportsPage([entry], ""))
    monkeypatch.setattr(
        cache_apis, "cache_report_with_content", lambda entry: {"kind": entry.kind, "content": entry.content}
    )
    response = client.get("/admin/cache-reports-with-content/split-descriptive-statistics")
    assert response.status_code == 200
    assert response.content == (
        b'{"cache_reports_with_content":[{"kind":"split-descriptive-statistics","content":'
        b'{"statistics":[{"mean":null,"max":null,"min":1.5}],"n":[null]}}],"next_cursor":""}'
    )


@pytest.mark.parametrize("route", ["cache-reports", "cache-reports-with-content"])
@pytest.mark.parametrize("kind", ["not-a-step", "dataset-info-", "DATASET-INFO"])
def test_cache_reports_of_an_unknown_kind_is_404_json(client: Client, route, kind):
    response = client.get(f"/admin/{route}/{kind}")
    assert response.status_code == 404
    assert response["X-Error-Code"] == "NotFound"
    assert response.json() == {"error": f"Unknown processing step '{kind}'"}


@pytest.mark.parametrize("route", ["cache-reports", "cache-reports-with-content"])
@pytest.mark.parametrize("cursor", ["not-an-id", "65a00000000000000000000", "65a0000000000000000000zz", "abcdefghijkl"])
def test_cache_reports_with_an_invalid_cursor_is_422(client: Client, route, cursor):
    response = client.get(f"/admin/{route}/dataset-info", {"cursor": cursor})
    assert response.status_code == 422
    assert response["X-Error-Code"] == "InvalidParameter"
    assert response.json() == {"error": "Invalid cursor."}


# --- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", READ_ROUTES.values())
@pytest.mark.parametrize(("max_age", "cache_control"), [(0, "no-store"), (300, "max-age=300")])
def test_read_routes_are_cacheable_for_admin_max_age_per_token(client: Client, settings, route, max_age, cache_control):
    settings.ADMIN = dataclasses.replace(settings.ADMIN, max_age=max_age)
    response = client.get(route)
    assert response.status_code == 200
    assert response["Cache-Control"] == cache_control
    # the answer depends on the token: shared caches must keep callers apart
    assert "Authorization" in [value.strip() for value in response["Vary"].split(",")]


@pytest.mark.parametrize("url", ["/healthcheck", "/admin/healthcheck"])
def test_healthcheck_is_never_cached_and_touches_no_database(client: Client, settings, url, db_commands):
    settings.ADMIN = dataclasses.replace(settings.ADMIN, max_age=300)
    response = client.get(url)
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Cache-Control"] == "no-store"
    assert db_commands.commands == []


def test_an_unknown_route_is_404_json(client: Client):
    response = client.get("/admin/no-such-route")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found."}
    assert response["X-Error-Code"] == "NotFound"


def test_a_format_parameter_is_ignored(client: Client):
    response = client.get("/admin/blocked-datasets", {"format": "html"})
    assert response.status_code == 200
    assert response.json() == {"blocked_datasets": []}


def test_numbers_take_the_type_of_their_field_and_dates_have_no_offset(client: Client, cache_db, queue_db):
    """Exact bytes: what the other services' admin answers for the same documents."""
    cache_db["cachedResponsesBlue"].insert_one(
        {
            "kind": "dataset-info",
            "dataset": "org/ds",
            "http_status": 200.0,
            "content": {"at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "nested": [{"at": T0}]},
            "dataset_git_revision": REVISION,
            "progress": 1,
            "job_runner_version": 2.0,
            "failed_runs": 1.0,
            "updated_at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        }
    )
    queue_db["jobsBlue"].insert_one({**job(job_type="dataset-info", dataset="org/ds"), "difficulty": 50.0})
    reports = client.get("/admin/cache-reports-with-content/dataset-info")
    assert reports.content == (
        b'{"cache_reports_with_content":[{"kind":"dataset-info","dataset":"org/ds","config":null,"split":null,'
        b'"http_status":200,"error_code":null,'
        b'"content":{"at":"2024-01-02T03:04:05","nested":[{"at":"2024-01-02T03:04:05.678000"}]},'
        b'"job_runner_version":2,"dataset_git_revision":"' + REVISION.encode() + b'","details":{},'
        b'"updated_at":"2024-01-02T03:04:05","progress":1.0,"failed_runs":1}],'
        b'"next_cursor":""}'
    )
    jobs = client.get("/admin/pending-jobs").json()["dataset-info"]["waiting"]
    assert [(job["difficulty"], job["created_at"]) for job in jobs] == [(50, "2024-01-02T03:04:05.678000")]
    assert b'"difficulty":50,' in client.get("/admin/pending-jobs").content
