"""Live views (issue 18, section 2): the dashboard, jobs, dataset and errors pages polled in place.

A poll is the page's own URL asked by htmx (`HX-Request: true`): it costs the page's constant
number of database commands, and its data is reused by every poll of the same page and filters
in the same interval, so that 20 open tabs cost what one does. A page that is loaded (not
polled) is always computed afresh.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from foundation.web import live
from foundation.web.security_headers import content_security_policy
from tests.support.page_data import insert_job, seed_broken_dataset
from tests.test_pages import mongo_commands, text_of

POLL = {"HX-Request": "true"}
"""What htmx sends with a poll."""
LIVE_PAGES = {
    "dashboard": "/admin/",
    "jobs": "/admin/jobs?status=waiting&sort=-created_at",
    "dataset": "/admin/dataset?dataset=acme/reviews",
    "errors": "/admin/errors",
}
REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture
def interval(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The live clock, pinned (and moved by the test): polls fall in the interval the test says."""
    now = [1_000_000.0]
    monkeypatch.setattr(live, "clock", lambda: now[0])
    return now


def commands_of(client: Client, db_commands: Any, url: str, headers: dict[str, str] | None = None) -> list[str]:
    db_commands.commands.clear()
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return sorted(mongo_commands(db_commands))


@pytest.mark.parametrize("name", sorted(LIVE_PAGES))
def test_a_poll_costs_what_the_page_costs_and_20_polls_in_an_interval_cost_one(
    client: Client, cache_db: Any, queue_db: Any, db_commands: Any, interval: list[float], name: str
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    insert_job(queue_db, type="dataset-info", dataset="org/a", status="started")
    url = LIVE_PAGES[name]
    commands_of(client, db_commands, url)  # the dashboard's first load also counts the root errors, once a process
    page = commands_of(client, db_commands, url)

    first_poll = commands_of(client, db_commands, url, headers=POLL)
    db_commands.commands.clear()
    for _ in range(19):
        assert client.get(url, headers=POLL).status_code == 200
    other_polls = mongo_commands(db_commands)

    assert page, "a live page reads the databases"
    assert first_poll == page
    assert other_polls == []
    interval[0] += live.LIVE_SECONDS  # the next interval: read again, once
    assert commands_of(client, db_commands, url, headers=POLL) == page
    assert commands_of(client, db_commands, url, headers=POLL) == []


def test_a_poll_shows_the_data_of_its_interval_and_a_load_is_always_fresh(
    client: Client, queue_db: Any, interval: list[float]
) -> None:
    insert_job(queue_db, type="dataset-info", dataset="org/a")

    def waiting(headers: dict[str, str] | None = None) -> str:
        html = client.get("/admin/", headers=headers).content.decode()
        found = re.search(r'data-live="waiting"><strong>(\d+)</strong>', html)
        assert found is not None
        return found[1]

    assert waiting(POLL) == "1"
    insert_job(queue_db, type="dataset-info", dataset="org/b")
    assert waiting(POLL) == "1"  # the interval's data, reused
    assert waiting() == "2"  # a load (after a form's redirect, say) is computed afresh
    interval[0] += live.LIVE_SECONDS
    assert waiting(POLL) == "2"


def test_polls_of_other_filters_are_other_entries(
    client: Client, queue_db: Any, db_commands: Any, interval: list[float]
) -> None:
    insert_job(queue_db, type="dataset-info", dataset="org/a")
    assert commands_of(client, db_commands, "/admin/jobs?status=waiting", headers=POLL)
    assert commands_of(client, db_commands, "/admin/jobs?status=started", headers=POLL)
    assert commands_of(client, db_commands, "/admin/jobs?status=waiting", headers=POLL) == []
    assert commands_of(client, db_commands, "/admin/jobs?sort=-created_at&status=waiting", headers=POLL)
    assert commands_of(client, db_commands, "/admin/jobs?status=waiting&sort=-created_at", headers=POLL) == []


def test_a_poll_leaves_the_flash_messages_for_the_page(client: Client, queue_db: Any) -> None:
    client.post("/admin/jobs/requeue", {"job": "nope"})  # a message waits in its cookie

    poll = client.get("/admin/jobs", headers=POLL)
    page = client.get("/admin/jobs")

    assert "should be the id of a job" not in text_of(poll)
    assert "Requeue: Parameter 'job' should be the id of a job." in text_of(page)


@pytest.mark.parametrize("name", sorted(LIVE_PAGES))
def test_a_live_page_declares_its_regions_and_loads_htmx_from_our_static_files(
    client: Client, cache_db: Any, queue_db: Any, name: str
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    response = client.get(LIVE_PAGES[name])

    html = response.content.decode()
    control = re.search(r'<div class="live" id="live" hidden hx-get="([^"]*)" [^>]*hx-select-oob="([^"]*)"', html)
    assert control is not None
    assert control[1].replace("&amp;", "&") == LIVE_PAGES[name]
    for region in control[2].split(","):
        assert re.search(rf'id="{region[1:]}"', html), region  # every region is on the page
    assert '<script src="/static/vendor/htmx-2.0.11/htmx.min.js" defer></script>' in html
    assert '<script src="/static/live.js" defer></script>' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script
    assert '"allowEval": false' in html
    assert '"includeIndicatorStyles": false' in html
    assert response["Content-Security-Policy"] == content_security_policy()
    assert "script-src 'self';" in response["Content-Security-Policy"]
    assert "unsafe" not in response["Content-Security-Policy"]


def test_other_pages_are_not_live(client: Client) -> None:
    for url in ("/admin/graph", "/admin/audit", "/admin/blocked", "/admin/dataset?dataset=never/seen"):
        html = client.get(url).content.decode()
        assert 'id="live"' not in html and "htmx" not in html, url


def test_the_vendored_htmx_is_served_with_its_license_beside_it(client: Client) -> None:
    folder = REPOSITORY / "static" / "vendor" / "htmx-2.0.11"
    assert (folder / "LICENSE").read_text().startswith("Zero-Clause BSD")
    response = client.get("/static/vendor/htmx-2.0.11/htmx.min.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(("text/javascript", "application/javascript"))
    assert b"".join(response).startswith(b"var htmx=function()")


def test_the_dataset_page_keeps_a_half_typed_force_refresh_form_across_polls(
    client: Client, cache_db: Any, queue_db: Any
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    html = client.get("/admin/dataset?dataset=acme/reviews").content.decode()

    forms = re.findall(r'<details class="refresh" id="(refresh-[0-9a-f]{16})" hx-preserve>', html)
    assert forms and len(set(forms)) == len(forms)  # one stable id per row: htmx keeps the element as it is
    again = client.get("/admin/dataset?dataset=acme/reviews", headers=POLL).content.decode()
    assert re.findall(r'<details class="refresh" id="(refresh-[0-9a-f]{16})" hx-preserve>', again) == forms
