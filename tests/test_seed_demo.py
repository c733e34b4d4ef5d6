"""`manage.py seed_demo`: a self-consistent world, written as the other services write it."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from demo.world import seed_world
from foundation.core.processing_graph import processing_graph
from foundation.database import mongo
from jobs.constants import worker_size
from jobs.difficulty import MIN_BYTES_FOR_BONUS_DIFFICULTY


@pytest.fixture
def world(cache_db, queue_db) -> dict[str, list[dict[str, Any]]]:
    output = StringIO()
    call_command("seed_demo", "--datasets", "80", "--jobs", "300", "--seed", "3", "--no-progress", stdout=output)
    assert "Demo world written: 80 datasets" in output.getvalue()
    return {
        "entries": list(cache_db["cachedResponsesBlue"].find()),
        "cache_totals": list(cache_db["cacheTotalMetric"].find()),
        "jobs": list(queue_db["jobsBlue"].find()),
        "job_totals": list(queue_db["jobTotalMetric"].find()),
        "worker_counts": list(queue_db["workerTypeJobCounts"].find()),
        "blockages": list(queue_db["datasetBlockages"].find()),
    }


def test_cache_total_metric_counts_the_cache_entries(world):
    recount = Counter((entry["kind"], entry["http_status"], entry.get("error_code")) for entry in world["entries"])
    rows = {(row["kind"], row["http_status"], row.get("error_code")): row["total"] for row in world["cache_totals"]}
    assert rows == dict(recount)
    assert all(
        set(row) <= {"_id", "kind", "http_status", "error_code", "total", "created_at"} for row in world["cache_totals"]
    )


def test_job_metrics_count_the_jobs(world):
    blocked = {blockage["dataset"] for blockage in world["blockages"]}
    recount = Counter((job["type"], job["status"], "normal") for job in world["jobs"])
    rows = {(row["job_type"], row["status"], row["dataset_status"]): row["total"] for row in world["job_totals"]}
    assert rows == dict(recount)
    waiting_by_size = Counter(
        worker_size(job["difficulty"])
        for job in world["jobs"]
        if job["status"] == "waiting" and job["dataset"] not in blocked
    )
    counts = {row["worker_size"]: row["jobs_count"] for row in world["worker_counts"]}
    assert counts == {size: waiting_by_size[size] for size in ("light", "medium", "heavy")}


def test_every_cache_entry_is_at_the_level_of_its_step_and_stored_like_upstream(world):
    graph = processing_graph()
    keys = set()
    for entry in world["entries"]:
        step = graph.get(entry["kind"])
        assert step is not None, entry["kind"]
        assert ("config" in entry) == step.needs_config, entry
        assert ("split" in entry) == step.needs_split, entry
        assert None not in entry.values(), entry
        assert type(entry["http_status"]) is int
        assert isinstance(entry["updated_at"], datetime)
        assert entry["updated_at"].microsecond % 1000 == 0
        assert isinstance(entry["content"], dict)
        assert isinstance(entry["failed_runs"], int)
        if entry["http_status"] != 200:
            assert entry["error_code"] and entry["details"]["cause_exception"], entry
            assert entry["content"] == {"error": entry["details"]["error"]}
        else:
            assert "error_code" not in entry and "details" not in entry
        keys.add((entry["kind"], entry["dataset"], entry.get("config"), entry.get("split")))
    assert len(keys) == len(world["entries"]), "unique on (kind, dataset, config, split)"


def test_config_and_split_entries_follow_the_config_and_split_names(world):
    by_key = {(entry["kind"], entry["dataset"], entry.get("config")): entry for entry in world["entries"]}
    first_rows = Counter(
        (entry["dataset"], entry["config"], entry["split"])
        for entry in world["entries"]
        if entry["kind"] == "split-first-rows"
    )
    checked = 0
    for entry in world["entries"]:
        if entry["kind"] != "config-split-names" or entry["http_status"] != 200:
            continue
        config_names = by_key[("dataset-config-names", entry["dataset"], None)]["content"]["config_names"]
        assert {"dataset": entry["dataset"], "config": entry["config"]} in config_names
        for split in entry["content"]["splits"]:
            assert first_rows[(entry["dataset"], entry["config"], split["split"])] == 1
            checked += 1
    assert checked > 50


def test_the_world_is_varied_like_production(world):
    entries, jobs = world["entries"], world["jobs"]
    datasets = {entry["dataset"] for entry in entries}
    assert len(datasets) == 80
    assert any("/" in name for name in datasets) and any("/" not in name for name in datasets)
    assert {entry["http_status"] for entry in entries} >= {200, 500, 501}
    assert any("copied_from_artifact" in entry.get("details", {}) for entry in entries)
    graph = processing_graph()
    assert any(entry["job_runner_version"] < graph.steps_by_name[entry["kind"]].job_runner_version for entry in entries)
    assert any("progress" not in entry for entry in entries if entry["http_status"] == 200)
    builder_names = {
        entry["content"]["dataset_info"].get("default", {}).get("builder_name")
        for entry in entries
        if entry["kind"] == "dataset-info" and entry["http_status"] == 200
    }
    assert builder_names >= {"parquet", "csv", "json", "imagefolder", None}
    config_infos = [
        entry["content"]["dataset_info"]
        for entry in entries
        if entry["kind"] == "config-info" and entry["http_status"] == 200
    ]
    assert any(info["dataset_size"] > MIN_BYTES_FOR_BONUS_DIFFICULTY for info in config_infos)
    assert any(
        split["num_bytes"] > MIN_BYTES_FOR_BONUS_DIFFICULTY
        for info in config_infos
        for split in info["splits"].values()
    )
    assert {job["priority"] for job in jobs} == {"low", "normal", "high"}
    assert {job["status"] for job in jobs} == {"waiting", "started"}
    assert len(jobs) == 300 and len({job["unicity_id"] for job in jobs}) == 300
    assert world["blockages"]
    for job in jobs:
        assert None not in job.values()
        assert ("started_at" in job) == ("last_heartbeat" in job) == (job["status"] == "started")
        parts = [job["type"], job["dataset"], job["revision"], *(job[key] for key in ("config", "split") if key in job)]
        assert job["unicity_id"] == ",".join(parts)
        assert job["namespace"] == job["dataset"].split("/")[0]


def test_seed_demo_never_writes_into_databases_holding_data(world, cache_db):
    with pytest.raises(CommandError, match="already hold data"):
        call_command("seed_demo", "--datasets", "5", "--no-progress", stdout=StringIO())
    output = StringIO()
    call_command("seed_demo", "--if-empty", "--no-progress", stdout=output)
    assert "no demo data written" in output.getvalue()
    assert cache_db["cachedResponsesBlue"].count_documents({}) == len(world["entries"])


def test_the_same_seed_writes_the_same_world(settings, cache_db):
    now = mongo.utc_now()

    def written(database_suffix: str) -> list[tuple[Any, ...]]:
        settings.ADMIN = dataclasses.replace(
            settings.ADMIN,
            cache_mongo_database=f"{settings.ADMIN.cache_mongo_database}{database_suffix}",
            queue_mongo_database=f"{settings.ADMIN.queue_mongo_database}{database_suffix}",
        )
        seed_world(datasets=10, jobs=30, seed=11, now=now)
        entries = [
            tuple(sorted((key, str(value)) for key, value in entry.items() if key != "_id"))
            for entry in mongo.cache_database()["cachedResponsesBlue"].find()
        ]
        jobs = [
            tuple(sorted((key, str(value)) for key, value in job.items() if key != "_id"))
            for job in mongo.queue_database()["jobsBlue"].find()
        ]
        mongo.cache_database().client.drop_database(settings.ADMIN.cache_mongo_database)
        mongo.queue_database().client.drop_database(settings.ADMIN.queue_mongo_database)
        return sorted(entries) + sorted(jobs)

    assert written("a") == written("b")


def test_cache_entries_option_writes_exactly_that_many(cache_db, queue_db):
    summary = seed_world(datasets=None, cache_entries=1234, jobs=10, seed=1, batch_size=100)
    assert summary.cache_entries == 1234
    assert cache_db["cachedResponsesBlue"].count_documents({}) == 1234
    assert sum(row["total"] for row in cache_db["cacheTotalMetric"].find()) == 1234
    assert queue_db["jobsBlue"].count_documents({}) == 10
