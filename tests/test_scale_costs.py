"""Cost at scale (issue 12, item 8): what the dashboard and a recreate send to the cache database.

The dashboard never aggregates the cache on every load: builder-name counts are loaded apart
from it (their own page, fetched by a small script) and, like its root-error groups, reused for
a minute per process, then counted again behind the request that finds them old. A recreate deletes a
dataset's cache entries in one bulk delete, each entry only as it was read, and moves `cacheTotalMetric`
by the entries deleted: exact.
"""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId
from django.test import Client

from tests.support.page_data import insert_cache_entry
from tests.support.write_helpers import A_DATE, serve_dataset, upstream_cache_entry

DATASET = "org/ds"


def cache_commands(db_commands: Any) -> list[tuple[str, str]]:
    return [target for target in db_commands.collections if target[1] in ("cachedResponsesBlue", "cacheTotalMetric")]


def seed_builder_names(cache_db: Any) -> None:
    for builder_name in ("csv", "csv", "parquet", "my-own-builder"):
        insert_cache_entry(
            cache_db,
            kind="dataset-info",
            dataset=f"{builder_name}-{ObjectId()}",
            content={"dataset_info": {"default": {"builder_name": builder_name}}},
        )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The monotonic clock of the reused counts, moved by hand: `clock[0] += 61`."""
    from cachereports import selectors

    now = [1000.0]
    monkeypatch.setattr(selectors._reused_counts, "clock", lambda: now[0])
    return now


@pytest.fixture
def refreshes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """The background refreshes started, held (name, run) instead of run in a thread: the test runs them."""
    from cachereports import selectors

    started: list[tuple[str, Any]] = []
    monkeypatch.setattr(selectors._reused_counts, "start", lambda name, target: started.append((name, target)))
    return started


def test_the_dashboard_reads_the_cache_entries_at_most_once_a_minute(
    client: Client, cache_db: Any, db_commands: Any, clock: list[float], refreshes: list[tuple[str, Any]]
):
    seed_builder_names(cache_db)
    db_commands.collections.clear()
    response = client.get("/admin/")
    assert response.status_code == 200
    # the root-error groups, counted in this request (none counted yet in this process), and the metric rows
    assert cache_commands(db_commands) == [("aggregate", "cachedResponsesBlue"), ("find", "cacheTotalMetric")]
    clock[0] += 59
    db_commands.collections.clear()
    response = client.get("/admin/")
    assert cache_commands(db_commands) == [("find", "cacheTotalMetric")]
    assert refreshes == []
    clock[0] += 2
    db_commands.collections.clear()
    client.get("/admin/")
    # a minute old: served as they are, and counted again behind the request, once
    assert cache_commands(db_commands) == [("find", "cacheTotalMetric")]
    assert [name for name, _ in refreshes] == ["refresh root-error groups"]
    db_commands.collections.clear()
    refreshes[0][1]()
    assert cache_commands(db_commands) == [("aggregate", "cachedResponsesBlue")]
    html = response.content.decode()
    # not counted yet in this process: the table is loaded apart, by a link (and a script that follows it)
    assert '<a id="builder-names-link" href="/admin/builder-names">Count datasets by builder name</a>' in html
    assert '<div id="builder-names-slot" data-src="/admin/builder-names">' in html  # static/dashboard.js fetches it


def test_builder_names_are_counted_once_a_minute_per_process(
    client: Client, cache_db: Any, db_commands: Any, clock: list[float], refreshes: list[tuple[str, Any]]
):
    seed_builder_names(cache_db)
    db_commands.collections.clear()
    page = client.get("/admin/builder-names")
    assert page.status_code == 200
    assert cache_commands(db_commands) == [("aggregate", "cachedResponsesBlue")]
    html = page.content.decode()
    assert '<table id="builder-names">' in html
    assert (
        '<tr><td>csv</td><td class="num"><a href="/admin/cache?kind=dataset-info&amp;http_status=200">2</a></td></tr>'
        in html
    )
    assert (
        '<tr><td>other</td><td class="num"><a href="/admin/cache?kind=dataset-info&amp;http_status=200">1</a></td></tr>'
        in html
    )

    # within the minute: the dashboard shows the same counts inline, and nothing reads the entries
    insert_cache_entry(
        cache_db, kind="dataset-info", dataset="late", content={"dataset_info": {"default": {"builder_name": "csv"}}}
    )
    client.get("/admin/")  # the root-error groups, counted once in the minute
    clock[0] += 59
    db_commands.collections.clear()
    dashboard = client.get("/admin/")
    assert cache_commands(db_commands) == [("find", "cacheTotalMetric")]
    assert dashboard.context["builder_names"].counts["csv"] == 2
    assert '<a href="/admin/cache?kind=dataset-info&amp;http_status=200">2</a>' in dashboard.content.decode()
    assert "builder-names-link" not in dashboard.content.decode()

    # a minute later the old counts are shown, and counted again behind the request
    clock[0] += 2
    db_commands.collections.clear()
    assert client.get("/admin/builder-names").context["builder_names"].counts["csv"] == 2
    assert cache_commands(db_commands) == []
    assert [name for name, _ in refreshes] == ["refresh builder-name counts"]
    refreshes[0][1]()
    assert cache_commands(db_commands) == [("aggregate", "cachedResponsesBlue")]
    assert client.get("/admin/builder-names").context["builder_names"].counts["csv"] == 3


def test_the_json_route_of_builder_names_stays_exact(client: Client, cache_db: Any, clock: list[float]):
    """/admin/num-dataset-infos-by-builder-name is the other services' route: counted on each call."""
    seed_builder_names(cache_db)
    assert client.get("/admin/num-dataset-infos-by-builder-name").json()["csv"] == 2
    insert_cache_entry(
        cache_db, kind="dataset-info", dataset="late", content={"dataset_info": {"default": {"builder_name": "csv"}}}
    )
    assert client.get("/admin/num-dataset-infos-by-builder-name").json()["csv"] == 3


