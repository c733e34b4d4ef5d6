"""The backfill plan agrees with an independent reading of REFERENCE.md on random datasets (issue 22).

Random datasets as the workers write them (`tests/support/random_datasets.py`) are planned by
`datasetops.backfill.backfill_plan` and by the oracle (`tests/support/backfill_oracle.py`, written
from REFERENCE.md's "Backfill plan" without reading ours). They must agree on every artifact id
and state, the artifacts in process, the task list, every job to create (type, config, split,
priority, difficulty), every waiting job to delete, and every refusal (409
IncoherentCacheError, naming at most 10 names, then `...`). Applying the plan and planning again
must create nothing and delete no waiting job.

Two graphs: the real one (its only bonus is on a split step) and the same with a bonus on every
step, so that the config-level bonus rule is exercised too. The routes (`GET
/admin/dataset-backfill-plan`, `POST /admin/dataset-backfill`, the fake Hub, the embedded
engine) are checked the same way on a smaller number of seeds: each costs a few database
round trips.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from django.test import Client

from datasetops.backfill import BackfillPlan, IncoherentCacheError, backfill_plan
from foundation.core.processing_graph import ProcessingGraph, parse_processing_graph
from jobs.constants import Priority
from tests.support.backfill_oracle import STATE_NAMES, Expected, Refusal, oracle_plan
from tests.support.random_datasets import REVISION, RandomDataset, random_dataset
from tests.support.write_helpers import serve_dataset

GRAPH_FILE = Path(__file__).resolve().parent.parent / "foundation" / "core" / "processing_graph.json"
REAL_STEPS: dict[str, dict[str, Any]] = json.loads(GRAPH_FILE.read_text())["steps"]
BONUS_STEPS = {
    name: {**step, "bonus_difficulty_if_dataset_is_big": 10 + index % 3 * 10}
    for index, (name, step) in enumerate(REAL_STEPS.items())
}
SEEDS = 300
ROUTE_SEEDS = 12
ROUTE_FIRST_SEED = 3_000
"""Seeds 3000-3011: plans, one refusal, one dataset with nothing to do (each route seed costs ~0.3 s)."""
PRIORITIES = ("low", "normal", "high")


def _graph(steps: dict[str, dict[str, Any]]) -> ProcessingGraph:
    return parse_processing_graph({"steps": steps})


def _job_key(job: Any) -> tuple[str, str]:
    return (str(job["unicity_id"]), str(job["created_at"])[:23])


def disagreements(plan_json: dict[str, Any], expected: Expected) -> list[str]:
    """What differs between a plan's JSON and the oracle's plan (empty: they agree)."""
    found = []
    if plan_json["cache_status"] != expected.cache_status:
        found.append(f"cache_status {plan_json['cache_status']} != {expected.cache_status}")
    if plan_json["queue_status"]["in_process"] != expected.in_process:
        found.append(f"in_process {plan_json['queue_status']['in_process']} != {expected.in_process}")
    if plan_json["tasks"] != expected.tasks:
        found.append(f"tasks {plan_json['tasks']} != {expected.tasks}")
    to_create = sorted(
        (
            (job["type"], job["config"], job["split"], job["priority"], job["difficulty"])
            for job in plan_json["jobs_to_create"]
        ),
        key=repr,
    )
    if to_create != expected.jobs_to_create:
        found.append(f"jobs_to_create {to_create} != {expected.jobs_to_create}")
    to_delete = sorted(_job_key(job) for job in plan_json["waiting_jobs_to_delete"])
    expected_to_delete = sorted(_job_key(_as_json_dates(job)) for job in expected.waiting_jobs_to_delete)
    if to_delete != expected_to_delete:
        found.append(f"waiting_jobs_to_delete {to_delete} != {expected_to_delete}")
    return found


def _as_json_dates(job: Any) -> dict[str, Any]:
    return {**job, "created_at": job["created_at"].astimezone(UTC).replace(tzinfo=None).isoformat()}


def refusal_disagreements(message: str, expected: Refusal) -> list[str]:
    """The refusal names the oracle's names, sorted, at most 10, then `...`."""
    names = sorted(expected.names)
    listing = ", ".join(repr(name) for name in names[:10]) + (", ..." if len(names) > 10 else "")
    found = [] if f": {listing}." in message else [f"refusal {message!r} does not name {listing}"]
    if expected.config is not None and repr(expected.config) not in message:
        found.append(f"refusal {message!r} does not name config {expected.config!r}")
    return found


