"""Chaining `next_cursor` from an empty cursor visits every entry of a kind once, in `_id` order."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from bson import ObjectId
from django.test import Client

from cachereports.documents import cache_entry_document

KIND = "split-first-rows"
OTHER_KIND = "dataset-info"


def insert_interleaved(cache_db: Any, count: int) -> list[str]:
    """`count` entries of KIND, each followed by one of another kind; their ids in `_id` order."""
    ids = [ObjectId() for _ in range(2 * count + 1)]
    entries = []
    for number in range(count):
        entries.append({"_id": ids[2 * number], **cache_entry_document(kind=KIND, dataset=f"ds{number}", split="s")})
        entries.append({"_id": ids[2 * number + 1], **cache_entry_document(kind=OTHER_KIND, dataset=f"ds{number}")})
    entries.append({"_id": ids[-1], **cache_entry_document(kind=OTHER_KIND, dataset="last")})
    entries.reverse()  # insertion order is not `_id` order
    cache_db["cachedResponsesBlue"].insert_many(entries)
    return [str(identifier) for identifier in ids[0 : 2 * count : 2]]


def walk(client: Client, route: str, key: str) -> tuple[list[dict[str, Any]], int]:
    reports: list[dict[str, Any]] = []
    cursor, pages = "", 0
    while True:
        response = client.get(f"/admin/{route}/{KIND}", {"cursor": cursor})
        assert response.status_code == 200
        page = response.json()
        pages += 1
        reports.extend(page[key])
        cursor = page["next_cursor"]
        if not cursor:
            return reports, pages
        assert pages <= 1000, "next_cursor never ends"


@pytest.mark.parametrize(
    ("count", "page_size"),
    [(0, 1), (0, 7), (0, 100), (1, 1), (1, 7), (1, 100), (100, 1), (100, 7), (100, 100), (250, 7), (250, 100)],
)
def test_cursor_chain_visits_every_entry_once_in_id_order(client: Client, cache_db, settings, count, page_size):
    settings.ADMIN = dataclasses.replace(settings.ADMIN, cache_reports_num_results=page_size)
    ids = insert_interleaved(cache_db, count)

    reports, pages = walk(client, "cache-reports", "cache_reports")

    assert [report["dataset"] for report in reports] == [f"ds{number}" for number in range(count)]
    assert {report["kind"] for report in reports} <= {KIND}
    # a full last page costs one more (empty) request, as the contract says
    assert pages == count // page_size + 1
    assert len(ids) == count


@pytest.mark.parametrize(("count", "page_size"), [(250, 1), (100, 7)])
def test_cursor_chain_with_content(client: Client, cache_db, settings, count, page_size):
    settings.ADMIN = dataclasses.replace(settings.ADMIN, cache_reports_with_content_num_results=page_size)
    insert_interleaved(cache_db, count)

    reports, _ = walk(client, "cache-reports-with-content", "cache_reports_with_content")

    assert [(report["kind"], report["dataset"]) for report in reports] == [(KIND, f"ds{n}") for n in range(count)]
    assert all(report["content"] == {} for report in reports)


def test_next_cursor_is_the_id_of_the_last_entry_of_a_full_page(client: Client, cache_db, settings):
    settings.ADMIN = dataclasses.replace(settings.ADMIN, cache_reports_num_results=7)
    ids = insert_interleaved(cache_db, 10)
    first = client.get(f"/admin/cache-reports/{KIND}").json()
    assert first["next_cursor"] == ids[6]
    second = client.get(f"/admin/cache-reports/{KIND}", {"cursor": first["next_cursor"]}).json()
    assert [report["dataset"] for report in second["cache_reports"]] == ["ds7", "ds8", "ds9"]
    assert second["next_cursor"] == ""
