"""The dataset page's root-error banner, copied-error links, plan in words, plan states and Apply plan.

The page computes the plan from the reads it already makes (cache entries, pending jobs,
blockage: three commands), at the revision of the cache (its dataset-config-names entry); Apply
asks the Hub and computes the plan again at the current revision.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client

from tests.support.auth_support import FakeWhoami, whoami_answer
from tests.support.write_helpers import OLD_SHA, SHA, serve_dataset, set_config
from tests.test_backfill_plan import DATASET, at
from tests.test_dataset_backfill import seed_broken_dataset, use_graph
from tests.test_page_actions import TOKEN, csrf_token_of
from tests.test_round_trips import bigger_graph

PAGE = f"/admin/dataset?dataset={DATASET}"
REDIRECTED = "/admin/dataset?dataset=org%2Fds"


def text_of(html: str) -> str:
    """HTML as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    html = re.sub(r"<(style|script)>.*?</\1>", " ", html, flags=re.DOTALL)
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    return re.sub(r" ([;,.])", r"\1", text)  # a link closed before its punctuation


@pytest.fixture
def small_graph(monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.test_backfill_plan import GRAPH

    use_graph(monkeypatch, GRAPH)
    return GRAPH


def entry_ids(cache_db: Any) -> dict[tuple[str, str | None, str | None], str]:
    return {
        (found["kind"], found.get("config"), found.get("split")): str(found["_id"])
        for found in cache_db["cachedResponsesBlue"].find()
    }


def row_html(html: str, step: str, config: str = "", split: str = "") -> str:
    match = re.search(
        rf'<tr class="\w+" data-step="{step}" data-config="{config}" data-split="{split}"[^>]*>(.*?)</tr>', html, re.S
    )
    assert match is not None, step
    return match.group(1)


def test_the_banner_names_the_root_error_first_and_how_many_entries_copy_it(
    client: Client, cache_db: Any, queue_db: Any, small_graph: Any
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    ids = entry_ids(cache_db)
    html = client.get(PAGE).content.decode()
    banner = re.search(r'<section class="banner root-errors" id="root-errors">(.*?)</section>', html, re.S)
    assert banner is not None
    assert text_of(banner.group(1)) == (
        "What broke config-info / c1 failed: DatasetGenerationError (ValueError: bad row); 3 downstream entries copy it"
    )
    assert f'href="/admin/cache/{ids[("config-info", "c1", None)]}"' in banner.group(1)


def test_each_copied_error_row_names_and_links_its_root(
    client: Client, cache_db: Any, queue_db: Any, small_graph: Any
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    ids = entry_ids(cache_db)
    html = client.get(PAGE).content.decode()
    direct = row_html(html, "split-rows", "c1", "s1")
    assert "copies config-info / c1 (the root)" in text_of(direct)
    assert f'href="/admin/cache/{ids[("config-info", "c1", None)]}"' in direct
    three_deep = row_html(html, "dataset-rows-count")
    assert "copies config-rows-count / c1; root: config-info / c1" in text_of(three_deep)
    assert f'href="/admin/cache/{ids[("config-rows-count", "c1", None)]}"' in three_deep
    assert f'class="root-link" href="/admin/cache/{ids[("config-info", "c1", None)]}"' in three_deep


def test_a_copy_whose_root_was_fixed_says_it_is_stale(client: Client, cache_db: Any, small_graph: Any) -> None:
    from tests.test_backfill_plan import config_names, copy_of, entry, split_names

    cache_db["cachedResponsesBlue"].insert_many(
        [
            config_names("c1"),
            split_names("c1", "s1"),
            entry("split-rows", "c1", "s1", updated_at=at(10)),
            copy_of("config-rows-count", "c1", None, parent=("split-rows", "c1", "s1"), updated_at=at(1)),
        ]
    )
    html = client.get(PAGE).content.decode()
    assert 'id="root-errors"' not in html
    row = text_of(row_html(html, "config-rows-count", "c1"))
    assert "copies split-rows / c1 / s1, which is no longer an error (fixed since): this copy is stale" in row
    assert "outdated by parent · to compute" in row


def test_the_plan_in_words_and_its_states_on_the_rows(
    client: Client, cache_db: Any, queue_db: Any, small_graph: Any
) -> None:

    seed_broken_dataset(cache_db, queue_db)
    cache_db["cachedResponsesBlue"].update_one(
        {"kind": "dataset-rows-count"}, {"$set": {"dataset_git_revision": OLD_SHA}}
    )
    html = client.get(PAGE).content.decode()
    words = re.search(r'<p id="plan-words">(.*?)</p>', html, re.S)
    assert words is not None
    assert text_of(words.group(1)).startswith(
        "2 jobs to create, 2 waiting jobs to delete · computed at the cache's revision"
    )
    assert "other revision · to compute" in text_of(row_html(html, "dataset-rows-count"))
    assert "empty · to compute" in text_of(row_html(html, "dataset-splits-total"))
    assert 'class="badge plan' not in row_html(html, "config-info", "c1")  # up to date: no plan state
    assert re.search(r'<form class="backfill" method="post" action="/admin/dataset/backfill">', html)


def test_the_page_keeps_its_three_commands_with_120_steps_and_50_configs_of_20_splits(
    client: Client, cache_db: Any, queue_db: Any, db_commands: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_dataset_backfill import seed_up_to_date_world

    use_graph(monkeypatch, bigger_graph(extra_steps=91))
    seed_up_to_date_world(cache_db, queue_db, bigger_graph(extra_steps=91), configs=50, splits=20)
    db_commands.commands.clear()
    html = client.get(PAGE).content.decode()
    assert [name for name, _ in db_commands.commands] == ["find", "find", "find"]
    words = re.search(r'<p id="plan-words">(.*?)</p>', html, re.S)
    assert words is not None and text_of(words.group(1)).startswith("3 jobs to create, 2 waiting jobs to delete")


def test_apply_plan_posts_with_csrf_and_shows_the_outcome(
    auth_on: FakeWhoami, fake_hub: Any, cache_db: Any, queue_db: Any, small_graph: Any
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    serve_dataset(fake_hub, DATASET)
    auth_on.allow(TOKEN, whoami_answer(name="alice"))
    browser = Client(enforce_csrf_checks=True)
    browser.post("/admin/login", {"token": TOKEN, "csrfmiddlewaretoken": csrf_token_of(browser.get("/admin/login"))})
    assert browser.post("/admin/dataset/backfill", {"dataset": DATASET}).status_code == 403
    assert queue_db["adminActions"].count_documents({}) == 0

    token = csrf_token_of(browser.get(PAGE))
    response = browser.post("/admin/dataset/backfill", {"dataset": DATASET, "csrfmiddlewaretoken": token}, follow=True)
    assert response.redirect_chain == [(REDIRECTED, 302)]
    page = text_of(response.content.decode())
    assert f"Backfill of {DATASET} at revision {SHA}: created 1 job, deleted 2 waiting jobs." in page
    assert "Nothing to do: every artifact is up to date or has its pending job." in page
    [action] = list(queue_db["adminActions"].find())
    assert (action["actor"], action["action"], action["outcome"]) == ("alice", "dataset-backfill", "ok")

    again = browser.post("/admin/dataset/backfill", {"dataset": DATASET, "csrfmiddlewaretoken": token}, follow=True)
    assert f"Backfill of {DATASET} at revision {SHA}: nothing to do, the plan was empty." in text_of(
        again.content.decode()
    )


def test_apply_plan_explains_a_hub_failure_and_writes_nothing(
    client: Client, cache_db: Any, queue_db: Any, small_graph: Any
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    set_config(hf_endpoint="http://127.0.0.1:9")
    jobs_before = list(queue_db["jobsBlue"].find())
    response = client.post("/admin/dataset/backfill", {"dataset": DATASET}, follow=True)
    assert response.redirect_chain == [(REDIRECTED, 302)]
    assert "Backfill: " in text_of(response.content.decode())
    assert list(queue_db["jobsBlue"].find()) == jobs_before


def test_without_a_cached_revision_the_page_says_apply_asks_the_hub(client: Client, queue_db: Any) -> None:
    from tests.support.write_helpers import upstream_job

    queue_db["jobsBlue"].insert_one(upstream_job(job_type="dataset-config-names", dataset=DATASET))
    html = client.get(PAGE).content.decode()
    assert "No revision in the cache (no dataset-config-names entry): Apply asks the Hub" in text_of(html)
    assert 'id="apply-plan"' in html
