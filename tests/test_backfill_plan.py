"""The backfill plan and the root errors as a pure function: hand-built documents in, plan out.

No database: `datasetops.backfill.backfill_plan` is given the documents the selectors would read.
A small graph keeps the worlds readable; it has every kind of edge: dataset -> config
(config-split-names), config -> split (split-rows), split -> config (config-rows-count),
config -> dataset (dataset-rows-count) and split -> dataset (dataset-splits-total).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId

from cachereports.documents import cache_entry_document
from datasetops.backfill import BackfillPlan, backfill_plan
from foundation.core.processing_graph import ProcessingGraph, parse_processing_graph, processing_graph
from jobs.constants import Priority
from jobs.serializers import job_document_dict as job_dict
from tests.support.write_helpers import OLD_SHA, SHA, upstream_job

DATASET = "org/ds"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def step(input_type: str, parents: list[str], *, version: int = 1, difficulty: int = 20, bonus: int = 0) -> Any:
    return {
        "input_type": input_type,
        "job_runner_version": version,
        "difficulty": difficulty,
        "bonus_difficulty_if_dataset_is_big": bonus,
        "triggered_by": parents,
    }


GRAPH: ProcessingGraph = parse_processing_graph(
    {
        "steps": {
            "dataset-config-names": step("dataset", [], difficulty=50),
            "config-split-names": step("config", ["dataset-config-names"], difficulty=60),
            "config-info": step("config", ["dataset-config-names"]),
            "split-rows": step("split", ["config-split-names"], version=2, difficulty=70, bonus=20),
            "config-rows-count": step("config", ["split-rows"], bonus=10),
            "dataset-rows-count": step("dataset", ["config-rows-count"]),
            "dataset-splits-total": step("dataset", ["split-rows"]),
        }
    }
)


def entry(kind: str, config: str | None = None, split: str | None = None, **fields: Any) -> dict[str, Any]:
    """A cache entry as the workers write it: success, current runner version, at SHA, at T0 unless told."""
    fields.setdefault("job_runner_version", GRAPH.steps_by_name[kind].job_runner_version)
    fields.setdefault("dataset_git_revision", SHA)
    fields.setdefault("updated_at", T0)
    document = cache_entry_document(kind=kind, dataset=DATASET, config=config, split=split, **fields)
    return {"_id": ObjectId(), **document}


def config_names(*configs: Any, **fields: Any) -> dict[str, Any]:
    items = [{"dataset": DATASET, "config": config} for config in configs]
    return entry("dataset-config-names", content={"config_names": items}, **fields)


def split_names(config: str, *splits: Any, **fields: Any) -> dict[str, Any]:
    items = [{"dataset": DATASET, "config": config, "split": split} for split in splits]
    return entry("config-split-names", config, content={"splits": items}, **fields)


def job(job_type: str, config: str | None = None, split: str | None = None, **fields: Any) -> dict[str, Any]:
    return upstream_job(job_type=job_type, dataset=DATASET, config=config, split=split, **fields)


def plan_of(
    entries: list[dict[str, Any]],
    jobs: list[dict[str, Any]] | None = None,
    *,
    graph: ProcessingGraph = GRAPH,
    priority: Priority = Priority.LOW,
) -> BackfillPlan:
    return backfill_plan(
        graph=graph, dataset=DATASET, revision=SHA, cache_entries=entries, pending_jobs=jobs or [], priority=priority
    )


def aid(kind: str, config: str | None = None, split: str | None = None) -> str:
    return ",".join(part for part in (kind, DATASET, SHA, config, split) if part is not None)


def states(plan: BackfillPlan) -> dict[str, str]:
    """Each artifact id with its state."""
    return {artifact.id: plan.states[artifact.key] for artifact in plan.artifacts}


def to_create(kind: str, config: str | None = None, split: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "dataset": DATASET,
        "revision": SHA,
        "config": config,
        "split": split,
        "priority": "low",
        "difficulty": GRAPH.steps_by_name[kind].difficulty,
    } | fields


# --- the six states, and the whole answer -------------------------------------------------------


def test_a_world_with_each_of_the_six_states_gives_this_exact_plan():
    config_info_job = job("config-info", "c1", created_at=at(1))
    up_to_date_job = job("dataset-config-names", created_at=at(2))
    other_revision_job = job("split-rows", "c1", "s1", revision=OLD_SHA, created_at=at(3))
    started_job = job("dataset-rows-count", status="started", created_at=at(4))
    duplicate_job = job("dataset-rows-count", created_at=at(5))
    started_other_revision = job("dataset-splits-total", status="started", revision=OLD_SHA, created_at=at(6))
    plan = plan_of(
        [
            config_names("c1"),
            split_names("c1", "s1", updated_at=at(1)),
            # config-info c1: no entry
            entry(
                "split-rows", "c1", "s1", http_status=500, error_code="ConnectionError", failed_runs=1, updated_at=at(2)
            ),
            entry("config-rows-count", "c1", updated_at=at(1)),  # older than its parent split-rows
            entry("dataset-rows-count", job_runner_version=0, updated_at=at(3)),
            entry("dataset-splits-total", dataset_git_revision=OLD_SHA, updated_at=at(3)),
        ],
        [config_info_job, up_to_date_job, other_revision_job, started_job, duplicate_job, started_other_revision],
    )

    assert plan.as_json() == {
        "dataset": DATASET,
        "revision": SHA,
        "cache_status": {
            "cache_is_outdated_by_parent": [aid("config-rows-count", "c1")],
            "cache_is_empty": [aid("config-info", "c1")],
            "cache_is_error_to_retry": [aid("split-rows", "c1", "s1")],
            "cache_is_job_runner_obsolete": [aid("dataset-rows-count")],
            "cache_has_different_git_revision": [aid("dataset-splits-total")],
            "up_to_date": [aid("config-split-names", "c1"), aid("dataset-config-names")],
        },
        "queue_status": {
            "in_process": [aid("config-info", "c1"), aid("dataset-config-names"), aid("dataset-rows-count")]
        },
        # 3 waiting jobs deleted, and the started one of another revision counted but left alone
        "tasks": ["CreateJobs,3", "DeleteWaitingJobs,4"],
        "jobs_to_create": [
            to_create("split-rows", "c1", "s1", difficulty=90),  # 70 + 20 for its failed run
            to_create("config-rows-count", "c1"),
            to_create("dataset-splits-total"),
        ],
        "waiting_jobs_to_delete": [job_dict(up_to_date_job), job_dict(duplicate_job), job_dict(other_revision_job)],
        "root_errors": [
            {
                "kind": "split-rows",
                "dataset": DATASET,
                "config": "c1",
                "split": "s1",
                "error_code": "ConnectionError",
                "cause_exception": None,
                "cause_message": None,
                "downstream": 0,
            }
        ],
    }


def test_an_unknown_dataset_in_the_real_graph_creates_every_dataset_level_job():
    """No entry: no config is known, so only the dataset-level steps are artifacts, all empty."""
    graph = processing_graph()
    plan = plan_of([], graph=graph, priority=Priority.HIGH)
    dataset_steps = [step for step in graph.in_graph_order() if step.input_type == "dataset"]
    assert plan.as_json()["cache_status"] == {
        "cache_is_outdated_by_parent": [],
        "cache_is_empty": sorted(aid(step.name) for step in dataset_steps),
        "cache_is_error_to_retry": [],
        "cache_is_job_runner_obsolete": [],
        "cache_has_different_git_revision": [],
        "up_to_date": [],
    }
    assert plan.as_json()["jobs_to_create"] == [
        {
            "type": step.name,
            "dataset": DATASET,
            "revision": SHA,
            "config": None,
            "split": None,
            "priority": "high",
            "difficulty": step.difficulty,
        }
        for step in dataset_steps
    ]
    assert plan.tasks == [f"CreateJobs,{len(dataset_steps)}"]


def test_the_first_state_that_applies_wins():
    """Outdated by parent beats error to retry, obsolete runner and other revision; empty beats nothing."""
    plan = plan_of(
        [
            config_names("c1", updated_at=at(5)),
            split_names(
                "c1", job_runner_version=0, dataset_git_revision=OLD_SHA, http_status=500, error_code="ConnectionError"
            ),
            entry("config-info", "c1", job_runner_version=0, dataset_git_revision=OLD_SHA, updated_at=at(6)),
        ]
    )
    assert states(plan)[aid("config-split-names", "c1")] == "cache_is_outdated_by_parent"
    assert states(plan)[aid("config-info", "c1")] == "cache_is_job_runner_obsolete"  # not other revision


@pytest.mark.parametrize(
    ("error_code", "failed_runs", "state"),
    [
        ("ConnectionError", 2, "cache_is_error_to_retry"),
        ("ConnectionError", 3, "up_to_date"),
        ("StreamingRowsError", 0, "cache_is_error_to_retry"),
        ("HfHubError", 29, "cache_is_error_to_retry"),
        ("HfHubError", 30, "up_to_date"),
        ("PreviousStepStillProcessingError", 29, "cache_is_error_to_retry"),
        ("DatasetGenerationError", 0, "up_to_date"),  # an error the workers do not retry
    ],
)
def test_errors_are_retried_below_their_failed_runs_cap(error_code: str, failed_runs: int, state: str):
    plan = plan_of([entry("dataset-config-names", http_status=500, error_code=error_code, failed_runs=failed_runs)])
    assert states(plan)[aid("dataset-config-names")] == state


def test_a_lower_runner_version_is_obsolete_and_a_missing_or_higher_one_is_not():
    plan = plan_of(
        [
            config_names("c1"),
            split_names("c1", "s1", "s2", "s3"),
            entry("split-rows", "c1", "s1", job_runner_version=1),
            {key: value for key, value in entry("split-rows", "c1", "s2").items() if key != "job_runner_version"},
            entry("split-rows", "c1", "s3", job_runner_version=3),
        ]
    )
    assert [states(plan)[aid("split-rows", "c1", split)] for split in ("s1", "s2", "s3")] == [
        "cache_is_job_runner_obsolete",
        "up_to_date",  # the other services' planner compares a missing version as a null number: false
        "up_to_date",
    ]


# --- outdated by parent across levels ------------------------------------------------------------


def test_outdated_by_parent_down_from_dataset_to_config_to_split():
    plan = plan_of(
        [
            config_names("c1", "c2", updated_at=at(2)),
            split_names("c1", "s1", updated_at=at(1)),  # older than the config names: outdated
            split_names("c2", "s1", updated_at=at(3)),  # newer: not
            entry("split-rows", "c1", "s1", updated_at=at(9)),  # newer than its parent c1
            entry("split-rows", "c2", "s1", updated_at=at(2)),  # older than its parent c2
        ]
    )
    assert {
        key: value for key, value in states(plan).items() if key.split(",")[0] in ("config-split-names", "split-rows")
    } == {
        aid("config-split-names", "c1"): "cache_is_outdated_by_parent",
        aid("config-split-names", "c2"): "up_to_date",
        aid("split-rows", "c1", "s1"): "up_to_date",
        aid("split-rows", "c2", "s1"): "cache_is_outdated_by_parent",
    }


def test_outdated_by_parent_back_up_from_split_to_config_and_dataset():
    """A config/dataset step is outdated when ANY split (of its config / of the dataset) is newer."""
    plan = plan_of(
        [
            config_names("c1", "c2"),
            split_names("c1", "s1", "s2"),
            split_names("c2", "s1"),
            entry("split-rows", "c1", "s1", updated_at=at(1)),
            entry("split-rows", "c1", "s2", updated_at=at(5)),  # newer than c1's count
            entry("split-rows", "c2", "s1", updated_at=at(1)),
            entry("config-rows-count", "c1", updated_at=at(4)),
            entry("config-rows-count", "c2", updated_at=at(4)),  # c1's newer split is not its parent
            entry("dataset-rows-count", updated_at=at(3)),  # older than config-rows-count c1 and c2
            entry("dataset-splits-total", updated_at=at(4)),  # older than split-rows c1/s2 only
        ]
    )
    assert {key: value for key, value in states(plan).items() if "-count" in key or "total" in key} == {
        aid("config-rows-count", "c1"): "cache_is_outdated_by_parent",
        aid("config-rows-count", "c2"): "up_to_date",
        aid("dataset-rows-count"): "cache_is_outdated_by_parent",
        aid("dataset-splits-total"): "cache_is_outdated_by_parent",
    }


def test_an_empty_parent_outdates_nothing_and_an_empty_child_is_empty():
    plan = plan_of([config_names("c1", updated_at=at(5))])
    assert states(plan)[aid("config-split-names", "c1")] == "cache_is_empty"
    assert states(plan)[aid("dataset-config-names")] == "up_to_date"


# --- artifacts from the name lists -----------------------------------------------------------------


def test_configs_and_splits_come_from_the_name_lists_whatever_their_status():
    plan = plan_of(
        [
            config_names("c1", "c2", http_status=500, error_code="ConfigNamesError"),
            split_names("c1", "train", "test"),
            # c2 has no config-split-names entry: no split artifact for it
        ]
    )
    assert [artifact.id for artifact in plan.artifacts] == [
        aid("dataset-config-names"),
        aid("config-info", "c1"),
        aid("config-info", "c2"),
        aid("config-split-names", "c1"),
        aid("config-split-names", "c2"),
        aid("split-rows", "c1", "train"),
        aid("split-rows", "c1", "test"),
        aid("config-rows-count", "c1"),
        aid("config-rows-count", "c2"),
        aid("dataset-splits-total"),
        aid("dataset-rows-count"),
    ]


def test_without_the_config_names_entry_there_is_no_config_artifact():
    plan = plan_of([entry("dataset-rows-count")])
    assert [artifact.id for artifact in plan.artifacts] == [
        aid("dataset-config-names"),
        aid("dataset-splits-total"),
        aid("dataset-rows-count"),
    ]


def test_an_entry_of_another_dataset_is_ignored():
    other = {**config_names("c1"), "dataset": "org/other"}
    plan = plan_of([other])
    assert states(plan)[aid("dataset-config-names")] == "cache_is_empty"


# --- jobs: valid jobs, other revisions, duplicates, started jobs ------------------------------------


def test_the_valid_job_is_started_first_then_higher_priority_then_older():
    waiting_high_old = job("dataset-rows-count", priority="high", created_at=at(1))
    started_low_new = job("dataset-rows-count", status="started", created_at=at(9))
    waiting_normal = job("dataset-rows-count", priority="normal", created_at=at(0))
    low_older = job("dataset-splits-total", created_at=at(0))
    high_newer = job("dataset-splits-total", priority="high", created_at=at(5))
    high_older = job("dataset-splits-total", priority="high", created_at=at(3))
    plan = plan_of([], [waiting_high_old, started_low_new, waiting_normal, low_older, high_newer, high_older])

    assert [new.type for new in plan.jobs_to_create] == ["dataset-config-names"]  # the other two are in process
    assert plan.as_json()["queue_status"]["in_process"] == [aid("dataset-rows-count"), aid("dataset-splits-total")]
    assert plan.waiting_jobs_to_delete == [
        waiting_normal,
        waiting_high_old,
        low_older,
        high_newer,
    ]  # by unicity_id, age


def test_jobs_at_other_revisions_are_not_valid_waiting_ones_are_deleted_started_ones_stay():
    old_waiting = job("dataset-config-names", revision=OLD_SHA)
    old_started = job("dataset-config-names", revision=OLD_SHA, status="started")
    plan = plan_of([], [old_waiting, old_started])
    assert plan.as_json()["queue_status"]["in_process"] == []
    assert plan.jobs_to_create[0].as_json() == to_create("dataset-config-names", difficulty=50)
    assert plan.waiting_jobs_to_delete == [old_waiting]


def test_a_job_of_an_unlisted_config_or_of_the_wrong_level_is_no_artifacts_and_is_deleted():
    unlisted = job("config-info", "gone")
    wrong_level = job("dataset-config-names", "c1")  # a dataset step with a config
    plan = plan_of([config_names("c1"), entry("config-info", "c1")], [unlisted, wrong_level])
    assert plan.in_process == set()
    assert plan.waiting_jobs_to_delete == [unlisted, wrong_level]


def test_an_up_to_date_artifact_keeps_no_waiting_job_but_a_started_one_is_left_alone():
    waiting = job("dataset-config-names")
    started = job("dataset-config-names", status="started")
    plan = plan_of([config_names()], [waiting, started])
    assert states(plan)[aid("dataset-config-names")] == "up_to_date"
    assert plan.as_json()["queue_status"]["in_process"] == [aid("dataset-config-names")]
    assert plan.waiting_jobs_to_delete == [waiting]
    # the two empty dataset-level steps; both pending jobs are counted, only the waiting one is deleted
    assert plan.tasks == ["CreateJobs,2", "DeleteWaitingJobs,2"]


def test_the_priority_asked_is_the_priority_of_every_job_to_create():
    plan = plan_of([config_names()], priority=Priority.NORMAL)
    assert {job.priority for job in plan.jobs_to_create} == {Priority.NORMAL}


# --- difficulty -------------------------------------------------------------------------------------


def config_info(config: str, *, dataset_size: int, split_bytes: dict[str, int]) -> dict[str, Any]:
    splits = {split: {"name": split, "num_bytes": num_bytes} for split, num_bytes in split_bytes.items()}
    return entry("config-info", config, content={"dataset_info": {"dataset_size": dataset_size, "splits": splits}})


def test_the_bonus_is_added_to_every_artifact_of_a_config_above_three_billion_bytes():
    plan = plan_of(
        [
            config_names("big", "edge"),
            split_names("big", "huge", "small"),
            split_names("edge", "s1"),
            config_info("big", dataset_size=3_000_000_001, split_bytes={"huge": 3_000_000_001, "small": 10}),
            config_info("edge", dataset_size=3_000_000_000, split_bytes={"s1": 3_000_000_000}),
        ]
    )
    difficulties = {(job.type, job.config, job.split): job.difficulty for job in plan.jobs_to_create}
    assert difficulties == {
        ("split-rows", "big", "huge"): 90,  # 70 + bonus 20: the config is big
        ("split-rows", "big", "small"): 90,  # the config is big: its split's own size is not read
        ("split-rows", "edge", "s1"): 70,  # exactly 3e9 is not more (nor is the split's 3e9 read)
        ("config-rows-count", "big", None): 30,  # 20 + bonus 10
        ("config-rows-count", "edge", None): 20,
        ("dataset-rows-count", None, None): 20,  # dataset steps never get the bonus
        ("dataset-splits-total", None, None): 20,
    }


def test_each_failed_run_adds_twenty_up_to_one_hundred():
    plan = plan_of(
        [
            config_names("c1"),
            split_names("c1", "s1", "s2"),
            config_info("c1", dataset_size=10, split_bytes={"s1": 4_000_000_000}),  # a small config
            entry("split-rows", "c1", "s1", job_runner_version=1, failed_runs=1),  # 70 + 20 (no bonus)
            entry("split-rows", "c1", "s2", job_runner_version=1, failed_runs=4),  # 70 + 80, capped
            entry("config-rows-count", "c1", job_runner_version=0, failed_runs=2),  # 20 + 40
        ]
    )
    difficulties = {(job.type, job.config, job.split): job.difficulty for job in plan.jobs_to_create}
    assert difficulties[("split-rows", "c1", "s1")] == 90
    assert difficulties[("split-rows", "c1", "s2")] == 100
    assert difficulties[("config-rows-count", "c1", None)] == 60


# --- applying the plan gives an empty plan ----------------------------------------------------------


def test_applying_the_plan_then_computing_it_again_gives_an_empty_task_list():
    entries = [
        config_names("c1", "c2"),
        split_names("c1", "s1"),
        entry("split-rows", "c1", "s1", http_status=500, error_code="ConnectionError"),
        entry("dataset-rows-count", dataset_git_revision=OLD_SHA),
    ]
    jobs = [job("config-info", "c1", revision=OLD_SHA), job("dataset-config-names"), job("config-info", "c2")]
    plan = plan_of(entries, jobs)
    assert plan.tasks == ["CreateJobs,7", "DeleteWaitingJobs,2"]
    deleted = {id(job) for job in plan.waiting_jobs_to_delete}
    created = [
        job(new.type, new.config, new.split, priority=new.priority.value, difficulty=new.difficulty)
        for new in plan.jobs_to_create
    ]
    after = plan_of(entries, [job for job in jobs if id(job) not in deleted] + created)
    assert after.tasks == []
    assert after.jobs_to_create == [] and after.waiting_jobs_to_delete == []


# --- root errors ------------------------------------------------------------------------------------


def failed(kind: str, config: str | None = None, split: str | None = None, **fields: Any) -> dict[str, Any]:
    """A root error: what actually broke."""
    details = {"cause_exception": "ValueError", "cause_message": "bad row", "cause_traceback": ["..."]}
    return entry(kind, config, split, http_status=500, error_code="DatasetGenerationError", details=details, **fields)


def copy_of(kind: str, config: str | None, split: str | None, *, parent: tuple[Any, ...], **fields: Any) -> Any:
    """A child entry that copies its parent's error, naming the parent as the workers do."""
    parent_kind, parent_config, parent_split, *rest = parent
    copied = {
        "kind": parent_kind,
        "dataset": rest[0] if rest else DATASET,
        "config": parent_config,
        "split": parent_split,
    }
    details = {"cause_exception": "ValueError", "copied_from_artifact": copied}
    return entry(kind, config, split, http_status=500, error_code="DatasetGenerationError", details=details, **fields)


