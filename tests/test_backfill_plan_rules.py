"""The rules of the workers' own planner that the plan follows since issue 22, one test each.

Hand-built documents on the small graph of tests/test_backfill_plan.py (every kind of edge);
`datasetops.backfill.backfill_plan` is the pure function the routes, the page and the command use.
Each test failed on the planner before issue 22.
"""

from __future__ import annotations

from typing import Any

import pytest

from datasetops.backfill import IncoherentCacheError
from tests.support.write_helpers import OLD_SHA
from tests.test_backfill_plan import (
    DATASET,
    aid,
    config_names,
    entry,
    job,
    plan_of,
    split_names,
    states,
)


def config_info(config: str, *, dataset_size: Any, split_bytes: dict[str, int] | None = None) -> dict[str, Any]:
    splits = {split: {"name": split, "num_bytes": num_bytes} for split, num_bytes in (split_bytes or {}).items()}
    return entry("config-info", config, content={"dataset_info": {"dataset_size": dataset_size, "splits": splits}})


def difficulties(entries: list[dict[str, Any]]) -> dict[tuple[str, str | None, str | None], int]:
    return {(new.type, new.config, new.split): new.difficulty for new in plan_of(entries).jobs_to_create}


# --- 1. the bonus follows the config's size, never a split's ------------------------------------------


def test_a_big_config_gives_the_bonus_to_each_of_its_splits_whatever_their_size() -> None:
    found = difficulties(
        [
            config_names("big"),
            split_names("big", "tiny"),
            config_info("big", dataset_size=5_000_000_000, split_bytes={"tiny": 10}),
        ]
    )
    assert found[("split-rows", "big", "tiny")] == 70 + 20
    assert found[("config-rows-count", "big", None)] == 20 + 10


def test_a_big_split_of_a_small_config_gets_no_bonus() -> None:
    found = difficulties(
        [
            config_names("small"),
            split_names("small", "huge"),
            config_info("small", dataset_size=10, split_bytes={"huge": 5_000_000_000}),
        ]
    )
    assert found[("split-rows", "small", "huge")] == 70


@pytest.mark.parametrize("dataset_size", [3_000_000_000, 5e9, "5000000000", None])
def test_only_an_integer_above_three_billion_is_big(dataset_size: Any) -> None:
    found = difficulties([config_names("c"), split_names("c", "s"), config_info("c", dataset_size=dataset_size)])
    assert found[("split-rows", "c", "s")] == 70


# --- 2. DeleteWaitingJobs counts the started jobs it leaves alone -------------------------------------


def test_delete_waiting_jobs_counts_started_jobs_that_are_not_kept_and_deletes_only_waiting_ones() -> None:
    started_up_to_date = job("dataset-config-names", status="started")
    started_other_revision = job("dataset-rows-count", status="started", revision=OLD_SHA)
    waiting_other_revision = job("dataset-splits-total", revision=OLD_SHA)
    plan = plan_of(
        [config_names(), entry("dataset-rows-count"), entry("dataset-splits-total")],
        [started_up_to_date, started_other_revision, waiting_other_revision],
    )
    assert plan.tasks == ["DeleteWaitingJobs,3"]
    assert plan.waiting_jobs_to_delete == [waiting_other_revision]
    assert [deleted["type"] for deleted in plan.as_json()["waiting_jobs_to_delete"]] == ["dataset-splits-total"]


def test_a_started_job_of_an_up_to_date_artifact_alone_gives_a_task_that_deletes_nothing() -> None:
    plan = plan_of(
        [config_names(), entry("dataset-rows-count"), entry("dataset-splits-total")],
        [job("dataset-config-names", status="started")],
    )
    assert (plan.tasks, plan.jobs_to_create, plan.waiting_jobs_to_delete) == (["DeleteWaitingJobs,1"], [], [])
    assert not plan.has_changes


# --- 3. a missing job_runner_version is not obsolete ---------------------------------------------------


