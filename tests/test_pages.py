"""The HTML pages of the console, through Django's test client, on seeded documents."""

from __future__ import annotations

import dataclasses
import re
from html import unescape
from typing import Any

import pytest
from bson import ObjectId
from django.core.management import call_command
from django.test import Client

from foundation.core.processing_graph import processing_graph
from tests.support.auth_support import FakeWhoami, whoami_answer
from tests.support.page_data import ago, insert_cache_entry, insert_job, seed_broken_dataset


def text_of(response: Any) -> str:
    """The page as a reader sees it: styles, scripts and tags dropped, entities decoded, spaces collapsed."""
    page = re.sub(r"<(style|script)>.*?</\1>", " ", response.content.decode(), flags=re.DOTALL)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


CACHE_COLLECTIONS = ("cachedResponsesBlue", "cacheTotalMetric")


def mongo_commands(db_commands: Any) -> list[str]:
    return [name for name, _database in db_commands.commands if name not in ("endSessions", "isMaster", "hello")]


# --- Layout, identity, errors ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/admin/", "/admin/jobs", "/admin/cache", "/admin/cache?kind=dataset-info", "/admin/dataset", "/admin/graph"],
)
def test_every_page_shows_who_is_logged_in_the_nav_and_the_search_box(
    client: Client, auth_on: FakeWhoami, url: str
) -> None:
    auth_on.allow("hf_julien", whoami_answer(name="julien"))
    client.post("/admin/login", {"token": "hf_julien"})
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Cache-Control"] == "no-store, private"
    html = response.content.decode()
    assert '<span class="who" title="logged in as">julien</span>' in html
    assert '<form class="search" role="search" method="get" action="/admin/dataset">' in html
    for link in ('href="/admin/"', 'href="/admin/jobs"', 'href="/admin/cache"', 'href="/admin/graph"'):
        assert link in html
    assert "<style>" in html and "--error:" in html  # our CSS, inlined
    assert html.count("<link") == 1 and '<link rel="icon" href="data:,">' in html  # no /favicon.ico request
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_pages_show_anonymous_when_auth_is_off(client: Client) -> None:
    assert '<span class="who" title="logged in as">anonymous</span>' in client.get("/admin/graph").content.decode()


@pytest.mark.parametrize(
    ("url", "status", "code", "message"),
    [
        ("/admin/jobs?status=finished", 422, "InvalidParameter", "Parameter 'status' must be one of: waiting, started"),
        ("/admin/jobs?type=not-a-step", 422, "InvalidParameter", "Parameter 'type' must be one of:"),
        ("/admin/jobs?page=0", 422, "InvalidParameter", "Parameter 'page' must be an integer between 1 and 100000"),
        ("/admin/jobs?sort=dataset", 422, "InvalidParameter", "Parameter 'sort' must be one of:"),
        ("/admin/jobs?dataset=../etc", 422, "InvalidParameter", "Parameter 'dataset' is not a valid dataset name"),
        ("/admin/jobs?namespace=a/b", 422, "InvalidParameter", "Parameter 'namespace' is not a valid namespace"),
        ("/admin/cache?kind=not-a-step", 404, "NotFound", "Unknown processing step 'not-a-step'"),
        ("/admin/cache?kind=dataset-info&after=nope", 422, "InvalidParameter", "Invalid cursor."),
        ("/admin/cache?kind=dataset-info&before=123", 422, "InvalidParameter", "Invalid cursor."),
        ("/admin/cache?kind=dataset-info&http_status=abc", 422, "InvalidParameter", "Parameter 'http_status'"),
        ("/admin/cache?kind=dataset-info&error_code=" + "E" * 201, 422, "InvalidParameter", "is too long"),
        ("/admin/cache/not-an-id", 422, "InvalidParameter", "The cache entry id is not valid."),
        ("/admin/cache/0123456789abcdef01234567", 404, "NotFound", "No cache entry with id"),
        ("/admin/dataset?dataset=a/b/c", 422, "InvalidParameter", "Parameter 'dataset' is not a valid dataset name"),
    ],
)
def test_bad_input_is_a_readable_error_page_with_its_status(
    client: Client, url: str, status: int, code: str, message: str
) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["X-Error-Code"] == code
    text = text_of(response)
    assert f"Error {status}" in text
    assert message in text
    assert "Traceback" not in text


