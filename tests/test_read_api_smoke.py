"""A first pass over the read routes against the embedded server."""

from __future__ import annotations

from datetime import UTC, datetime

from django.test import Client


def test_healthcheck_answers_ok_without_cache(client: Client) -> None:
    for url in ("/healthcheck", "/admin/healthcheck"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.content == b"ok"
        assert response["Cache-Control"] == "no-store"


def test_dataset_status_reports_a_cache_entry_written_without_optional_fields(client: Client, cache_db) -> None:
    cache_db["cachedResponsesBlue"].insert_one(
        {
            "kind": "dataset-config-names",
            "dataset": "org/ds",
            "http_status": 200,
            "content": {"config_names": []},
            "dataset_git_revision": "abc",
            "job_runner_version": 1,
            "failed_runs": 0,
            "updated_at": datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        }
    )
    response = client.get("/admin/dataset-status", {"dataset": "org/ds"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=10"
    body = response.json()
    assert len(body) == 29
    assert body["dataset-config-names"] == {
        "cached_responses": [
            {
                "kind": "dataset-config-names",
                "dataset": "org/ds",
                "config": None,
                "split": None,
                "http_status": 200,
                "error_code": None,
                "details": None,
                "updated_at": "2024-01-02T03:04:05.678000+00:00",
                "job_runner_version": 1,
                "dataset_git_revision": "abc",
                "progress": None,
                "failed_runs": 0,
            }
        ],
        "jobs": [],
    }


def test_cache_reports_of_unknown_kind_is_404_json(client: Client) -> None:
    response = client.get("/admin/cache-reports/not-a-step")
    assert response.status_code == 404
    assert response.json() == {"error": "Unknown processing step 'not-a-step'"}
    assert response["X-Error-Code"] == "NotFound"


def test_read_answers_vary_on_the_token_so_shared_caches_keep_callers_apart(client: Client) -> None:
    response = client.get("/admin/blocked-datasets")
    assert response.status_code == 200
    assert "Authorization" in response["Vary"]
