"""Each read route costs a constant number of database commands, whatever the number of steps.

The `db_commands` fixture records every command pymongo sends. Counts are taken in the real
graph (29 steps) and again in a graph of 120 steps with a cache entry and a job for each: a
route that queried once per step would show it at once.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Any

import pytest
from django.test import Client

from cachereports.documents import cache_entry_document
from cachereports.selectors import copied_errors, entries, health, reports
from datasetops import selectors as dataset_selectors
from foundation.core.processing_graph import GRAPH_FILE, ProcessingGraph, parse_processing_graph, processing_graph
from jobs import selectors as job_selectors
from jobs.documents import job_document
from tests.support.read_routes import READ_ROUTES
from tests.test_read_api import T0

MAX_COMMANDS = {
    "dataset-status": 2,
    "pending-jobs": 2,
    "blocked-datasets": 1,
    "num-dataset-infos-by-builder-name": 1,
    "cache-reports": 1,
    "cache-reports-with-content": 1,
    "cache-errors": 1,
}


def bigger_graph(extra_steps: int) -> ProcessingGraph:
    specification = json.loads(GRAPH_FILE.read_text())
    input_types = ("dataset", "config", "split")
    for number in range(extra_steps):
        specification["steps"][f"extra-step-{number:03d}"] = {
            "input_type": input_types[number % 3],
            "job_runner_version": 1,
            "difficulty": 20,
            "triggered_by": ["dataset-config-names"],
        }
    return parse_processing_graph(specification)


def seed_one_entry_and_one_job_per_step(cache_db: Any, queue_db: Any, graph: ProcessingGraph) -> None:
    entries, jobs = [], []
    for step in graph:
        config = "default" if step.needs_config else None
        split = "train" if step.needs_split else None
        entries.append(cache_entry_document(kind=step.name, dataset="org/ds", config=config, split=split))
        for status in ("waiting", "started"):
            jobs.append(
                job_document(
                    job_type=step.name,
                    dataset="org/ds",
                    revision="r",
                    config=config,
                    split=split,
                    priority="low",
                    status=status,
                    difficulty=20,
                    created_at=T0,
                )
            )
    cache_db["cachedResponsesBlue"].insert_many(entries)
    queue_db["jobsBlue"].insert_many(jobs)
    queue_db["datasetBlockages"].insert_many([{"dataset": f"org/blocked{n}", "blocked_at": T0} for n in range(30)])


def commands_per_route(client: Client, db_commands: Any) -> dict[str, Counter[str]]:
    counts = {}
    for name, url in READ_ROUTES.items():
        db_commands.commands.clear()
        response = client.get(url)
        assert response.status_code == 200, url
        counts[name] = Counter(command for command, _ in db_commands.commands)
    return counts


def use_graph(monkeypatch: pytest.MonkeyPatch, graph: ProcessingGraph) -> None:
    for module in (copied_errors, entries, health, reports):
        monkeypatch.setattr(module, "processing_graph", lambda: graph)
    monkeypatch.setattr(job_selectors, "processing_graph", lambda: graph)
    monkeypatch.setattr(dataset_selectors, "processing_graph", lambda: graph)


def test_read_routes_cost_a_constant_number_of_commands(client: Client, cache_db, queue_db, db_commands, monkeypatch):
    real_graph = processing_graph()
    seed_one_entry_and_one_job_per_step(cache_db, queue_db, real_graph)
    small = commands_per_route(client, db_commands)

    big_graph = bigger_graph(extra_steps=91)
    assert len(big_graph) == 120
    use_graph(monkeypatch, big_graph)
    cache_db["cachedResponsesBlue"].delete_many({})
    queue_db["jobsBlue"].delete_many({})
    seed_one_entry_and_one_job_per_step(cache_db, queue_db, big_graph)
    big = commands_per_route(client, db_commands)

    assert len(client.get(READ_ROUTES["dataset-status"]).json()) == 120  # the big graph was really used
    for name, maximum in MAX_COMMANDS.items():
        assert sum(small[name].values()) <= maximum, (name, small[name])
        assert big[name] == small[name], (name, small[name], big[name])
    assert small["dataset-status"] == Counter({"find": 2})
    assert small["num-dataset-infos-by-builder-name"] == Counter({"aggregate": 1})


def test_a_large_page_of_cache_reports_is_one_command(client: Client, cache_db, db_commands, settings):
    """A page size above the server's default first batch (101) still costs one round trip."""
    settings.ADMIN = dataclasses.replace(
        settings.ADMIN, cache_reports_num_results=300, cache_reports_with_content_num_results=300
    )
    cache_db["cachedResponsesBlue"].insert_many(
        [cache_entry_document(kind="dataset-info", dataset=f"ds{number}") for number in range(250)]
    )
    for route, key in (
        ("cache-reports", "cache_reports"),
        ("cache-reports-with-content", "cache_reports_with_content"),
    ):
        db_commands.commands.clear()
        assert len(client.get(f"/admin/{route}/dataset-info").json()[key]) == 250
        assert [command for command, _ in db_commands.commands] == ["find"]