def test_both_cursors_at_once_is_invalid(client: Client) -> None:
    cursor = str(ObjectId())
    response = client.get("/admin/cache", {"kind": "dataset-info", "after": cursor, "before": cursor})
    assert response.status_code == 422
    assert "Give 'after' or 'before', not both." in text_of(response)


# --- Dashboard ---------------------------------------------------------------------------


def collect_counts() -> None:
    """A round of the collector: the root-error groups and builder names the dashboard shows."""
    call_command("collect_counts", verbosity=0)


def seed_dashboard(cache_db: Any, queue_db: Any) -> None:
    insert_job(queue_db, type="config-parquet-and-info", dataset="a/one", config="c", created_at=ago(hours=3))
    insert_job(queue_db, type="config-parquet-and-info", dataset="a/two", config="c", created_at=ago(minutes=10))
    insert_job(queue_db, type="config-parquet-and-info", dataset="b/three", config="c", status="started")
    insert_job(queue_db, type="dataset-config-names", dataset="c", priority="high", created_at=ago(days=2, hours=1))
    insert_job(queue_db, type="split-first-rows", dataset="c", config="c", split="s", priority="normal", difficulty=90)
    for index in range(3):
        insert_cache_entry(
            cache_db, kind="dataset-config-names", dataset=f"err{index}", http_status=501, error_code="DatasetTooBig"
        )
    insert_cache_entry(cache_db, kind="dataset-config-names", dataset="ok", content={"config_names": []})
    insert_cache_entry(
        cache_db, kind="config-parquet-and-info", dataset="ok", config="c", http_status=500, error_code="ConfigError"
    )
    for builder_name in ("csv", "csv", "parquet", "my-own-builder"):
        insert_cache_entry(
            cache_db,
            kind="dataset-info",
            dataset=f"{builder_name}-{ObjectId()}",
            content={"dataset_info": {"default": {"builder_name": builder_name}}},
        )
    queue_db["datasetBlockages"].insert_many(
        [{"dataset": "spam/one", "blocked_at": ago(minutes=1)}, {"dataset": "spam/one", "blocked_at": ago(minutes=2)}]
    )


def test_dashboard_counts_the_queue_and_the_cache(client: Client, cache_db, queue_db, db_commands) -> None:
    seed_dashboard(cache_db, queue_db)
    collect_counts()
    db_commands.commands.clear()
    db_commands.collections.clear()
    response = client.get("/admin/")
    assert response.status_code == 200
    assert len(mongo_commands(db_commands)) <= 9  # constant: not one per step
    # the cache health is read from the metric rows, never all the entries (the collector counted
    # the root errors and builder names: tests/test_collected_counts.py); the sparklines count the
    # entries written in the last hour (tests/test_activity_page.py)
    assert [target for target in db_commands.collections if target[1] in CACHE_COLLECTIONS] == [
        ("find", "cacheTotalMetric"),
        ("aggregate", "cachedResponsesBlue"),
    ]

    queue = response.context["queue"]
    assert queue.total == {"waiting": 4, "started": 1}
    by_type = {row.type: (row.waiting, row.started) for row in queue.by_type}
    assert by_type["config-parquet-and-info"] == (2, 1)
    assert by_type["dataset-config-names"] == (1, 0)
    assert by_type["split-first-rows"] == (1, 0)
    assert by_type["dataset-info"] == (0, 0)
    oldest = {row.type: row.oldest_waiting_at for row in queue.by_type}
    assert oldest["config-parquet-and-info"] == ago(hours=3)
    assert oldest["dataset-info"] is None
    assert queue.by_priority == {
        "high": {"waiting": 1, "started": 0},
        "normal": {"waiting": 1, "started": 0},
        "low": {"waiting": 2, "started": 1},
    }
    assert queue.by_worker_size == {
        "light": {"waiting": 0, "started": 0},
        "medium": {"waiting": 3, "started": 1},
        "heavy": {"waiting": 1, "started": 0},
    }

    cache = response.context["cache"]
    assert cache.total == 9
    assert cache.statuses == [200, 500, 501]
    health = {row.kind: row.by_status for row in cache.by_kind}
    assert health["dataset-config-names"] == {200: 1, 501: 3}
    assert health["dataset-info"] == {200: 4}
    assert [(group.error_code, group.kind, group.count) for group in response.context["top_root_errors"]] == [
        ("DatasetTooBig", "dataset-config-names", 3),
        ("ConfigError", "config-parquet-and-info", 1),
    ]
    assert response.context["builder_names"].counts["csv"] == 2
    assert [row.dataset for row in response.context["blocked"].datasets] == ["spam/one"]

    html = response.content.decode()
    text = text_of(response)
    assert "4 waiting · 1 started" in text
    assert re.search(r"config-parquet-and-info 2 1 3h( \d+m)?( \d+s)? ago", text)
    assert "dataset-config-names 1 0 2d 1h ago" in text
    # every number links to the list behind it
    assert '<a href="/admin/jobs?type=config-parquet-and-info&amp;status=waiting">2</a>' in html
    assert '<a href="/admin/jobs?type=config-parquet-and-info&amp;status=started">1</a>' in html
    assert '<a href="/admin/jobs?priority=high&amp;status=waiting">1</a>' in html
    assert '<a href="/admin/jobs?worker_size=heavy&amp;status=waiting">1</a>' in html
    assert (
        '<a class="group-entries" href="/admin/cache?kind=dataset-config-names&amp;error_code=DatasetTooBig'
        '&amp;no_exception=1&amp;root_only=1">3</a>'
    ) in html
    assert (
        '<a class="group-refresh" href="/admin/bulk?kind=dataset-config-names&amp;error_code=DatasetTooBig'
        '&amp;without_cause_exception=true&amp;root_errors_only=true">bulk refresh</a>'
    ) in html
    assert '<a href="/admin/cache?kind=dataset-config-names&amp;http_status=501">3</a>' in html
    assert '<a href="/admin/cache?kind=dataset-info">4</a>' in html
    assert '<a href="/admin/dataset?dataset=spam/one">spam/one</a>' in html


