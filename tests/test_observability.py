"""Metrics, readiness, headers, logs and the database-down answer, in process (Django client)."""

from __future__ import annotations

import dataclasses
import gzip
import logging
import shutil
import time
from pathlib import Path

import pytest
import rest_framework
from django.http import HttpResponse
from django.test import Client, RequestFactory
from prometheus_client.parser import text_string_to_metric_families
from pymongo.errors import ServerSelectionTimeoutError
from pytest_httpserver import HTTPServer

from demo.embedded_mongo import free_port
from foundation.core.identity import HubIdentity
from foundation.web.json_answers import JsonAnswersMiddleware
from foundation.web.request_log import RequestLogMiddleware, masked_query_string
from tests.support.read_routes import READ_ROUTES
from tests.support.write_helpers import SHA, serve_dataset


@pytest.fixture
def database_down(settings):
    """Point the service at a port where no server listens, with a short timeout."""
    dead = f"mongodb://127.0.0.1:{free_port()}/"
    settings.ADMIN = dataclasses.replace(
        settings.ADMIN, cache_mongo_url=dead, queue_mongo_url=dead, mongo_timeout_seconds=0.3
    )


def samples_of(body: bytes) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


# readiness


def test_readiness_answers_ready_when_both_databases_answer(client: Client) -> None:
    response = client.get("/admin/readiness")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "databases": {"cache": "ok", "queue": "ok"}}
    assert response["Cache-Control"] == "no-store"


def test_readiness_names_the_database_that_does_not_answer(client: Client, settings) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, queue_mongo_url=f"mongodb://127.0.0.1:{free_port()}/")
    response = client.get("/admin/readiness")
    assert response.status_code == 503
    assert response["X-Error-Code"] == "DatabaseUnavailableError"
    assert response.json() == {
        "error": "MongoDB did not answer: queue",
        "databases": {"cache": "ok", "queue": "unreachable"},
    }


def test_liveness_does_not_ask_the_database(client: Client, database_down, settings) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, mongo_timeout_seconds=10)
    started = time.monotonic()
    response = client.get("/admin/healthcheck")
    assert (response.status_code, response.content) == (200, b"ok")
    assert time.monotonic() - started < 5  # asking the dead database would take the 10 s timeout


# database down


@pytest.mark.parametrize("route", READ_ROUTES.values())
def test_every_json_route_answers_503_when_the_database_is_down(client: Client, database_down, route: str) -> None:
    started = time.monotonic()
    response = client.get(route)
    assert time.monotonic() - started < 2.0  # the 0.3 s server-selection timeout, not a hang
    assert response.status_code == 503
    assert response.json() == {"error": "The database is unavailable, please retry later."}
    assert response["X-Error-Code"] == "DatabaseUnavailableError"
    assert response["Cache-Control"] == "max-age=10"


def test_a_plain_django_view_losing_the_database_answers_503_json() -> None:
    middleware = JsonAnswersMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/some-page")
    response = middleware.process_exception(request, ServerSelectionTimeoutError("127.0.0.1:1: refused"))
    assert response is not None
    assert response.status_code == 503
    assert response["X-Error-Code"] == "DatabaseUnavailableError"
    assert response["Cache-Control"] == "no-store"
    assert response.content == b'{"error": "The database is unavailable, please retry later."}'


# metrics


