"""`make run`: the server and the collector beside it; SIGTERM to make stops every process it started
(the workers and the collector too), and the port is free.

On the embedded engine it also starts the demo's stand-in workers (named so in its start-up
lines), which finish jobs and die with it; on a configured MongoDB it never does.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from pymongo import MongoClient

from demo.embedded_mongo import free_port
from tests.test_server import PROJECT_ROOT, server_environment, wait_until


def group_is_gone(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


def port_refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_to_make_run_stops_the_server_its_workers_and_the_collector(
    settings: Any, tmp_path: Path, queue_db: Any
) -> None:
    port = free_port()
    config = settings.ADMIN
    environ = server_environment(
        ADMIN_UVICORN_HOSTNAME="127.0.0.1",
        ADMIN_UVICORN_PORT=str(port),
        CACHE_MONGO_URL=config.cache_mongo_url,
        QUEUE_MONGO_URL=config.queue_mongo_url,
        CACHE_MONGO_DATABASE=config.cache_mongo_database,
        QUEUE_MONGO_DATABASE=config.queue_mongo_database,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        PARQUET_METADATA_STORAGE_DIRECTORY=str(tmp_path),
    )
    log = tmp_path / "make-run.log"
    with log.open("wb") as output:
        # -o: the virtualenv and the engine are there already (the suite runs in them)
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-o", "install", "-o", "engine", "run"],
            cwd=PROJECT_ROOT,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: every process it starts is in it
        )
    http = requests.Session()
    http.trust_env = False

    def answers() -> bool:
        assert make.poll() is None, log.read_text()
        try:
            return http.get(f"http://127.0.0.1:{port}/healthcheck", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(answers, deadline_seconds=60, what="make run serving")
        http.close()
        # the collector's first round, made at start beside the server: the dashboard's counts and a sample
        wait_until(
            lambda: (
                {document["_id"] for document in queue_db["adminCounts"].find({}, {"_id": 1})}
                >= {"builder-names", "root-errors"}
                and queue_db["adminActivitySamples"].count_documents({}) >= 1
            ),
            deadline_seconds=60,
            what="the collector's first round",
        )
        make.send_signal(signal.SIGTERM)
        make.wait(timeout=30)
        wait_until(lambda: group_is_gone(make.pid), deadline_seconds=30, what="every process of make run gone")
        assert port_refuses(port)
    finally:
        if not group_is_gone(make.pid):
            os.killpg(make.pid, signal.SIGKILL)
    assert "stand-in workers" not in log.read_text()  # a configured MongoDB gets no fleet


def test_make_run_on_the_embedded_engine_starts_stand_in_workers_that_finish_jobs_and_stop_with_it(
    tmp_path: Path,
) -> None:
    port = free_port()
    environ = server_environment(
        ADMIN_UVICORN_HOSTNAME="127.0.0.1",
        ADMIN_UVICORN_PORT=str(port),
        ADMIN_UVICORN_NUM_WORKERS="1",
        DEMO_DATA_DIR=str(tmp_path / "mongo"),
        DEMO_CACHE_ENTRIES="300",
        DEMO_JOBS="60",
        DEMO_WORKERS="1,1,1",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        PARQUET_METADATA_STORAGE_DIRECTORY=str(tmp_path),
    )
    environ.pop("COMMON_HF_ENDPOINT", None)
    log = tmp_path / "make-run.log"
    with log.open("wb") as output:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-o", "install", "-o", "engine", "run"],
            cwd=PROJECT_ROOT,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def said(text: str) -> bool:
        assert make.poll() is None, log.read_text()
        return text in log.read_text()

    try:
        wait_until(lambda: said("stand-in workers running"), deadline_seconds=120, what="the fleet started")
        lines = log.read_text().splitlines()
        assert (
            "stand-in workers: 1 light, 1 medium, 1 heavy (not the dataset viewer's workers: demo/fleet;"
            in "\n".join(lines)
        )
        assert any(
            line.startswith("a started job is stale after 30 s without a heartbeat in the demo") for line in lines
        )
        [engine_url] = [line.split()[3] for line in lines if line.startswith("embedded mongo-java-server on ")]
        client: MongoClient[dict[str, object]] = MongoClient(engine_url)
        try:
            entries = client["dataset_viewer_cache"]["cachedResponsesBlue"]
            # the demo world's entries are a minute old at least: a fresher one is the fleet's
            fresh = {"updated_at": {"$gte": datetime.now(UTC) - timedelta(seconds=30)}}
            wait_until(lambda: entries.count_documents(fresh) > 0, deadline_seconds=60, what="a job finished")
        finally:
            client.close()
        make.send_signal(signal.SIGTERM)
        make.wait(timeout=30)
        wait_until(lambda: group_is_gone(make.pid), deadline_seconds=30, what="every process of make run gone")
        assert port_refuses(port)
    finally:
        if not group_is_gone(make.pid):
            os.killpg(make.pid, signal.SIGKILL)
