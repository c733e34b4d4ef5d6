"""The repair forms of the console, the audit log page and the logout button (Django test client).

The forms must write exactly what the JSON routes write for the same input: the same jobs,
metric rows and audit entries, with the same actor. Each form redirects to the page it came
from, which shows the outcome (or the error) in words.
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client

from demo.embedded_mongo import free_port
from tests.support.auth_support import ORG, FakeWhoami, whoami_answer
from tests.support.page_data import insert_cache_entry, insert_job
from tests.support.write_helpers import SHA, serve_dataset, set_config, slow_hub
from tests.test_pages import text_of

DATASET = "acme/reviews"
TOKEN = "hf_alice_secret_token_0123456789"
VARYING = {"_id", "created_at", "requested_at", "finished_at"}
"""Fields that differ between two runs of the same write (ids and clocks)."""


def state(cache_db: Any, queue_db: Any) -> dict[str, list[dict[str, Any]]]:
    """Every document of both databases but the browser sessions, without ids and clocks, sorted."""

    def comparable(document: dict[str, Any]) -> dict[str, Any]:
        kept = {key: value for key, value in document.items() if key not in VARYING}
        if isinstance(kept.get("result"), dict):
            kept["result"] = {key: value for key, value in kept["result"].items() if key != "job_id"}
        return kept

    return {
        name: sorted((comparable(document) for document in database[name].find()), key=repr)
        for database in (cache_db, queue_db)
        for name in database.list_collection_names()
        if name not in ("adminSessions", "locks")
    }


def reset(cache_db: Any, queue_db: Any) -> None:
    for database in (cache_db, queue_db):
        for name in database.list_collection_names():
            if name != "adminSessions":
                database[name].delete_many({})


def seed(cache_db: Any, queue_db: Any) -> None:
    insert_cache_entry(cache_db, kind="dataset-config-names", dataset=DATASET, content={"config_names": []})
    insert_cache_entry(
        cache_db, kind="config-parquet-and-info", dataset=DATASET, config="fr", http_status=500, error_code="E"
    )
    insert_job(queue_db, type="split-first-rows", dataset=DATASET, config="default", split="test")
    insert_job(queue_db, type="config-parquet", dataset=DATASET, config="fr", status="started")
    insert_job(queue_db, type="config-parquet", dataset="other/data", config="fr")


@pytest.fixture
def alice(client: Client, auth_on: FakeWhoami, fake_hub: Any) -> Client:
    """Auth on; alice logged in in the browser client; the Hub knows DATASET."""
    auth_on.allow(TOKEN, whoami_answer(name="alice"))
    assert client.post("/admin/login", {"token": TOKEN}).status_code == 302
    serve_dataset(fake_hub, DATASET)
    return client


def json_post(client: Client, path: str, params: dict[str, str]) -> Any:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return client.post(f"{path}?{urlencode(params)}", data="", content_type="application/json", headers=headers)


def messages_of(client: Client, response: Any) -> str:
    """The page a redirect leads to, as text."""
    assert response.status_code == 302, response.content
    return text_of(client.get(response["Location"]))


# --- Same writes as the JSON routes ----------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"step": "dataset-config-names"},
        {"step": "config-parquet-and-info", "config": "fr", "priority": "high", "difficulty": "85"},
        {"step": "split-first-rows", "config": "default", "split": "test", "priority": "normal"},
    ],
    ids=["dataset-step", "config-step", "split-step"],
)
def test_the_force_refresh_form_writes_what_the_json_route_writes(
    alice: Client, cache_db: Any, queue_db: Any, fields: dict[str, str]
) -> None:
    seed(cache_db, queue_db)
    params = {key: value for key, value in fields.items() if key != "step"} | {"dataset": DATASET}
    assert json_post(alice, f"/admin/force-refresh/{fields['step']}", params).status_code == 200
    by_json = state(cache_db, queue_db)

    reset(cache_db, queue_db)
    seed(cache_db, queue_db)
    response = alice.post("/admin/dataset/force-refresh", {"dataset": DATASET, **fields})
    assert response.status_code == 302
    assert response["Location"] == "/admin/dataset?dataset=acme%2Freviews"
    assert state(cache_db, queue_db) == by_json
    [action] = by_json["adminActions"]
    assert (action["actor"], action["actor_org"], action["outcome"]) == ("alice", ORG, "ok")


def test_the_recreate_form_writes_what_the_json_route_writes(alice: Client, cache_db: Any, queue_db: Any) -> None:
    seed(cache_db, queue_db)
    assert json_post(alice, "/admin/recreate-dataset", {"dataset": DATASET, "priority": "normal"}).status_code == 200
    by_json = state(cache_db, queue_db)

    reset(cache_db, queue_db)
    seed(cache_db, queue_db)
    response = alice.post(
        "/admin/dataset/recreate", {"dataset": DATASET, "confirmation": DATASET, "priority": "normal"}
    )
    assert state(cache_db, queue_db) == by_json
    assert [job["type"] for job in by_json["jobsBlue"] if job["dataset"] == DATASET] == [
        "config-parquet",  # started: stays
        "dataset-init",
    ]
    assert (
        f"Recreated {DATASET}: deleted 1 waiting job, 2 cache entries and 0 asset folders; a dataset-init job is"
        in (messages_of(alice, response))
    )


# --- Outcomes and errors, in words, on the page the form came from ---------------------------


def test_a_force_refresh_shows_the_new_waiting_job_after_the_redirect(
    alice: Client, cache_db: Any, queue_db: Any
) -> None:
    seed(cache_db, queue_db)
    response = alice.post(
        "/admin/dataset/force-refresh", {"dataset": DATASET, "step": "config-parquet-and-info", "config": "fr"}
    )
    page = messages_of(alice, response)
    assert (
        f"Force-refresh: a config-parquet-and-info job for {DATASET} / fr is now waiting (priority low, difficulty 70,"
        f" revision {SHA})." in page
    )
    row = re.search(
        r'<tr class="error" data-step="config-parquet-and-info" data-config="fr".*?</tr>',
        alice.get(f"/admin/dataset?dataset={DATASET}").content.decode(),
        re.DOTALL,
    )
    assert row is not None and "waiting · low" in row.group(0)
    # the message is shown once
    assert "Force-refresh:" not in text_of(alice.get(f"/admin/dataset?dataset={DATASET}"))

    again = alice.post(
        "/admin/dataset/force-refresh",
        {"dataset": DATASET, "step": "config-parquet-and-info", "config": "fr", "priority": "high"},
    )
    assert (
        "the waiting config-parquet-and-info job for acme/reviews / fr was updated: priority low \u2192 high."
        in messages_of(alice, again)
    )
    assert queue_db["jobsBlue"].count_documents({"type": "config-parquet-and-info"}) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"step": "config-info"}, "Force-refresh of config-info for acme/reviews: Parameter 'config' is required"),
        (
            {"step": "dataset-info", "priority": "urgent"},
            "Force-refresh of dataset-info for acme/reviews: Parameter 'priority' should be one of high, normal, low.",
        ),
        (
            {"step": "config-parquet", "config": "default", "difficulty": "101"},
            "Force-refresh of config-parquet for acme/reviews / default:"
            " Parameter 'difficulty' should be an int value between 0 and 100.",
        ),
        (
            {"step": "split-first-rows", "config": "default", "split": "train", "priority": "urgent"},
            "Force-refresh of split-first-rows for acme/reviews / default / train:"
            " Parameter 'priority' should be one of high, normal, low.",
        ),
        ({"step": "no-such-step"}, "Force-refresh of no-such-step for acme/reviews: Unknown processing step"),
        ({"step": " "}, "Force-refresh for acme/reviews: "),
        ({"step": "x" * 300}, f"Force-refresh of {'x' * 200}… for acme/reviews: Unknown processing step"),
    ],
)
def test_invalid_force_refresh_input_is_explained_and_writes_nothing(
    alice: Client, queue_db: Any, fields: dict[str, str], message: str
) -> None:
    response = alice.post("/admin/dataset/force-refresh", {"dataset": DATASET, **fields})
    assert response["Location"] == "/admin/dataset?dataset=acme%2Freviews"
    assert message in messages_of(alice, response)
    assert queue_db["jobsBlue"].count_documents({}) == 0
    assert queue_db["adminActions"].count_documents({}) == 0


def test_an_invalid_dataset_name_is_explained_on_the_dataset_search_page(alice: Client, queue_db: Any) -> None:
    response = alice.post("/admin/dataset/force-refresh", {"dataset": "../etc", "step": "dataset-info"})
    assert response["Location"] == "/admin/dataset"
    assert "Force-refresh of dataset-info for ../etc: Parameter 'dataset' is not a valid dataset name" in messages_of(
        alice, response
    )
    assert queue_db["jobsBlue"].count_documents({}) == 0


def test_a_hub_refusal_is_explained_and_queues_nothing(alice: Client, fake_hub: Any, queue_db: Any) -> None:
    serve_dataset(fake_hub, "acme/private", private=True, author="acme")
    fake_hub.expect_request("/api/whoisthis", query_string={"name": "acme"}).respond_with_json(
        {"isPro": False, "plan": None}
    )
    response = alice.post("/admin/dataset/force-refresh", {"dataset": "acme/private", "step": "dataset-info"})
    assert response["Location"] == "/admin/dataset?dataset=acme%2Fprivate"
    assert (
        "Force-refresh of dataset-info for acme/private: Not supported: dataset repository acme/private is private."
    ) in messages_of(alice, response)
    assert queue_db["jobsBlue"].count_documents({}) == 0
    [action] = queue_db["adminActions"].find()
    assert (action["outcome"], action["error_code"]) == ("not_supported", "NotSupportedPrivateRepositoryError")


def test_a_hub_timeout_is_explained_and_changes_nothing(alice: Client, fake_hub: Any, queue_db: Any) -> None:
    set_config(hf_timeout_seconds=0.05)
    with slow_hub(fake_hub, "/api/datasets/acme/slow"):
        response = alice.post("/admin/dataset/force-refresh", {"dataset": "acme/slow", "step": "dataset-info"})
    assert "The Hub did not answer within 0.05s: nothing was changed." in messages_of(alice, response)
    assert queue_db["jobsBlue"].count_documents({}) == 0


def test_no_token_ever_goes_into_a_message(alice: Client, fake_hub: Any) -> None:
    set_config(hf_timeout_seconds=0.05, hf_token="hf_service_token_secret")
    with slow_hub(fake_hub, "/api/datasets/acme/slow"):
        response = alice.post("/admin/dataset/force-refresh", {"dataset": "acme/slow", "step": "dataset-info"})
    cookie = response.cookies["messages"].value
    assert cookie and "Hub did not answer" in alice.get(response["Location"]).content.decode()
    for secret in (TOKEN, "hf_service_token_secret"):
        assert secret not in cookie


# --- Recreate confirmation ---------------------------------------------------------------------


def test_the_recreate_confirmation_counts_what_will_be_deleted(
    alice: Client, cache_db: Any, queue_db: Any, tmp_path: Path
) -> None:
    seed(cache_db, queue_db)
    set_config(assets_storage_root=tmp_path / "assets", cached_assets_storage_root=tmp_path / "cached")
    (tmp_path / "assets" / DATASET / "--").mkdir(parents=True)
    page = text_of(alice.get(f"/admin/dataset?dataset={DATASET}"))
    assert "Recreate this dataset…" in page
    response = alice.get(f"/admin/dataset/recreate?dataset={DATASET}")
    assert response.status_code == 200
    text = text_of(response)
    assert "1 waiting job (started jobs stay) 2 cache entries 1 asset folder" in text
    assert f"Type {DATASET} to confirm" in text
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


@pytest.mark.parametrize("typed", ["", "acme/review", "ACME/REVIEWS", " acme/reviews", "other/data"])
def test_recreate_requires_the_exact_typed_name(alice: Client, cache_db: Any, queue_db: Any, typed: str) -> None:
    seed(cache_db, queue_db)
    before = state(cache_db, queue_db)
    response = alice.post("/admin/dataset/recreate", {"dataset": DATASET, "confirmation": typed})
    assert response["Location"] == "/admin/dataset/recreate?dataset=acme%2Freviews"
    assert f"The typed name does not match {DATASET}: nothing was deleted." in messages_of(alice, response)
    assert state(cache_db, queue_db) == before


def test_a_recreate_refused_by_the_hub_says_what_was_removed(alice: Client, fake_hub: Any, cache_db: Any) -> None:
    fake_hub.expect_request("/api/datasets/acme/gone").respond_with_json(
        {"error": "not found"}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    insert_cache_entry(cache_db, kind="dataset-config-names", dataset="acme/gone")
    response = alice.post("/admin/dataset/recreate", {"dataset": "acme/gone", "confirmation": "acme/gone"})
    assert response["Location"] == "/admin/dataset?dataset=acme%2Fgone"
    assert (
        "Repository acme/gone is not found. The dataset was removed: deleted 0 waiting jobs,"
        " 1 cache entry and 0 asset folders; no job queued."
    ) in messages_of(alice, response)


def test_a_recreate_the_hub_does_not_answer_deletes_nothing(
    alice: Client, fake_hub: Any, cache_db: Any, queue_db: Any
) -> None:
    seed(cache_db, queue_db)
    before = state(cache_db, queue_db)
    set_config(hf_endpoint=f"http://127.0.0.1:{free_port()}")
    response = alice.post("/admin/dataset/recreate", {"dataset": DATASET, "confirmation": DATASET})
    assert response["Location"] == "/admin/dataset/recreate?dataset=acme%2Freviews"
    assert "The Hub could not be reached: nothing was changed." in messages_of(alice, response)
    after = state(cache_db, queue_db)
    assert [action["outcome"] for action in after.pop("adminActions")] == ["failed"]
    before.pop("adminActions", None)
    assert after == before


# --- CSRF, login -----------------------------------------------------------------------------


def csrf_token_of(response: Any) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match is not None
    return match.group(1)


def test_forms_without_the_csrf_token_are_refused(auth_on: FakeWhoami, fake_hub: Any, cache_db: Any, queue_db: Any):
    seed(cache_db, queue_db)
    serve_dataset(fake_hub, DATASET)
    auth_on.allow(TOKEN, whoami_answer(name="alice"))
    browser = Client(enforce_csrf_checks=True)
    login_page = browser.get("/admin/login")
    browser.post("/admin/login", {"token": TOKEN, "csrfmiddlewaretoken": csrf_token_of(login_page)})
    before = state(cache_db, queue_db)
    refresh = {"dataset": DATASET, "step": "dataset-info"}
    recreate = {"dataset": DATASET, "confirmation": DATASET}
    assert browser.post("/admin/dataset/force-refresh", refresh).status_code == 403
    assert browser.post("/admin/dataset/recreate", recreate).status_code == 403
    assert browser.post("/admin/logout").status_code == 403
    assert state(cache_db, queue_db) == before

    token = csrf_token_of(browser.get(f"/admin/dataset?dataset={DATASET}"))
    response = browser.post("/admin/dataset/force-refresh", refresh | {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert queue_db["jobsBlue"].count_documents({"type": "dataset-info"}) == 1


def test_a_form_without_its_csrf_token_gets_the_consoles_error_page(
    auth_on: FakeWhoami, cache_db: Any, queue_db: Any
) -> None:
    auth_on.allow(TOKEN, whoami_answer(name="alice"))
    browser = Client(enforce_csrf_checks=True)
    browser.post("/admin/login", {"token": TOKEN, "csrfmiddlewaretoken": csrf_token_of(browser.get("/admin/login"))})
    response = browser.post("/admin/dataset/force-refresh", {"dataset": DATASET, "step": "dataset-info"})
    assert response.status_code == 403
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["X-Error-Code"] == "FormRefused"
    assert response["Cache-Control"] == "no-store"
    text = text_of(response)
    assert (
        "Error 403 FormRefused This form has expired or was not sent by this console: reload the page and try again."
    ) in text
    assert '<span class="who" title="logged in as">alice</span>' in response.content.decode()
    assert "CSRF" not in response.content.decode()
    assert queue_db["adminActions"].count_documents({}) == 0


def test_a_form_without_its_csrf_token_and_no_session_gets_the_same_page(client: Client) -> None:
    response = Client(enforce_csrf_checks=True).post("/admin/logout")
    assert response.status_code == 403
    assert "This form has expired or was not sent by this console" in text_of(response)


def test_json_routes_take_posts_without_any_csrf_token(
    auth_on: FakeWhoami, fake_hub: Any, cache_db: Any, queue_db: Any
) -> None:
    """DRF views are exempt (Bearer token, no cookie): even a browser holding a session cookie."""
    auth_on.allow(TOKEN, whoami_answer(name="alice"))
    serve_dataset(fake_hub, DATASET)
    browser = Client(enforce_csrf_checks=True)
    browser.post("/admin/login", {"token": TOKEN, "csrfmiddlewaretoken": csrf_token_of(browser.get("/admin/login"))})
    response = json_post(browser, "/admin/force-refresh/dataset-info", {"dataset": DATASET})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert queue_db["jobsBlue"].count_documents({"type": "dataset-info"}) == 1
    refused = browser.post("/admin/force-refresh/dataset-info?dataset=acme/reviews")  # no Bearer token
    assert refused.status_code == 401
    assert refused.json() == {"error": refused.json()["error"]}
    assert refused["X-Error-Code"] == "ExternalUnauthenticatedError"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/admin/audit"),
        ("get", f"/admin/dataset/recreate?dataset={DATASET}"),
        ("post", "/admin/dataset/force-refresh"),
        ("post", "/admin/dataset/recreate"),
    ],
)
def test_action_pages_redirect_to_login_when_auth_is_on(
    client: Client, auth_on: FakeWhoami, queue_db: Any, method: str, url: str
) -> None:
    response = getattr(client, method)(url, {"dataset": DATASET, "step": "dataset-info", "confirmation": DATASET})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login?next=")
    assert queue_db["jobsBlue"].count_documents({}) == 0
    assert queue_db["adminActions"].count_documents({}) == 0


def test_every_page_has_a_logout_button_and_the_audit_log_link_when_auth_is_on(alice: Client) -> None:
    html = alice.get("/admin/graph").content.decode()
    assert re.search(
        r'<form class="logout" method="post" action="/admin/logout"><input type="hidden" name="csrfmiddlewaretoken"'
        r' value="[^"]+"><button type="submit">Log out</button></form>',
        html,
    )
    assert '<a href="/admin/audit">Audit log</a>' in html
    logout = alice.post("/admin/logout")
    assert logout["Location"] == "/admin/login"
    assert "You are signed out." in text_of(alice.get(logout["Location"]))
    assert alice.get("/admin/graph")["Location"] == "/admin/login?next=/admin/graph"


def test_no_logout_button_when_auth_is_off(client: Client) -> None:
    html = client.get("/admin/graph").content.decode()
    assert 'action="/admin/logout"' not in html
    assert '<a href="/admin/audit">Audit log</a>' in html


# --- Audit log page --------------------------------------------------------------------------


def test_the_audit_log_page_lists_actions_newest_first_by_pages(alice: Client, fake_hub: Any) -> None:
    set_config(audit_log_num_results=2)
    for step in ("dataset-info", "dataset-size"):
        alice.post("/admin/dataset/force-refresh", {"dataset": DATASET, "step": step})
    fake_hub.expect_request("/api/datasets/acme/gone").respond_with_json(
        {}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    alice.post("/admin/dataset/recreate", {"dataset": "acme/gone", "confirmation": "acme/gone", "priority": "high"})

    first = alice.get("/admin/audit")
    assert first.status_code == 200
    assert first["Cache-Control"] == "no-store, private"
    rows = re.findall(r'<tr class="(\w+)" data-id="\w+">(.*?)</tr>', first.content.decode(), re.DOTALL)
    assert [(outcome, re.findall(r"<code>([\w-]+)</code>", row)[0]) for outcome, row in rows] == [
        ("not_supported", "recreate-dataset"),
        ("ok", "force-refresh"),
    ]
    assert '<a href="/admin/dataset?dataset=acme/gone">acme/gone</a>' in rows[0][1]
    assert "NotSupportedRepositoryNotFoundError" in rows[0][1] and "priority=<code>high</code>" in rows[0][1]
    assert "alice (my-org)" in text_of(first)
    older = re.search(r'<a id="older" href="([^"]+)">', first.content.decode())
    assert older is not None
    second = alice.get(older.group(1).replace("&amp;", "&"))
    assert "job_type=<code>dataset-info</code>" in second.content.decode()
    assert 'id="older"' not in second.content.decode()
    assert alice.get("/admin/audit?cursor=nope").status_code == 422


# --- Database down ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/admin/", f"/admin/dataset?dataset={DATASET}", "/admin/audit"])
def test_a_page_without_its_database_is_a_503_html_page(client: Client, url: str) -> None:
    dead = f"mongodb://127.0.0.1:{free_port()}/"
    settings.ADMIN = dataclasses.replace(
        settings.ADMIN, cache_mongo_url=dead, queue_mongo_url=dead, mongo_timeout_seconds=0.3
    )
    started = time.monotonic()
    response = client.get(url)
    assert time.monotonic() - started < 3.0
    assert response.status_code == 503
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["X-Error-Code"] == "DatabaseUnavailableError"
    assert "Error 503 DatabaseUnavailableError The database is unavailable, please retry later." in text_of(response)


def test_a_login_session_lookup_without_the_database_is_a_503_html_page(alice: Client) -> None:
    dead = f"mongodb://127.0.0.1:{free_port()}/"
    settings.ADMIN = dataclasses.replace(
        settings.ADMIN, cache_mongo_url=dead, queue_mongo_url=dead, mongo_timeout_seconds=0.3
    )
    response = alice.get("/admin/graph")
    assert response.status_code == 503
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "The database is unavailable, please retry later." in text_of(response)