def test_dashboard_shows_the_numbers_of_the_metric_rows(client: Client, cache_db, db_commands) -> None:
    """No entry at all: every cache number comes from `cacheTotalMetric`, as the other services keep it."""
    cache_db["cacheTotalMetric"].insert_many(
        [
            {"kind": "dataset-config-names", "http_status": 200, "total": 1234, "created_at": ago(days=3)},
            {
                "kind": "config-parquet-and-info",
                "http_status": 500,
                "error_code": "ConfigError",
                "total": 7,
                "created_at": ago(days=3),
            },
            # a null error_code (an upsert on error_code=None writes it so) is no error code either
            {"kind": "dataset-info", "http_status": 200, "error_code": None, "total": 3, "created_at": ago(days=3)},
            # kind no longer in the processing graph: still counted
            {"kind": "old-kind", "http_status": 200, "total": 5, "created_at": ago(days=3)},
            # emptied, or decremented below zero: left out
            {"kind": "split-first-rows", "http_status": 200, "total": 0, "created_at": ago(days=3)},
            {
                "kind": "split-first-rows",
                "http_status": 404,
                "error_code": "Gone",
                "total": -2,
                "created_at": ago(days=3),
            },
        ]
    )
    db_commands.commands.clear()
    db_commands.collections.clear()

    response = client.get("/admin/")

    assert response.status_code == 200
    assert [target for target in db_commands.collections if target[1] in CACHE_COLLECTIONS] == [
        ("find", "cacheTotalMetric"),
        ("aggregate", "cachedResponsesBlue"),  # the sparklines' entries written in the last hour
    ]
    cache = response.context["cache"]
    assert cache.total == 1234 + 7 + 3 + 5
    assert cache.statuses == [200, 500]
    health = {row.kind: (row.total, row.by_status) for row in cache.by_kind}
    assert health["dataset-config-names"] == (1234, {200: 1234})
    assert health["config-parquet-and-info"] == (7, {500: 7})
    assert health["dataset-info"] == (3, {200: 3})
    assert health["old-kind"] == (5, {200: 5})
    assert health["split-first-rows"] == (0, {})
    html = response.content.decode()
    text = text_of(response)
    assert "1249 cache entries" in text
    assert "Counted from the metric rows of cacheTotalMetric" in text
    assert "like the Prometheus gauge responses_in_cache_total" in text
    # the numbers still open the entries behind them
    assert '<a href="/admin/cache?kind=dataset-config-names">1234</a>' in html
    assert '<a href="/admin/cache?kind=dataset-config-names&amp;http_status=200">1234</a>' in html
    assert '<a href="/admin/cache?kind=old-kind">5</a>' in html
    assert '<a href="/admin/cache?kind=config-parquet-and-info&amp;http_status=500">7</a>' in html
    assert "Gone" not in text


