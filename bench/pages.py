"""Every console page and JSON read route over HTTP, on the served app and a 100k-entry world.

    python bench/pages.py                                  # 100k cache entries, 10k jobs
    python bench/pages.py --cache-entries 20000 --jobs 2000
    CACHE_MONGO_URL=mongodb://... python bench/pages.py    # an empty MongoDB instead

What `make run` serves, timed as a browser meets it: the world is written by `seed_world` (the
code of `manage.py seed_demo`) into fresh databases of the embedded engine (or of
CACHE_MONGO_URL), the indexes are ensured, then `python -m adminsite.server` is started with 2
workers (as `make run` does) and the stand-in Hub of the demo. Once both workers have done
their start-up counts (their log says so), each route is fetched over HTTP on a new
connection: its first load, then the median of `--repeat` more. With ADMIN_HF_ORGANIZATION
set, the bench signs in first (the stand-in Hub lets any token in); unset, auth is off as in
the demo. Exit status 1 when a route's first load or median is over `--limit-ms` (300).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")

START_TIMEOUT_SECONDS = 120
BENCH_TOKEN = "hf_bench_token"  # noqa: S105  # the stand-in Hub lets any token in


@dataclasses.dataclass(frozen=True)
class Route:
    name: str
    path: str
    json: bool


def seed(arguments: argparse.Namespace, mongo_url: str) -> dict[str, str]:
    """Write the world into fresh databases; the environment of the server that serves them."""
    import django

    django.setup()
    from django.conf import settings

    from bench.bench_world import seed_bench_world

    seed_bench_world(
        mongo_url=mongo_url,
        prefix="bench_pages",
        cache_entries=arguments.cache_entries,
        jobs=arguments.jobs,
        seed=arguments.seed,
    )
    return {
        "CACHE_MONGO_URL": mongo_url,
        "QUEUE_MONGO_URL": mongo_url,
        "CACHE_MONGO_DATABASE": settings.ADMIN.cache_mongo_database,
        "QUEUE_MONGO_DATABASE": settings.ADMIN.queue_mongo_database,
    }


def routes_of_the_world() -> list[Route]:
    """Every GET page and JSON read route, with parameters taken from the world (its busiest dataset...)."""
    from bench.bench_world import busiest_dataset
    from foundation.database import mongo

    cache = mongo.cache_database()[mongo.CACHED_RESPONSES]
    busiest = busiest_dataset()
    error_entry = cache.find_one({"http_status": {"$ne": 200}, "kind": "split-first-rows"}, {"_id": 1, "kind": 1})
    assert error_entry is not None, "the world has no error entry"
    entry_id = str(error_entry["_id"])
    pages = [
        ("dashboard", "/admin/"),
        ("jobs", "/admin/jobs"),
        ("jobs, waiting, by type", "/admin/jobs?status=waiting&type=split-first-rows"),
        ("jobs, stale", "/admin/jobs?stale=1"),
        ("blocked datasets", "/admin/blocked"),
        ("cache, first page of a kind", "/admin/cache?kind=split-first-rows"),
        ("cache, errors of a kind", "/admin/cache?kind=split-first-rows&http_status=500"),
        ("cache, whole cache", "/admin/cache"),
        ("cache entry", f"/admin/cache/{entry_id}"),
        ("errors", "/admin/errors"),
        ("errors of a kind", "/admin/errors?kind=split-first-rows"),
        ("bulk refresh form", "/admin/bulk?kind=split-first-rows&http_status=500"),
        ("dataset (busiest)", f"/admin/dataset?dataset={busiest}"),
        ("dataset, errors only", f"/admin/dataset?dataset={busiest}&errors=1"),
        ("dataset (unknown)", "/admin/dataset?dataset=nobody/nothing"),
        ("recreate confirmation", f"/admin/dataset/recreate?dataset={busiest}"),
        ("graph", "/admin/graph"),
        ("builder names", "/admin/builder-names"),
        ("audit log", "/admin/audit"),
        ("login", "/admin/login"),
    ]
    json_routes = [
        ("healthcheck", "/healthcheck"),
        ("readiness", "/admin/readiness"),
        ("metrics", "/admin/metrics"),
        ("pending-jobs (whole queue)", "/admin/pending-jobs"),
        ("blocked-datasets", "/admin/blocked-datasets"),
        ("dataset-status (busiest)", f"/admin/dataset-status?dataset={busiest}"),
        ("dataset-status (unknown)", "/admin/dataset-status?dataset=nobody/nothing"),
        ("num-dataset-infos-by-builder-name", "/admin/num-dataset-infos-by-builder-name"),
        ("cache-errors", "/admin/cache-errors"),
        ("cache-reports, first page", "/admin/cache-reports/split-first-rows"),
        ("cache-reports-with-content, first page", "/admin/cache-reports-with-content/split-first-rows"),
        ("dataset-backfill-plan (busiest)", f"/admin/dataset-backfill-plan?dataset={busiest}"),
        ("audit-log", "/admin/audit-log"),
    ]
    return [Route(name, path, json=False) for name, path in pages] + [
        Route(name, path, json=True) for name, path in json_routes
    ]


class ServerLog:
    """Drains the server's stderr (its log) in a thread, keeping its lines for a failed start."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        self.stream = process.stderr
        self.lines: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for raw in self.stream:
            self.lines.append(raw.decode(errors="replace").rstrip())


