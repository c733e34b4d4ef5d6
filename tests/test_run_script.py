"""`make run`'s demo: its size (DEMO_CACHE_ENTRIES, DEMO_JOBS), its stand-in workers (DEMO_WORKERS...)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from demo.fleet.process import lower_stale_threshold, startup_line
from demo.fleet.settings import FleetSettings, FleetSettingsError, fleet_settings_from
from tests.test_server import server_environment

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


# --- the stand-in worker fleet of `make run` -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "counts"),
    [
        ("", (2, 2, 1)),
        ("2,2,1", (2, 2, 1)),
        (" 4, 0 ,1 ", (4, 0, 1)),
        ("5", (2, 2, 1)),
        ("3", (1, 1, 1)),
        ("1", (1, 0, 0)),
        ("0", (0, 0, 0)),
        ("0,0,0", (0, 0, 0)),
    ],
)
def test_demo_workers_are_light_medium_heavy_counts_or_a_total(value: str, counts: tuple[int, int, int]) -> None:
    fleet = fleet_settings_from({"DEMO_WORKERS": value})
    assert (fleet.workers.light, fleet.workers.medium, fleet.workers.heavy) == counts


@pytest.mark.parametrize("value", ["lots", "-1", "1,2", "1,2,3,4", "2.5", "1,,1", "²"])
def test_a_bad_demo_workers_value_is_named(value: str) -> None:
    with pytest.raises(FleetSettingsError) as raised:
        fleet_settings_from({"DEMO_WORKERS": value})
    assert str(raised.value) == (
        "DEMO_WORKERS: expected a number of workers (e.g. 5) or light,medium,heavy counts (e.g. 2,2,1),"
        f" 0 for none; got {value!r}"
    )


def test_more_than_50_demo_workers_are_refused() -> None:
    with pytest.raises(FleetSettingsError, match=r"^DEMO_WORKERS: at most 50 workers; got '20,20,11'$"):
        fleet_settings_from({"DEMO_WORKERS": "20,20,11"})


@pytest.mark.parametrize("value", ["2", "-0.1", "nan", "ten", "10%"])
def test_a_bad_demo_failure_rate_is_named(value: str) -> None:
    with pytest.raises(FleetSettingsError) as raised:
        fleet_settings_from({"DEMO_FAILURE_RATE": value})
    assert str(raised.value) == f"DEMO_FAILURE_RATE: expected a share between 0 and 1 (e.g. 0.1); got {value!r}"
    assert fleet_settings_from({"DEMO_FAILURE_RATE": "0.25"}).failure_rate == 0.25


def test_the_fleet_is_named_a_stand_in_in_the_start_up_lines() -> None:
    assert startup_line(FleetSettings()) == (
        "stand-in workers: 2 light, 2 medium, 1 heavy (not the dataset viewer's workers: demo/fleet;"
        " jobs of 0.5-4 s, each second counted as 60 s of compute; 10% fail, 5% die mid-job;"
        " DEMO_WORKERS=0 turns them off)"
    )


def test_the_demo_lowers_the_stale_threshold_unless_it_is_set() -> None:
    environ: dict[str, str] = {}
    assert lower_stale_threshold(environ) == (
        "a started job is stale after 30 s without a heartbeat in the demo (ADMIN_STALE_JOB_SECONDS=30;"
        " 300 by default), so the workers that die show soon"
    )
    assert environ == {"ADMIN_STALE_JOB_SECONDS": "30"}
    environ = {"ADMIN_STALE_JOB_SECONDS": "120"}
    assert (
        lower_stale_threshold(environ)
        == "a started job is stale after 120 s without a heartbeat (ADMIN_STALE_JOB_SECONDS)"
    )
    assert environ == {"ADMIN_STALE_JOB_SECONDS": "120"}


def test_a_bad_demo_workers_value_stops_make_run_before_anything_starts(tmp_path: Path) -> None:
    environ = server_environment(DEMO_WORKERS="2,2", DEMO_DATA_DIR=str(tmp_path / "mongo"))
    environ.pop("COMMON_HF_ENDPOINT", None)
    done = subprocess.run(
        [sys.executable, str(RUN_SCRIPT)], env=environ, capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "DEMO_WORKERS: expected a number of workers (e.g. 5) or light,medium,heavy counts (e.g. 2,2,1),"
        " 0 for none; got '2,2'\n"
    )
    assert not (tmp_path / "mongo").exists()  # no engine was started
