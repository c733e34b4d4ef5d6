"""`make run` stopped at the wrong moment: no partial world saved for good, no process left serving.

- SIGTERM during the first seeding used to save the half-written world, which every later
  start then loaded (its seeding sees data and writes nothing).
- `kill -9` of `make run` (of make, or of the script under it) left the engine, the server and
  its workers serving on the port: children now die with their parent.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pymongo import MongoClient

from demo import snapshot
from demo.embedded_mongo import SNAPSHOT_FOLDER_NAME, free_port
from tests.test_make_run import port_refuses
from tests.test_server import PROJECT_ROOT, server_environment, wait_until

RUN_SCRIPT = PROJECT_ROOT / "scripts" / "run.py"


def descendants(pid: int) -> set[int]:
    """Every process started (directly or not) by `pid`, from /proc."""
    parents: dict[int, int] = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat_file.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        found |= children
        frontier = children
    return found


def is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/stat")
    try:
        return status.read_text().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie serves nothing
    except OSError:
        return True


class MakeRun:
    """`scripts/run.py` (or `make run`) as a subprocess in its own session, its output in a log."""

    def __init__(self, tmp_path: Path, command: list[str], **env: str) -> None:
        self.port = free_port()
        self.log = tmp_path / "make-run.log"
        environ = server_environment(
            ADMIN_UVICORN_HOSTNAME="127.0.0.1",
            ADMIN_UVICORN_PORT=str(self.port),
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
            PARQUET_METADATA_STORAGE_DIRECTORY=str(tmp_path),
            DEMO_DATA_DIR=str(tmp_path / "mongo"),
            **env,
        )
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=environ,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.http = requests.Session()
        self.http.trust_env = False
        self.seen: set[int] = set()

    def children(self) -> set[int]:
        """The processes it started so far (remembered, to be killed at the end whatever happens)."""
        found = descendants(self.process.pid)
        self.seen |= found
        return found

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def engine_url(self) -> str:
        wait_until(lambda: "embedded mongo-java-server on" in self.output(), deadline_seconds=60, what="engine")
        found = re.search(r"embedded mongo-java-server on (\S+)", self.output())
        assert found is not None
        return found.group(1)

    def serving(self) -> bool:
        assert self.process.poll() is None, self.output()
        try:
            return self.http.get(f"http://127.0.0.1:{self.port}/healthcheck", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    def kill_everything(self) -> None:
        self.http.close()
        for pid in [self.process.pid, *self.children(), *self.seen]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[Any]:
    started: list[MakeRun] = []

    def start(command: list[str], **env: str) -> MakeRun:
        run = MakeRun(tmp_path, command, **env)
        started.append(run)
        return run

    yield start
    for run in started:
        run.kill_everything()


def test_sigterm_during_the_first_seeding_saves_no_partial_world(make_run: Any, tmp_path: Path) -> None:
    run = make_run([sys.executable, str(RUN_SCRIPT)], DEMO_CACHE_ENTRIES="100000", DEMO_JOBS="1000")
    client: MongoClient[dict[str, Any]] = MongoClient(run.engine_url(), serverSelectionTimeoutMS=5000)
    try:
        cache = client["dataset_viewer_cache"]["cachedResponsesBlue"]
        wait_until(lambda: cache.estimated_document_count() > 0, deadline_seconds=60, what="the seeding begun")
    finally:
        client.close()
    run.process.send_signal(signal.SIGTERM)
    run.process.wait(timeout=60)
    assert "snapshot" not in {path.name for path in (tmp_path / "mongo").iterdir()}
    assert snapshot.saved_folder(tmp_path / "mongo" / SNAPSHOT_FOLDER_NAME) is None  # the next start seeds again


def test_kill_9_of_the_run_script_leaves_no_engine_or_worker_serving(make_run: Any) -> None:
    run = make_run([sys.executable, str(RUN_SCRIPT)], DEMO_CACHE_ENTRIES="200", DEMO_JOBS="20")
    wait_until(run.serving, deadline_seconds=120, what="make run serving")
    children = run.children()
    assert len(children) >= 4  # the engine, the server and its 2 workers (and the stand-in Hub's none)
    run.process.kill()
    run.process.wait(timeout=30)
    wait_until(lambda: all(is_gone(pid) for pid in children), deadline_seconds=30, what="every child gone")
    assert port_refuses(run.port)


def test_kill_9_of_make_stops_make_run_the_ordinary_way(make_run: Any, settings: Any) -> None:
    config = settings.ADMIN
    run = make_run(
        ["make", "--no-print-directory", "-o", "install", "-o", "engine", "run"],
        CACHE_MONGO_URL=config.cache_mongo_url,
        QUEUE_MONGO_URL=config.queue_mongo_url,
        CACHE_MONGO_DATABASE=config.cache_mongo_database,
        QUEUE_MONGO_DATABASE=config.queue_mongo_database,
    )
    wait_until(run.serving, deadline_seconds=60, what="make run serving")
    children = run.children()
    run.process.kill()
    run.process.wait(timeout=30)
    wait_until(lambda: all(is_gone(pid) for pid in children), deadline_seconds=30, what="every process gone")
    assert port_refuses(run.port)