def summary(failures: dict[int, list[str]]) -> str:
    """How many seeds disagree, and the first disagreement of the first three (cut short)."""
    first = [f"seed {seed}: {found[0][:400]}" for seed, found in list(failures.items())[:3]]
    return f"{len(failures)} datasets disagree; " + " | ".join(first)


def _plan(graph: ProcessingGraph, world: RandomDataset, jobs: list[dict[str, Any]], priority: str) -> BackfillPlan:
    return backfill_plan(
        graph=graph,
        dataset=world.dataset,
        revision=REVISION,
        cache_entries=world.entries,
        pending_jobs=jobs,
        priority=Priority(priority),
    )


def _applied(plan: BackfillPlan, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pending jobs once the plan is applied: its waiting jobs deleted, its jobs created (waiting, now)."""
    deleted = {job["_id"] for job in plan.waiting_jobs_to_delete}
    created = [
        {
            "_id": ObjectId(),
            "type": job.type,
            "dataset": job.dataset,
            "revision": job.revision,
            "config": job.config,
            "split": job.split,
            "unicity_id": job.unicity_id,
            "priority": job.priority.value,
            "status": "waiting",
            "difficulty": job.difficulty,
            "created_at": datetime(2030, 1, 1, tzinfo=UTC),
        }
        for job in plan.jobs_to_create
    ]
    return [job for job in jobs if job["_id"] not in deleted] + created


def check_seed(seed: int, steps: dict[str, dict[str, Any]], graph: ProcessingGraph) -> tuple[str, list[str]]:
    """Plan one random dataset both ways, apply, plan again: its outcome and the disagreements."""
    world = random_dataset(seed, steps, f"org/ds{seed}")
    priority = PRIORITIES[seed % 3]
    expected = oracle_plan(
        steps=steps, dataset=world.dataset, revision=REVISION, entries=world.entries, jobs=world.jobs, priority=priority
    )
    try:
        plan = _plan(graph, world, world.jobs, priority)
    except IncoherentCacheError as refused:
        if not isinstance(expected, Refusal):
            return "refused", [f"refused ({refused.message}) where the oracle plans"]
        return "refused", refusal_disagreements(refused.message, expected)
    if isinstance(expected, Refusal):
        return "planned", [f"planned where the oracle refuses: {expected}"]
    found = disagreements(plan.as_json(), expected)
    again = _plan(graph, world, _applied(plan, world.jobs), priority)
    if again.jobs_to_create or again.waiting_jobs_to_delete:
        found.append(f"after apply: {again.tasks}, creates {len(again.jobs_to_create)}")
    return ("planned" if plan.tasks else "nothing to do"), found


@pytest.mark.parametrize(("steps", "first_seed"), [(REAL_STEPS, 0), (BONUS_STEPS, 100_000)], ids=["graph", "bonus"])
def test_the_plan_agrees_with_the_oracle_on_random_datasets(steps: dict[str, dict[str, Any]], first_seed: int) -> None:
    graph = _graph(steps)
    outcomes: Counter[str] = Counter()
    failures = {}
    for seed in range(first_seed, first_seed + SEEDS):
        outcome, found = check_seed(seed, steps, graph)
        outcomes[outcome] += 1
        if found:
            failures[seed] = found
    assert not failures, summary(failures)
    # the generator reaches every branch: plans, refusals, and datasets with nothing to do
    assert outcomes["planned"] > SEEDS // 2 and outcomes["refused"] >= SEEDS // 50, outcomes


def _sizes(world: RandomDataset) -> dict[str, tuple[Any, list[Any]]]:
    """Each config's `dataset_size` and its splits' `num_bytes`, from its config-info entry."""
    sizes = {}
    for entry in world.entries:
        info = entry["content"].get("dataset_info") if entry["kind"] == "config-info" else None
        if isinstance(info, dict):
            sizes[entry["config"]] = (info["dataset_size"], [split["num_bytes"] for split in info["splits"].values()])
    return sizes


def test_the_generator_writes_each_case_the_rules_are_about() -> None:
    """Over the seeds: every state, each kind of refusal, and each case a rule of issue 22 is about."""
    states: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    cases: Counter[str] = Counter()
    for seed in range(SEEDS):
        world = random_dataset(seed, REAL_STEPS, f"org/ds{seed}")
        expected = oracle_plan(
            steps=REAL_STEPS,
            dataset=world.dataset,
            revision=REVISION,
            entries=world.entries,
            jobs=world.jobs,
            priority="low",
        )
        if isinstance(expected, Refusal):
            refusals[expected.reason] += 1
            continue
        states.update({state: len(ids) for state, ids in expected.cache_status.items()})
        counted = sum(int(task.split(",")[1]) for task in expected.tasks if task.startswith("DeleteWaitingJobs"))
        cases["started job counted, not deleted"] += counted - len(expected.waiting_jobs_to_delete)
        cases["duplicate jobs"] += sum(count - 1 for count in Counter(job["unicity_id"] for job in world.jobs).values())
        cases["entry without a runner version"] += sum(
            1 for entry in world.entries if "job_runner_version" not in entry
        )
        sizes = _sizes(world)
        for job_type, config, split, _, _ in expected.jobs_to_create:
            if split is None or config not in sizes or not REAL_STEPS[job_type]["bonus_difficulty_if_dataset_is_big"]:
                continue
            dataset_size, split_bytes = sizes[config]
            if dataset_size > 3e9:
                cases["bonus step job of a big config"] += 1
            elif max(split_bytes) > 3e9:
                cases["bonus step job of a small config with a big split"] += 1
    assert set(states) == set(STATE_NAMES) and all(states.values()), states
    assert set(refusals) == {"unlisted_configs", "unlisted_splits", "repeated_configs", "repeated_splits"}, refusals
    assert len(cases) == 5 and all(cases.values()), cases


def _seed_databases(cache_db: Any, queue_db: Any, world: RandomDataset) -> None:
    if world.entries:
        cache_db["cachedResponsesBlue"].insert_many([dict(entry) for entry in world.entries])
    if world.jobs:
        queue_db["jobsBlue"].insert_many([dict(job) for job in world.jobs])


def _queue_of(queue_db: Any, dataset: str) -> Counter[tuple[Any, ...]]:
    return Counter(
        (
            job["type"],
            job.get("config"),
            job.get("split"),
            job["revision"],
            job["priority"],
            job["difficulty"],
            job["status"],
        )
        for job in queue_db["jobsBlue"].find({"dataset": dataset})
    )


def test_the_routes_plan_and_apply_as_the_oracle_says(
    client: Client, fake_hub: Any, cache_db: Any, queue_db: Any
) -> None:
    failures: dict[int, list[str]] = {}
    for seed in range(ROUTE_FIRST_SEED, ROUTE_FIRST_SEED + ROUTE_SEEDS):
        world = random_dataset(seed, REAL_STEPS, f"org/ds{seed}")
        priority = PRIORITIES[seed % 3]
        _seed_databases(cache_db, queue_db, world)
        serve_dataset(fake_hub, world.dataset)
        expected = oracle_plan(
            steps=REAL_STEPS,
            dataset=world.dataset,
            revision=REVISION,
            entries=world.entries,
            jobs=world.jobs,
            priority=priority,
        )
        query = f"dataset={world.dataset}&priority={priority}"
        answer = client.get(f"/admin/dataset-backfill-plan?{query}")
        before = _queue_of(queue_db, world.dataset)
        applied = client.post(f"/admin/dataset-backfill?{query}", data="", content_type="application/json")
        found: list[str] = []
        if isinstance(expected, Refusal):
            found += (
                []
                if answer.status_code == applied.status_code == 409
                else [f"answers {answer.status_code}, {applied.status_code}"]
            )
            found += refusal_disagreements(answer.json()["error"], expected)
            found += [] if _queue_of(queue_db, world.dataset) == before else ["a refused apply changed the queue"]
        else:
            found += disagreements(answer.json(), expected)
            expected_queue = Counter(
                (
                    job["type"],
                    job.get("config"),
                    job.get("split"),
                    job["revision"],
                    job["priority"],
                    job["difficulty"],
                    job["status"],
                )
                for job in world.jobs
                if not any(job is deleted for deleted in expected.waiting_jobs_to_delete)
            ) + Counter(
                (job_type, config, split, REVISION, job_priority, difficulty, "waiting")
                for job_type, config, split, job_priority, difficulty in expected.jobs_to_create
            )
            if _queue_of(queue_db, world.dataset) != expected_queue:
                found.append("the queue after apply is not the oracle's")
            again = client.get(f"/admin/dataset-backfill-plan?{query}").json()
            if again["jobs_to_create"] or again["waiting_jobs_to_delete"]:
                found.append(f"after apply: {again['tasks']}")
        if found:
            failures[seed] = found
    assert not failures, summary(failures)