def post_recreate(client: Client) -> Any:
    return client.post(f"/admin/recreate-dataset?dataset={DATASET}", data="", content_type="application/json")


def test_recreate_deletes_the_cache_entries_in_one_bulk_delete_with_exact_metric_rows(
    fake_hub: Any, client: Client, cache_db: Any, db_commands: Any
) -> None:
    entries = [
        upstream_cache_entry(
            kind=kind,
            dataset=DATASET,
            config=f"c{number}",
            http_status=200 if number % 3 else 500,
            error_code=None if number % 3 else f"E{number % 2}",
        )
        for kind in ("config-info", "config-parquet", "config-size")
        for number in range(40)
    ]
    entries.append(upstream_cache_entry(kind="dataset-info", dataset="org/other"))
    cache_db["cachedResponsesBlue"].insert_many(entries)
    rows = []
    for kind in ("config-info", "config-parquet", "config-size"):
        rows += [
            {"kind": kind, "http_status": 200, "total": 26 + 5, "created_at": A_DATE},
            {"kind": kind, "http_status": 500, "error_code": "E0", "total": 7, "created_at": A_DATE},
            {"kind": kind, "http_status": 500, "error_code": "E1", "total": 7 + 1, "created_at": A_DATE},
        ]
    rows.append({"kind": "dataset-info", "http_status": 200, "total": 1, "created_at": A_DATE})
    cache_db["cacheTotalMetric"].insert_many(rows)
    serve_dataset(fake_hub, DATASET)
    db_commands.collections.clear()

    response = post_recreate(client)

    assert response.json()["deleted_cached_responses"] == 120
    # 120 entries in 9 metric rows, whatever their number: one read, one bulk delete (each entry only
    # as read, so the rows move by what was deleted), one write of the rows, the read that finds none
    assert cache_commands(db_commands) == [
        ("find", "cachedResponsesBlue"),
        ("delete", "cachedResponsesBlue"),
        ("update", "cacheTotalMetric"),
        ("find", "cachedResponsesBlue"),
    ]
    assert [entry["dataset"] for entry in cache_db["cachedResponsesBlue"].find()] == ["org/other"]
    totals = {
        (row["kind"], row["http_status"], row.get("error_code")): row["total"]
        for row in cache_db["cacheTotalMetric"].find()
    }
    expected: dict[tuple[str, int, str | None], int] = {("dataset-info", 200, None): 1}
    for kind in ("config-info", "config-parquet", "config-size"):
        expected |= {(kind, 200, None): 5, (kind, 500, "E0"): 0, (kind, 500, "E1"): 1}
    assert totals == expected


def test_recreate_of_a_dataset_without_cache_entry_writes_no_metric_row(
    fake_hub: Any, client: Client, cache_db: Any, db_commands: Any
) -> None:
    serve_dataset(fake_hub, DATASET)
    db_commands.collections.clear()
    assert post_recreate(client).json()["deleted_cached_responses"] == 0
    assert cache_commands(db_commands) == [("find", "cachedResponsesBlue")]
    assert list(cache_db["cacheTotalMetric"].find()) == []
