"""The real server, as production runs it: `python -m adminsite.server`, 2 uvicorn workers.

Each test starts the server as a subprocess on a free port and polls it (with a deadline)
until it answers; requests go over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from demo.embedded_mongo import EmbeddedMongo, free_port, stop_process

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_DEADLINE_SECONDS = 30.0


class RunningServer:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log
        self.http = requests.Session()
        self.http.trust_env = False  # no proxy for 127.0.0.1

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(f"{self.url}{path}", timeout=10, **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process, grace_seconds=15)
        self.http.close()


def server_environment(**overrides: str) -> dict[str, str]:
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ADMIN_", "CACHE_MONGO", "QUEUE_MONGO", "PROMETHEUS_", "DJANGO_SETTINGS"))
    }
    environ.update(overrides)
    return environ


def run_server(environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "adminsite.server"],
            env=environ,
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def wait_until(condition: Callable[[], bool], *, deadline_seconds: float, what: str) -> None:
    deadline = time.monotonic() + deadline_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {deadline_seconds}s")
        time.sleep(0.05)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start `python -m adminsite.server` with 2 workers and the given environment."""
    servers: list[RunningServer] = []

    def start(*, cache_url: str, queue_url: str, cache_database: str, queue_database: str, **env: str) -> RunningServer:
        port = free_port()
        environ = server_environment(
            ADMIN_UVICORN_HOSTNAME="127.0.0.1",
            ADMIN_UVICORN_PORT=str(port),
            ADMIN_UVICORN_NUM_WORKERS="2",
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
            CACHE_MONGO_URL=cache_url,
            QUEUE_MONGO_URL=queue_url,
            CACHE_MONGO_DATABASE=cache_database,
            QUEUE_MONGO_DATABASE=queue_database,
            PARQUET_METADATA_STORAGE_DIRECTORY=str(tmp_path),
            **env,
        )
        log = tmp_path / f"server-{port}.log"
        server = RunningServer(run_server(environ, log), f"http://127.0.0.1:{port}", log)
        servers.append(server)

        def answers() -> bool:
            assert server.process.poll() is None, f"the server exited:\n{server.output()}"
            try:
                return server.get("/healthcheck").status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(answers, deadline_seconds=START_DEADLINE_SECONDS, what="server start")
        return server

    yield start
    for server in servers:
        server.stop()


def scrape(server: RunningServer) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """{sample name: {sorted labels: value}} of one /admin/metrics answer."""
    response = server.get("/admin/metrics")
    assert response.status_code == 200
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def requests_of_view(samples: dict[str, dict[tuple[tuple[str, str], ...], float]], view: str) -> float:
    counts = samples.get("django_http_requests_total_by_view_transport_method_total", {})
    return sum(value for labels, value in counts.items() if dict(labels)["view"] == view)


def workers_that_served(directory: Path, view: str) -> set[str]:
    """The worker processes whose own metrics file counts a request to `view`."""
    served = set()
    for counter_file in directory.glob("counter_*.db"):
        values = MmapedDict(str(counter_file), read_mode=True)  # type: ignore[no-untyped-call]
        try:
            if any(view in key and value > 0 for key, value, _ in values.read_all_values()):  # type: ignore[no-untyped-call]
                served.add(counter_file.stem)
        finally:
            values.close()  # type: ignore[no-untyped-call]
    return served


def test_two_workers_report_summed_request_counts_and_the_database_gauges_once(
    start_server, settings, mongo_server, cache_db, queue_db, tmp_path
):
    # a metrics file left by a previous run must be cleared before the workers start
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / "counter_1.db").write_bytes(b"left by a dead process")
    queue_db["jobTotalMetric"].insert_many(
        [
            {"job_type": "dataset-config-names", "status": "waiting", "dataset_status": "normal", "total": 7},
            {"job_type": "dataset-config-names", "status": "started", "dataset_status": "normal", "total": 2},
            {"job_type": "split-first-rows", "status": "waiting", "dataset_status": "blocked", "total": 5},
        ]
    )
    queue_db["workerTypeJobCounts"].insert_many(
        [{"worker_size": "light", "jobs_count": 7}, {"worker_size": "heavy", "jobs_count": 3}]
    )
    cache_db["cacheTotalMetric"].insert_many(
        [
            {"kind": "dataset-info", "http_status": 200, "total": 11},
            {"kind": "dataset-info", "http_status": 500, "error_code": "UnexpectedError", "total": 4},
        ]
    )
    server = start_server(
        cache_url=mongo_server.cache_url,
        queue_url=mongo_server.queue_url,
        cache_database=settings.ADMIN.cache_mongo_database,
        queue_database=settings.ADMIN.queue_mongo_database,
    )
    assert not (tmp_path / "prometheus" / "counter_1.db").exists()

    # new connections until both workers have served some (the kernel picks the worker)
    number_of_requests = 0
    while len(workers_that_served(tmp_path / "prometheus", "jobs.apis.BlockedDatasetsApi")) < 2:
        assert number_of_requests < 400, "one worker served every request"
        for _ in range(8):
            assert requests.get(f"{server.url}/admin/blocked-datasets", timeout=10).status_code == 200
        number_of_requests += 8

    for _ in range(4):  # whichever worker answers the scrape
        samples = scrape(server)
        assert requests_of_view(samples, "jobs.apis.BlockedDatasetsApi") == number_of_requests
        assert samples["queue_jobs_total"] == {
            (("dataset_status", "normal"), ("queue", "dataset-config-names"), ("status", "started")): 2.0,
            (("dataset_status", "normal"), ("queue", "dataset-config-names"), ("status", "waiting")): 7.0,
            (("dataset_status", "blocked"), ("queue", "split-first-rows"), ("status", "waiting")): 5.0,
        }
        assert samples["worker_size_jobs_count"] == {(("worker_size", "heavy"),): 3.0, (("worker_size", "light"),): 7.0}
        assert samples["responses_in_cache_total"] == {
            (("error_code", "None"), ("http_status", "200"), ("kind", "dataset-info")): 11.0,
            (("error_code", "UnexpectedError"), ("http_status", "500"), ("kind", "dataset-info")): 4.0,
        }
        assert samples["mongodb_up"] == {(("database", "cache"),): 1.0, (("database", "queue"),): 1.0}
        assert set(samples["parquet_metadata_disk_usage"]) == {
            (("type", kind),) for kind in ("total", "used", "free", "percent")
        }

    # one line per request, no uvicorn access log repeating it
    output = server.output()
    assert output.count("GET /admin/blocked-datasets 200 ") == number_of_requests, output
    assert '"GET /admin/blocked-datasets HTTP/1.1"' not in output


