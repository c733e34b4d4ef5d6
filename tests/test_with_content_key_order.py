"""`/admin/cache-reports-with-content/*` keys in the other services' own order (issue 22 item 5).

The other services write this route's reports in another key order than `/admin/cache-reports`:
`content` after `error_code`, then `job_runner_version, dataset_git_revision, details,
updated_at, progress, failed_runs`. Their clients compare bytes, so the order is asserted on the
bytes, beside the report without content, whose order stays its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from django.test import Client

ENTRY_ID = ObjectId("65a1b2c3d4e5f60718293a4b")


def seed_entry(cache_db: Any) -> None:
    """One entry with every field, as the workers write it (a split-level error with details)."""
    cache_db["cachedResponsesBlue"].insert_one(
        {
            "_id": ENTRY_ID,
            "kind": "split-first-rows",
            "dataset": "org/ds",
            "config": "default",
            "split": "train",
            "http_status": 500,
            "error_code": "StreamingRowsError",
            "content": {"error": "boom"},
            "dataset_git_revision": "abc",
            "progress": 0.5,
            "job_runner_version": 3,
            "failed_runs": 1,
            "details": {"cause_exception": "ValueError"},
            "updated_at": datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
            "duration": 1.5,
        }
    )


def test_a_report_with_content_has_the_other_services_key_order(client: Client, cache_db: Any) -> None:
    seed_entry(cache_db)
    response = client.get("/admin/cache-reports-with-content/split-first-rows")
    assert response.status_code == 200
    assert response.content == (
        b'{"cache_reports_with_content":[{"kind":"split-first-rows","dataset":"org/ds","config":"default",'
        b'"split":"train","http_status":500,"error_code":"StreamingRowsError","content":{"error":"boom"},'
        b'"job_runner_version":3,"dataset_git_revision":"abc","details":{"cause_exception":"ValueError"},'
        b'"updated_at":"2024-01-02T03:04:05.678000","progress":0.5,"failed_runs":1}],"next_cursor":""}'
    )


def test_a_report_without_content_keeps_its_own_order(client: Client, cache_db: Any) -> None:
    seed_entry(cache_db)
    response = client.get("/admin/cache-reports/split-first-rows")
    assert response.content == (
        b'{"cache_reports":[{"kind":"split-first-rows","dataset":"org/ds","config":"default","split":"train",'
        b'"http_status":500,"error_code":"StreamingRowsError","details":{"cause_exception":"ValueError"},'
        b'"updated_at":"2024-01-02T03:04:05.678000","job_runner_version":3,"dataset_git_revision":"abc",'
        b'"progress":0.5,"failed_runs":1}],"next_cursor":""}'
    )