@dataclasses.dataclass
class Server:
    process: subprocess.Popen[bytes]
    log: ServerLog
    base: str


def start_server(environ: dict[str, str]) -> Server:
    from demo.embedded_mongo import free_port

    port = free_port()
    server_environ = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("ADMIN_", "PROMETHEUS_"))},
        **environ,
        "ADMIN_UVICORN_HOSTNAME": "127.0.0.1",
        "ADMIN_UVICORN_PORT": str(port),
        "ADMIN_UVICORN_NUM_WORKERS": "2",
        "LOG_LEVEL": "INFO",  # the server's lines, shown when it fails to start
    }
    if os.environ.get("ADMIN_HF_ORGANIZATION"):
        server_environ["ADMIN_HF_ORGANIZATION"] = os.environ["ADMIN_HF_ORGANIZATION"]
    process = subprocess.Popen(
        [sys.executable, "-m", "adminsite.server"],
        env=server_environ,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = Server(process, ServerLog(process), f"http://127.0.0.1:{port}")
    started = time.monotonic()
    if not answers_within(server, START_TIMEOUT_SECONDS):
        stop(server)
        tail = "\n".join(server.log.lines[-20:])
        raise SystemExit(f"the server did not answer /healthcheck within {START_TIMEOUT_SECONDS}s:\n{tail}")
    print(f"python -m adminsite.server (2 workers) on {server.base}: answering after {time.monotonic() - started:.1f}s")
    return server


def answers_within(server: Server, timeout_seconds: float) -> bool:
    """Until the server answers /healthcheck (its workers may log their counts before they listen)."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            if requests.get(f"{server.base}/healthcheck", timeout=5).status_code == 200:
                return True
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    return False


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def signed_in_session(base: str) -> requests.Session:
    """A session that opens a new connection per request (the kernel spreads them over the workers).

    With ADMIN_HF_ORGANIZATION set, signed in through the login form (pages) and carrying the
    token (JSON routes).
    """
    session = requests.Session()
    session.headers["Connection"] = "close"
    if not os.environ.get("ADMIN_HF_ORGANIZATION"):
        return session
    form = session.get(f"{base}/admin/login", timeout=60)
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert found, "no CSRF token in the login form"
    answer = session.post(
        f"{base}/admin/login",
        data={"csrfmiddlewaretoken": found.group(1), "token": BENCH_TOKEN},
        headers={"Referer": f"{base}/admin/login"},
        timeout=60,
        allow_redirects=False,
    )
    assert answer.status_code == 302, f"sign-in refused: {answer.status_code}"
    session.headers["Authorization"] = f"Bearer {BENCH_TOKEN}"
    return session


def timed_get(session: requests.Session, url: str) -> tuple[float, requests.Response]:
    began = time.perf_counter()
    response = session.get(url, timeout=120)
    _ = response.content
    return (time.perf_counter() - began) * 1000, response


@dataclasses.dataclass(frozen=True)
class Timing:
    route: Route
    first_ms: float
    median_ms: float
    size: int


def time_routes(session: requests.Session, base: str, routes: list[Route], repeat: int) -> Iterator[Timing]:
    for route in routes:
        first, response = timed_get(session, base + route.path)
        if response.status_code != 200:
            raise SystemExit(f"{route.path}: {response.status_code} {response.text[:300]}")
        durations = [timed_get(session, base + route.path)[0] for _ in range(repeat)]
        yield Timing(route, first, statistics.median(durations), len(response.content))


def report(timings: list[Timing], limit_ms: float) -> int:
    print(f"\n{'route':<42} {'path':<58} {'first ms':>9} {'median ms':>10} {'bytes':>10}")
    for kind, is_json in (("pages", False), ("JSON read routes", True)):
        print(f"-- {kind}")
        for timing in (timing for timing in timings if timing.route.json == is_json):
            mark = " OVER" if max(timing.first_ms, timing.median_ms) > limit_ms else ""
            path = timing.route.path if len(timing.route.path) <= 58 else timing.route.path[:55] + "..."
            print(
                f"{timing.route.name:<42} {path:<58} {timing.first_ms:>9.1f} {timing.median_ms:>10.1f} "
                f"{timing.size:>10,}{mark}"
            )
    slowest = max(timings, key=lambda timing: max(timing.first_ms, timing.median_ms))
    worst = max(slowest.first_ms, slowest.median_ms)
    print(f"\nslowest: {slowest.route.name} ({slowest.route.path}): {worst:.1f} ms (limit {limit_ms:g} ms)")
    over = [timing for timing in timings if max(timing.first_ms, timing.median_ms) > limit_ms]
    if over:
        print(f"{len(over)} route(s) over {limit_ms:g} ms: {', '.join(timing.route.name for timing in over)}")
        return 1
    print(f"every route under {limit_ms:g} ms")
    return 0


def run(arguments: argparse.Namespace, mongo_url: str) -> int:
    from django.conf import settings

    from demo.stand_in_hub import StandInHub, demo_world_revisions

    environ = seed(arguments, mongo_url)
    config = settings.ADMIN
    from django.core.management import call_command

    began = time.monotonic()
    call_command("collect_counts")
    print(f"collect_counts: one round in {time.monotonic() - began:.1f}s")
    try:
        routes = routes_of_the_world()
        revisions = demo_world_revisions(
            mongo_url, cache_database=config.cache_mongo_database, queue_database=config.queue_mongo_database
        )
        with StandInHub(revisions, organization=os.environ.get("ADMIN_HF_ORGANIZATION")) as hub:
            server = start_server({**environ, "COMMON_HF_ENDPOINT": hub.url})
            try:
                session = signed_in_session(server.base)
                timings = list(time_routes(session, server.base, routes, arguments.repeat))
            finally:
                stop(server)
        return report(timings, arguments.limit_ms)
    finally:
        if not arguments.keep:
            from bench.bench_world import drop_bench_world

            drop_bench_world(mongo_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-entries", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="loads after the first, per route (their median)")
    parser.add_argument("--limit-ms", type=float, default=300.0, help="exit status 1 if a route is slower")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    arguments = parser.parse_args()
    from demo.embedded_mongo import configured_or_embedded_mongo

    with configured_or_embedded_mongo(os.environ) as mongo_url:
        status = run(arguments, mongo_url)
    sys.exit(status)


if __name__ == "__main__":
    main()