def test_an_entry_without_a_runner_version_is_up_to_date() -> None:
    without_version = {key: value for key, value in entry("dataset-rows-count").items() if key != "job_runner_version"}
    plan = plan_of([config_names(), without_version, entry("dataset-splits-total", job_runner_version=None)])
    assert states(plan)[aid("dataset-rows-count")] == "up_to_date"
    assert states(plan)[aid("dataset-splits-total")] == "up_to_date"
    assert plan.jobs_to_create == []


# --- 4 and 12. an incoherent cache is refused ----------------------------------------------------------


def refusal(entries: list[dict[str, Any]], jobs: list[dict[str, Any]] | None = None) -> str:
    with pytest.raises(IncoherentCacheError) as raised:
        plan_of(entries, jobs)
    assert (raised.value.status_code, raised.value.error_code) == (409, "IncoherentCacheError")
    return raised.value.message


REPAIR = "The plan is refused, as the other services' planner refuses it; recreate the dataset to repair it."


def test_entries_of_an_unlisted_config_are_refused_naming_them() -> None:
    message = refusal([config_names("c1"), entry("config-info", "c1"), entry("config-info", "gone")])
    assert message == (
        f"Incoherent cache of {DATASET}: it holds entries for 1 config(s) that its dataset-config-names entry"
        f" does not list: 'gone'. {REPAIR}"
    )


def test_config_entries_without_a_config_names_entry_are_refused() -> None:
    message = refusal([entry("dataset-rows-count"), entry("config-info", "c1")])
    assert "1 config(s) that its dataset-config-names entry does not list: 'c1'." in message


def test_at_most_ten_names_then_dots() -> None:
    unlisted = [entry("config-info", f"c{number:02d}") for number in range(12)]
    message = refusal([config_names(), *unlisted])
    names = ", ".join(f"'c{number:02d}'" for number in range(10))
    assert f"12 config(s) that its dataset-config-names entry does not list: {names}, .... " in message


def test_entries_of_an_unlisted_split_are_refused_naming_the_config_and_splits() -> None:
    message = refusal(
        [
            config_names("c1"),
            split_names("c1", "train"),
            entry("split-rows", "c1", "train"),
            entry("split-rows", "c1", "old"),
        ]
    )
    assert message == (
        f"Incoherent cache of {DATASET}: it holds entries for 1 split(s) of config 'c1' that its config-split-names"
        f" entry does not list: 'old'. {REPAIR}"
    )


def test_split_entries_of_a_config_without_split_names_are_planned() -> None:
    """The other services check a config's splits only when its split names list some."""
    plan = plan_of([config_names("c1"), entry("split-rows", "c1", "s1")])
    assert [artifact.id for artifact in plan.artifacts if artifact.step.input_type == "split"] == []


def test_a_job_of_an_unlisted_config_is_not_a_refusal_it_is_deleted() -> None:
    stray = job("config-info", "gone")
    plan = plan_of([config_names("c1")], [stray])
    assert plan.waiting_jobs_to_delete == [stray]


def test_a_config_listed_twice_is_refused() -> None:
    message = refusal([config_names("c1", "c2", "c1")])
    assert message == (
        f"Incoherent cache of {DATASET}: its dataset-config-names entry lists 1 config(s) more than once: 'c1'."
        f" {REPAIR}"
    )


def test_a_split_listed_twice_is_refused() -> None:
    message = refusal([config_names("c1"), split_names("c1", "train", "test", "train")])
    assert message == (
        f"Incoherent cache of {DATASET}: the config-split-names entry of config 'c1' lists 1 split(s) more than"
        f" once: 'train'. {REPAIR}"
    )


def test_unlisted_names_are_named_before_repeated_ones() -> None:
    message = refusal([config_names("c1", "c1"), entry("config-info", "gone")])
    assert "does not list: 'gone'" in message


def test_a_name_list_with_an_item_that_is_no_name_lists_nothing() -> None:
    """The other services' reader gives up on the whole list: the entries of its configs are then unlisted."""
    assert plan_of([config_names("c1", 7)]).artifacts == plan_of([config_names()]).artifacts
    message = refusal([config_names("c1", 7), entry("config-info", "c1")])
    assert "does not list: 'c1'" in message
