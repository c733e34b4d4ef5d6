"""GET /admin/dataset-backfill-plan and POST /admin/dataset-backfill, against the test server and the fake Hub.

The small graph of tests/test_backfill_plan.py keeps the exact answers readable (the routes read
the graph through `processing_graph()`, patched here); one test runs the real graph, and the
round-trip test a graph of 120 steps with 50 configs x 20 splits.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from cachereports.documents import cache_entry_document
from datasetops import selectors as dataset_selectors
from foundation.core.processing_graph import ProcessingGraph, processing_graph
from jobs import selectors as job_selectors
from jobs.serializers import job_document_dict as job_dict
from tests.support.write_helpers import OLD_SHA, SHA, serve_dataset, set_config
from tests.test_backfill_plan import (
    DATASET,
    GRAPH,
    T0,
    aid,
    at,
    config_names,
    copy_of,
    failed,
    job,
    split_names,
    to_create,
)
from tests.test_round_trips import bigger_graph

PLAN_URL = f"/admin/dataset-backfill-plan?dataset={DATASET}"


def use_graph(monkeypatch: pytest.MonkeyPatch, graph: ProcessingGraph) -> None:
    monkeypatch.setattr(dataset_selectors, "processing_graph", lambda: graph)
    monkeypatch.setattr(job_selectors, "processing_graph", lambda: graph)


@pytest.fixture
def small_graph(monkeypatch: pytest.MonkeyPatch) -> ProcessingGraph:
    use_graph(monkeypatch, GRAPH)
    return GRAPH


def apply(client: Client, **params: str) -> Any:
    query = "&".join(f"{key}={value}" for key, value in {"dataset": DATASET, **params}.items())
    return client.post(f"/admin/dataset-backfill?{query}", data="", content_type="application/json")


def everything(queue_db: Any, cache_db: Any) -> dict[str, list[dict[str, Any]]]:
    """Every document the routes could write, but the audit log."""
    queue = {
        name: list(queue_db[name].find()) for name in ("jobsBlue", "jobTotalMetric", "workerTypeJobCounts", "locks")
    }
    return queue | {name: list(cache_db[name].find()) for name in ("cachedResponsesBlue", "cacheTotalMetric")}


# A broken dataset: config-info c1 failed, three entries copy it (two, three deep), a stale job at
# an old revision, a valid waiting job, a started one.
BROKEN_ENTRIES = [
    config_names("c1"),
    split_names("c1", "s1", updated_at=at(1)),
    failed("config-info", "c1", updated_at=at(1)),
    copy_of("split-rows", "c1", "s1", parent=("config-info", "c1", None), updated_at=at(2)),
    copy_of("config-rows-count", "c1", None, parent=("split-rows", "c1", "s1"), updated_at=at(3)),
    copy_of("dataset-rows-count", None, None, parent=("config-rows-count", "c1", None), updated_at=at(4)),
]


def seed_broken_dataset(cache_db: Any, queue_db: Any) -> dict[str, dict[str, Any]]:
    jobs = {
        "old": job("dataset-splits-total", revision=OLD_SHA, created_at=at(0)),
        "up_to_date": job("dataset-config-names", created_at=at(1)),
        "started": job("split-rows", "c1", "s1", status="started", created_at=at(2)),
    }
    cache_db["cachedResponsesBlue"].insert_many([dict(document) for document in BROKEN_ENTRIES])
    queue_db["jobsBlue"].insert_many([dict(document) for document in jobs.values()])
    queue_db["jobTotalMetric"].insert_many(
        [
            {"job_type": "dataset-splits-total", "status": "waiting", "dataset_status": "normal", "total": 1},
            {"job_type": "dataset-config-names", "status": "waiting", "dataset_status": "normal", "total": 1},
        ]
    )
    queue_db["workerTypeJobCounts"].insert_one({"worker_size": "medium", "jobs_count": 2})
    return jobs


ROOT_ERROR = {
    "kind": "config-info",
    "dataset": DATASET,
    "config": "c1",
    "split": None,
    "error_code": "DatasetGenerationError",
    "cause_exception": "ValueError",
    "cause_message": "bad row",
    "downstream": 3,
}


def test_the_plan_route_answers_the_plan_at_the_hubs_revision_and_writes_nothing(
    client: Client, fake_hub: Any, cache_db: Any, queue_db: Any, small_graph: Any
) -> None:
    jobs = seed_broken_dataset(cache_db, queue_db)
    serve_dataset(fake_hub, DATASET)
    before = everything(queue_db, cache_db)
    response = client.get(f"{PLAN_URL}&priority=normal")
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=10"
    assert response.json() == {
        "dataset": DATASET,
        "revision": SHA,
        "cache_status": {
            "cache_is_outdated_by_parent": [],
            "cache_is_empty": [aid("dataset-splits-total")],
            "cache_is_error_to_retry": [],
            "cache_is_job_runner_obsolete": [],
            "cache_has_different_git_revision": [],
            "up_to_date": sorted(
                aid(*key)
                for key in [
                    ("config-info", "c1"),
                    ("config-rows-count", "c1"),
                    ("config-split-names", "c1"),
                    ("dataset-config-names",),
                    ("dataset-rows-count",),
                    ("split-rows", "c1", "s1"),
                ]
            ),
        },
        "queue_status": {"in_process": [aid("dataset-config-names"), aid("split-rows", "c1", "s1")]},
        "tasks": ["CreateJobs,1", "DeleteWaitingJobs,3"],  # the started job of up-to-date split-rows counted too
        "jobs_to_create": [to_create("dataset-splits-total", priority="normal")],
        "waiting_jobs_to_delete": [job_dict(jobs["up_to_date"]), job_dict(jobs["old"])],
        "root_errors": [ROOT_ERROR],
    }
    assert everything(queue_db, cache_db) == before
    assert list(queue_db["adminActions"].find()) == []


@pytest.mark.parametrize("route", ["plan", "apply"])
def test_an_unsupported_dataset_is_a_501_and_nothing_is_read_or_written(
    client: Client, fake_hub: Any, cache_db: Any, queue_db: Any, small_graph: Any, db_commands: Any, route: str
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    serve_dataset(fake_hub, DATASET, disabled=True)
    before = everything(queue_db, cache_db)
    db_commands.collections.clear()
    response = client.get(PLAN_URL) if route == "plan" else apply(client)
    touched = {collection for _, collection in db_commands.collections}
    assert response.status_code == 501
    assert response["X-Error-Code"] == "NotSupportedDisabledRepositoryError"
    assert everything(queue_db, cache_db) == before
    assert touched <= {"adminActions"}  # the Hub is asked first; only the audit entry (apply) is written


@pytest.mark.parametrize("route", ["plan", "apply"])
def test_the_hub_down_is_a_500_and_nothing_is_written(
    client: Client, fake_hub: Any, cache_db: Any, queue_db: Any, small_graph: Any, route: str
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    set_config(hf_endpoint="http://127.0.0.1:9")
    before = everything(queue_db, cache_db)
    response = client.get(PLAN_URL) if route == "plan" else apply(client)
    assert response.status_code == 500
    assert response["X-Error-Code"] == "UnexpectedApiError"
    assert everything(queue_db, cache_db) == before
    if route == "apply":
        [action] = list(queue_db["adminActions"].find())
        assert (action["action"], action["outcome"], action["error_code"]) == (
            "dataset-backfill",
            "failed",
            "UnexpectedApiError",
        )


def jobs_without_ids(queue_db: Any) -> list[dict[str, Any]]:
    return sorted(
        ({key: value for key, value in found.items() if key != "_id"} for found in queue_db["jobsBlue"].find()),
        key=lambda found: (found["unicity_id"], found["status"]),
    )


def metric_rows(queue_db: Any) -> dict[str, Any]:
    return {
        "jobs": {row["job_type"]: row["total"] for row in queue_db["jobTotalMetric"].find()},
        "sizes": {row["worker_size"]: row["jobs_count"] for row in queue_db["workerTypeJobCounts"].find()},
    }


def test_apply_deletes_and_creates_what_the_plan_says_with_metric_rows_and_an_audit_entry(
    client: Client, fake_hub: Any, cache_db: Any, queue_db: Any, small_graph: Any
) -> None:
    jobs = seed_broken_dataset(cache_db, queue_db)
    serve_dataset(fake_hub, DATASET)
    response = apply(client, priority="high")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "status": "ok",
        "dataset": DATASET,
        "revision": SHA,
        "created_jobs": 1,
        "deleted_waiting_jobs": 2,
    }
    [created] = [found for found in queue_db["jobsBlue"].find() if found["_id"] != jobs["started"]["_id"]]
    assert {key: value for key, value in created.items() if key not in ("_id", "created_at")} == {
        "type": "dataset-splits-total",
        "dataset": DATASET,
        "revision": SHA,
        "unicity_id": aid("dataset-splits-total"),
        "namespace": "org",
        "priority": "high",
        "status": "waiting",
        "difficulty": 20,
    }
    assert list(queue_db["jobsBlue"].find({"_id": jobs["started"]["_id"]})) == [jobs["started"]]
    assert metric_rows(queue_db) == {
        "jobs": {"dataset-splits-total": 1, "dataset-config-names": 0},  # 1 - 1 + 1, and 1 - 1
        "sizes": {"medium": 0, "light": 1},  # the two deleted jobs were of difficulty 50; the new one is 20
    }
    assert [lock["owner"] for lock in queue_db["locks"].find()] == [None] * queue_db["locks"].count_documents({})
    assert queue_db["locks"].find_one({"_id": f"admin-dataset,{DATASET}"}) is not None
    [action] = list(queue_db["adminActions"].find())
    assert (action["action"], action["parameters"], action["outcome"], action["result"]) == (
        "dataset-backfill",
        {"dataset": DATASET, "priority": "high"},
        "ok",
        {
            "revision": SHA,
            "tasks": ["CreateJobs,1", "DeleteWaitingJobs,3"],  # the started job of up-to-date split-rows counted too
            "created_jobs": 1,
            "deleted_waiting_jobs": 2,
        },
    )


def test_a_second_apply_creates_and_deletes_nothing_and_the_plan_is_empty(
    client: Client, fake_hub: Any, cache_db: Any, queue_db: Any, small_graph: Any
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    serve_dataset(fake_hub, DATASET)
    assert apply(client).status_code == 200
    after_first = (jobs_without_ids(queue_db), metric_rows(queue_db))
    second = apply(client)
    assert second.json() == {
        "status": "ok",
        "dataset": DATASET,
        "revision": SHA,
        "created_jobs": 0,
        "deleted_waiting_jobs": 0,
    }
    assert (jobs_without_ids(queue_db), metric_rows(queue_db)) == after_first
    plan = client.get(PLAN_URL).json()
    # the started job of an up-to-date artifact is still counted, never deleted (REFERENCE.md)
    assert (plan["tasks"], plan["jobs_to_create"], plan["waiting_jobs_to_delete"]) == (["DeleteWaitingJobs,1"], [], [])


def test_a_job_that_appears_while_the_plan_is_computed_is_not_duplicated(
    client: Client, fake_hub: Any, cache_db: Any, queue_db: Any, small_graph: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer queues one of the plan's jobs after the plan was read: the job stays single."""
    seed_broken_dataset(cache_db, queue_db)
    serve_dataset(fake_hub, DATASET)
    compute = dataset_selectors.plan_from_documents

    def plan_then_a_concurrent_insert(**kwargs: Any) -> Any:
        plan = compute(**kwargs)
        queue_db["jobsBlue"].insert_one(job("dataset-splits-total"))
        return plan

    monkeypatch.setattr(dataset_selectors, "plan_from_documents", plan_then_a_concurrent_insert)
    response = apply(client)
    assert (response.json()["created_jobs"], response.json()["deleted_waiting_jobs"]) == (0, 2)
    assert queue_db["jobsBlue"].count_documents({"unicity_id": aid("dataset-splits-total"), "status": "waiting"}) == 1


