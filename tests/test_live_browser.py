"""Live views and the requeue of stale jobs in a real headless Chromium (issue 18, sections 2 and 4).

The console is served from a thread of the test process (`console_url`, tests/support/browser.py),
so the test writes to the databases between two polls. Playwright's clock drives the page's
timers: a poll is brought forward with `clock.fast_forward` instead of being waited for, and every
wait is on the DOM (`expect`), never a sleep.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from foundation.web import live
from jobs.documents import job_document
from tests.support.browser import BROWSER_TESTS, assert_fits_the_window
from tests.support.page_data import insert_job

pytestmark = BROWSER_TESTS

TICK_MS = live.LIVE_SECONDS * 1000
HIDE = (
    "() => { Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});"
    " document.dispatchEvent(new Event('visibilitychange')); }"
)
SHOW = (
    "() => { Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});"
    " document.dispatchEvent(new Event('visibilitychange')); }"
)


@pytest.fixture(autouse=True)
def every_poll_in_an_interval_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each poll reads the databases (the reuse per interval is tests/test_live_views.py's)."""
    intervals = itertools.count()
    monkeypatch.setattr(live, "clock", lambda: float(next(intervals) * live.LIVE_SECONDS))


def polls_of(page: Any) -> list[str]:
    """The URLs of the page's polls (htmx's requests), in the order the browser sent them."""
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if request.headers.get("hx-request") else None)
    return sent


def test_a_count_on_the_dashboard_changes_without_a_navigation(
    page: Any, console_url: str, queue_db: Any, screenshots: Path
) -> None:
    insert_job(queue_db, type="dataset-info", dataset="org/a")
    page.clock.install()
    page.goto(f"{console_url}/admin/")
    expect(page.locator("#live")).to_be_visible()
    expect(page.locator("#live-toggle")).to_have_text("Pause")
    expect(page.locator("#queue-waiting")).to_have_text("1 waiting")
    page.evaluate("() => { window.sameDocument = 'yes'; }")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    insert_job(queue_db, type="dataset-info", dataset="org/b")
    insert_job(queue_db, type="split-first-rows", dataset="org/c", config="default", split="train")
    page.clock.fast_forward(TICK_MS)

    waiting = page.locator("#queue-waiting")
    expect(waiting).to_have_text("3 waiting")
    expect(waiting).to_have_class(re.compile(r"\blive-changed\b"))  # marked for a moment
    expect(page.locator('#queue-by-type td[data-live="split-first-rows:waiting"]')).to_have_text("1")
    expect(page.locator("#queue-started")).not_to_have_class(re.compile(r"\blive-changed\b"))  # unchanged
    expect(page.locator("#live-status")).to_have_text(re.compile(r"^live · updated \d"))
    assert page.evaluate("() => window.sameDocument") == "yes"
    assert navigations == []
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "live-dashboard.png"), full_page=True)


