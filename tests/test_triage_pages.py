"""The error triage page, the bulk refresh page (one batch per click, without JavaScript) and the
cache list's root-error filters, through Django's test client."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client

from cachereports.documents import cache_entry_document
from tests.support.write_helpers import SHA, serve_dataset, set_config

KIND = "config-parquet-and-info"


@pytest.fixture(autouse=True)
def patient_hub() -> None:
    """The fake Hub on a loaded machine can take more than the default 0.2 s."""
    set_config(hf_timeout_seconds=10.0)


def text_of(response: Any) -> str:
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", response.content.decode(), flags=re.DOTALL)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


def error(dataset: str, config: str = "default", *, cause: str = "ValueError", copied: bool = False) -> dict[str, Any]:
    details: dict[str, Any] = {"cause_exception": cause}
    if copied:
        details["copied_from_artifact"] = {"kind": "dataset-config-names", "dataset": dataset}
    return cache_entry_document(
        kind=KIND, dataset=dataset, config=config, http_status=500, error_code="DatasetGenerationError", details=details
    )


def seed(cache_db: Any) -> None:
    cache_db["cachedResponsesBlue"].insert_many(
        [
            error("org/a"),
            error("org/b"),
            error("org/c", cause="OSError"),
            error("org/d", copied=True),
            cache_entry_document(kind=KIND, dataset="org/ok", config="default"),
        ]
    )


def test_the_errors_page_lists_groups_with_their_links(client: Client, cache_db: Any) -> None:
    seed(cache_db)

    response = client.get("/admin/errors")

    assert response.status_code == 200
    text = text_of(response)
    assert "2 groups of root errors · 1 error entry copying another" in text
    assert re.search(rf"{KIND} DatasetGenerationError ValueError 2 \S+ ago org/a ?, org/b bulk refresh", text)
    assert re.search(rf"{KIND} DatasetGenerationError OSError 1 \S+ ago org/c bulk refresh", text)
    html = response.content.decode()
    entries = (
        f"/admin/cache?kind={KIND}&amp;error_code=DatasetGenerationError&amp;cause_exception=ValueError&amp;root_only=1"
    )
    refresh = (
        f"/admin/bulk?kind={KIND}&amp;error_code=DatasetGenerationError&amp;cause_exception=ValueError"
        "&amp;root_errors_only=true"
    )
    assert f'<a class="group-entries" href="{entries}">2</a>' in html
    assert f'<a class="group-refresh" href="{refresh}">bulk refresh</a>' in html

    filtered = text_of(client.get("/admin/errors?kind=dataset-config-names"))
    assert "0 groups of root errors · 0 error entries copying another" in filtered
    assert "No root error of dataset-config-names." in filtered


def test_the_cache_list_shows_exactly_a_group_by_exception_and_root_errors_only(client: Client, cache_db: Any):
    seed(cache_db)

    def datasets(query: str) -> list[str]:
        response = client.get(f"/admin/cache?kind={KIND}&{query}")
        assert response.status_code == 200
        return [entry.dataset for entry in response.context["page"].cache_entries]

    assert datasets("error_code=DatasetGenerationError") == ["org/a", "org/b", "org/c", "org/d"]
    assert datasets("cause_exception=ValueError") == ["org/a", "org/b", "org/d"]
    assert datasets("cause_exception=ValueError&root_only=1") == ["org/a", "org/b"]
    assert datasets("root_only=1") == ["org/a", "org/b", "org/c"]


def test_the_bulk_page_previews_then_applies_batch_by_batch(
    client: Client, cache_db: Any, queue_db: Any, fake_hub: Any
) -> None:
    seed(cache_db)
    for dataset in ("org/a", "org/b"):
        serve_dataset(fake_hub, dataset)
    query = f"kind={KIND}&cause_exception=ValueError&root_errors_only=true&limit=1"

    preview = client.get(f"/admin/bulk?{query}")

    assert preview.status_code == 200
    text = text_of(preview)
    assert "2 entries match, in 2 datasets; batches of 1." in text
    assert "The first 1 dataset config split status error code org/a default 500 DatasetGenerationError" in text
    assert "0 of 2 done Refresh the first batch (1 entry, priority low)" in text
    assert queue_db["jobsBlue"].count_documents({}) == 0
    assert fake_hub.log == []
    assert '<script src="/static/bulk_refresh.js" defer></script>' in preview.content.decode()
    assert "<script>" not in preview.content.decode()  # no inline script: the CSP allows 'self' only

    form = preview.context["fields"] | {"limit": "1", "priority": "low", "cursor": "", "done": "0"}
    first = client.post("/admin/bulk", {name: value for name, value in form.items() if value is not None})
    assert first.status_code == 200
    assert "1 entry processed: 1 job created, 0 already waiting, 0 skipped." in text_of(first)
    assert "1 of 2 done" in text_of(first)
    assert first.context["cursor"] != ""

    second = client.post(
        "/admin/bulk",
        {**{k: v for k, v in form.items() if v is not None}, "cursor": first.context["cursor"], "done": "1"},
    )
    assert "2 of 2 done" in text_of(second)
    assert "Finished: every matching entry was processed." in text_of(second)
    jobs = list(queue_db["jobsBlue"].find({}, {"_id": 0, "dataset": 1, "revision": 1}))
    assert sorted(job["dataset"] for job in jobs) == ["org/a", "org/b"]
    assert {job["revision"] for job in jobs} == {SHA}
    assert queue_db["adminActions"].count_documents({"action": "bulk-refresh"}) == 2


def test_the_page_answers_json_to_its_script(client: Client, cache_db: Any, queue_db: Any, fake_hub: Any) -> None:
    seed(cache_db)
    serve_dataset(fake_hub, "org/c")

    response = client.post(
        "/admin/bulk",
        {"kind": KIND, "cause_exception": "OSError", "cursor": ""},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 200
    assert response.json() == {
        "dry_run": False,
        "matched": 1,
        "processed": 1,
        "created_jobs": 1,
        "already_waiting": 0,
        "skipped": [],
        "next_cursor": "",
    }


def test_a_bad_filter_on_the_page_is_an_error_page(client: Client, queue_db: Any) -> None:
    response = client.get(f"/admin/bulk?kind={KIND}&http_status=abc")
    assert response.status_code == 422
    assert "Parameter 'http_status' should be an int value between 100 and 599." in text_of(response)


def test_a_group_without_exception_links_to_exactly_its_entries(client: Client, cache_db: Any) -> None:
    seed(cache_db)
    no_exception = error("org/e")
    del no_exception["details"]["cause_exception"]
    cache_db["cachedResponsesBlue"].insert_one(no_exception)

    page = client.get("/admin/errors")
    groups = page.context["errors"].errors
    [group] = [group for group in groups if group.cause_exception is None]
    assert group.count == 1
    hrefs = re.findall(r'class="group-(?:entries|refresh)" href="([^"]+)"', page.content.decode())
    links = [unescape(href) for href in hrefs]
    [entries_link] = [link for link in links if "no_exception=1" in link]
    [refresh_link] = [link for link in links if "without_cause_exception=true" in link]

    listed = client.get(entries_link).context["page"].cache_entries
    assert [entry.dataset for entry in listed] == ["org/e"]
    preview = client.get(refresh_link)
    assert preview.context["preview"].matched == 1