def test_a_blocked_dataset_counts_its_new_jobs_in_no_worker_size(
    client: Client, fake_hub: Any, cache_db: Any, queue_db: Any, small_graph: Any
) -> None:
    queue_db["datasetBlockages"].insert_one({"dataset": DATASET, "blocked_at": at(0)})
    serve_dataset(fake_hub, DATASET)
    assert apply(client).json()["created_jobs"] == 3  # nothing cached: the three dataset-level steps
    assert metric_rows(queue_db) == {
        "jobs": {"dataset-config-names": 1, "dataset-rows-count": 1, "dataset-splits-total": 1},
        "sizes": {},
    }


def test_the_real_graph_backfills_a_new_dataset_once(client: Client, fake_hub: Any, queue_db: Any) -> None:
    serve_dataset(fake_hub, DATASET)
    dataset_steps = [step.name for step in processing_graph().in_graph_order() if step.input_type == "dataset"]
    assert apply(client).json()["created_jobs"] == len(dataset_steps)
    assert sorted(found["type"] for found in queue_db["jobsBlue"].find()) == sorted(dataset_steps)
    assert apply(client).json()["created_jobs"] == 0
    assert queue_db["jobsBlue"].count_documents({}) == len(dataset_steps)


def test_invalid_names_and_priorities_are_422_before_the_hub(client: Client, fake_hub: Any, queue_db: Any) -> None:
    assert client.get("/admin/dataset-backfill-plan?dataset=../x")["X-Error-Code"] == "InvalidParameter"
    assert client.get("/admin/dataset-backfill-plan")["X-Error-Code"] == "MissingRequiredParameter"
    response = apply(client, priority="urgent")
    assert (response.status_code, response.json()) == (
        422,
        {"error": "Parameter 'priority' should be one of high, normal, low."},
    )
    assert fake_hub.log == []
    assert list(queue_db["adminActions"].find()) == []


