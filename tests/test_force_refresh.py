"""POST /admin/force-refresh/{job_type}: against the test server and the fake Hub over real HTTP."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from adminsite.core.dataset_names import BlockedDatasetPatterns
from adminsite.core.processing_graph import ProcessingStep
from datasets.services import ForceRefreshRequest, job_difficulty
from jobs.constants import Priority
from tests.support.auth_support import ORG, whoami_answer
from tests.support.write_helpers import (
    OLD_SHA,
    SHA,
    serve_dataset,
    set_config,
    slow_hub,
    snapshot_tree,
    upstream_job,
    without_ids,
)

DATASET = "org/ds"


def post(client: Client, job_type: str, **params: str) -> Any:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return client.post(f"/admin/force-refresh/{job_type}?{query}", data="", content_type="application/json")


def queue_state(queue_db: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        name: list(queue_db[name].find({}, {"_id": 0}))
        for name in ("jobsBlue", "jobTotalMetric", "workerTypeJobCounts", "locks")
    }


EMPTY_QUEUE: dict[str, list[dict[str, Any]]] = {
    "jobsBlue": [],
    "jobTotalMetric": [],
    "workerTypeJobCounts": [],
    "locks": [],
}


# --- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("job_type", "params", "status", "code", "message"),
    [
        ("dataset-config-names", {}, 422, "MissingRequiredParameter", "Parameter 'dataset' is required"),
        (
            "dataset-config-names",
            {"dataset": "%20"},
            422,
            "MissingRequiredParameter",
            "Parameter 'dataset' is required",
        ),
        ("config-parquet", {"dataset": DATASET}, 422, "MissingRequiredParameter", "Parameter 'config' is required"),
        (
            "config-parquet",
            {"dataset": DATASET, "config": "%20%20"},
            422,
            "MissingRequiredParameter",
            "Parameter 'config' is required",
        ),
        (
            "split-first-rows",
            {"dataset": DATASET, "split": "train"},
            422,
            "MissingRequiredParameter",
            "Parameters 'config' and 'split' are required",
        ),
        (
            "split-first-rows",
            {"dataset": DATASET, "config": "default"},
            422,
            "MissingRequiredParameter",
            "Parameters 'config' and 'split' are required",
        ),
        (
            "split-first-rows",
            {"dataset": DATASET, "config": "default", "split": "%09"},
            422,
            "MissingRequiredParameter",
            "Parameters 'config' and 'split' are required",
        ),
        (
            "dataset-config-names",
            {"dataset": DATASET, "priority": "urgent"},
            422,
            "InvalidParameter",
            "Parameter 'priority' should be one of high, normal, low.",
        ),
        *[
            (
                "dataset-config-names",
                {"dataset": DATASET, "difficulty": difficulty},
                422,
                "InvalidParameter",
                "Parameter 'difficulty' should be an int value between 0 and 100.",
            )
            for difficulty in ("abc", "101", "-1", "1.5", "1e2", "%2B")
        ],
        ("not-a-step", {"dataset": DATASET}, 404, "NotFound", "Unknown processing step 'not-a-step'"),
    ],
)
def test_parameter_errors_queue_nothing_and_ask_no_hub(
    client: Client,
    fake_hub: Any,
    queue_db: Any,
    job_type: str,
    params: dict[str, str],
    status: int,
    code: str,
    message: str,
) -> None:
    response = post(client, job_type, **params)
    assert response.status_code == status
    assert response.json() == {"error": message}
    assert response["X-Error-Code"] == code
    assert response["Cache-Control"] == "no-store"
    assert fake_hub.log == []
    assert queue_state(queue_db) == EMPTY_QUEUE


@pytest.mark.parametrize("name", ["../x", "a/../../b", "a/b/c", "org/..", "..", "", "x" * 10_000, "a%2F..%2F..%2Fb"])
def test_invalid_dataset_names_touch_nothing(
    client: Client, fake_hub: Any, queue_db: Any, tmp_path: Path, name: str
) -> None:
    assets, cached = tmp_path / "assets", tmp_path / "cached"
    (assets / "a" / "b").mkdir(parents=True)
    (cached / "x").mkdir(parents=True)
    set_config(assets_storage_root=assets, cached_assets_storage_root=cached)
    before = snapshot_tree(tmp_path)
    response = post(client, "dataset-config-names", dataset=name)
    assert response.status_code == 422
    assert response["X-Error-Code"] == "InvalidParameter"
    assert snapshot_tree(tmp_path) == before
    assert fake_hub.log == []
    assert queue_state(queue_db) == EMPTY_QUEUE
    assert list(queue_db["adminActions"].find()) == []


# --- support rules -------------------------------------------------------------------------------


def _not_found(fake_hub: Any) -> None:
    fake_hub.expect_request(f"/api/datasets/{DATASET}").respond_with_json(
        {"error": "Repository not found"}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )


def _disabled_answer(fake_hub: Any) -> None:
    fake_hub.expect_request(f"/api/datasets/{DATASET}").respond_with_json(
        {"error": "Access to this resource is disabled."},
        status=403,
        headers={"X-Error-Message": "Access to this resource is disabled."},
    )


def _private_not_pro(fake_hub: Any) -> None:
    serve_dataset(fake_hub, DATASET, private=True)
    fake_hub.expect_request("/api/whoisthis", query_string={"name": "org"}).respond_with_json(
        {"name": "org", "type": "org", "isPro": False, "plan": None}
    )


@pytest.mark.parametrize(
    ("arrange", "code"),
    [
        (_not_found, "NotSupportedRepositoryNotFoundError"),
        (_disabled_answer, "NotSupportedDisabledRepositoryError"),
        (lambda hub: serve_dataset(hub, DATASET, disabled=True), "NotSupportedDisabledRepositoryError"),
        (_private_not_pro, "NotSupportedPrivateRepositoryError"),
        (lambda hub: serve_dataset(hub, DATASET, tags=["nsfw"]), "NotSupportedTagNFAAError"),
        (lambda hub: serve_dataset(hub, DATASET, tags=["not-for-all-audiences"]), "NotSupportedTagNFAAError"),
        (lambda hub: serve_dataset(hub, DATASET, cardData={"viewer": False}), "NotSupportedDisabledViewerError"),
    ],
)
def test_not_supported_datasets_get_501_and_nothing_queued(
    client: Client, fake_hub: Any, queue_db: Any, arrange: Any, code: str
) -> None:
    arrange(fake_hub)
    response = post(client, "dataset-config-names", dataset=DATASET)
    assert response.status_code == 501
    assert response["X-Error-Code"] == code
    assert set(response.json()) == {"error"}
    assert queue_state(queue_db) == EMPTY_QUEUE


def test_blocked_dataset_is_501_after_asking_the_hub(client: Client, fake_hub: Any, queue_db: Any) -> None:
    set_config(blocked_datasets=BlockedDatasetPatterns.parse("other/x, org/d*"))
    serve_dataset(fake_hub, DATASET)
    response = post(client, "dataset-config-names", dataset=DATASET)
    assert response.status_code == 501
    assert response["X-Error-Code"] == "DatasetInBlockListError"
    assert queue_state(queue_db) == EMPTY_QUEUE


@pytest.mark.parametrize("owner", [{"isPro": True, "plan": None}, {"isPro": False, "plan": "enterprise"}])
def test_private_dataset_of_pro_user_or_enterprise_org_is_queued(
    client: Client, fake_hub: Any, queue_db: Any, owner: dict[str, Any]
) -> None:
    serve_dataset(fake_hub, DATASET, private=True, tags=["nsfw"])  # the NFAA rule is for public datasets only
    fake_hub.expect_request("/api/whoisthis", query_string={"name": "org"}).respond_with_json(owner)
    response = post(client, "dataset-config-names", dataset=DATASET)
    assert response.status_code == 200
    assert queue_db["jobsBlue"].count_documents({}) == 1


def test_the_hub_token_is_sent_and_never_echoed(client: Client, fake_hub: Any, queue_db: Any) -> None:
    set_config(hf_token="hf_secret_token")
    fake_hub.expect_request(
        f"/api/datasets/{DATASET}", headers={"Authorization": "Bearer hf_secret_token"}
    ).respond_with_json({"error": "boom"}, status=502)
    response = post(client, "dataset-config-names", dataset=DATASET)
    assert response.status_code == 500
    assert response["X-Error-Code"] == "UnexpectedApiError"
    assert "hf_secret_token" not in response.content.decode()
    assert response.json() == {"error": "The Hub answered 502 about dataset org/ds: nothing was changed."}
    assert queue_state(queue_db) == EMPTY_QUEUE


def test_hub_timeout_is_500_and_writes_nothing(client: Client, fake_hub: Any, queue_db: Any) -> None:
    set_config(hf_timeout_seconds=0.05)

    with slow_hub(fake_hub, f"/api/datasets/{DATASET}"):
        response = post(client, "dataset-config-names", dataset=DATASET)
    assert response.status_code == 500
    assert response["X-Error-Code"] == "UnexpectedApiError"
    assert response.json() == {"error": "The Hub did not answer within 0.05s: nothing was changed."}
    assert queue_state(queue_db) == EMPTY_QUEUE


def test_unreachable_hub_is_500_and_writes_nothing(client: Client, queue_db: Any) -> None:
    set_config(hf_endpoint="http://127.0.0.1:9")  # discard port: connection refused
    response = post(client, "dataset-config-names", dataset=DATASET)
    assert response.status_code == 500
    assert response["X-Error-Code"] == "UnexpectedApiError"
    assert queue_state(queue_db) == EMPTY_QUEUE


# --- the job document and the metric rows --------------------------------------------------------


@pytest.mark.parametrize(
    ("job_type", "params", "expected"),
    [
        (
            "dataset-config-names",
            {},
            {"type": "dataset-config-names", "unicity_id": f"dataset-config-names,{DATASET},{SHA}", "difficulty": 50},
        ),
        (
            "config-parquet",
            {"config": "default"},
            {
                "type": "config-parquet",
                "config": "default",
                "unicity_id": f"config-parquet,{DATASET},{SHA},default",
                "difficulty": 20,
            },
        ),
        (
            "split-first-rows",
            {"config": "default", "split": "train"},
            {
                "type": "split-first-rows",
                "config": "default",
                "split": "train",
                "unicity_id": f"split-first-rows,{DATASET},{SHA},default,train",
                "difficulty": 70,
            },
        ),
    ],
)
def test_job_document_is_written_as_upstream_writes_it(
    client: Client, fake_hub: Any, queue_db: Any, job_type: str, params: dict[str, str], expected: dict[str, Any]
) -> None:
    serve_dataset(fake_hub, DATASET)
    before = datetime.now(UTC)
    response = post(client, job_type, dataset=DATASET, **params)
    after = datetime.now(UTC)
    assert response.status_code == 200, response.content
    [job] = list(queue_db["jobsBlue"].find())
    created_at = job["created_at"]
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= created_at <= after
    assert created_at.microsecond % 1000 == 0
    assert {key: value for key, value in job.items() if key != "_id"} == {
        "dataset": DATASET,
        "revision": SHA,
        "namespace": "org",
        "priority": "low",
        "status": "waiting",
        "created_at": created_at,
        **expected,
    }
    body = response.json()
    assert body == {
        "status": "ok",
        "action": "created",
        "job_id": str(job["_id"]),
        "changes": {},
        "job": {
            "type": job_type,
            "dataset": DATASET,
            "revision": SHA,
            "config": params.get("config"),
            "split": params.get("split"),
            "unicity_id": expected["unicity_id"],
            "namespace": "org",
            "priority": "low",
            "status": "waiting",
            "difficulty": expected["difficulty"],
            "created_at": created_at.replace(tzinfo=None).isoformat(),
            "started_at": None,
            "last_heartbeat": None,
        },
    }
    assert response["Cache-Control"] == "no-store"


def test_metric_rows_are_created_then_incremented(client: Client, fake_hub: Any, queue_db: Any) -> None:
    serve_dataset(fake_hub, DATASET)
    assert post(client, "config-parquet", dataset=DATASET, config="a", priority="normal").status_code == 200
    first = {name: without_ids(list(queue_db[name].find())) for name in ("jobTotalMetric", "workerTypeJobCounts")}
    created_at = first["jobTotalMetric"][0]["created_at"]
    assert first == {
        "jobTotalMetric": [
            {
                "job_type": "config-parquet",
                "status": "waiting",
                "dataset_status": "normal",
                "total": 1,
                "created_at": created_at,
            }
        ],
        "workerTypeJobCounts": [
            {"worker_size": "light", "jobs_count": 1, "created_at": first["workerTypeJobCounts"][0]["created_at"]}
        ],
    }
    assert post(client, "config-parquet", dataset=DATASET, config="b", difficulty="90").status_code == 200
    assert without_ids(list(queue_db["jobTotalMetric"].find())) == [
        {
            "job_type": "config-parquet",
            "status": "waiting",
            "dataset_status": "normal",
            "total": 2,
            "created_at": created_at,
        }
    ]
    sizes = {row["worker_size"]: row["jobs_count"] for row in queue_db["workerTypeJobCounts"].find()}
    assert sizes == {"light": 1, "heavy": 1}
    assert queue_db["jobsBlue"].find_one({"config": "b"})["difficulty"] == 90


def test_blocked_dataset_does_not_count_in_worker_sizes(client: Client, fake_hub: Any, queue_db: Any) -> None:
    queue_db["datasetBlockages"].insert_one({"dataset": DATASET, "blocked_at": datetime.now(UTC)})
    serve_dataset(fake_hub, DATASET)
    assert post(client, "dataset-config-names", dataset=DATASET).status_code == 200
    assert [row["total"] for row in queue_db["jobTotalMetric"].find()] == [1]
    assert list(queue_db["workerTypeJobCounts"].find()) == []


# --- the big-dataset bonus -----------------------------------------------------------------------


def _config_info(cache_db: Any, *, dataset_size: int, train_bytes: int) -> None:
    cache_db["cachedResponsesBlue"].insert_one(
        {
            "kind": "config-info",
            "dataset": DATASET,
            "config": "default",
            "http_status": 200,
            "content": {
                "dataset_info": {
                    "dataset_size": dataset_size,
                    "splits": {"train": {"name": "train", "num_bytes": train_bytes, "num_examples": 1}},
                }
            },
            "dataset_git_revision": SHA,
            "failed_runs": 0,
            "updated_at": datetime.now(UTC),
        }
    )


@pytest.mark.parametrize(("train_bytes", "difficulty"), [(3_000_000_000, 70), (3_000_000_001, 90), (None, 70)])
def test_split_bonus_reads_the_split_num_bytes(
    client: Client, fake_hub: Any, queue_db: Any, cache_db: Any, train_bytes: int | None, difficulty: int
) -> None:
    _config_info(cache_db, dataset_size=10**12, train_bytes=train_bytes or 5)
    serve_dataset(fake_hub, DATASET)
    split = "train" if train_bytes is not None else "test"  # no split info for "test": no bonus
    response = post(client, "split-descriptive-statistics", dataset=DATASET, config="default", split=split)
    assert response.status_code == 200
    assert response.json()["job"]["difficulty"] == difficulty
    assert queue_db["jobsBlue"].find_one()["difficulty"] == difficulty


def test_bonus_is_added_to_a_requested_difficulty(client: Client, fake_hub: Any, cache_db: Any) -> None:
    _config_info(cache_db, dataset_size=1, train_bytes=3_000_000_001)
    serve_dataset(fake_hub, DATASET)
    response = post(
        client, "split-descriptive-statistics", dataset=DATASET, config="default", split="train", difficulty="10"
    )
    assert response.json()["job"]["difficulty"] == 30


@pytest.mark.parametrize(("dataset_size", "difficulty"), [(3_000_000_000, 50), (3_000_000_001, 60)])
def test_config_bonus_reads_the_dataset_size(cache_db: Any, dataset_size: int, difficulty: int) -> None:
    _config_info(cache_db, dataset_size=dataset_size, train_bytes=1)
    step = ProcessingStep(
        name="config-x",
        input_type="config",
        job_runner_version=1,
        difficulty=50,
        bonus_difficulty_if_dataset_is_big=10,
        triggered_by=(),
    )
    request = ForceRefreshRequest(
        step=step, dataset=DATASET, config="default", split=None, priority=Priority.LOW, difficulty=None
    )
    assert job_difficulty(request=request) == difficulty


# --- no duplicate waiting job --------------------------------------------------------------------


def test_a_waiting_job_with_the_same_unicity_id_stands_and_its_priority_is_raised(
    client: Client, fake_hub: Any, queue_db: Any
) -> None:
    existing = upstream_job(job_type="dataset-config-names", dataset=DATASET, priority="low")
    queue_db["jobsBlue"].insert_one(existing)
    serve_dataset(fake_hub, DATASET)

    response = post(client, "dataset-config-names", dataset=DATASET, priority="high")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["action"], body["job_id"], body["job"]["priority"], body["changes"]) == (
        "ok",
        "updated",
        str(existing["_id"]),
        "high",
        {"priority": {"from": "low", "to": "high"}},
    )
    assert list(queue_db["jobsBlue"].find()) == [existing | {"priority": "high"}]

    response = post(client, "dataset-config-names", dataset=DATASET, priority="normal")
    assert (response.json()["action"], response.json()["job"]["priority"], response.json()["changes"]) == (
        "already_waiting",
        "high",
        {},
    )
    assert list(queue_db["jobsBlue"].find()) == [existing | {"priority": "high"}]
    assert list(queue_db["jobTotalMetric"].find()) == []  # no job added: no metric touched


def _metric_rows(queue_db: Any) -> dict[str, Any]:
    return {
        "jobTotalMetric": sorted(
            (row["job_type"], row["status"], row["dataset_status"], row["total"])
            for row in queue_db["jobTotalMetric"].find()
        ),
        "workerTypeJobCounts": sorted(
            (row["worker_size"], row["jobs_count"]) for row in queue_db["workerTypeJobCounts"].find()
        ),
    }


def test_a_difficulty_asked_for_is_set_on_the_standing_job_and_its_worker_size_row_moves(
    client: Client, fake_hub: Any, queue_db: Any
) -> None:
    """Created at the step's difficulty (50, medium), then asked for 80 (heavy) and a higher priority."""
    serve_dataset(fake_hub, DATASET)
    first = post(client, "dataset-config-names", dataset=DATASET)
    assert (first.json()["action"], first.json()["job"]["difficulty"]) == ("created", 50)
    [created] = list(queue_db["jobsBlue"].find())
    assert _metric_rows(queue_db) == {
        "jobTotalMetric": [("dataset-config-names", "waiting", "normal", 1)],
        "workerTypeJobCounts": [("medium", 1)],
    }

    response = post(client, "dataset-config-names", dataset=DATASET, difficulty="+80", priority="normal")
    body = response.json()
    assert (response.status_code, body["status"], body["action"], body["job_id"]) == (
        200,
        "ok",
        "updated",
        str(created["_id"]),
    )
    assert body["changes"] == {"priority": {"from": "low", "to": "normal"}, "difficulty": {"from": 50, "to": 80}}
    assert (body["job"]["priority"], body["job"]["difficulty"]) == ("normal", 80)
    assert list(queue_db["jobsBlue"].find()) == [created | {"priority": "normal", "difficulty": 80}]
    assert _metric_rows(queue_db) == {
        "jobTotalMetric": [("dataset-config-names", "waiting", "normal", 1)],  # still one waiting job of the type
        "workerTypeJobCounts": [("heavy", 1), ("medium", 0)],
    }

    # the same again: nothing changes
    again = post(client, "dataset-config-names", dataset=DATASET, difficulty="80")
    assert (again.json()["action"], again.json()["changes"]) == ("already_waiting", {})
    assert list(queue_db["jobsBlue"].find()) == [created | {"priority": "normal", "difficulty": 80}]
    # no difficulty asked for: the standing job keeps its own, the step's is not forced on it
    unasked = post(client, "dataset-config-names", dataset=DATASET)
    assert (unasked.json()["action"], unasked.json()["job"]["difficulty"]) == ("already_waiting", 80)
    assert _metric_rows(queue_db)["workerTypeJobCounts"] == [("heavy", 1), ("medium", 0)]