def test_oldest_waiting_job_from_the_min_of_each_group() -> None:
    """The oldest waiting job of a type is the smallest `$min` of its waiting groups."""
    from jobs.selectors import _oldest_waiting_of_groups

    def group(job_type: str, status: str, priority: str, oldest: Any) -> dict[str, Any]:
        key = {"type": job_type, "status": status, "priority": priority, "difficulty": 50}
        return {"_id": key, "count": 1, "oldest": oldest}

    groups = [
        group("config-parquet-and-info", "waiting", "low", ago(hours=1)),
        group("config-parquet-and-info", "waiting", "high", ago(hours=3)),
        group("config-parquet-and-info", "started", "low", ago(days=9)),
        group("dataset-config-names", "started", "low", ago(days=9)),
        group("split-first-rows", "waiting", "low", None),
    ]
    assert _oldest_waiting_of_groups(groups) == {"config-parquet-and-info": ago(hours=3)}


def dashboard_commands(client: Client, db_commands: Any) -> list[tuple[str, str]]:
    db_commands.commands.clear()
    db_commands.collections.clear()
    assert client.get("/admin/").status_code == 200
    return sorted(db_commands.collections)


def test_dashboard_costs_the_same_few_commands_whatever_the_size_of_the_databases(
    client: Client, cache_db, queue_db, db_commands
) -> None:
    insert_job(queue_db, type="dataset-config-names", dataset="one")
    insert_cache_entry(cache_db, kind="dataset-config-names", dataset="one")
    collect_counts()
    small = dashboard_commands(client, db_commands)

    steps = [step.name for step in processing_graph()]
    for index, step in enumerate(steps):
        for status, priority in (("waiting", "low"), ("waiting", "high"), ("started", "normal")):
            insert_job(queue_db, type=step, dataset=f"org/{index}-{priority}", status=status, priority=priority)
        insert_cache_entry(cache_db, kind=step, dataset=f"org/{index}")
        insert_cache_entry(cache_db, kind=step, dataset=f"org/{index}-bad", http_status=500, error_code=f"E{index}")
    cache_db["cachedResponsesBlue"].insert_many(
        [{"kind": "dataset-info", "dataset": f"bulk/{index}", "http_status": 200} for index in range(500)]
    )
    cache_db["cacheTotalMetric"].update_one({"kind": "dataset-info", "http_status": 200}, {"$inc": {"total": 500}})
    collect_counts()
    large = dashboard_commands(client, db_commands)

    assert large == small
    assert len(large) <= 9
    assert ("find", "cacheTotalMetric") in large
    assert ("find", "adminCounts") in large  # the collector's counts: never all the entries themselves
    # only the sparklines' aggregation of the last hour's entries written (index kind_updated)
    assert [target for target in large if target[1] == "cachedResponsesBlue"] == [("aggregate", "cachedResponsesBlue")]
    assert ("aggregate", "adminActivitySamples") in large


def test_dashboard_of_empty_databases(client: Client) -> None:
    collect_counts()
    response = client.get("/admin/")
    assert response.status_code == 200
    text = text_of(response)
    assert "0 waiting · 0 started" in text
    assert "No pending job." in text
    assert "No error in the cache." in text


# --- Jobs --------------------------------------------------------------------------------


