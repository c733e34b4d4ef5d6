"""POST /admin/recreate-dataset: against the test server and the fake Hub over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.support.auth_support import ORG, whoami_answer
from tests.support.write_helpers import (
    A_DATE,
    SHA,
    serve_dataset,
    set_config,
    slow_hub,
    snapshot_tree,
    upstream_cache_entry,
    upstream_job,
    without_ids,
)

DATASET = "org/ds"
OTHER = "org/other"


def post(client: Client, **params: str) -> Any:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return client.post(f"/admin/recreate-dataset?{query}", data="", content_type="application/json")


@pytest.fixture
def storage(tmp_path: Path) -> tuple[Path, Path]:
    """Both asset roots, with folders for DATASET and OTHER."""
    assets, cached = tmp_path / "assets", tmp_path / "cached-assets"
    for root in (assets, cached):
        for dataset in (DATASET, OTHER):
            folder = root / dataset / "--" / "default" / "train"
            folder.mkdir(parents=True)
            (folder / "image.jpg").write_bytes(b"jpeg")
    set_config(assets_storage_root=assets, cached_assets_storage_root=cached)
    return assets, cached


@pytest.fixture
def production(queue_db: Any, cache_db: Any) -> dict[str, Any]:
    """Jobs, cache entries and consistent metric rows, as the other services leave them."""
    waiting = [
        upstream_job(job_type="dataset-config-names", dataset=DATASET, difficulty=50),
        upstream_job(job_type="config-parquet", dataset=DATASET, config="default", difficulty=20),
        upstream_job(job_type="config-parquet", dataset=DATASET, config="other", difficulty=20),
    ]
    started = upstream_job(
        job_type="split-first-rows", dataset=DATASET, config="default", split="train", status="started"
    )
    other_job = upstream_job(job_type="config-parquet", dataset=OTHER, config="default", difficulty=20)
    queue_db["jobsBlue"].insert_many([*waiting, started, other_job])
    queue_db["jobTotalMetric"].insert_many(
        [
            {
                "job_type": "dataset-config-names",
                "status": "waiting",
                "dataset_status": "normal",
                "total": 1,
                "created_at": A_DATE,
            },
            {
                "job_type": "config-parquet",
                "status": "waiting",
                "dataset_status": "normal",
                "total": 3,
                "created_at": A_DATE,
            },
            {
                "job_type": "split-first-rows",
                "status": "started",
                "dataset_status": "normal",
                "total": 1,
                "created_at": A_DATE,
            },
        ]
    )
    queue_db["workerTypeJobCounts"].insert_many(
        [
            {"worker_size": "light", "jobs_count": 3, "created_at": A_DATE},
            {"worker_size": "medium", "jobs_count": 1, "created_at": A_DATE},
        ]
    )
    entries = [
        upstream_cache_entry(kind="dataset-config-names", dataset=DATASET),
        upstream_cache_entry(kind="config-parquet", dataset=DATASET, config="default"),
        upstream_cache_entry(kind="config-parquet", dataset=DATASET, config="other", http_status=500, error_code="X"),
        upstream_cache_entry(kind="config-parquet", dataset=OTHER, config="default"),
    ]
    cache_db["cachedResponsesBlue"].insert_many(entries)
    cache_db["cacheTotalMetric"].insert_many(
        [
            {"kind": "dataset-config-names", "http_status": 200, "total": 1, "created_at": A_DATE},
            {"kind": "config-parquet", "http_status": 200, "total": 2, "created_at": A_DATE},
            {"kind": "config-parquet", "http_status": 500, "error_code": "X", "total": 1, "created_at": A_DATE},
        ]
    )
    return {"started": started, "other_job": other_job, "other_entry": entries[3]}


def everything(queue_db: Any, cache_db: Any) -> dict[str, list[dict[str, Any]]]:
    queue = {
        name: list(queue_db[name].find()) for name in ("jobsBlue", "jobTotalMetric", "workerTypeJobCounts", "locks")
    }
    cache = {name: list(cache_db[name].find()) for name in ("cachedResponsesBlue", "cacheTotalMetric")}
    return queue | cache


def metric_totals(queue_db: Any, cache_db: Any) -> dict[str, Any]:
    return {
        "jobs": {(row["job_type"], row["status"]): row["total"] for row in queue_db["jobTotalMetric"].find()},
        "sizes": {row["worker_size"]: row["jobs_count"] for row in queue_db["workerTypeJobCounts"].find()},
        "cache": {
            (row["kind"], row["http_status"], row.get("error_code")): row["total"]
            for row in cache_db["cacheTotalMetric"].find()
        },
    }


TOTALS_AFTER_RECREATE = {
    "jobs": {
        ("dataset-config-names", "waiting"): 0,
        ("config-parquet", "waiting"): 1,
        ("split-first-rows", "started"): 1,
        ("dataset-init", "waiting"): 1,
    },
    "sizes": {"light": 1, "medium": 1},  # -2 light, -1 medium, +1 medium (dataset-init, 50)
    "cache": {
        ("dataset-config-names", 200, None): 0,
        ("config-parquet", 200, None): 1,
        ("config-parquet", 500, "X"): 0,
    },
}
"""The metric rows once DATASET of `production` is recreated: its rows at 0, OTHER's kept."""