def test_chains_of_copies_two_and_three_deep_lead_to_their_root():
    plan = plan_of(
        [
            config_names("c1", "c2"),
            split_names("c1", "s1", "s2"),
            failed("config-split-names", "c2"),  # a root nothing copies
            failed("config-info", "c1"),  # a second root, copied by nothing either
            failed("split-rows", "c1", "s1"),
            copy_of("split-rows", "c1", "s2", parent=("split-rows", "c1", "s1")),  # depth 1 (a sibling)
            copy_of("config-rows-count", "c1", None, parent=("split-rows", "c1", "s2")),  # depth 2
            copy_of("dataset-rows-count", None, None, parent=("config-rows-count", "c1", None)),  # depth 3
            copy_of("dataset-splits-total", None, None, parent=("split-rows", "c1", "s1")),
        ]
    )
    assert [root.as_json() for root in plan.root_errors] == [
        {
            "kind": "split-rows",
            "dataset": DATASET,
            "config": "c1",
            "split": "s1",
            "error_code": "DatasetGenerationError",
            "cause_exception": "ValueError",
            "cause_message": "bad row",
            "downstream": 4,
        },
        # no copies: in graph order (config-info before config-split-names in this graph's order)
        *(
            {
                "kind": kind,
                "dataset": DATASET,
                "config": config,
                "split": None,
                "error_code": "DatasetGenerationError",
                "cause_exception": "ValueError",
                "cause_message": "bad row",
                "downstream": 0,
            }
            for kind, config in (("config-info", "c1"), ("config-split-names", "c2"))
        ),
    ]
    depth = {key: (link.root, link.depth, link.outcome) for key, link in plan.copies.items()}
    root = ("split-rows", "c1", "s1")
    assert depth == {
        ("split-rows", "c1", "s2"): (root, 1, "root"),
        ("config-rows-count", "c1", None): (root, 2, "root"),
        ("dataset-rows-count", None, None): (root, 3, "root"),
        ("dataset-splits-total", None, None): (root, 1, "root"),
    }
    assert plan.copies[("dataset-rows-count", None, None)].copied_from == ("config-rows-count", "c1", None)