def test_jobs_are_filtered_by_every_filter(client: Client, queue_db, db_commands) -> None:
    insert_job(queue_db, type="config-parquet-and-info", dataset="org/a", config="c", priority="high")
    insert_job(queue_db, type="config-parquet-and-info", dataset="org/b", config="c", status="started")
    insert_job(queue_db, type="dataset-config-names", dataset="org/a")
    insert_job(queue_db, type="dataset-config-names", dataset="other/a", priority="normal")
    insert_job(queue_db, type="split-first-rows", dataset="other/b", config="c", split="s", difficulty=90)

    def datasets(**filters: str) -> list[tuple[str, str]]:
        db_commands.commands.clear()
        response = client.get("/admin/jobs", filters)
        assert response.status_code == 200
        page = response.context["jobs_page"]
        # the page, its count, its stale jobs by type and size, and the blockages of its datasets (none to
        # look up on an empty page)
        expected = ["aggregate", "aggregate", "find", "find"] if page.jobs else ["aggregate", "aggregate", "find"]
        assert sorted(mongo_commands(db_commands)) == expected
        assert page.total == len(page.jobs)
        return sorted((job["type"], job["dataset"]) for job in page.jobs)

    assert len(datasets()) == 5
    assert datasets(type="config-parquet-and-info") == [
        ("config-parquet-and-info", "org/a"),
        ("config-parquet-and-info", "org/b"),
    ]
    assert datasets(status="started") == [("config-parquet-and-info", "org/b")]
    assert datasets(priority="normal") == [("dataset-config-names", "other/a")]
    assert datasets(dataset="org/a") == [("config-parquet-and-info", "org/a"), ("dataset-config-names", "org/a")]
    assert datasets(namespace="other") == [("dataset-config-names", "other/a"), ("split-first-rows", "other/b")]
    assert datasets(worker_size="heavy") == [("split-first-rows", "other/b")]
    # a namespace is a whole first part: not a prefix of a longer one, `.` is not a wildcard
    insert_job(queue_db, type="dataset-init", dataset="other")
    insert_job(queue_db, type="dataset-init", dataset="others/c")
    insert_job(queue_db, type="dataset-init", dataset="a.b/c")
    insert_job(queue_db, type="dataset-init", dataset="axb/c")
    assert datasets(type="dataset-init", namespace="other") == [("dataset-init", "other")]
    assert datasets(type="dataset-init", namespace="a.b") == [("dataset-init", "a.b/c")]
    queue_db["jobsBlue"].delete_many({"type": "dataset-init"})
    assert datasets(type="dataset-config-names", namespace="org", status="waiting") == [
        ("dataset-config-names", "org/a")
    ]
    assert datasets(type="dataset-init") == []
    # blank filters are "any"
    assert len(datasets(type="", status="", dataset=" ")) == 5


def test_jobs_are_sorted_by_age_or_difficulty_and_link_to_their_dataset(client: Client, queue_db) -> None:
    insert_job(queue_db, type="dataset-config-names", dataset="middle", created_at=ago(hours=2), difficulty=50)
    insert_job(queue_db, type="dataset-config-names", dataset="oldest", created_at=ago(hours=3), difficulty=10)
    insert_job(queue_db, type="dataset-config-names", dataset="newest", created_at=ago(hours=1), difficulty=90)

    def order(sort: str | None) -> list[str]:
        response = client.get("/admin/jobs", {"sort": sort} if sort else {})
        return [job["dataset"] for job in response.context["jobs_page"].jobs]

    assert order(None) == ["oldest", "middle", "newest"]
    assert order("-created_at") == ["newest", "middle", "oldest"]
    assert order("difficulty") == ["oldest", "middle", "newest"]
    assert order("-difficulty") == ["newest", "middle", "oldest"]
    html = client.get("/admin/jobs", {"sort": "difficulty", "page": "1"}).content.decode()
    assert '<a href="/admin/dataset?dataset=oldest">oldest</a>' in html
    # the header link reverses the order and goes back to page 1
    assert '<a href="?sort=-difficulty">difficulty ▲</a>' in html


def test_jobs_are_paginated(client: Client, queue_db) -> None:
    queue_db["jobsBlue"].insert_many(
        [
            {
                "type": "dataset-config-names",
                "dataset": f"ds{index:03d}",
                "revision": "r",
                "unicity_id": f"dataset-config-names,ds{index:03d},r",
                "namespace": f"ds{index:03d}",
                "priority": "low",
                "status": "waiting",
                "difficulty": 50,
                "created_at": ago(minutes=200 - index),
            }
            for index in range(120)
        ]
    )
    first = client.get("/admin/jobs")
    page = first.context["jobs_page"]
    assert (page.total, page.num_pages, len(page.jobs)) == (120, 3, 50)
    assert page.jobs[0]["dataset"] == "ds000"
    assert "120 pending jobs · page 1 of 3" in text_of(first)
    assert '<a rel="next" href="?page=2">next →</a>' in first.content.decode()
    assert 'rel="prev"' not in first.content.decode()

    last = client.get("/admin/jobs", {"page": "3", "status": "waiting"})
    jobs = last.context["jobs_page"].jobs
    assert [job["dataset"] for job in jobs] == [f"ds{index:03d}" for index in range(100, 120)]
    html = last.content.decode()
    assert '<a rel="prev" href="?page=2&amp;status=waiting">← previous</a>' in html
    assert 'rel="next"' not in html
    past_the_end = client.get("/admin/jobs", {"page": "99", "status": "waiting"})
    assert past_the_end.status_code == 302
    assert past_the_end["Location"] == "/admin/jobs?page=3&status=waiting"
    clamped = client.get(past_the_end["Location"])
    assert "There is no page 99: 3 pages in all, here is the last." in text_of(clamped)
    assert "120 pending jobs · page 3 of 3" in text_of(clamped)
    assert "No job matches" not in text_of(clamped)