def test_a_half_typed_filter_survives_the_polls_and_pause_and_hidden_tab_stop_them(
    page: Any, console_url: str, queue_db: Any
) -> None:
    insert_job(queue_db, type="dataset-info", dataset="org/a")
    page.clock.install()
    page.goto(f"{console_url}/admin/jobs?status=waiting")
    polls = polls_of(page)
    page.locator("form.filters input[name=dataset]").press_sequentially("org/hal")  # half-typed, focused

    insert_job(queue_db, type="dataset-info", dataset="org/b")
    page.clock.fast_forward(TICK_MS)

    expect(page.locator("#jobs-total")).to_contain_text("2 pending jobs")
    expect(page.locator("#jobs tbody tr")).to_have_count(2)
    expect(page.locator("form.filters input[name=dataset]")).to_have_value("org/hal")
    expect(page.locator("form.filters input[name=dataset]")).to_be_focused()
    assert polls == [f"{console_url}/admin/jobs?status=waiting"]

    page.click("#live-toggle")  # pause: remembered for every page
    expect(page.locator("#live-toggle")).to_have_text("Resume")
    expect(page.locator("#live-toggle")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#live-status")).to_have_text("live updates paused")
    assert page.evaluate("() => localStorage.getItem('console-live-paused')") == "1"
    page.goto(f"{console_url}/admin/")
    expect(page.locator("#live-toggle")).to_have_text("Resume")
    page.goto(f"{console_url}/admin/jobs?status=waiting")
    polls = polls_of(page)
    insert_job(queue_db, type="dataset-info", dataset="org/c")
    page.clock.fast_forward(10 * TICK_MS)  # paused: no poll however long

    page.click("#live-toggle")  # resume: a poll at once
    expect(page.locator("#jobs-total")).to_contain_text("3 pending jobs")
    assert len(polls) == 1
    assert page.evaluate("() => localStorage.getItem('console-live-paused')") == "0"

    page.evaluate(HIDE)
    insert_job(queue_db, type="dataset-info", dataset="org/d")
    page.clock.fast_forward(10 * TICK_MS)  # a hidden tab polls nothing
    page.evaluate(SHOW)  # shown again: a poll at once
    expect(page.locator("#jobs-total")).to_contain_text("4 pending jobs")
    assert len(polls) == 2


def stale_job(dataset: str, *, minutes: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return job_document(
        job_type="config-parquet-and-info",
        dataset=dataset,
        revision="rev-1",
        config="default",
        split=None,
        priority="normal",
        status="started",
        difficulty=70,
        created_at=now - timedelta(hours=1),
        started_at=now - timedelta(minutes=50),
        last_heartbeat=now - timedelta(minutes=minutes),
    )


def test_a_stale_job_is_requeued_from_the_browser_after_the_confirmation(
    page: Any, console_url: str, queue_db: Any, screenshots: Path
) -> None:
    queue_db["jobsBlue"].insert_many(
        [stale_job("acme/lost", minutes=12), stale_job("acme/gone", minutes=40), stale_job("acme/alive", minutes=0)]
    )
    queue_db["datasetBlockages"].insert_one({"dataset": "acme/gone", "blocked_at": datetime.now(UTC)})
    page.goto(f"{console_url}/admin/jobs?sort=last_heartbeat")
    expect(page.locator("#stale-jobs h2")).to_have_text("Stale jobs: 2")
    rows = page.locator("#jobs tbody tr")
    expect(rows.nth(0)).to_contain_text("acme/gone")  # the quietest first
    expect(rows.nth(0).locator("a.badge.blocked")).to_have_attribute("href", "/admin/blocked#blocked-acme/gone")
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "jobs-stale.png"), full_page=True)

    page.click("#requeue-stale-link")
    page.wait_for_url("**/admin/jobs/requeue-stale")
    expect(page.locator("#requeue-count")).to_contain_text("2 stale jobs match this filter.")
    expect(page.locator("#requeue-preview tbody tr")).to_have_count(2)
    expect(page.locator("#requeue-confirm")).to_have_text("Requeue 2 stale jobs")
    assert queue_db["jobsBlue"].count_documents({"status": "waiting"}) == 0  # asked, not done
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "requeue-confirmation.png"), full_page=True)

    page.click("#requeue-confirm")
    expect(page.locator("#requeue-outcome")).to_have_text(
        "2 requeued (2 waiting jobs queued, 0 already waiting) · 0 left alone"
    )
    expect(page.locator("#requeue-report tbody tr.requeued")).to_have_count(2)
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "requeue-report.png"), full_page=True)
    assert sorted(job["dataset"] for job in queue_db["jobsBlue"].find({"status": "waiting"})) == [
        "acme/gone",
        "acme/lost",
    ]
    assert [job["dataset"] for job in queue_db["jobsBlue"].find({"status": "started"})] == ["acme/alive"]

    queue_db["jobsBlue"].insert_one(stale_job("acme/again", minutes=9))
    page.goto(f"{console_url}/admin/jobs?stale=1")
    page.locator("#jobs tbody tr").first.locator("button", has_text="requeue").click()
    page.wait_for_url("**/admin/jobs?stale=1")
    expect(page.locator("#messages li.success")).to_have_text(
        "Requeued the config-parquet-and-info job of acme/again / default: a waiting job was queued"
        " (priority normal, difficulty 70, revision rev-1)."
    )
    page.click("header nav >> text=Blocked")
    page.wait_for_url("**/admin/blocked")
    page.goto(f"{console_url}/admin/blocked#blocked-acme/gone")
    page.screenshot(path=str(screenshots / "blocked.png"), full_page=True)
