"""Every console page, rendered for one fixed world, against the HTML kept in tests/golden_pages/.

The fixtures were rendered by the Django-template pages before the move to Jinja2: the pages
must keep giving the same HTML, byte for byte (the dashboard's was rendered again, by Jinja2,
when it gained the age of its root-error groups: only that line changed; the dashboard's and the
builder names' again when their counts came from `collect_counts`; every page's when the
navigation gained Activity, and the dashboard's with its sparklines). Only the CSRF tokens
(random on every render) are replaced by a placeholder. To render them again after a deliberate change of a page:
`GOLDEN_PAGES_UPDATE=1 .venv/bin/python -m pytest tests/test_page_golden.py`, then review
the diff of tests/golden_pages/.
"""

from __future__ import annotations

import dataclasses
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from django.core.management import call_command
from django.test import Client

from demo.world import seed_world
from foundation.database import mongo
from tests.support.auth_support import Clock, FakeWhoami
from tests.support.page_data import insert_cache_entry, insert_job, seed_broken_dataset

GOLDEN = Path(__file__).parent / "golden_pages"
UPDATE = os.environ.get("GOLDEN_PAGES_UPDATE") == "1"
NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
TOKEN = "hf_golden_pages_token_0123456789"
CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+(")')


STYLESHEET = "<style>" + (Path(__file__).parent.parent / "static" / "console.css").read_text() + "</style>"


def comparable(html: str) -> str:
    """The page with its random CSRF tokens replaced and the stylesheet (checked whole) shortened."""
    assert html.count("<style>") == html.count(STYLESHEET) == 1
    return CSRF_VALUE.sub(r"\1CSRF\2", html.replace(STYLESHEET, "<style>static/console.css</style>"))


def check(name: str, response: Any, status: int = 200) -> None:
    assert response.status_code == status, response.content.decode()[:2000]
    html = comparable(response.content.decode())
    path = GOLDEN / f"{name}.html"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(html, encoding="utf-8")
    assert html == path.read_text(encoding="utf-8"), f"{name}: the page differs from {path}"


def renumber(collection: Any, prefix: int) -> None:
    """Give the documents fixed ids (ObjectId() is random), in an order of their content."""
    documents = sorted(
        collection.find(), key=lambda document: repr(sorted((k, v) for k, v in document.items() if k != "_id"))
    )
    collection.delete_many({})
    for number, document in enumerate(documents):
        document["_id"] = ObjectId(f"{prefix:08x}{number:016x}")
    if documents:
        collection.insert_many(documents)


BROKEN = "acme/reviews"


def seed_copied_errors(cache_db: Any, queue_db: Any) -> None:
    """acme/reviews: config fr (splits unknown) fails, three levels copy it; copies of a fixed, a missing entry."""
    seed_broken_dataset(cache_db, queue_db, BROKEN)
    when = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    for kind, parent, place in (
        ("config-parquet", "config-parquet-and-info", {"config": "fr"}),
        ("config-parquet-metadata", "config-parquet", {"config": "fr"}),
        ("split-first-rows", "config-parquet-metadata", {"config": "fr", "split": "train"}),
        ("config-info", "config-parquet-and-info", {"config": "default"}),
        ("config-size", "config-parquet-and-info", {"config": "de"}),
    ):
        parent_place = {"config": place["config"], "split": None}
        insert_cache_entry(
            cache_db,
            kind=kind,
            http_status=500,
            error_code="DatasetGenerationError",
            details={
                "error": "An error occurred while generating the dataset",
                "cause_exception": "ValueError",
                "copied_from_artifact": {"kind": parent, "dataset": BROKEN, **parent_place},
            },
            updated_at=when,
            dataset=BROKEN,
            config=place["config"],
            split=place.get("split"),
        )
    for entry in cache_db["cachedResponsesBlue"].find({"dataset": BROKEN}):
        cache_db["cachedResponsesBlue"].update_one({"_id": entry["_id"]}, {"$set": {"updated_at": when}})
    queue_db["jobsBlue"].update_many({"dataset": BROKEN}, {"$set": {"created_at": when}})


ESCAPED_ENTRY = ObjectId("0000000f0000000000000001")
LARGE_ENTRY = ObjectId("0000000f0000000000000002")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, cache_db: Any, queue_db: Any) -> None:
    """A small demo world (6 datasets), dated at NOW, with fixed ids, plus entries that test escaping."""
    monkeypatch.setattr(mongo, "utc_now", lambda: NOW)
    seed_world(datasets=6, jobs=30, seed=3, now=NOW)
    seed_copied_errors(cache_db, queue_db)
    renumber(cache_db["cachedResponsesBlue"], 1)
    insert_cache_entry(
        cache_db,
        kind="dataset-config-names",
        dataset="odd/quotes",
        http_status=500,
        error_code="Bad<Code>",
        details={"error": 'It\'s "quoted" & <b>bold</b> — ünïcode', "cause_exception": "Value'Error"},
        content={"error": "<script>alert('x')</script>"},
        updated_at=datetime(2024, 5, 31, 9, 30, tzinfo=UTC),
        _id=ESCAPED_ENTRY,
    )
    insert_cache_entry(
        cache_db,
        kind="dataset-info",
        dataset="odd/quotes",
        content={"dataset_info": {f"config-{n}": {"builder_name": "parquet", "size": n} for n in range(80)}},
        updated_at=datetime(2024, 5, 30, 9, 30, tzinfo=UTC),
        _id=LARGE_ENTRY,
    )
    insert_job(
        queue_db,
        type="dataset-config-names",
        dataset="odd/quotes",
        status="started",
        priority="high",
        created_at=datetime(2024, 6, 1, 11, 0, tzinfo=UTC),
    )
    renumber(queue_db["jobsBlue"], 2)
    renumber(queue_db["datasetBlockages"], 3)
    queue_db[mongo.ADMIN_ACTIONS].insert_many(
        [
            {
                "_id": ObjectId(f"00000004{number:016x}"),
                "actor": "alice",
                "actor_org": "acme",
                "action": "force_refresh",
                "parameters": {"dataset": "odd/quotes", "step": "dataset-info", "priority": "high"},
                "requested_at": datetime(2024, 6, 1, 10, number, tzinfo=UTC),
                "outcome": ("ok", "failed", "not_supported")[number % 3],
                **({"error_code": "ExternalServerError", "message": "The Hub said <no>"} if number % 3 == 1 else {}),
                "result": {"created_jobs": number},
            }
            for number in range(3)
        ]
    )
    call_command("collect_counts", verbosity=0)  # the dashboard's counts, dated NOW