def crash(database: EmbeddedMongo) -> None:
    """Kill the database at once (a clean stop waits seconds for the server's connections)."""
    if database.process is not None and database.process.poll() is None:
        database.process.kill()
        database.process.wait()


def test_readiness_and_json_routes_follow_the_database_down_and_back(start_server, tmp_path):
    database = EmbeddedMongo(tmp_path / "mongo", port=free_port())
    database.start()
    try:
        server = start_server(
            cache_url=database.url,
            queue_url=database.url,
            cache_database="cache",
            queue_database="queue",
            ADMIN_MONGO_TIMEOUT_SECONDS="0.5",
        )
        ready = server.get("/admin/readiness")
        assert (ready.status_code, ready.json()) == (
            200,
            {"status": "ready", "databases": {"cache": "ok", "queue": "ok"}},
        )

        crash(database)
        not_ready = server.get("/admin/readiness")
        assert not_ready.status_code == 503
        assert not_ready.headers["X-Error-Code"] == "DatabaseUnavailableError"
        assert not_ready.json() == {
            "error": "MongoDB did not answer: cache, queue",
            "databases": {"cache": "unreachable", "queue": "unreachable"},
        }
        started = time.monotonic()
        for path in ("/admin/pending-jobs", "/admin/dataset-status?dataset=org/ds"):
            answer = server.get(path)
            assert answer.status_code == 503, path
            assert answer.headers["X-Error-Code"] == "DatabaseUnavailableError"
            assert answer.json() == {"error": "The database is unavailable, please retry later."}
        assert time.monotonic() - started < 3.0  # within the 0.5 s server-selection timeout, not a hang
        samples = scrape(server)
        assert samples["mongodb_up"] == {(("database", "cache"),): 0.0, (("database", "queue"),): 0.0}
        assert requests_of_view(samples, "jobs.apis.PendingJobsApi") == 1
        assert "queue_jobs_total" not in samples

        database.start()  # same port, same data
        wait_until(
            lambda: server.get("/admin/readiness").status_code == 200,
            deadline_seconds=15,
            what="readiness after the database restarted",
        )
        wait_until(  # each worker's pool reconnects on its own first call (0.5 s bound each under load)
            lambda: server.get("/admin/pending-jobs").status_code == 200,
            deadline_seconds=15,
            what="pending-jobs after the database restarted",
        )
    finally:
        crash(database)


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("eighty", "configuration error: ADMIN_UVICORN_PORT: expected an integer, got 'eighty'\n"),
        ("70000", "configuration error: ADMIN_UVICORN_PORT: expected an integer between 0 and 65535, got '70000'\n"),
    ],
)
def test_a_bad_port_stops_start_up_with_a_message_naming_the_variable(port, message):
    completed = subprocess.run(
        [sys.executable, "-m", "adminsite.server"],
        env=server_environment(ADMIN_UVICORN_PORT=port),
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert (completed.returncode, completed.stderr.decode()) == (1, message)


@pytest.mark.parametrize("reuse_port", [False, True], ids=["another program", "another server of ours"])
def test_a_port_already_listened_on_stops_start_up(reuse_port: bool) -> None:
    """Even a socket that sets SO_REUSEPORT must not share the port (uvicorn's socket does not set it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        if reuse_port:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "adminsite.server"],
            env=server_environment(
                ADMIN_UVICORN_HOSTNAME="127.0.0.1", ADMIN_UVICORN_PORT=str(port), ADMIN_UVICORN_NUM_WORKERS="2"
            ),
            cwd=PROJECT_ROOT,
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert completed.returncode == 3
    assert "Address already in use" in completed.stderr.decode()
