"""GET /admin/cache-errors: root errors grouped by (kind, error_code, cause_exception), copies counted apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import Client

from cachereports.documents import cache_entry_document
from foundation.core.serialization import iso_datetime

T0 = datetime(2024, 3, 4, 5, 6, 7, 250000, tzinfo=UTC)
"""Dates are rendered by the function of every other route (REFERENCE.md, "Exact rendering")."""


def error_entry(
    *,
    kind: str,
    dataset: str,
    error_code: str | None,
    cause_exception: str | None = None,
    copied_from: dict[str, Any] | None = None,
    http_status: int = 500,
    config: str | None = None,
    updated_at: datetime = T0,
) -> dict[str, Any]:
    details: dict[str, Any] = {"error": "it broke"}
    if cause_exception is not None:
        details |= {"cause_exception": cause_exception, "cause_message": f"{cause_exception}: boom"}
    if copied_from is not None:
        details["copied_from_artifact"] = copied_from
    return cache_entry_document(
        kind=kind,
        dataset=dataset,
        config=config,
        http_status=http_status,
        error_code=error_code,
        details=details,
        updated_at=updated_at,
    )


def parent(kind: str, dataset: str, config: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "dataset": dataset, "config": config, "split": None}


def seed_errors(cache_db: Any) -> None:
    """3 roots of one group in 3 datasets, 2 of another, 1 without exception; copies and successes around."""
    entries = [
        error_entry(
            kind="config-parquet-and-info",
            dataset=name,
            config="default",
            error_code="DatasetGenerationError",
            cause_exception="ValueError",
            updated_at=T0 + timedelta(hours=hours),
        )
        for name, hours in (("org/b", 2), ("org/a", 5), ("org/c", 1))
    ]
    entries += [
        error_entry(
            kind="config-parquet-and-info",
            dataset="org/d",
            config="default",
            error_code="DatasetGenerationError",
            cause_exception="FileNotFoundError",
        ),
        error_entry(
            kind="config-parquet-and-info",
            dataset="org/d",
            config="other",
            error_code="DatasetGenerationError",
            cause_exception="FileNotFoundError",
            updated_at=T0 + timedelta(minutes=1),
        ),
        error_entry(
            kind="dataset-config-names",
            dataset="org/e",
            error_code="DatasetWithScriptNotSupportedError",
            http_status=501,
        ),
        # Copies of the roots above: counted in "copied", never grouped
        error_entry(
            kind="config-parquet",
            dataset="org/a",
            config="default",
            error_code="DatasetGenerationError",
            cause_exception="ValueError",
            copied_from=parent("config-parquet-and-info", "org/a", "default"),
        ),
        error_entry(
            kind="config-info",
            dataset="org/a",
            config="default",
            error_code="DatasetGenerationError",
            cause_exception="ValueError",
            copied_from=parent("config-parquet-and-info", "org/a", "default"),
        ),
        error_entry(
            kind="config-split-names",
            dataset="org/e",
            config="default",
            error_code="DatasetWithScriptNotSupportedError",
            http_status=501,
            copied_from=parent("dataset-config-names", "org/e"),
        ),
        # Not errors
        cache_entry_document(kind="config-parquet-and-info", dataset="org/f", config="default"),
        cache_entry_document(kind="dataset-config-names", dataset="org/g", http_status=302),
    ]
    cache_db["cachedResponsesBlue"].insert_many(entries)


def test_root_errors_are_grouped_largest_first_with_exact_counts(client: Client, cache_db):
    seed_errors(cache_db)

    response = client.get("/admin/cache-errors")

    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "kind": "config-parquet-and-info",
                "error_code": "DatasetGenerationError",
                "cause_exception": "ValueError",
                "count": 3,
                "latest_updated_at": iso_datetime(T0 + timedelta(hours=5)),
                "sample_datasets": ["org/a", "org/b", "org/c"],
            },
            {
                "kind": "config-parquet-and-info",
                "error_code": "DatasetGenerationError",
                "cause_exception": "FileNotFoundError",
                "count": 2,
                "latest_updated_at": iso_datetime(T0 + timedelta(minutes=1)),
                "sample_datasets": ["org/d"],
            },
            {
                "kind": "dataset-config-names",
                "error_code": "DatasetWithScriptNotSupportedError",
                "cause_exception": None,
                "count": 1,
                "latest_updated_at": iso_datetime(T0),
                "sample_datasets": ["org/e"],
            },
        ],
        "copied": 3,
    }
    assert response["Cache-Control"] == "max-age=10"


def test_the_kind_filter_keeps_its_roots_and_its_copies_only(client: Client, cache_db):
    seed_errors(cache_db)

    assert client.get("/admin/cache-errors?kind=dataset-config-names").json() == {
        "errors": [
            {
                "kind": "dataset-config-names",
                "error_code": "DatasetWithScriptNotSupportedError",
                "cause_exception": None,
                "count": 1,
                "latest_updated_at": iso_datetime(T0),
                "sample_datasets": ["org/e"],
            }
        ],
        "copied": 0,
    }
    assert client.get("/admin/cache-errors?kind=config-parquet").json() == {"errors": [], "copied": 1}
    # A blank kind is no filter
    assert client.get("/admin/cache-errors?kind=").json() == client.get("/admin/cache-errors").json()


def test_a_group_names_five_datasets_at_most(client: Client, cache_db):
    cache_db["cachedResponsesBlue"].insert_many(
        [
            error_entry(
                kind="dataset-config-names",
                dataset=f"org/ds{number}",
                error_code="ConfigNamesError",
                cause_exception="ConnectionError",
            )
            for number in (7, 3, 9, 1, 5, 8, 2)
        ]
    )

    [group] = client.get("/admin/cache-errors").json()["errors"]

    assert group["count"] == 7
    assert group["sample_datasets"] == ["org/ds1", "org/ds2", "org/ds3", "org/ds5", "org/ds7"]


def test_an_unknown_kind_is_not_found(client: Client):
    response = client.get("/admin/cache-errors?kind=no-such-step")

    assert response.status_code == 404
    assert response.json() == {"error": "Unknown processing step 'no-such-step'"}
    assert response["X-Error-Code"] == "NotFound"