# --- the command -------------------------------------------------------------------------------


def test_the_command_dry_run_prints_the_plan_and_changes_nothing(
    fake_hub: Any, cache_db: Any, queue_db: Any, small_graph: Any, capsys: Any
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    serve_dataset(fake_hub, DATASET)
    before = everything(queue_db, cache_db)
    call_command("backfill_dataset", DATASET, "--dry-run")
    assert capsys.readouterr().out.splitlines() == [
        f"{DATASET}: would create 1 job, would delete 2 waiting jobs (revision {SHA})",
        "dry run, nothing changed. done: 1, not supported: 0, failed: 0",
    ]
    assert everything(queue_db, cache_db) == before


def test_the_command_applies_each_plan_and_exits_2_for_an_unsupported_dataset(
    fake_hub: Any, cache_db: Any, queue_db: Any, small_graph: Any, capsys: Any
) -> None:
    seed_broken_dataset(cache_db, queue_db)
    serve_dataset(fake_hub, DATASET)
    serve_dataset(fake_hub, "org/gone", disabled=True)
    with pytest.raises(CommandError) as raised:
        call_command("backfill_dataset", DATASET, "org/gone", "--priority", "normal")
    assert raised.value.returncode == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{DATASET}: created 1 job, deleted 2 waiting jobs (revision {SHA})",
        "org/gone: not supported (NotSupportedDisabledRepositoryError): nothing queued",
        "done: 1, not supported: 1, failed: 0",
    ]
    assert queue_db["jobsBlue"].find_one({"type": "dataset-splits-total", "revision": SHA})["priority"] == "normal"