def busiest_dataset(cache_db: Any) -> str:
    counts = cache_db["cachedResponsesBlue"].aggregate([{"$group": {"_id": "$dataset", "n": {"$sum": 1}}}])
    return str(max(counts, key=lambda row: (row["n"], row["_id"]))["_id"])


def first_error_entry(cache_db: Any) -> str:
    """An error entry that copies another one (a copied error: its page shows where from)."""
    entry = cache_db["cachedResponsesBlue"].find_one(
        {"details.copied_from_artifact": {"$exists": True}}, sort=[("_id", 1)]
    )
    assert entry is not None
    return str(entry["_id"])


@pytest.mark.usefixtures("world")
def test_the_pages_of_the_console_keep_their_html(client: Client, cache_db: Any, settings: Any) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, cache_reports_num_results=3, audit_log_num_results=2)
    dataset = busiest_dataset(cache_db)
    check("dashboard", client.get("/admin/"))
    check("jobs", client.get("/admin/jobs"))
    check("jobs_sorted_filtered", client.get("/admin/jobs", {"sort": "-difficulty", "status": "waiting"}))
    check("blocked", client.get("/admin/blocked"))
    check("cache_kinds", client.get("/admin/cache"))
    first = client.get("/admin/cache", {"kind": "dataset-config-names"})
    check("cache", first)
    after = re.search(r'rel="next" href="\?([^"]+)"', first.content.decode())
    assert after is not None
    check("cache_next_page", client.get("/admin/cache?" + after.group(1).replace("&amp;", "&")))
    check("cache_errors_filtered", client.get("/admin/cache", {"kind": "dataset-config-names", "http_status": "500"}))
    check("errors", client.get("/admin/errors"))
    check("errors_of_a_kind", client.get("/admin/errors", {"kind": "dataset-config-names"}))
    check("bulk", client.get("/admin/bulk"))
    check("bulk_preview", client.get("/admin/bulk", {"kind": "dataset-config-names", "http_status": "500"}))
    check(
        "bulk_dry_run_batch",
        client.post("/admin/bulk", {"kind": "dataset-config-names", "http_status": "500", "dry_run": "true"}),
    )
    check("cache_entry_escaped", client.get(f"/admin/cache/{ESCAPED_ENTRY}"))
    check("cache_entry_large", client.get(f"/admin/cache/{LARGE_ENTRY}"))
    check("cache_entry_copied", client.get(f"/admin/cache/{first_error_entry(cache_db)}"))
    check("dataset", client.get("/admin/dataset", {"dataset": dataset}))
    check("dataset_errors_only", client.get("/admin/dataset", {"dataset": dataset, "errors": "1"}))
    check("dataset_broken", client.get("/admin/dataset", {"dataset": BROKEN}))
    check("cache_copied_errors", client.get("/admin/cache", {"kind": "split-first-rows", "http_status": "500"}))
    check("cache_copied_missing", client.get("/admin/cache", {"kind": "config-size", "http_status": "500"}))
    check("dataset_escaped", client.get("/admin/dataset", {"dataset": "odd/quotes"}))
    check("dataset_unknown", client.get("/admin/dataset", {"dataset": "nobody/nothing"}))
    check("dataset_ask", client.get("/admin/dataset"))
    check("graph", client.get("/admin/graph"))
    check("builder_names", client.get("/admin/builder-names"))
    check("activity", client.get("/admin/activity"))
    check("recreate", client.get("/admin/dataset/recreate", {"dataset": dataset}))
    audit = client.get("/admin/audit")
    check("audit", audit)
    older = re.search(r'id="older" href="([^"]+)"', audit.content.decode())
    assert older is not None
    check("audit_older", client.get(older.group(1).replace("&amp;", "&")))
    check("error_422", client.get("/admin/jobs", {"status": "finished"}), 422)
    check("error_404", client.get("/admin/cache/0123456789abcdef01234567"), 404)
    refused = client.post("/admin/dataset/force-refresh", {"dataset": "odd/quotes", "step": "nope"})
    assert refused.status_code == 302
    check("dataset_with_a_message", client.get(refused["Location"]))