def test_a_difficulty_within_the_same_worker_size_moves_no_row(client: Client, fake_hub: Any, queue_db: Any) -> None:
    existing = upstream_job(job_type="dataset-config-names", dataset=DATASET, difficulty=50)
    queue_db["jobsBlue"].insert_one(existing)
    serve_dataset(fake_hub, DATASET)
    response = post(client, "dataset-config-names", dataset=DATASET, difficulty="60")
    assert (response.json()["action"], response.json()["changes"]) == (
        "updated",
        {"difficulty": {"from": 50, "to": 60}},
    )
    assert list(queue_db["jobsBlue"].find()) == [existing | {"difficulty": 60}]
    assert _metric_rows(queue_db) == {"jobTotalMetric": [], "workerTypeJobCounts": []}


def test_the_audit_entry_of_an_update_says_what_changed(client: Client, fake_hub: Any, queue_db: Any) -> None:
    existing = upstream_job(job_type="dataset-config-names", dataset=DATASET, difficulty=50)
    queue_db["jobsBlue"].insert_one(existing)
    serve_dataset(fake_hub, DATASET)
    post(client, "dataset-config-names", dataset=DATASET, difficulty="90")
    [entry] = list(queue_db["adminActions"].find())
    assert (entry["result"]["action"], entry["result"]["changes"]) == ("updated", {"difficulty": [50, 90]})


