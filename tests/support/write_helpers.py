"""Arrangements shared by the tests of the repair operations: Hub answers, documents as upstream writes them."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bson import ObjectId
from django.conf import settings
from werkzeug import Response as WerkzeugResponse

SHA = "6a7b2f0c9d3e4f5a6b7c8d9e0f1a2b3c4d5e6f70"
OLD_SHA = "0000000000000000000000000000000000000001"
A_DATE = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


def serve_dataset(fake_hub: Any, dataset: str, **fields: Any) -> None:
    """The Hub knows `dataset`: a public, enabled repo at SHA, unless `fields` say otherwise."""
    answer = {
        "id": dataset,
        "sha": SHA,
        "private": False,
        "disabled": False,
        "tags": [],
        "cardData": {},
        "author": dataset.split("/")[0],
    } | fields
    fake_hub.expect_request(f"/api/datasets/{dataset}", method="GET").respond_with_json(answer)


def hub_not_found(fake_hub: Any, dataset: str) -> None:
    """The Hub's own "not found" for `dataset`: a 404 with `X-Error-Code: RepoNotFound` (a verdict)."""
    fake_hub.expect_request(f"/api/datasets/{dataset}", method="GET").respond_with_json(
        {"error": "Repository not found"}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )


def set_config(**changes: Any) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, **changes)


def upstream_job(
    *,
    job_type: str,
    dataset: str,
    revision: str = SHA,
    config: str | None = None,
    split: str | None = None,
    priority: str = "low",
    status: str = "waiting",
    difficulty: int = 50,
    created_at: datetime = A_DATE,
) -> dict[str, Any]:
    """A job document literally as upstream's JobDocument.save() writes it (None fields absent)."""
    unicity = ",".join(part for part in (job_type, dataset, revision, config, split) if part is not None)
    job: dict[str, Any] = {
        "_id": ObjectId(),
        "type": job_type,
        "dataset": dataset,
        "revision": revision,
        "unicity_id": unicity,
        "namespace": dataset.split("/")[0],
        "priority": priority,
        "status": status,
        "difficulty": difficulty,
        "created_at": created_at,
    }
    if config is not None:
        job["config"] = config
    if split is not None:
        job["split"] = split
    if status == "started":
        job["started_at"] = created_at
        job["last_heartbeat"] = created_at
    return job


def upstream_cache_entry(
    *, kind: str, dataset: str, config: str | None = None, http_status: int = 200, error_code: str | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "_id": ObjectId(),
        "kind": kind,
        "dataset": dataset,
        "http_status": http_status,
        "content": {},
        "dataset_git_revision": OLD_SHA,
        "job_runner_version": 1,
        "failed_runs": 0,
        "updated_at": A_DATE,
    }
    if config is not None:
        entry["config"] = config
    if error_code is not None:
        entry["error_code"] = error_code
    return entry


def without_ids(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in document.items() if key != "_id"} for document in documents]


def snapshot_tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


@contextmanager
def slow_hub(fake_hub: Any, path: str) -> Iterator[None]:
    """The Hub answers `path` only after the block (so after any client timeout), then at once.

    The fake Hub serves one request at a time: its handler must not outlive the test.
    """
    release = threading.Event()

    def answer_late(request: Any) -> WerkzeugResponse:
        release.wait(timeout=5)
        return WerkzeugResponse("{}", content_type="application/json")

    fake_hub.expect_request(path).respond_with_handler(answer_late)
    try:
        yield
    finally:
        release.set()
