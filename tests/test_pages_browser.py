"""The console in a real headless Chromium: a maintainer finds out why a dataset is broken.

The app is served by Django's threaded WSGI server inside the test process (so the per-test
databases of `settings.ADMIN` apply) on 127.0.0.1, and driven by Playwright with Debian's
chromium, with auth on against the fake Hub (the fixtures: tests/support/browser.py).
Screenshots of every page go to the test's tmp dir, or into $SCREENSHOTS_DIR when set (`make
screenshots` refreshes docs/screenshots/ for the README): a normal test run never touches the
work tree.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from django.core.management import call_command

from overview.activity import interval_start
from tests.support.auth_support import ORG, FakeWhoami, whoami_answer
from tests.support.browser import BROWSER_TESTS, assert_fits_the_window
from tests.support.page_data import ago, insert_cache_entry, insert_job, seed_broken_dataset
from tests.support.write_helpers import SHA, serve_dataset

pytestmark = BROWSER_TESTS


def seed_console(cache_db: Any, queue_db: Any) -> Any:
    """A small but lively system: a broken dataset, a healthy one, a busy queue, a blockage."""
    broken = seed_broken_dataset(cache_db, queue_db)
    insert_cache_entry(
        cache_db,
        kind="dataset-config-names",
        dataset="squad",
        content={"config_names": [{"dataset": "squad", "config": "plain_text"}]},
    )
    insert_cache_entry(
        cache_db,
        kind="dataset-info",
        dataset="squad",
        content={"dataset_info": {"default": {"builder_name": "parquet"}}},
    )
    insert_cache_entry(
        cache_db, kind="dataset-config-names", dataset="acme/huge", http_status=501, error_code="DatasetTooBigError"
    )
    for index, job_type in enumerate(["dataset-config-names", "config-parquet-and-info", "split-first-rows"]):
        insert_job(queue_db, type=job_type, dataset=f"org{index}/data", created_at=ago(hours=index + 1))
    insert_job(queue_db, type="config-parquet-and-info", dataset="squad", config="plain_text", status="started")
    queue_db["datasetBlockages"].insert_one({"dataset": "spam/flood", "blocked_at": ago(minutes=30)})
    seed_long_values(cache_db, queue_db)
    call_command("collect_counts", verbosity=0)  # the dashboard's root-error groups and builder names
    return broken


LONG_DATASET = "open-science-collective/multilingual_speech_transcriptions_with_speaker_diarization_2024"
LONG_CONFIG = "transcriptions_with_speaker_diarization_and_word_level_timestamps"


def seed_long_values(cache_db: Any, queue_db: Any) -> None:
    """What production holds and short test names hide: long names, full revisions, long errors."""
    path = "hf://datasets/" + LONG_DATASET + "@" + SHA + "/data/" + LONG_CONFIG + "/train-00000-of-00042.parquet"
    insert_cache_entry(
        cache_db,
        kind="config-parquet-and-info",
        dataset=LONG_DATASET,
        config=LONG_CONFIG,
        http_status=500,
        error_code="DatasetGenerationCastError",
        details={"error": f"An error occurred while generating the dataset: cannot cast {path}"},
        revision=SHA,
    )
    queue_db["adminActions"].insert_one(
        {
            "actor": "a-maintainer-with-a-rather-long-hub-user-name",
            "actor_org": ORG,
            "action": "recreate-dataset",
            "parameters": {"dataset": LONG_DATASET, "priority": "high", "config": LONG_CONFIG},
            "requested_at": ago(days=2),
            "outcome": "failed",
            "finished_at": ago(days=2),
            "result": {"revision": SHA, "deleted_cached_responses": 1234, "deleted_jobs": 56, "job_id": "6b0942" * 4},
            "error_code": "UnexpectedApiError",
            "message": f"The Hub answered 503 about dataset {LONG_DATASET}: nothing was changed. {path}",
        }
    )
    insert_job(queue_db, type="split-first-rows", dataset=LONG_DATASET, config=LONG_CONFIG, split="train", revision=SHA)


def test_a_maintainer_finds_why_a_dataset_is_broken_and_refreshes_it(
    page: Any, console_url: str, cache_db, queue_db, auth_on: FakeWhoami, fake_hub: Any, screenshots: Path
) -> None:
    seed_console(cache_db, queue_db)
    token = "hf_julien_0123456789abcdef"
    auth_on.allow(token, whoami_answer(name="julien"))
    serve_dataset(fake_hub, "acme/reviews")

    page.goto(f"{console_url}/admin/")
    page.wait_for_url("**/admin/login?next=/admin/")
    assert page.title() == "Sign in · dataset viewer admin"
    assert page.locator("header .who").count() == 0
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "login.png"), full_page=True)
    page.fill("#token", token)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{console_url}/admin/")

    assert page.title() == "Dashboard · dataset viewer admin"
    assert page.locator("#queue-waiting").inner_text() == "5 waiting"
    assert page.locator("#queue-started").inner_text() == "1 started"
    assert page.locator("header .who").inner_text() == "julien"
    assert page.locator("header form.logout button").inner_text() == "Log out"
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)

    page.fill("#dataset-search", "acme/reviews")
    page.press("#dataset-search", "Enter")
    page.wait_for_url("**/admin/dataset?dataset=acme%2Freviews")
    assert page.locator("h1").inner_text() == "acme/reviews"
    broken_row = page.locator('tr[data-step="config-parquet-and-info"][data-config="fr"]')
    assert broken_row.locator("code.error-code").inner_text() == "DatasetGenerationError"
    assert "An error occurred while generating the dataset" in broken_row.inner_text()
    missing_row = page.locator('tr[data-step="config-parquet-and-info"][data-config="default"]')
    assert "missing" not in missing_row.inner_text()
    assert "missing" in page.locator('tr[data-step="config-info"][data-config="fr"]').inner_text()

    broken_row.locator("summary").click()
    broken_row.locator("select[name=priority]").select_option("normal")
    broken_row.locator("button[type=submit]").click()
    page.wait_for_url("**/admin/dataset?dataset=acme%2Freviews")
    assert page.locator("#messages li.success").inner_text() == (
        "Force-refresh: a config-parquet-and-info job for acme/reviews / fr is now waiting (priority normal,"
        f" difficulty 70, revision {SHA})."
    )
    broken_row = page.locator('tr[data-step="config-parquet-and-info"][data-config="fr"]')
    assert broken_row.locator("span.badge.waiting").inner_text() == "waiting · normal"
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "dataset.png"), full_page=True)

    broken_row.locator("code.error-code").click()
    page.wait_for_url("**/admin/cache/*")
    assert page.locator("#error-code").inner_text() == "DatasetGenerationError"
    assert '"cause_exception": "ValueError"' in page.locator("#details").inner_text()
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "cache-entry.png"), full_page=True)

    page.click("text=all config-parquet-and-info entries")
    page.wait_for_url("**/admin/cache?kind=config-parquet-and-info")
    assert page.locator("#cache-entries tbody tr").count() == 3
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "cache.png"), full_page=True)

    page.click("header nav >> text=Jobs")
    assert page.locator("#jobs-total").inner_text().startswith("7 pending jobs")
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "jobs.png"), full_page=True)

    page.click("header nav >> text=Graph")
    assert page.locator("#graph a.node").count() == 29
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "graph.png"), full_page=True)

    page.goto(f"{console_url}/admin/dataset?dataset=acme%2Freviews")
    page.click("#recreate-link")
    page.wait_for_url("**/admin/dataset/recreate?dataset=acme/reviews")
    assert page.locator("#recreate-counts").inner_text().splitlines() == [
        "2 waiting jobs (started jobs stay)",
        "6 cache entries",
        "0 asset folders",
    ]
    page.fill("#confirmation", "acme/review")
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "recreate.png"), full_page=True)

    page.click("header nav >> text=Audit log")
    page.wait_for_url("**/admin/audit")
    action, older_action = page.locator("#audit-log tbody tr").all()
    assert older_action.locator("td").nth(5).inner_text().startswith("failed")
    assert action.locator("td").nth(1).inner_text() == f"julien ({ORG})"
    assert action.locator("td").nth(2).inner_text() == "force-refresh"
    assert action.locator("td a").inner_text() == "acme/reviews"
    assert action.locator("td").nth(5).inner_text().startswith("ok")
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "audit-log.png"), full_page=True)

    for path in (f"/admin/dataset?dataset={LONG_DATASET}", f"/admin/dataset/recreate?dataset={LONG_DATASET}"):
        page.goto(f"{console_url}{path}")
        assert_fits_the_window(page)
    page.goto(f"{console_url}/admin/dataset?dataset={LONG_DATASET}")
    page.locator("#step-config-parquet-and-info code.error-code").click()
    page.wait_for_url("**/admin/cache/*")
    assert_fits_the_window(page)
    for name in ("login", "dashboard", "dataset", "cache-entry", "cache", "jobs", "graph", "recreate", "audit-log"):
        assert (screenshots / f"{name}.png").stat().st_size > 10_000, name


def test_a_maintainer_goes_from_the_top_error_group_to_a_bulk_refresh_of_it(
    page: Any, console_url: str, cache_db, queue_db, auth_on: FakeWhoami, fake_hub: Any, screenshots: Path
) -> None:
    seed_console(cache_db, queue_db)  # acme/reviews / fr: config-parquet-and-info DatasetGenerationError (ValueError)
    details = {"error": "An error occurred while generating the dataset", "cause_exception": "ValueError"}
    for dataset in ("acme/news", "acme/poems", "acme/recipes"):
        serve_dataset(fake_hub, dataset)
        insert_cache_entry(
            cache_db,
            kind="config-parquet-and-info",
            dataset=dataset,
            config="default",
            http_status=500,
            error_code="DatasetGenerationError",
            details=details,
        )
        for kind in ("config-parquet", "config-info"):  # copies of that root: counted, never refreshed
            insert_cache_entry(
                cache_db,
                kind=kind,
                dataset=dataset,
                config="default",
                http_status=500,
                error_code="DatasetGenerationError",
                details={
                    **details,
                    "copied_from_artifact": {
                        "kind": "config-parquet-and-info",
                        "dataset": dataset,
                        "config": "default",
                        "split": None,
                    },
                },
            )
    serve_dataset(fake_hub, "acme/reviews")
    call_command("collect_counts", verbosity=0)  # counted again, with the errors above
    token = "hf_julien_0123456789abcdef"
    auth_on.allow(token, whoami_answer(name="julien"))
    page.goto(f"{console_url}/admin/")
    page.wait_for_url("**/admin/login?next=/admin/")
    page.fill("#token", token)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{console_url}/admin/")

    top = page.locator("#top-errors tbody tr").first
    assert top.inner_text().split() == [
        "config-parquet-and-info",
        "DatasetGenerationError",
        "ValueError",
        "4",
        "bulk",
        "refresh",
    ]
    page.click("#top-errors caption a")
    page.wait_for_url("**/admin/errors")
    assert page.locator("#errors-totals").inner_text() == ("3 groups of root errors · 6 error entries copying another")
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "errors.png"), full_page=True)

    page.locator("#error-groups tbody tr").first.locator("a.group-refresh").click()
    page.wait_for_url("**/admin/bulk?kind=config-parquet-and-info&error_code=DatasetGenerationError*")
    assert page.locator("#bulk-matched").inner_text() == "4"
    assert page.locator("#bulk-datasets").inner_text() == "4"
    page.fill("input[name=limit]", "2")
    page.click("#bulk-filter button[type=submit]")
    page.wait_for_url("**limit=2**")
    assert page.locator("#bulk-preview-entries tbody tr").count() == 2
    refreshed = {"type": "config-parquet-and-info", "dataset": {"$regex": "^acme/"}}
    assert queue_db["jobsBlue"].count_documents(refreshed) == 0  # the preview wrote nothing

    page.click("#bulk-all")  # the script: batch after batch, with the progress bar
    # a locator wait, not wait_for_function: the page's CSP forbids the eval that one needs
    page.locator("#bulk-log").filter(has_text=re.compile(r"^Finished")).wait_for()
    assert page.locator("#bulk-log").inner_text() == "Finished: 4 jobs created, 0 already waiting, 0 skipped."
    assert page.locator("#bulk-progress-text").inner_text() == "4 of 4 done"
    assert page.evaluate("document.getElementById('bulk-progress').value") == 4
    assert page.locator("#bulk-next").is_hidden()
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "bulk-refresh.png"), full_page=True)

    jobs = list(queue_db["jobsBlue"].find(refreshed))
    assert sorted(job["dataset"] for job in jobs) == ["acme/news", "acme/poems", "acme/recipes", "acme/reviews"]
    assert {job["revision"] for job in jobs} == {SHA}
    assert queue_db["adminActions"].count_documents({"action": "bulk-refresh", "actor": "julien"}) == 2


def seed_dataset_with_copied_errors(cache_db: Any, queue_db: Any, dataset: str) -> None:
    """A dataset whose fr config failed once and whose five dependent entries copy that error."""
    names = {"config_names": [{"dataset": dataset, "config": config} for config in ("default", "fr")]}
    insert_cache_entry(cache_db, kind="dataset-config-names", dataset=dataset, content=names, revision=SHA)
    splits = {"splits": [{"dataset": dataset, "config": "default", "split": "train"}]}
    insert_cache_entry(
        cache_db, kind="config-split-names", dataset=dataset, config="default", content=splits, revision=SHA
    )
    insert_cache_entry(cache_db, kind="config-parquet-and-info", dataset=dataset, config="default", revision=SHA)
    cause = {"cause_exception": "ValueError", "cause_message": "Couldn't cast column 'label' from string to int64"}
    root = {"error": "An error occurred while generating the dataset", **cause}
    failure: dict[str, Any] = {"http_status": 500, "error_code": "DatasetGenerationError", "revision": SHA}
    insert_cache_entry(cache_db, kind="config-parquet-and-info", dataset=dataset, config="fr", details=root, **failure)
    copies = [
        ("config-parquet", "fr", "config-parquet-and-info", "fr"),
        ("config-info", "fr", "config-parquet-and-info", "fr"),
        ("config-size", "fr", "config-parquet-and-info", "fr"),
        ("config-parquet-metadata", "fr", "config-parquet", "fr"),
        ("dataset-parquet", None, "config-parquet", "fr"),
    ]
    for kind, config, parent_kind, parent_config in copies:
        copied = {"kind": parent_kind, "dataset": dataset, "config": parent_config, "split": None}
        details = {**root, "copied_from_artifact": copied}
        insert_cache_entry(cache_db, kind=kind, dataset=dataset, config=config, details=details, **failure)
    insert_job(queue_db, type="dataset-config-names", dataset=dataset, revision="rev-0")  # an old revision's


def test_a_maintainer_goes_from_the_root_error_banner_to_apply_plan(
    page: Any, console_url: str, cache_db, queue_db, auth_on: FakeWhoami, fake_hub: Any, screenshots: Path
) -> None:
    dataset = "acme/broken"
    seed_dataset_with_copied_errors(cache_db, queue_db, dataset)
    token = "hf_julien_0123456789abcdef"
    auth_on.allow(token, whoami_answer(name="julien"))
    serve_dataset(fake_hub, dataset)
    page.goto(f"{console_url}/admin/login")
    page.fill("#token", token)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{console_url}/admin/")

    page.goto(f"{console_url}/admin/dataset?dataset=acme%2Fbroken")
    assert page.locator("#root-errors li").all_inner_texts() == [
        "config-parquet-and-info / fr failed: DatasetGenerationError (ValueError: Couldn't cast column 'label'"
        " from string to int64); 5 downstream entries copy it"
    ]
    copied_row = page.locator('tr[data-step="config-parquet-metadata"][data-config="fr"]')
    assert (
        copied_row.locator(".copied").inner_text() == "copies config-parquet / fr; root: config-parquet-and-info / fr"
    )
    words = page.locator("#plan-words strong").inner_text()
    match = re.fullmatch(r"(\d+) jobs to create, 1 waiting job to delete", words)
    assert match is not None, words
    to_create = int(match.group(1))
    assert page.locator('tr[data-step="dataset-info"] .badge.plan').inner_text() == "empty · to compute"
    assert_fits_the_window(page)
    page.screenshot(path=str(screenshots / "backfill.png"))

    copied_row.locator("a.root-link").click()
    page.wait_for_url("**/admin/cache/*")
    assert page.locator("#error-code").inner_text() == "DatasetGenerationError"
    page.go_back()

    page.locator("#backfill-plan select[name=priority]").select_option("normal")
    page.click("#apply-plan")
    page.wait_for_url("**/admin/dataset?dataset=acme%2Fbroken")
    assert page.locator("#messages li.success").inner_text() == (
        f"Backfill of {dataset} at revision {SHA}: created {to_create} jobs, deleted 1 waiting job."
    )
    assert page.locator("#plan-words strong").inner_text() == (
        "Nothing to do: every artifact is up to date or has its pending job."
    )
    assert page.locator('tr[data-step="dataset-info"] .badge.plan').inner_text() == "empty · in process"
    assert page.locator('tr[data-step="dataset-info"] span.badge.waiting').inner_text() == "waiting · normal"
    assert (screenshots / "backfill.png").stat().st_size > 10_000


# --- The activity page: charts of the queue and the work done, in both color schemes ------


def seed_a_busy_hour(cache_db: Any, queue_db: Any) -> None:
    """An hour of samples (one a minute, as collect_counts takes them) of a queue that drains, and the cache
    entries its jobs wrote, successes and errors, minute by minute."""
    randomness = Random(18)
    this_minute = interval_start(datetime.now(UTC), 60)
    samples, entries = [], []
    for minutes_ago in range(59, -1, -1):
        start = this_minute - timedelta(minutes=minutes_ago)
        waiting = 40 + 2 * minutes_ago + randomness.randint(0, 9)
        samples.append(
            {
                "_id": start,
                "interval_seconds": 60,
                "taken_at": start + timedelta(seconds=1),
                "jobs": {"waiting": waiting, "started": 8 + randomness.randint(0, 4)},
                "waiting_jobs_by_worker_size": {
                    "light": waiting // 2,
                    "medium": waiting // 3,
                    "heavy": waiting - waiting // 2 - waiting // 3,
                },
                "cache_entries_by_http_status": {"200": 1000, "500": 40},
                "oldest_waiting_job_created_at": start - timedelta(minutes=20 + minutes_ago % 25),
                "stale_jobs": 3 if 20 <= minutes_ago <= 35 else 1,
                "blocked_datasets": 1 if minutes_ago > 30 else 2,
            }
        )
        for number in range(randomness.randint(4, 16)):
            kind = randomness.choice(["config-parquet-and-info", "split-first-rows", "config-info", "dataset-info"])
            entry: dict[str, Any] = {
                "kind": kind,
                "dataset": f"org/ds-{minutes_ago}-{number}",
                "config": "default",
                "http_status": 200,
                "updated_at": start + timedelta(seconds=randomness.randint(0, 59)),
            }
            if randomness.random() < 0.2:  # a failure, with its code
                entry["http_status"] = 500
                entry["error_code"] = randomness.choice(["DatasetGenerationError", "ConfigNamesError"])
            entries.append(entry)
    queue_db["adminActivitySamples"].insert_many(samples)
    cache_db["cachedResponsesBlue"].insert_many(entries)


CHARTS = {
    "queue-by-status": "line",
    "waiting-by-worker-size": "line",
    "jobs-finished": "bars",
    "entries-written": "bars",
    "oldest-waiting": "line",
    "stale-jobs": "line",
    "blocked-datasets": "line",
}


def relative_luminance(rgb: str) -> float:
    """Of a computed CSS color, `rgb(r, g, b)` (WCAG's formula)."""
    channels = [int(value) / 255 for value in re.findall(r"\d+", rgb)[:3]]
    linear = [value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4 for value in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_activity_page_draws_every_kind_of_series_in_both_color_schemes(
    page: Any, console_url: str, cache_db, queue_db, screenshots: Path
) -> None:
    seed_a_busy_hour(cache_db, queue_db)
    seed_console(cache_db, queue_db)  # its round of collect_counts finds this minute's sample taken
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Security Policy" in message.text else None)
    colors = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{console_url}/admin/")
        assert page.locator("#activity-sparklines svg.sparkline path").count() >= 7
        page.click("#activity-title a")
        page.wait_for_url("**/admin/activity?window=hour")
        assert page.title() == "Activity · Last hour · dataset viewer admin"
        for chart, kind in CHARTS.items():
            figure = page.locator(f"figure#{chart}")
            drawn = figure.locator("svg .line circle" if kind == "line" else "svg a.bar rect")
            assert drawn.count() >= 1, (scheme, chart)
            assert figure.locator(".chart-empty").count() == 0, (scheme, chart)
            assert figure.locator("table tbody tr").count() == 60
        # the numbers of a point are in its title and in the table, with the same link
        point = page.locator("figure#queue-by-status .series-waiting a").last
        title = point.locator("title").text_content() or ""
        assert re.fullmatch(r"\d\d:\d\d-\d\d:\d\d UTC · waiting: \d+ jobs", title), title
        assert point.get_attribute("href") == "/admin/jobs?status=waiting"
        card = page.evaluate("getComputedStyle(document.querySelector('figure.chart')).backgroundColor")
        swatches = page.evaluate(
            "[...document.querySelectorAll('ul.legend .swatch')].map(s => getComputedStyle(s).backgroundColor)"
        )
        axis = page.evaluate("getComputedStyle(document.querySelector('svg.chart-drawing .axis text')).fill")
        for swatch in swatches:  # every series stands out from its background (WCAG: 3 for graphics)
            assert contrast(swatch, card) >= 3, (scheme, swatch, card)
        assert contrast(axis, card) >= 4.5, (scheme, axis, card)
        colors[scheme] = (
            page.evaluate("getComputedStyle(document.body).backgroundColor"),
            card,
            page.evaluate("getComputedStyle(document.querySelector('#queue-by-status .series-waiting path')).stroke"),
        )
        assert_fits_the_window(page)
        name = "activity.png" if scheme == "light" else "activity-dark.png"
        page.screenshot(path=str(screenshots / name), full_page=True)
    assert colors["light"] == ("rgb(246, 247, 249)", "rgb(255, 255, 255)", "rgb(81, 86, 196)")
    assert colors["dark"] == ("rgb(20, 23, 29)", "rgb(27, 32, 40)", "rgb(157, 162, 255)")

    # a bar leads to its interval's entries written, whose counts lead to the cache list
    page.locator("figure#entries-written a.bar.series-error").last.click()
    page.wait_for_url("**/admin/activity?window=hour&interval=*")
    assert page.locator("#interval-title").inner_text().startswith("Entries written ")
    first = page.locator("#interval-entries tbody tr").first.locator("a")
    first.click()
    page.wait_for_url("**/admin/cache?kind=*&http_status=*")
    assert re.fullmatch(r"\d+ entr(y|ies) match(es)?", page.locator("#cache-count").inner_text())
    page.goto(f"{console_url}/admin/activity?window=week")
    assert page.locator("figure#entries-written svg a.bar rect").count() >= 1
    assert refused == []