def test_a_job_at_another_revision_or_a_started_one_does_not_prevent_a_new_one(
    client: Client, fake_hub: Any, queue_db: Any
) -> None:
    old = upstream_job(job_type="dataset-config-names", dataset=DATASET, revision=OLD_SHA)
    started = upstream_job(job_type="dataset-config-names", dataset=DATASET, status="started")
    queue_db["jobsBlue"].insert_many([old, started])
    serve_dataset(fake_hub, DATASET)
    response = post(client, "dataset-config-names", dataset=DATASET)
    assert response.json()["action"] == "created"
    assert queue_db["jobsBlue"].count_documents({"status": "waiting", "revision": SHA}) == 1
    assert queue_db["jobsBlue"].count_documents({}) == 3


def test_concurrent_calls_for_one_artifact_leave_one_waiting_job(fake_hub: Any, queue_db: Any) -> None:
    set_config(hf_timeout_seconds=10.0)
    serve_dataset(fake_hub, DATASET)
    barrier = threading.Barrier(20)
    answers: list[Any] = []

    def call(priority: str) -> None:
        barrier.wait()
        response = post(Client(), "config-parquet", dataset=DATASET, config="default", priority=priority)
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=call, args=("high" if i == 7 else "low",)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [status for status, _ in answers] == [200] * 20
    [job] = list(queue_db["jobsBlue"].find())
    assert job["priority"] == "high"
    assert {body["job_id"] for _, body in answers} == {str(job["_id"])}
    assert sorted(body["action"] for _, body in answers).count("created") == 1
    assert [row["total"] for row in queue_db["jobTotalMetric"].find()] == [1]
    assert [row["jobs_count"] for row in queue_db["workerTypeJobCounts"].find()] == [1]
    [lock] = list(queue_db["locks"].find())
    assert lock["_id"] == job["unicity_id"]
    assert lock["owner"] is None
    assert lock["ttl"] == 600
    assert set(lock) == {"_id", "owner", "ttl", "created_at", "updated_at"}