def test_recreate_wipes_the_dataset_and_queues_dataset_init(
    client: Client, fake_hub: Any, queue_db: Any, cache_db: Any, storage: tuple[Path, Path], production: dict[str, Any]
) -> None:
    serve_dataset(fake_hub, DATASET)
    response = post(client, dataset=DATASET, priority="normal")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "status": "ok",
        "dataset": DATASET,
        "deleted_jobs": 3,
        "deleted_cached_responses": 3,
        "deleted_asset_folders": 2,
    }
    init = queue_db["jobsBlue"].find_one({"type": "dataset-init"})
    assert without_ids([init]) == [
        {
            "type": "dataset-init",
            "dataset": DATASET,
            "revision": SHA,
            "unicity_id": f"dataset-init,{DATASET},{SHA}",
            "namespace": "org",
            "priority": "normal",
            "status": "waiting",
            "difficulty": 50,
            "created_at": init["created_at"],
        }
    ]
    assert sorted(queue_db["jobsBlue"].find(), key=lambda job: str(job["_id"])) == sorted(
        [production["started"], production["other_job"], init], key=lambda job: str(job["_id"])
    )
    assert list(cache_db["cachedResponsesBlue"].find()) == [production["other_entry"]]
    assert metric_totals(queue_db, cache_db) == TOTALS_AFTER_RECREATE
    assets, cached = storage
    assert not (assets / DATASET).exists()
    assert not (cached / DATASET).exists()
    assert (assets / OTHER / "--" / "default" / "train" / "image.jpg").exists()
    assert (cached / OTHER / "--" / "default" / "train" / "image.jpg").exists()


def test_recreate_twice_is_idempotent(
    client: Client, fake_hub: Any, queue_db: Any, cache_db: Any, storage: tuple[Path, Path], production: dict[str, Any]
) -> None:
    serve_dataset(fake_hub, DATASET)
    assert post(client, dataset=DATASET).status_code == 200
    first = metric_totals(queue_db, cache_db)
    response = post(client, dataset=DATASET)
    assert response.json() == {
        "status": "ok",
        "dataset": DATASET,
        "deleted_jobs": 1,  # the dataset-init job of the first call
        "deleted_cached_responses": 0,
        "deleted_asset_folders": 0,
    }
    assert metric_totals(queue_db, cache_db) == first
    assert queue_db["jobsBlue"].count_documents({"dataset": DATASET, "status": "waiting"}) == 1


def test_not_supported_dataset_is_removed_and_answered_501(
    client: Client, fake_hub: Any, queue_db: Any, cache_db: Any, storage: tuple[Path, Path], production: dict[str, Any]
) -> None:
    fake_hub.expect_request(f"/api/datasets/{DATASET}").respond_with_json(
        {"error": "not found"}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    response = post(client, dataset=DATASET)
    assert response.status_code == 501
    assert response["X-Error-Code"] == "NotSupportedRepositoryNotFoundError"
    assert response.json() == {"error": f"Repository {DATASET} is not found."}
    assert list(queue_db["jobsBlue"].find({"dataset": DATASET})) == [production["started"]]
    assert cache_db["cachedResponsesBlue"].count_documents({"dataset": DATASET}) == 0
    assert not (storage[0] / DATASET).exists()
    assert not (storage[1] / DATASET).exists()
    assert metric_totals(queue_db, cache_db)["jobs"] == {
        ("dataset-config-names", "waiting"): 0,
        ("config-parquet", "waiting"): 1,
        ("split-first-rows", "started"): 1,
    }
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["error_code"], action["result"]) == (
        "not_supported",
        "NotSupportedRepositoryNotFoundError",
        {"deleted_jobs": 3, "deleted_cached_responses": 3, "deleted_asset_folders": 2},
    )


@pytest.mark.parametrize("failure", ["timeout", "status", "unreachable"])
def test_hub_failure_leaves_every_document_and_folder_in_place(
    client: Client,
    fake_hub: Any,
    queue_db: Any,
    cache_db: Any,
    tmp_path: Path,
    storage: tuple[Path, Path],
    production: dict[str, Any],
    failure: str,
) -> None:
    before, tree = everything(queue_db, cache_db), snapshot_tree(tmp_path)
    if failure == "timeout":
        set_config(hf_timeout_seconds=0.05)
        with slow_hub(fake_hub, f"/api/datasets/{DATASET}"):
            response = post(client, dataset=DATASET)
    elif failure == "status":
        fake_hub.expect_request(f"/api/datasets/{DATASET}").respond_with_data("bad gateway", status=502)
        response = post(client, dataset=DATASET)
    else:
        set_config(hf_endpoint="http://127.0.0.1:9")
        response = post(client, dataset=DATASET)
    assert response.status_code == 500
    assert response["X-Error-Code"] == "UnexpectedApiError"
    assert everything(queue_db, cache_db) == before
    assert snapshot_tree(tmp_path) == tree
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["error_code"], action["result"]) == ("failed", "UnexpectedApiError", {})


