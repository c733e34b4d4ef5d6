"""Edges of the HTTP contract that clients of the other services rely on."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

from bson import ObjectId
from django.test import Client

from foundation.web.request_log import UnexpectedServerErrorsOnly
from tests.support.auth_support import FakeWhoami
from tests.support.write_helpers import upstream_cache_entry, upstream_job
from tests.test_config import start_django

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def test_content_holding_bson_values_is_shown_not_a_500(client: Client, cache_db: Any) -> None:
    entry = upstream_cache_entry(kind="dataset-hub-cache", dataset="org/ds")
    entry["content"] = {"raw": b"\xff\x00", "id": ObjectId("65a1b2c3d4e5f60718293a4b")}
    cache_db["cachedResponsesBlue"].insert_one(entry)
    response = client.get("/admin/cache-reports-with-content/dataset-hub-cache")
    assert response.status_code == 200, response.content
    [report] = response.json()["cache_reports_with_content"]
    assert report["content"] == {
        "raw": base64.b64encode(b"\xff\x00").decode(),
        "id": "65a1b2c3d4e5f60718293a4b",
    }


def test_any_accept_header_gets_json(client: Client) -> None:
    for accept in ("text/html", "application/xml", "*/*"):
        response = client.get("/admin/blocked-datasets", headers={"Accept": accept})
        assert response.status_code == 200, accept
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"blocked_datasets": []}


def test_accept_header_does_not_hide_the_missing_token(client: Client, auth_on: FakeWhoami) -> None:
    response = client.get("/admin/pending-jobs", headers={"Accept": "text/html"})
    assert response.status_code == 401
    assert response["X-Error-Code"] == "ExternalUnauthenticatedError"
    assert auth_on.calls == 0


def test_probes_answer_head_and_refuse_posts_without_a_csrf_page(client: Client) -> None:
    for url in ("/healthcheck", "/admin/healthcheck", "/admin/metrics"):
        assert client.head(url).status_code == 200, url
        refused = Client(enforce_csrf_checks=True).post(url)
        assert refused.status_code == 405, url
        assert b"CSRF" not in refused.content


def test_a_missing_prometheus_folder_is_created_at_start_up(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet"
    completed = start_django(PROMETHEUS_MULTIPROC_DIR=str(folder))
    assert completed.returncode == 0, completed.stderr
    assert folder.is_dir()


def test_an_uncreatable_prometheus_folder_stops_start_up_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    completed = start_django(PROMETHEUS_MULTIPROC_DIR=str(blocker / "metrics"))
    assert completed.returncode == 1
    [line] = completed.stderr.splitlines()
    assert line.startswith("configuration error: PROMETHEUS_MULTIPROC_DIR: cannot create the folder")


def _refuse_our_token(fake_hub: Any, dataset: str) -> None:
    fake_hub.expect_request(f"/api/datasets/{dataset}").respond_with_json(
        {"error": INVALID_CREDENTIALS}, status=401, headers={"X-Error-Message": INVALID_CREDENTIALS}
    )


def test_a_refused_service_token_is_a_hub_failure_and_recreate_deletes_nothing(
    client: Client, fake_hub: Any, cache_db: Any, queue_db: Any
) -> None:
    cache_db["cachedResponsesBlue"].insert_one(upstream_cache_entry(kind="dataset-config-names", dataset="org/ds"))
    queue_db["jobsBlue"].insert_one(upstream_job(job_type="dataset-info", dataset="org/ds"))
    _refuse_our_token(fake_hub, "org/ds")
    response = client.post("/admin/recreate-dataset?dataset=org/ds", data="", content_type="application/json")
    assert response.status_code == 500
    assert response["X-Error-Code"] == "UnexpectedApiError"
    assert cache_db["cachedResponsesBlue"].count_documents({}) == 1
    assert queue_db["jobsBlue"].count_documents({}) == 1


def test_a_refused_service_token_queues_nothing_on_force_refresh(client: Client, fake_hub: Any, queue_db: Any) -> None:
    _refuse_our_token(fake_hub, "org/ds")
    response = client.post("/admin/force-refresh/dataset-info?dataset=org/ds", data="", content_type="application/json")
    assert response.status_code == 500
    assert response["X-Error-Code"] == "UnexpectedApiError"
    assert queue_db["jobsBlue"].count_documents({}) == 0


def test_a_dataset_that_is_not_a_string_in_a_json_body_is_invalid(client: Client, fake_hub: Any) -> None:
    for url in ("/admin/force-refresh/dataset-info", "/admin/recreate-dataset"):
        response = client.post(url, data={"dataset": 5}, content_type="application/json")
        assert response.status_code == 422, url
        assert response["X-Error-Code"] == "InvalidParameter"
        assert response.json() == {"error": "Parameter 'dataset' is not a valid dataset name"}
    assert fake_hub.log == []


def test_a_refused_method_on_a_read_route_is_not_cacheable(client: Client) -> None:
    response = client.post("/admin/pending-jobs", data="", content_type="application/json")
    assert response.status_code == 405
    assert response["Cache-Control"] == "no-store"
    assert client.get("/admin/pending-jobs")["Cache-Control"] == "max-age=10"


def test_djangos_request_log_keeps_only_the_unexpected_server_errors() -> None:
    keeps = UnexpectedServerErrorsOnly().filter

    def record(status_code: int) -> logging.LogRecord:
        entry = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "answer", None, None)
        entry.status_code = status_code
        return entry

    assert keeps(record(500))
    assert not keeps(record(501))
    assert not keeps(record(503))
    assert not keeps(record(404))