def test_a_lock_held_by_a_worker_makes_the_call_wait_then_fail_cleanly(
    client: Client, fake_hub: Any, queue_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("jobs.services.held_lock", _short_deadline_lock())
    unicity = f"dataset-config-names,{DATASET},{SHA}"
    queue_db["locks"].insert_one(
        {
            "_id": unicity,
            "owner": "a-worker",
            "ttl": 600,
            "created_at": datetime.now(UTC),
            "updated_at": datetime.now(UTC),
        }
    )
    serve_dataset(fake_hub, DATASET)
    response = post(client, "dataset-config-names", dataset=DATASET)
    assert response.status_code == 500
    assert response["X-Error-Code"] == "LockTimeoutError"
    assert list(queue_db["jobsBlue"].find()) == []
    assert queue_db["locks"].find_one()["owner"] == "a-worker"


def _short_deadline_lock() -> Any:
    from jobs import locks

    def held_lock(*, key: str) -> Any:
        return locks.held_lock(key=key, deadline_seconds=0.2)

    return held_lock


# --- audit --------------------------------------------------------------------------------------


def test_each_call_is_recorded_with_its_caller(client: Any, auth_on: Any, fake_hub: Any, queue_db: Any) -> None:
    auth_on.allow("hf_alice", whoami_answer(name="alice"))
    serve_dataset(fake_hub, DATASET)
    response = client.post(
        f"/admin/force-refresh/config-parquet?dataset={DATASET}&config=default&priority=normal",
        data="",
        content_type="application/json",
        headers={"Authorization": "Bearer hf_alice"},
    )
    assert response.status_code == 200
    [action] = list(queue_db["adminActions"].find())
    job = queue_db["jobsBlue"].find_one()
    assert action["requested_at"] <= action["finished_at"]
    assert without_ids([action])[0] == {
        "actor": "alice",
        "actor_org": ORG,
        "action": "force-refresh",
        "parameters": {"job_type": "config-parquet", "dataset": DATASET, "config": "default", "priority": "normal"},
        "requested_at": action["requested_at"],
        "finished_at": action["finished_at"],
        "outcome": "ok",
        "result": {"action": "created", "job_id": str(job["_id"]), "revision": SHA, "difficulty": 20},
    }


def test_a_lock_whose_holder_died_is_taken_over_after_its_ttl(client: Client, fake_hub: Any, queue_db: Any) -> None:
    unicity = f"dataset-config-names,{DATASET},{SHA}"
    long_ago = datetime(2024, 1, 1, tzinfo=UTC)
    queue_db["locks"].insert_one(
        {"_id": unicity, "owner": "dead-worker", "ttl": 600, "created_at": long_ago, "updated_at": long_ago}
    )
    serve_dataset(fake_hub, DATASET)
    response = post(client, "dataset-config-names", dataset=DATASET)
    assert response.status_code == 200
    lock = queue_db["locks"].find_one()
    assert (lock["owner"], lock["created_at"]) == (None, long_ago)
    assert lock["updated_at"] > long_ago


def test_a_failed_insert_puts_the_metric_rows_back(
    client: Client, fake_hub: Any, queue_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs import documents, services

    other = upstream_job(job_type="config-parquet", dataset="org/other", config="x", difficulty=20)
    queue_db["jobsBlue"].insert_one(other)
    queue_db["jobTotalMetric"].insert_one(
        {"job_type": "config-parquet", "status": "waiting", "dataset_status": "normal", "total": 1, "created_at": OLD}
    )
    queue_db["workerTypeJobCounts"].insert_one({"worker_size": "light", "jobs_count": 1, "created_at": OLD})
    real_job_document = documents.job_document

    def colliding_job_document(**fields: Any) -> dict[str, Any]:
        return {"_id": other["_id"], **real_job_document(**fields)}  # the server refuses it: duplicate _id

    monkeypatch.setattr(services, "job_document", colliding_job_document)
    serve_dataset(fake_hub, DATASET)
    response = post(client, "config-parquet", dataset=DATASET, config="default")
    assert response.status_code == 500
    assert response["X-Error-Code"] == "UnexpectedApiError"
    assert list(queue_db["jobsBlue"].find()) == [other]
    assert without_ids(list(queue_db["jobTotalMetric"].find())) == [
        {"job_type": "config-parquet", "status": "waiting", "dataset_status": "normal", "total": 1, "created_at": OLD}
    ]
    assert without_ids(list(queue_db["workerTypeJobCounts"].find())) == [
        {"worker_size": "light", "jobs_count": 1, "created_at": OLD}
    ]
    assert queue_db["locks"].find_one()["owner"] is None
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["error_code"]) == ("failed", "UnexpectedApiError")


OLD = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("encoding", ["form", "multipart", "json"])
def test_parameters_may_come_in_the_body_in_any_usual_encoding(
    client: Client, fake_hub: Any, queue_db: Any, encoding: str
) -> None:
    serve_dataset(fake_hub, DATASET)
    params = {"dataset": DATASET, "config": "default", "priority": "high"}
    url = "/admin/force-refresh/config-parquet"
    if encoding == "form":
        response = client.post(url, data=urlencode(params), content_type="application/x-www-form-urlencoded")
    elif encoding == "multipart":
        response = client.post(url, data=params)
    else:
        response = client.post(url, data=params, content_type="application/json")
    assert response.status_code == 200, response.content
    [job] = list(queue_db["jobsBlue"].find())
    assert (job["type"], job["dataset"], job["config"], job["priority"]) == (
        "config-parquet",
        DATASET,
        "default",
        "high",
    )


@pytest.mark.parametrize(("written", "difficulty"), [("%2B7", 7), ("%207%20", 7), ("0", 0), ("100", 100)])
def test_difficulty_is_read_as_python_int_reads_it(
    client: Client, fake_hub: Any, queue_db: Any, written: str, difficulty: int
) -> None:
    """`+7` and ` 7 ` are 7, as the other services' `int()` reads them."""
    serve_dataset(fake_hub, DATASET)
    response = post(client, "dataset-config-names", dataset=DATASET, difficulty=written)
    assert response.status_code == 200, response.content
    assert [job["difficulty"] for job in queue_db["jobsBlue"].find()] == [difficulty]