def test_a_jobs_page_past_the_end_of_an_empty_queue_leads_to_page_1(client: Client) -> None:
    response = client.get("/admin/jobs", {"page": "2", "type": "dataset-info"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/jobs?page=1&type=dataset-info"
    page = client.get(response["Location"])
    assert "There is no page 2: 1 page in all, here is the last." in text_of(page)
    assert "0 pending jobs · page 1 of 1" in text_of(page)
    assert "No job matches these filters." in text_of(page)


# --- Cache browser and cache entry -------------------------------------------------------


def test_cache_browser_pages_forward_and_back(client: Client, cache_db, settings: Any, db_commands) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, cache_reports_num_results=2)
    ids = [str(insert_cache_entry(cache_db, kind="dataset-info", dataset=f"ds{index}")) for index in range(5)]
    insert_cache_entry(cache_db, kind="dataset-size", dataset="other-kind")

    def shown(params: dict[str, str]) -> tuple[list[str], str, str]:
        response = client.get("/admin/cache", {"kind": "dataset-info", **params})
        assert response.status_code == 200
        page = response.context["page"]
        return [entry.dataset for entry in page.cache_entries], page.next_cursor, page.previous_cursor

    db_commands.commands.clear()
    assert shown({}) == (["ds0", "ds1"], ids[1], "")
    assert mongo_commands(db_commands) == ["find", "aggregate"]  # the page and how many entries match
    assert shown({"after": ids[1]}) == (["ds2", "ds3"], ids[3], ids[2])
    assert shown({"after": ids[3]}) == (["ds4"], "", ids[4])
    assert shown({"before": ids[4]}) == (["ds2", "ds3"], ids[3], ids[2])
    assert shown({"before": ids[2]}) == (["ds0", "ds1"], ids[1], "")
    html = client.get("/admin/cache", {"kind": "dataset-info", "after": ids[1]}).content.decode()
    assert f'<a rel="next" href="?kind=dataset-info&amp;after={ids[3]}">next →</a>' in html
    assert f'<a rel="prev" href="?kind=dataset-info&amp;before={ids[2]}">← back</a>' in html
    assert '<a href="?kind=dataset-info">first page</a>' in html


def test_the_cache_browser_offers_the_first_page_only_away_from_it(client: Client, cache_db, settings: Any) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, cache_reports_num_results=2)
    ids = [str(insert_cache_entry(cache_db, kind="dataset-info", dataset=f"ds{index}")) for index in range(3)]

    def pager(params: dict[str, str]) -> str:
        html = client.get("/admin/cache", {"kind": "dataset-info", **params}).content.decode()
        return html.split('<nav class="pager" aria-label="Pages">')[1].split("</nav>")[0]

    assert "first page" not in pager({})
    assert "first page" not in pager({"before": ids[2]})  # back to the start: the first page again
    assert "first page" in pager({"after": ids[1]})
    assert "first page" in pager({"after": "ffffffffffffffffffffffff"})  # past the end: a way back


def test_cache_browser_filters_by_status_and_error_code(client: Client, cache_db) -> None:
    insert_cache_entry(cache_db, kind="split-first-rows", dataset="ok", config="c", split="s")
    insert_cache_entry(
        cache_db,
        kind="split-first-rows",
        dataset="big",
        config="c",
        split="s",
        http_status=500,
        error_code="TooBigContentError",
        details={"error": "The content is too big"},
    )
    insert_cache_entry(
        cache_db, kind="split-first-rows", dataset="gone", config="c", split="s", http_status=404, error_code="Gone"
    )

    def datasets(**params: str) -> list[str]:
        response = client.get("/admin/cache", {"kind": "split-first-rows", **params})
        return [entry.dataset for entry in response.context["page"].cache_entries]

    assert datasets() == ["ok", "big", "gone"]
    assert datasets(http_status="500") == ["big"]
    assert datasets(error_code="Gone") == ["gone"]
    assert datasets(http_status="500", error_code="Gone") == []
    response = client.get("/admin/cache", {"kind": "split-first-rows", "http_status": "500"})
    text = text_of(response)
    assert "big c s 500 TooBigContentError The content is too big" in text
    assert re.search(r'<a href="/admin/cache/[0-9a-f]{24}">entry</a>', response.content.decode())