def test_the_login_logout_and_refusal_pages_keep_their_html(
    auth_on: FakeWhoami, clock: Clock, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mongo, "utc_now", lambda: NOW)
    browser = Client(enforce_csrf_checks=True)
    login = browser.get("/admin/login", {"next": "/admin/graph"})
    check("login", login)
    check("csrf_refused_login", browser.post("/admin/login", {"token": TOKEN}), 403)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.content.decode())
    assert token is not None
    auth_on.allow(TOKEN)
    signed_in = browser.post(
        "/admin/login", {"token": TOKEN, "next": "/admin/graph", "csrfmiddlewaretoken": token.group(1)}
    )
    assert signed_in.status_code == 302
    check("graph_signed_in", browser.get("/admin/graph"))
    check("login_signed_in", browser.get("/admin/login"))
    check("csrf_refused", browser.post("/admin/dataset/force-refresh", {"dataset": "a/b", "step": "dataset-info"}), 403)
    check("login_wrong_token", Client().post("/admin/login", {"token": "hf_not_a_known_token_000000"}), 401)
    auth_on.answer(TOKEN, 503, "unavailable")
    auth_on.answer("hf_another_token_of_the_golden_0000", 503, "unavailable")
    check("login_hub_down", Client().post("/admin/login", {"token": "hf_another_token_of_the_golden_0000"}), 500)
    clock.advance(settings.ADMIN.session_reverify_seconds + 1)
    check("hub_unavailable", browser.get("/admin/graph"), 500)