@pytest.mark.parametrize("name", ["../x", "a/../../b", "a/b/c", "org/..", "x" * 10_000, "..%2F..%2Fetc"])
def test_invalid_dataset_names_touch_nothing(
    client: Client, fake_hub: Any, queue_db: Any, cache_db: Any, tmp_path: Path, storage: tuple[Path, Path], name: str
) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "b").mkdir()
    before, tree = everything(queue_db, cache_db), snapshot_tree(tmp_path)
    response = post(client, dataset=name)
    assert response.status_code == 422
    assert response["X-Error-Code"] == "InvalidParameter"
    assert response.json() == {"error": "Parameter 'dataset' is not a valid dataset name"}
    assert snapshot_tree(tmp_path) == tree
    assert everything(queue_db, cache_db) == before
    assert fake_hub.log == []
    assert list(queue_db["adminActions"].find()) == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "MissingRequiredParameter"),
        ({"dataset": "%20"}, "MissingRequiredParameter"),
        ({"dataset": DATASET, "priority": "now"}, "InvalidParameter"),
    ],
)
def test_parameter_errors(client: Client, fake_hub: Any, queue_db: Any, params: dict[str, str], code: str) -> None:
    response = post(client, **params)
    assert response.status_code == 422
    assert response["X-Error-Code"] == code
    assert fake_hub.log == []
    assert list(queue_db["jobsBlue"].find()) == []


def test_a_symlinked_asset_folder_is_refused_before_any_write(
    client: Client, fake_hub: Any, queue_db: Any, cache_db: Any, tmp_path: Path, production: dict[str, Any]
) -> None:
    assets, cached, elsewhere = tmp_path / "assets", tmp_path / "cached", tmp_path / "elsewhere"
    (assets / "org").mkdir(parents=True)
    cached.mkdir()
    (elsewhere / "precious").mkdir(parents=True)
    (assets / "org" / "ds").symlink_to(elsewhere)
    set_config(assets_storage_root=assets, cached_assets_storage_root=cached)
    before = everything(queue_db, cache_db)
    serve_dataset(fake_hub, DATASET)
    response = post(client, dataset=DATASET)
    assert response.status_code == 500
    assert response["X-Error-Code"] == "UnsafeAssetPathError"
    assert (elsewhere / "precious").is_dir()
    assert everything(queue_db, cache_db) == before


def test_the_recreate_is_recorded_with_its_caller(client: Any, auth_on: Any, fake_hub: Any, queue_db: Any) -> None:
    auth_on.allow("hf_bob", whoami_answer(name="bob"))
    serve_dataset(fake_hub, DATASET)
    response = client.post(
        f"/admin/recreate-dataset?dataset={DATASET}",
        data="",
        content_type="application/json",
        headers={"Authorization": "Bearer hf_bob"},
    )
    assert response.status_code == 200
    [action] = list(queue_db["adminActions"].find())
    job = queue_db["jobsBlue"].find_one()
    assert without_ids([action]) == [
        {
            "actor": "bob",
            "actor_org": ORG,
            "action": "recreate-dataset",
            "parameters": {"dataset": DATASET, "priority": "low"},
            "requested_at": action["requested_at"],
            "finished_at": action["finished_at"],
            "outcome": "ok",
            "result": {
                "deleted_jobs": 0,
                "deleted_cached_responses": 0,
                "deleted_asset_folders": 0,
                "revision": SHA,
                "job_id": str(job["_id"]),
                "job_action": "created",
            },
        }
    ]
    assert action["requested_at"] <= action["finished_at"] <= datetime.now(UTC)


def test_a_failure_half_way_is_recorded_and_a_retry_completes(
    client: Client,
    fake_hub: Any,
    queue_db: Any,
    cache_db: Any,
    storage: tuple[Path, Path],
    production: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cachereports import services as cache_services

    real_delete = cache_services.delete_dataset_cache_entries

    def database_gone(*, dataset: str) -> int:
        raise ConnectionError("the cache database went away")

    monkeypatch.setattr(cache_services, "delete_dataset_cache_entries", database_gone)
    serve_dataset(fake_hub, DATASET)
    response = post(client, dataset=DATASET)
    assert response.status_code == 500
    assert response["X-Error-Code"] == "UnexpectedApiError"
    # Jobs were deleted (with their metric rows), the cache was not, and no job was created.
    assert queue_db["jobsBlue"].count_documents({"dataset": DATASET, "status": "waiting"}) == 0
    assert cache_db["cachedResponsesBlue"].count_documents({"dataset": DATASET}) == 3
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["result"]) == ("failed", {"deleted_jobs": 3})

    monkeypatch.setattr(cache_services, "delete_dataset_cache_entries", real_delete)
    response = post(client, dataset=DATASET)
    assert response.json() == {
        "status": "ok",
        "dataset": DATASET,
        "deleted_jobs": 0,
        "deleted_cached_responses": 3,
        "deleted_asset_folders": 2,
    }
    assert metric_totals(queue_db, cache_db) == TOTALS_AFTER_RECREATE