# --- round trips --------------------------------------------------------------------------------


def seed_up_to_date_world(cache_db: Any, queue_db: Any, graph: ProcessingGraph, configs: int, splits: int) -> None:
    """Every artifact cached and up to date, then a few changes: what the plan will repair."""
    config_list = [f"c{number}" for number in range(configs)]
    split_list = [f"s{number}" for number in range(splits)]
    entries = []
    for step in graph:
        version = step.job_runner_version
        if step.name == "dataset-config-names":
            entries.append(
                entry_for(step.name, version, content={"config_names": [{"config": c} for c in config_list]})
            )
        elif step.input_type == "dataset":
            entries.append(entry_for(step.name, version))
        for config in config_list if step.input_type != "dataset" else []:
            if step.name == "config-split-names":
                content = {"splits": [{"config": config, "split": split} for split in split_list]}
                entries.append(entry_for(step.name, version, config, content=content))
            elif step.input_type == "config":
                entries.append(entry_for(step.name, version, config))
            else:
                entries.extend(entry_for(step.name, version, config, split) for split in split_list)
    cache_db["cachedResponsesBlue"].insert_many(entries)
    # the repairs: two missing entries, one error to retry, two stale waiting jobs
    cache_db["cachedResponsesBlue"].delete_many({"kind": {"$in": ["dataset-info", "dataset-size"]}})
    cache_db["cachedResponsesBlue"].update_one(
        {"kind": "split-first-rows", "config": "c0", "split": "s0"},
        {"$set": {"http_status": 500, "error_code": "ConnectionError"}},
    )
    queue_db["jobsBlue"].insert_many(
        [job("dataset-filetypes", revision=OLD_SHA), job("config-info", "c0", revision=OLD_SHA)]
    )


