"""The fleet as `make run` starts it: one process (`manage.py run_demo_fleet`), stopped with the demo.

`scripts/run.py` enters `FleetProcess` beside the stand-in Hub, on the embedded engine only;
leaving the block stops the process (SIGTERM, then SIGKILL after a grace). The process also
stops by itself when `scripts/run.py` is gone (`--parent-pid`), so that it never outlives the
demo, even when the demo is killed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from demo.embedded_mongo import stop_process
from demo.fleet.settings import DEMO_STALE_JOB_SECONDS, FleetSettings
from demo.parent_death import command_dying_with_parent

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STOP_GRACE_SECONDS = 10.0
STALE_JOB_VARIABLE = "ADMIN_STALE_JOB_SECONDS"


def startup_line(settings: FleetSettings) -> str:
    """What `make run` says of the fleet, beside the stand-in Hub's line."""
    low, high = settings.job_seconds
    return (
        f"stand-in workers: {settings.workers.describe()} (not the dataset viewer's workers: demo/fleet;"
        f" jobs of {low:g}-{high:g} s, each second counted as {settings.clock_scale:g} s of compute;"
        f" {settings.failure_rate:.0%} fail, {settings.death_rate:.0%} die mid-job; DEMO_WORKERS=0 turns them off)"
    )


def lower_stale_threshold(environ: dict[str, str]) -> str:
    """The demo's stale threshold: ADMIN_STALE_JOB_SECONDS as given, else DEMO_STALE_JOB_SECONDS; the line saying so."""
    given = environ.get(STALE_JOB_VARIABLE, "").strip()
    if given:
        return f"a started job is stale after {given} s without a heartbeat ({STALE_JOB_VARIABLE})"
    environ[STALE_JOB_VARIABLE] = str(DEMO_STALE_JOB_SECONDS)
    return (
        f"a started job is stale after {DEMO_STALE_JOB_SECONDS} s without a heartbeat in the demo"
        f" ({STALE_JOB_VARIABLE}={DEMO_STALE_JOB_SECONDS}; 300 by default), so the workers that die show soon"
    )


def fleet_command(settings: FleetSettings, *, parent_pid: int) -> list[str]:
    return [
        sys.executable,
        str(PROJECT_ROOT / "manage.py"),
        "run_demo_fleet",
        "--workers",
        settings.workers.as_option(),
        "--failure-rate",
        str(settings.failure_rate),
        "--world-seed",
        str(settings.world_seed),
        "--parent-pid",
        str(parent_pid),
    ]


class FleetProcess:
    """`manage.py run_demo_fleet` for the duration of a `with` block, its output on ours."""

    def __init__(self, settings: FleetSettings, *, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.environ = dict(environ)
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FleetProcess:
        command = command_dying_with_parent(fleet_command(self.settings, parent_pid=os.getpid()))
        self.process = subprocess.Popen(command, env=self.environ, cwd=PROJECT_ROOT)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.process is not None:
            stop_process(self.process, grace_seconds=STOP_GRACE_SECONDS)