def test_cache_browser_without_kind_lists_the_kinds(client: Client, db_commands) -> None:
    db_commands.commands.clear()
    response = client.get("/admin/cache")
    assert response.status_code == 200
    assert mongo_commands(db_commands) == []
    html = response.content.decode()
    assert html.count('<li><a href="/admin/cache?kind=') == 29


def test_cache_entry_shows_details_content_and_whether_it_is_outdated(client: Client, cache_db) -> None:
    outdated = insert_cache_entry(
        cache_db,
        kind="config-parquet",
        dataset="org/ds",
        config="default",
        job_runner_version=5,
        content={"parquet_files": [{"url": "https://example/x.parquet", "size": 12}]},
        revision="abc123",
    )
    response = client.get(f"/admin/cache/{outdated}")
    assert response.status_code == 200
    text = text_of(response)
    assert "job_runner_version 5 outdated: the step is at version 6" in text
    assert "dataset_git_revision abc123" in text
    assert '"size": 12' in text
    assert "<details>" not in response.content.decode()  # small content is shown unfolded

    current = insert_cache_entry(
        cache_db,
        kind="config-parquet",
        dataset="org/ds",
        config="big",
        content={"rows": ["x" * 50 for _ in range(100)]},
    )
    response = client.get(f"/admin/cache/{current}")
    text = text_of(response)
    assert "job_runner_version 6 current" in text
    assert re.search(r"<details><summary>content \(\d+ characters\)</summary>", response.content.decode())


def test_cache_entry_content_is_escaped(client: Client, cache_db) -> None:
    entry = insert_cache_entry(
        cache_db, kind="dataset-info", dataset="x", content={"html": "<script>alert(1)</script>"}
    )
    html = client.get(f"/admin/cache/{entry}").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- Dataset page ------------------------------------------------------------------------


def test_dataset_page_shows_each_step_with_what_is_broken_outdated_or_missing(
    client: Client, cache_db, queue_db, db_commands
) -> None:
    seed_broken_dataset(cache_db, queue_db, "acme/reviews")
    queue_db["datasetBlockages"].insert_one({"dataset": "acme/reviews", "blocked_at": ago(minutes=1)})
    db_commands.commands.clear()
    response = client.get("/admin/dataset", {"dataset": "acme/reviews"})
    assert response.status_code == 200
    assert sorted(mongo_commands(db_commands)) == ["find", "find", "find"]

    overview = response.context["overview"]
    assert overview.config_names == ["default", "fr"]
    assert overview.revision == "rev-1"
    assert overview.blocked is True
    assert [section.step.name for section in overview.sections][:3] == [
        "dataset-init",
        "dataset-config-names",
        "dataset-filetypes",
    ]
    rows = {(section.step.name, row.config, row.split): row for section in overview.sections for row in section.rows}
    assert rows[("config-parquet-and-info", "default", None)].state == "ok"
    broken = rows[("config-parquet-and-info", "fr", None)]
    assert broken.state == "error"
    assert broken.cache_entry.error_code == "DatasetGenerationError"
    assert rows[("config-info", "fr", None)].state == "missing"
    assert rows[("dataset-info", None, None)].state == "missing"
    # split-level rows come from config-split-names of each config (none listed yet for "fr")
    assert [key for key in rows if key[0] == "split-first-rows"] == [
        ("split-first-rows", "default", "train"),
        ("split-first-rows", "default", "test"),
    ]
    assert [job.status for job in rows[("split-first-rows", "default", "test")].jobs] == ["waiting"]
    sections = {section.step.name: section for section in overview.sections}
    assert sections["split-first-rows"].configs_without_splits == ["fr"]
    assert sections["config-info"].configs_without_splits == []
    assert rows[("config-parquet", "default", None)].outdated_reasons == [
        "job runner version 2 < 6",
        "revision rev-0 is not the dataset's rev-1",
    ]
    # 29 steps: 14 dataset-level, 8 config-level (x2 configs), 7 split-level (x2 splits); 6 entries exist
    assert (overview.num_ok, overview.num_errors, overview.num_missing) == (5, 1, 14 + 16 + 14 - 6)
    assert overview.num_outdated == 1
    assert overview.num_jobs == 1

    html = response.content.decode()
    text = text_of(response)
    assert "acme/reviews blocked" in text
    assert "5 ok 1 error 38 missing 1 outdated · 1 pending job" in text
    assert "fr 500 DatasetGenerationError An error occurred while generating the dataset rev-1" in text
    assert html.count('<span class="badge missing">missing</span>') == 38
    assert '<a href="/admin/jobs?dataset=acme/reviews" data-live="jobs">1 pending job</a>' in html
    # "1h ago" stays on one line; the full revision is in the cell (cut by CSS) and its title
    assert re.search(r'<td class="nowrap" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ">1h[ 0-9ms]* ago</td>', html)
    assert '<code class="ellipsis" title="rev-1">rev-1</code>' in html
    assert "The console has no cache entry" not in text