def test_metrics_report_the_metric_collections_and_the_parquet_metadata_disk(
    client: Client, settings, cache_db, queue_db, tmp_path: Path
) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, parquet_metadata_storage_directory=tmp_path / "not-yet")
    queue_db["jobTotalMetric"].insert_many(
        [
            {"job_type": "dataset-info", "status": "waiting", "dataset_status": "normal", "total": 3},
            {"job_type": "dataset-info", "status": "waiting", "dataset_status": "blocked", "total": 1},
        ]
    )
    queue_db["workerTypeJobCounts"].insert_one({"worker_size": "medium", "jobs_count": 4})
    cache_db["cacheTotalMetric"].insert_many(
        [
            {"kind": "config-size", "http_status": 200, "total": 8},
            {"kind": "config-size", "http_status": 501, "error_code": "DatasetTooBigError", "total": 2},
        ]
    )
    client.get("/admin/pending-jobs")

    response = client.get("/admin/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert response["Cache-Control"] == "no-store"
    samples = samples_of(response.content)
    assert samples["queue_jobs_total"] == {
        (("dataset_status", "blocked"), ("queue", "dataset-info"), ("status", "waiting")): 1.0,
        (("dataset_status", "normal"), ("queue", "dataset-info"), ("status", "waiting")): 3.0,
    }
    assert samples["worker_size_jobs_count"] == {(("worker_size", "medium"),): 4.0}
    assert samples["responses_in_cache_total"] == {
        (("error_code", "DatasetTooBigError"), ("http_status", "501"), ("kind", "config-size")): 2.0,
        (("error_code", "None"), ("http_status", "200"), ("kind", "config-size")): 8.0,
    }
    assert samples["mongodb_up"] == {(("database", "cache"),): 1.0, (("database", "queue"),): 1.0}
    disk = samples["parquet_metadata_disk_usage"]
    assert disk[(("type", "total"),)] == shutil.disk_usage(tmp_path).total
    assert 0 <= disk[(("type", "percent"),)] <= 100
    pending_jobs = (("method", "GET"), ("transport", "http"), ("view", "jobs.apis.PendingJobsApi"))
    assert samples["django_http_requests_total_by_view_transport_method_total"][pending_jobs] >= 1


def test_metrics_answer_quickly_with_the_request_metrics_when_the_database_is_down(
    client: Client, database_down
) -> None:
    started = time.monotonic()
    response = client.get("/admin/metrics")
    assert time.monotonic() - started < 3  # the 0.3 s timeouts, not pymongo's 30 s default
    assert response.status_code == 200
    samples = samples_of(response.content)
    assert samples["mongodb_up"] == {(("database", "cache"),): 0.0, (("database", "queue"),): 0.0}
    assert "queue_jobs_total" not in samples and "responses_in_cache_total" not in samples
    assert "django_http_requests_before_middlewares_total" in samples
    assert "parquet_metadata_disk_usage" in samples


# headers


def test_a_large_answer_is_gzipped_when_the_client_accepts_it(client: Client) -> None:
    plain = client.get("/admin/pending-jobs")
    compressed = client.get("/admin/pending-jobs", HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in plain
    assert compressed["Content-Encoding"] == "gzip"
    assert len(compressed.content) < len(plain.content)
    assert gzip.decompress(compressed.content) == plain.content


def test_an_unknown_url_is_a_json_404_that_no_cache_keeps(client: Client) -> None:
    response = client.get("/admin/no-such-route")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found."}
    assert response["Cache-Control"] == "no-store"


def test_static_files_are_served_by_the_app_without_collectstatic(client: Client) -> None:
    response = client.get("/static/rest_framework/css/bootstrap.min.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    expected = Path(rest_framework.__file__).parent / "static" / "rest_framework" / "css" / "bootstrap.min.css"
    assert response.getvalue() == expected.read_bytes()


# logs


def test_one_log_line_per_request_without_secrets(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client.get(
        "/admin/dataset-status",
        {"dataset": "org/ds", "token": "hf_secret1", "api_key": "hf_secret2"},
        HTTP_AUTHORIZATION="Bearer hf_secret3",
    )
    lines = [record.getMessage() for record in caplog.records if record.name == "adminsite.requests"]
    assert len(lines) == 1
    assert lines[0].startswith("GET /admin/dataset-status?dataset=org/ds&token=***&api_key=*** 200 ")
    assert lines[0].endswith("ms caller=anonymous")
    assert "hf_secret" not in caplog.text


def test_the_request_line_names_the_verified_caller_and_marks_writes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    def view(request):
        request.hub_identity = HubIdentity(name="alice", org="huggingface")
        return HttpResponse(status=201)

    RequestLogMiddleware(view)(RequestFactory().post("/admin/force-refresh/dataset-info?dataset=org/ds"))
    [line] = [record.getMessage() for record in caplog.records if record.name == "adminsite.requests"]
    assert line.startswith("write POST /admin/force-refresh/dataset-info?dataset=org/ds 201 ")
    assert line.endswith("ms caller=alice")


def test_every_write_gives_one_line_with_its_outcome(
    client: Client, fake_hub: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    serve_dataset(fake_hub, "org/ds")
    client.post("/admin/force-refresh/dataset-info?dataset=org/ds", data="", content_type="application/json")
    client.post("/admin/force-refresh/dataset-info?dataset=bad/../x", data="", content_type="application/json")
    fake_hub.expect_request("/api/datasets/org/gone").respond_with_json(
        {"error": "Repository not found"}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    client.post("/admin/recreate-dataset?dataset=org/gone", data="", content_type="application/json")
    lines = [record.getMessage() for record in caplog.records if record.name == "adminsite.writes"]
    assert len(lines) == 2  # the invalid name was refused before anything was written
    assert lines[0].startswith(
        "write force-refresh outcome=ok caller=anonymous job_type=dataset-info dataset=org/ds priority=low"
        " action=created job_id="
    )
    assert lines[0].endswith(f" revision={SHA} difficulty=20")
    assert lines[1] == (
        "write recreate-dataset outcome=not_supported caller=anonymous dataset=org/gone priority=low"
        " error_code=NotSupportedRepositoryNotFoundError deleted_jobs=0 deleted_cached_responses=0"
        " deleted_asset_folders=0"
    )


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        ("", ""),
        ("dataset=org/ds", "dataset=org/ds"),
        ("access_token=x&Authorization=y&cursor=abc", "access_token=***&Authorization=***&cursor=abc"),
        ("HF_TOKEN=x&apiKey=y&password=z", "HF_TOKEN=***&apiKey=***&password=***"),
    ],
)
def test_credential_like_parameters_are_masked(query: str, logged: str) -> None:
    assert masked_query_string(query) == logged
