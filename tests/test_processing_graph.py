"""The processing graph is validated at start-up: an invalid graph never serves a page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from foundation.core.processing_graph import (
    GRAPH_FILE,
    ProcessingGraphError,
    load_processing_graph,
    parse_processing_graph,
    processing_graph,
)


def step(input_type: str = "dataset", triggered_by: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "input_type": input_type,
        "job_runner_version": 1,
        "difficulty": 50,
        "triggered_by": triggered_by or [],
        **fields,
    }


def test_the_graph_of_the_service_has_29_steps_listed_alphabetically():
    graph = processing_graph()
    assert len(graph) == 29
    assert [step.name for step in graph] == sorted(json.loads(GRAPH_FILE.read_text())["steps"])
    assert graph.names == [step.name for step in graph]
    assert [step.name for step in graph.root_steps] == ["dataset-init"]
    order = [step.name for step in graph.in_graph_order()]
    for processing_step in graph:
        for parent in processing_step.triggered_by:
            assert order.index(parent) < order.index(processing_step.name)
    first_rows = graph.get("split-first-rows")
    assert first_rows is not None
    assert (first_rows.input_type, first_rows.job_runner_version, first_rows.difficulty) == ("split", 4, 70)
    statistics = graph.get("split-descriptive-statistics")
    assert statistics is not None and statistics.bonus_difficulty_if_dataset_is_big == 20


def test_unknown_input_type_is_an_error():
    with pytest.raises(ProcessingGraphError, match="step 'b': unknown input type 'row'"):
        parse_processing_graph({"steps": {"a": step(), "b": step("row", ["a"])}})


def test_unknown_parent_is_an_error():
    with pytest.raises(ProcessingGraphError, match="step 'b': unknown parent 'nope'"):
        parse_processing_graph({"steps": {"a": step(), "b": step("config", ["a", "nope"])}})


@pytest.mark.parametrize(
    "steps",
    [
        {"a": step(), "b": step(triggered_by=["c"]), "c": step(triggered_by=["b"])},
        {"a": step(triggered_by=["a"])},
        {"r": step(), "a": step(triggered_by=["r", "c"]), "b": step(triggered_by=["a"]), "c": step(triggered_by=["b"])},
    ],
)
def test_a_cycle_is_an_error(steps):
    with pytest.raises(ProcessingGraphError, match="cycle among steps"):
        parse_processing_graph({"steps": steps})


@pytest.mark.parametrize(
    ("specification", "message"),
    [
        ({}, 'expected an object with a "steps" object'),
        ({"steps": {}}, "no steps"),
        ({"steps": {"a": {"job_runner_version": 1}}}, "step 'a': missing 'input_type'"),
        ({"steps": {"a": step(difficulty=101)}}, "difficulty must be at most 100"),
        ({"steps": {"a": step(job_runner_version=-1)}}, "job_runner_version must be a non-negative integer"),
        ({"steps": {"a": {**step(), "triggered_by": "b"}}}, "triggered_by must be a list of step names"),
    ],
)
def test_malformed_steps_are_errors(specification, message):
    with pytest.raises(ProcessingGraphError, match=message):
        parse_processing_graph(specification)


def test_an_unreadable_file_is_an_error(tmp_path: Path):
    broken = tmp_path / "graph.json"
    broken.write_text("{not json")
    with pytest.raises(ProcessingGraphError, match=r"graph\.json"):
        load_processing_graph(broken)