def test_a_copy_whose_root_was_fixed_since_has_no_root_and_is_outdated_by_its_parent():
    """The root was recomputed (now 200, later): the copy is stale; nothing counts it downstream."""
    plan = plan_of(
        [
            config_names("c1"),
            split_names("c1", "s1"),
            entry("split-rows", "c1", "s1", updated_at=at(10)),  # fixed at minute 10
            copy_of("config-rows-count", "c1", None, parent=("split-rows", "c1", "s1"), updated_at=at(1)),
            copy_of("dataset-rows-count", None, None, parent=("config-rows-count", "c1", None), updated_at=at(2)),
        ]
    )
    assert plan.root_errors == []
    link = plan.copies[("dataset-rows-count", None, None)]
    assert (link.outcome, link.root, link.end, link.depth) == ("fixed", None, ("split-rows", "c1", "s1"), 2)
    assert states(plan)[aid("config-rows-count", "c1")] == "cache_is_outdated_by_parent"


def test_a_copy_of_a_missing_entry_of_another_dataset_or_in_a_loop_has_no_root():
    plan = plan_of(
        [
            copy_of("dataset-rows-count", None, None, parent=("config-rows-count", "gone", None)),
            copy_of("dataset-splits-total", None, None, parent=("split-rows", "c1", "s1", "org/other")),
            copy_of("dataset-config-names", None, None, parent=("dataset-config-names", None, None)),
        ]
    )
    outcomes = {key[0]: link.outcome for key, link in plan.copies.items()}
    assert outcomes == {
        "dataset-rows-count": "missing",
        "dataset-splits-total": "other_dataset",
        "dataset-config-names": "loop",
    }
    assert plan.root_errors == []


def test_roots_are_listed_most_copied_first():
    plan = plan_of(
        [
            config_names("c1"),
            failed("dataset-splits-total"),
            failed("config-info", "c1"),
            copy_of("dataset-rows-count", None, None, parent=("config-info", "c1", None)),
        ]
    )
    assert [(root.kind, root.downstream) for root in plan.root_errors] == [
        ("config-info", 1),
        ("dataset-splits-total", 0),
    ]
