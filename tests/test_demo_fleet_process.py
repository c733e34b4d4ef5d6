"""The fleet's process (`manage.py run_demo_fleet`, as `make run` starts it) stops with the demo, even a killed one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from demo.fleet.process import PROJECT_ROOT, fleet_command
from demo.fleet.settings import FleetSettings, WorkerCounts
from tests.test_server import server_environment, wait_until

SETTINGS = FleetSettings(workers=WorkerCounts(1, 1, 0))
STARTER = """
import os, subprocess, sys, time
with open(sys.argv[1], "wb") as log:
    fleet = subprocess.Popen(sys.argv[2:] + ["--parent-pid", str(os.getpid())], stdout=log)
print(fleet.pid, flush=True)
time.sleep(600)
"""
"""Stands for `scripts/run.py`: starts the fleet as its child, says its pid, then waits to be killed."""


def fleet_environment(settings: Any) -> dict[str, str]:
    """The test's own databases, as `scripts/run.py` hands the engine's URL to the fleet."""
    config = settings.ADMIN
    return server_environment(
        CACHE_MONGO_URL=config.cache_mongo_url,
        QUEUE_MONGO_URL=config.queue_mongo_url,
        CACHE_MONGO_DATABASE=config.cache_mongo_database,
        QUEUE_MONGO_DATABASE=config.queue_mongo_database,
    )


def is_gone(pid: int) -> bool:
    """No such process, or only its zombie is left (nothing runs)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in {"Z", "X"}


def test_the_fleet_says_what_it_runs_and_stops_on_sigterm(settings: Any, tmp_path: Path) -> None:
    log = tmp_path / "fleet.log"
    with log.open("wb") as output:
        fleet = subprocess.Popen(
            fleet_command(SETTINGS, parent_pid=os.getpid()),
            env=fleet_environment(settings),
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: "stand-in workers running" in log.read_text(), deadline_seconds=60, what="the fleet")
        assert log.read_text().startswith("stand-in workers running: 1 light, 1 medium, 0 heavy (seed ")
        fleet.send_signal(signal.SIGTERM)
        assert fleet.wait(timeout=30) == 0
    finally:
        if fleet.poll() is None:
            fleet.kill()
            fleet.wait()


def test_the_fleet_stops_when_the_demo_that_started_it_is_killed(settings: Any, tmp_path: Path) -> None:
    """`scripts/run.py` killed with SIGKILL cannot stop the fleet: the fleet sees its parent gone and stops."""
    log = tmp_path / "fleet.log"
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            STARTER,
            str(log),
            *fleet_command(SETTINGS, parent_pid=0)[:-2],
        ],
        env=fleet_environment(settings),
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert starter.stdout is not None
    fleet_pid = int(starter.stdout.readline())
    try:
        wait_until(lambda: "stand-in workers running" in log.read_text(), deadline_seconds=60, what="the fleet")
        starter.kill()
        starter.wait()
        wait_until(lambda: is_gone(fleet_pid), deadline_seconds=30, what="the orphaned fleet stopped")
    finally:
        if not is_gone(fleet_pid):
            os.kill(fleet_pid, signal.SIGKILL)
        if starter.poll() is None:
            starter.kill()
            starter.wait()
