"""The dataset page follows the planner's rules of issue 22 (items 2 and 3): what a row and the plan words say."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.test_backfill_plan import config_names, entry, job
from tests.test_dataset_page_backfill import PAGE, row_html, text_of


@pytest.fixture
def small_graph(monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.test_backfill_plan import GRAPH
    from tests.test_dataset_backfill import use_graph

    use_graph(monkeypatch, GRAPH)
    return GRAPH


def test_an_entry_without_a_runner_version_is_not_shown_outdated(
    client: Client, cache_db: Any, small_graph: Any
) -> None:
    without_version = {key: value for key, value in entry("dataset-rows-count").items() if key != "job_runner_version"}
    cache_db["cachedResponsesBlue"].insert_many([config_names(), without_version, entry("dataset-splits-total")])
    html = client.get(PAGE).content.decode()
    row = text_of(row_html(html, "dataset-rows-count"))
    assert "job runner version" not in row
    assert "0 outdated" in text_of(html)


def test_a_started_job_not_kept_is_nothing_to_do(
    client: Client, cache_db: Any, queue_db: Any, small_graph: Any
) -> None:
    """Its task counts it (`DeleteWaitingJobs,1`) but Apply would write nothing: the page says so."""
    cache_db["cachedResponsesBlue"].insert_many(
        [config_names(), entry("dataset-rows-count"), entry("dataset-splits-total")]
    )
    queue_db["jobsBlue"].insert_one(job("dataset-config-names", status="started"))
    html = client.get(PAGE).content.decode()
    assert "Nothing to do: every artifact is up to date or has its pending job." in text_of(html)
