"""The processing steps of the dataset viewer, loaded from `processing_graph.json`.

The file is the same as the one of the other services (a copy kept in this package). It is
validated once at start-up: an unknown input type, an unknown parent or a cycle would make
every page built from the graph wrong, so the service refuses to start instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, cast

from foundation.core.errors import NotFoundError

InputType = Literal["dataset", "config", "split"]
INPUT_TYPES: tuple[InputType, ...] = ("dataset", "config", "split")

GRAPH_FILE = Path(__file__).with_name("processing_graph.json")


class ProcessingGraphError(Exception):
    """The processing graph file is not a valid graph."""


@dataclass(frozen=True, kw_only=True)
class ProcessingStep:
    """One step: job type == cache kind == name."""

    name: str
    input_type: InputType
    job_runner_version: int
    difficulty: int
    bonus_difficulty_if_dataset_is_big: int
    triggered_by: tuple[str, ...]

    @property
    def needs_config(self) -> bool:
        return self.input_type in ("config", "split")

    @property
    def needs_split(self) -> bool:
        return self.input_type == "split"


@dataclass(frozen=True)
class ProcessingGraph:
    """The steps, by name, alphabetically, and in graph (topological) order."""

    steps_by_name: dict[str, ProcessingStep]
    graph_order: tuple[str, ...]

    def __contains__(self, name: object) -> bool:
        return name in self.steps_by_name

    def __iter__(self) -> Iterator[ProcessingStep]:
        """The steps in alphabetical order, as the API lists them."""
        return (self.steps_by_name[name] for name in sorted(self.steps_by_name))

    def __len__(self) -> int:
        return len(self.steps_by_name)

    def get(self, name: str) -> ProcessingStep | None:
        return self.steps_by_name.get(name)

    @property
    def names(self) -> list[str]:
        """Step names in alphabetical order."""
        return sorted(self.steps_by_name)

    def in_graph_order(self) -> list[ProcessingStep]:
        return [self.steps_by_name[name] for name in self.graph_order]

    def children(self, name: str) -> list[str]:
        return sorted(step.name for step in self.steps_by_name.values() if name in step.triggered_by)

    @property
    def root_steps(self) -> list[ProcessingStep]:
        return [step for step in self if not step.triggered_by]


def _parse_step(name: str, spec: object) -> ProcessingStep:
    if not isinstance(spec, dict):
        raise ProcessingGraphError(f"step {name!r}: expected an object")
    try:
        input_type = spec["input_type"]
        if input_type not in INPUT_TYPES:
            raise ProcessingGraphError(f"step {name!r}: unknown input type {input_type!r}")
        numbers = {
            key: spec.get(key, 0) for key in ("job_runner_version", "difficulty", "bonus_difficulty_if_dataset_is_big")
        }
        for key, value in numbers.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ProcessingGraphError(f"step {name!r}: {key} must be a non-negative integer")
        if numbers["difficulty"] > 100:
            raise ProcessingGraphError(f"step {name!r}: difficulty must be at most 100")
        triggered_by = spec.get("triggered_by", [])
        if not isinstance(triggered_by, list) or not all(isinstance(parent, str) for parent in triggered_by):
            raise ProcessingGraphError(f"step {name!r}: triggered_by must be a list of step names")
    except KeyError as missing:
        raise ProcessingGraphError(f"step {name!r}: missing {missing}") from None
    return ProcessingStep(
        name=name,
        input_type=cast(InputType, input_type),
        job_runner_version=numbers["job_runner_version"],
        difficulty=numbers["difficulty"],
        bonus_difficulty_if_dataset_is_big=numbers["bonus_difficulty_if_dataset_is_big"],
        triggered_by=tuple(triggered_by),
    )


def _topological_order(steps: dict[str, ProcessingStep]) -> tuple[str, ...]:
    """Parents before children, ties broken alphabetically; a cycle is an error."""
    remaining = {name: set(step.triggered_by) for name, step in steps.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(name for name, parents in remaining.items() if not parents)
        if not ready:
            raise ProcessingGraphError(f"cycle among steps: {', '.join(sorted(remaining))}")
        for name in ready:
            order.append(name)
            del remaining[name]
        for parents in remaining.values():
            parents.difference_update(ready)
    return tuple(order)


def parse_processing_graph(specification: object) -> ProcessingGraph:
    """Build and validate a graph from the parsed JSON of the file."""
    if not isinstance(specification, dict) or not isinstance(specification.get("steps"), dict):
        raise ProcessingGraphError('expected an object with a "steps" object')
    steps = {name: _parse_step(name, spec) for name, spec in specification["steps"].items()}
    if not steps:
        raise ProcessingGraphError("no steps")
    for step in steps.values():
        for parent in step.triggered_by:
            if parent not in steps:
                raise ProcessingGraphError(f"step {step.name!r}: unknown parent {parent!r}")
    return ProcessingGraph(steps_by_name=steps, graph_order=_topological_order(steps))


def load_processing_graph(path: Path = GRAPH_FILE) -> ProcessingGraph:
    try:
        specification = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ProcessingGraphError(f"{path}: {error}") from None
    return parse_processing_graph(specification)


@cache
def processing_graph() -> ProcessingGraph:
    """The graph of the service, loaded once (settings load it at start-up to validate it)."""
    return load_processing_graph()


def known_step(name: str) -> ProcessingStep:
    """The processing step named by a URL or a form (kind or job type); an unknown one is a 404."""
    step = processing_graph().get(name)
    if step is None:
        raise NotFoundError(f"Unknown processing step '{name}'")
    return step