def test_dataset_page_of_an_unknown_dataset_says_the_console_has_nothing_about_it(client: Client) -> None:
    response = client.get("/admin/dataset", {"dataset": "nobody/nothing"})
    assert response.status_code == 200
    assert response.context["overview"].is_unknown
    text = text_of(response)
    assert "The console has no cache entry nor pending job for nobody/nothing" in text
    assert "it may not exist on the Hub, or it has never been processed." in text
    assert "missing" not in text
    assert 'id="dataset-steps"' not in response.content.decode()
    assert '<a class="danger" id="recreate-link" href="/admin/dataset/recreate?dataset=nobody/nothing">' in (
        response.content.decode()
    )


def test_a_dataset_with_only_a_pending_job_is_not_unknown(client: Client, queue_db: Any) -> None:
    insert_job(queue_db, type="dataset-config-names", dataset="nobody/new")
    response = client.get("/admin/dataset", {"dataset": "nobody/new"})
    assert not response.context["overview"].is_unknown
    text = text_of(response)
    assert "The console has no cache entry" not in text
    assert "no config listed yet" in text
    assert "no split listed yet" in text
    assert "1 pending job" in text


def test_dataset_page_lists_entries_and_jobs_of_configs_no_longer_listed(client: Client, cache_db, queue_db) -> None:
    insert_cache_entry(
        cache_db,
        kind="dataset-config-names",
        dataset="d",
        content={"config_names": [{"dataset": "d", "config": "new"}]},
    )
    insert_cache_entry(cache_db, kind="config-info", dataset="d", config="old")
    insert_job(queue_db, type="config-size", dataset="d", config="gone", status="started")
    overview = client.get("/admin/dataset", {"dataset": "d"}).context["overview"]
    by_step = {section.step.name: section.rows for section in overview.sections}
    assert [(row.config, row.state) for row in by_step["config-info"]] == [("new", "missing"), ("old", "ok")]
    assert [(row.config, len(row.jobs)) for row in by_step["config-size"]] == [("new", 0), ("gone", 1)]


def test_dataset_page_without_a_dataset_asks_for_one(client: Client, db_commands) -> None:
    db_commands.commands.clear()
    response = client.get("/admin/dataset")
    assert response.status_code == 200
    assert mongo_commands(db_commands) == []
    assert '<input name="dataset" size="40" placeholder="org/name" required>' in response.content.decode()


# --- Graph -------------------------------------------------------------------------------


def test_graph_page_draws_the_29_steps_layered_by_depth(client: Client, db_commands) -> None:
    db_commands.commands.clear()
    response = client.get("/admin/graph")
    assert response.status_code == 200
    assert mongo_commands(db_commands) == []
    html = response.content.decode()
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count('<a href="/admin/cache?kind=') == 29
    assert svg.count("marker-end=") == 47  # one edge per (parent, child)
    assert '<a href="/admin/cache?kind=split-first-rows" class="node split">' in svg
    assert "split · v4 · difficulty 70" in svg
    drawing = response.context["drawing"]
    placed = {step.step.name: step for step in drawing.steps}
    assert placed["dataset-init"].depth == 0
    assert placed["dataset-opt-in-out-urls-count"].depth == 10
    for step in drawing.steps:
        for parent in step.step.triggered_by:
            assert placed[parent].y < step.y  # every edge goes down


# --- Entry points ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/admin"])
def test_the_site_root_and_admin_without_slash_lead_to_the_dashboard(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.head(url).status_code == 302
    assert client.post(url).status_code == 405


@pytest.mark.parametrize("url", ["/nope", "/admin/nope", "/adminx", "/admin//", "/favicon.ico"])
def test_other_unknown_urls_stay_a_json_404(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found."}