def entry_for(kind: str, version: int, config: str | None = None, split: str | None = None, **fields: Any) -> Any:
    return cache_entry_document(
        kind=kind,
        dataset=DATASET,
        config=config,
        split=split,
        job_runner_version=version,
        dataset_git_revision=SHA,
        updated_at=T0,
        **fields,
    )


def commands_of(client: Client, db_commands: Any) -> tuple[Counter[str], Counter[str], Any]:
    db_commands.commands.clear()
    plan = client.get(PLAN_URL)
    assert plan.status_code == 200
    plan_commands = Counter(command for command, _ in db_commands.commands)
    db_commands.commands.clear()
    applied = apply(client)
    assert applied.status_code == 200
    apply_commands = Counter(command for command, _ in db_commands.commands)
    return plan_commands, apply_commands, (plan.json()["tasks"], applied.json())


def test_plan_and_apply_cost_a_constant_number_of_commands(
    client: Client, fake_hub: Any, cache_db: Any, queue_db: Any, db_commands: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_dataset(fake_hub, DATASET)
    seed_up_to_date_world(cache_db, queue_db, processing_graph(), configs=1, splits=1)
    small_plan, small_apply, small_answers = commands_of(client, db_commands)

    big_graph = bigger_graph(extra_steps=91)
    assert len(big_graph) == 120
    use_graph(monkeypatch, big_graph)
    for database, name in ((cache_db, "cachedResponsesBlue"), (queue_db, "jobsBlue"), (queue_db, "locks")):
        database[name].delete_many({})
    seed_up_to_date_world(cache_db, queue_db, big_graph, configs=50, splits=20)
    assert cache_db["cachedResponsesBlue"].count_documents({}) > 20_000
    big_plan, big_apply, big_answers = commands_of(client, db_commands)

    assert small_plan == big_plan == Counter({"find": 2})
    assert small_apply == big_apply
    # audit entry (insert, update); dataset lock (update, update) and no shared holder inside
    # (find); entries, jobs (2 finds); the jobs' locks (update, update); one bulk delete of the
    # waiting jobs, each only as read; already waiting, blocked (2 finds); insert;
    # jobTotalMetric and workerTypeJobCounts, down then up (4 updates)
    assert small_apply == Counter({"update": 9, "find": 5, "insert": 2, "delete": 1})
    # the plans repaired the same things (the big graph's extra steps depend on config names only)
    assert small_answers == big_answers
    assert small_answers[0] == ["CreateJobs,3", "DeleteWaitingJobs,2"]
