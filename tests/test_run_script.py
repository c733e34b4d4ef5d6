"""`make run`'s demo size: DEMO_CACHE_ENTRIES and DEMO_JOBS, 100k entries and 10k jobs by default."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

RUN_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "run.py"


def run_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_script", RUN_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_world_of_make_run_has_100k_entries_and_10k_jobs_unless_told() -> None:
    run = run_script()
    assert run.demo_size({}, "DEMO_CACHE_ENTRIES", run.DEMO_CACHE_ENTRIES) == 100_000
    assert run.demo_size({"DEMO_JOBS": ""}, "DEMO_JOBS", run.DEMO_JOBS) == 10_000
    assert run.demo_size({"DEMO_CACHE_ENTRIES": "20_000"}, "DEMO_CACHE_ENTRIES", 1) == 20_000


@pytest.mark.parametrize("value", ["lots", "-5", "1e5", "0", "²"])
def test_a_demo_size_that_is_not_a_whole_number_is_named(value: str) -> None:
    run = run_script()
    with pytest.raises(run.DemoSizeError) as raised:
        run.demo_size({"DEMO_JOBS": value}, "DEMO_JOBS", 1)
    assert str(raised.value) == f"DEMO_JOBS: expected a whole number of at least 1, got {value!r}"
