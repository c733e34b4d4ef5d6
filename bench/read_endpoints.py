"""Time the read routes on a big world in the embedded engine (`make bench`).

    python bench/read_endpoints.py                      # 100k cache entries, 10k jobs
    python bench/read_endpoints.py --size 1M            # 1M cache entries, 100k jobs (`make bench` runs both)
    CACHE_MONGO_URL=mongodb://... python bench/read_endpoints.py        # an empty MongoDB instead

The world is written by `seed_world` (the code of `manage.py seed_demo`) into fresh databases,
the indexes are ensured, then:

1. each route is called through the Django test client and timed, next to its bare query
   time: the driver's own duration of the database commands the call sent (pymongo's command
   monitoring: sending, the server's work, receiving and decoding the documents), summed.
   Their ratio is what the console adds on top of its queries (the target is 1.3x at most).
2. under load: `python -m adminsite.server` and the minimal Starlette app of
   `bench/starlette_reference.py` (same selectors, so the same queries; byte-identical answers,
   checked first), each with 2 workers on the same databases, are driven by wrk (Debian's
   `wrk`, 8 connections, loopback, `--load-seconds` per route) one after the other; then the
   median latency of keep-alive requests on one connection.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # no request log line per timed call

from bench.driver_commands import COMMANDS  # noqa: E402 (after ROOT is on the path; before any client)

RATIO_TARGET = 1.3
"""Issue 13: a route costs at most this many times its bare driver queries."""

LIGHT_ROUTES = ("healthcheck", "blocked-datasets")
LIGHT_ROUTE_SHARE = 0.5
"""Issue 13: the routes that barely touch the database serve at least half the reference's requests/s,
the others at least as many."""


def run(arguments: argparse.Namespace, mongo_url: str) -> None:
    import django

    django.setup()
    from django.test import Client

    from bench.bench_world import busiest_dataset, seed_bench_world
    from foundation.database import mongo

    summary = seed_bench_world(
        mongo_url=mongo_url,
        prefix="bench",
        cache_entries=arguments.cache_entries,
        jobs=arguments.jobs,
        seed=arguments.seed,
        max_age=0,
    )
    busiest = busiest_dataset()
    cache = mongo.cache_database()[mongo.CACHED_RESPONSES]
    middle = cache.find({"kind": "split-first-rows"}, {"_id": 1}).sort("_id", 1).skip(summary.cache_entries // 60)
    middle_cursor = str(next(middle)["_id"])
    routes = [
        ("dataset-status (busiest dataset)", f"/admin/dataset-status?dataset={busiest}"),
        ("dataset-status (unknown dataset)", "/admin/dataset-status?dataset=nobody/nothing"),
        ("num-dataset-infos-by-builder-name", "/admin/num-dataset-infos-by-builder-name"),
        ("cache-reports, first page", "/admin/cache-reports/split-first-rows"),
        ("cache-reports, page deep in the kind", f"/admin/cache-reports/split-first-rows?cursor={middle_cursor}"),
        ("cache-reports-with-content, first page", "/admin/cache-reports-with-content/split-first-rows"),
        ("blocked-datasets", "/admin/blocked-datasets"),
        ("pending-jobs (whole queue)", "/admin/pending-jobs"),
        ("dashboard page", "/admin/"),
        ("dataset page (busiest dataset)", f"/admin/dataset?dataset={busiest}"),
        ("cache page, first page", "/admin/cache?kind=split-first-rows"),
        ("jobs page", "/admin/jobs"),
    ]
    client = Client()
    over_target: list[str] = []
    print(f"\n{'route':<42} {'ours ms':>8} {'bare ms':>8} {'ratio':>6} {'commands':>9}  bytes")
    for name, url in routes:
        durations: list[float] = []
        bare: list[float] = []
        commands: Counter[str] = Counter()
        size = 0
        client.get(url)  # warm-up: imports, templates, connections
        for _ in range(arguments.repeat):
            COMMANDS.clear()
            begin = time.perf_counter()
            response = client.get(url)
            durations.append((time.perf_counter() - begin) * 1000)
            bare.append(COMMANDS.micros / 1000)
            assert response.status_code == 200, (url, response.status_code, response.content[:200])
            commands = Counter(COMMANDS.commands)
            size = len(response.content)
        detail = ", ".join(f"{count} {command}" for command, count in sorted(commands.items()))
        ours, floor = statistics.median(durations), statistics.median(bare)
        ratio = f"{ours / floor:.2f}" if floor > 0 else "-"
        if floor > 0 and ours / floor > RATIO_TARGET:
            over_target.append(f"{name} {ratio}x ({ours - floor:.1f} ms over its queries)")
        print(f"{name:<42} {ours:>8.1f} {floor:>8.1f} {ratio:>6} {sum(commands.values()):>9}  {size:,}  ({detail})")
    print(f"over {RATIO_TARGET}x its bare queries: {'; '.join(over_target) or 'none'}")
    if arguments.load_seconds > 0:
        load_routes = [
            ("healthcheck", "/healthcheck"),
            ("blocked-datasets", "/admin/blocked-datasets"),
            ("dataset-status (busiest dataset)", f"/admin/dataset-status?dataset={busiest}"),
            ("num-dataset-infos-by-builder-name", "/admin/num-dataset-infos-by-builder-name"),
            ("cache-reports, first page", "/admin/cache-reports/split-first-rows"),
            ("pending-jobs (whole queue)", "/admin/pending-jobs"),
        ]
        under_load(load_routes, mongo_url=mongo_url, seconds=arguments.load_seconds, rounds=arguments.load_rounds)
    if not arguments.keep:
        from bench.bench_world import drop_bench_world

        drop_bench_world(mongo_url)


def start(command: list[str], environ: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """Start a server and wait (60 s at most) until it answers /healthcheck."""
    process = subprocess.Popen(command, env=environ, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if connection.recv(100).startswith(b"HTTP/1.1 200"):
                    return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"{command} did not answer within 60s")


def body_of(port: int, path: str) -> bytes:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 200, (port, path, response.status, body[:200])
    return body


def requests_per_second(port: int, path: str, seconds: int) -> float:
    """wrk: 2 threads, 8 keep-alive connections, `seconds` long."""
    output = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "--timeout", "30s", f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    assert found, output
    return float(found.group(1))


def keep_alive_ms(port: int, path: str, count: int = 50) -> float:
    """Median time of the requests after the first on one keep-alive connection."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    durations = []
    for _ in range(count + 1):
        begin = time.perf_counter()
        connection.request("GET", path)
        connection.getresponse().read()
        durations.append((time.perf_counter() - begin) * 1000)
    connection.close()
    return statistics.median(durations[1:])


def under_load(routes: list[tuple[str, str]], *, mongo_url: str, seconds: int, rounds: int) -> None:
    """Ours and the Starlette reference, 2 workers each on the same databases, driven in turn by wrk."""
    from django.conf import settings

    if shutil.which("wrk") is None:
        print("\nwrk is not installed (Debian: apt-get install wrk): no load figures")
        return
    config = settings.ADMIN
    environ = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("ADMIN_", "PROMETHEUS_"))},
        "CACHE_MONGO_URL": mongo_url,
        "QUEUE_MONGO_URL": mongo_url,
        "CACHE_MONGO_DATABASE": config.cache_mongo_database,
        "QUEUE_MONGO_DATABASE": config.queue_mongo_database,
        "ADMIN_MAX_AGE": "0",
        # a 42 MB pending-jobs read at 1M takes longer than the 5 s default under load
        "ADMIN_MONGO_TIMEOUT_SECONDS": "120",
        "ADMIN_UVICORN_HOSTNAME": "127.0.0.1",
        "ADMIN_UVICORN_NUM_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
    }
    from demo.embedded_mongo import free_port

    ours_port, reference_port = free_port(), free_port()
    servers = {
        "ours": (
            ours_port,
            [sys.executable, "-m", "adminsite.server"],
            {**environ, "ADMIN_UVICORN_PORT": str(ours_port)},
        ),
        "starlette": (
            reference_port,
            [sys.executable, str(ROOT / "bench" / "starlette_reference.py"), "--port", str(reference_port)],
            environ,
        ),
    }
    print(
        f"\nunder load: wrk, 8 connections, {seconds}s a run, 2 workers each, same databases, "
        f"{rounds} round(s) of ours then Starlette per route (medians; the ratio is the median of the pairs)"
    )
    print(f"{'route':<42} {'ours req/s':>11} {'Starlette req/s':>16} {'ours/Starlette':>15}  pairs")
    processes = {
        server: start(command, server_environ, port) for server, (port, command, server_environ) in servers.items()
    }
    short: list[str] = []
    try:
        keep_alive: dict[str, float] = {}
        for name, path in routes:
            bodies = {server: body_of(port, path) for server, (port, _, _) in servers.items()}
            same = "" if bodies["ours"] == bodies["starlette"] else "  ANSWERS DIFFER"
            runs: dict[str, list[float]] = {server: [] for server in servers}
            for _ in range(rounds):  # in turn, so that a drift of the machine's speed hits both alike
                for server, (port, _, _) in servers.items():
                    runs[server].append(requests_per_second(port, path, seconds))
            pairs = [
                ours / reference for ours, reference in zip(runs["ours"], runs["starlette"], strict=True) if reference
            ]
            ours, reference = statistics.median(runs["ours"]), statistics.median(runs["starlette"])
            if not pairs or not ours:  # an answer slower than the run: wrk counts no request
                print(f"{name:<42} {ours:>11.1f} {reference:>16.1f} {'-':>15}{same}  (longer --load-seconds)")
                continue
            ratio = statistics.median(pairs)
            spread = ", ".join(f"{pair:.2f}" for pair in pairs)
            print(f"{name:<42} {ours:>11.1f} {reference:>16.1f} {ratio:>15.2f}{same}  {spread}")
            wanted = LIGHT_ROUTE_SHARE if name in LIGHT_ROUTES else 1.0
            if ratio < wanted:
                short.append(f"{name} {ratio:.2f} (wanted {wanted})")
        for server, (port, _, _) in servers.items():
            keep_alive[server] = keep_alive_ms(port, "/healthcheck")
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=30)
    print(f"short of the Starlette target: {'; '.join(short) or 'none'}")
    print(
        f"keep-alive /healthcheck, one connection: ours {keep_alive['ours']:.1f} ms, "
        f"Starlette {keep_alive['starlette']:.1f} ms (median of 50)"
    )


SIZES = {"100k": (100_000, 10_000), "1M": (1_000_000, 100_000)}
"""The worlds of `make bench`: cache entries and jobs."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-entries", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--big", action="store_true", help="1,000,000 cache entries and 100,000 jobs")
    parser.add_argument(
        "--size", choices=sorted(SIZES), help="a world of `make bench`: 100k (100k entries, 10k jobs) or 1M (--big)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="calls per route")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    parser.add_argument(
        "--load-rounds", type=int, default=None, help="runs of each server per route, in turn (3; 1 at 1M)"
    )
    parser.add_argument(
        "--load-seconds", type=int, default=None, help="wrk run per route and server (0: no load; 5, or 20 at 1M)"
    )
    arguments = parser.parse_args()
    if arguments.big:
        arguments.size = "1M"
    if arguments.size:
        arguments.cache_entries, arguments.jobs = SIZES[arguments.size]
    if arguments.load_seconds is None:
        # at 1M a pending-jobs answer (42 MB) takes seconds: a 5 s run may complete none
        arguments.load_seconds = 20 if arguments.cache_entries >= 1_000_000 else 5
    if arguments.load_rounds is None:
        arguments.load_rounds = 1 if arguments.cache_entries >= 1_000_000 else 3
    if arguments.cache_entries >= 1_000_000:
        # The engine peaked at 6.5 GB of memory for 1M entries and 100k jobs; the JVM's default
        # heap cap here is a quarter of the RAM (6.3 GB): at it, a run stopped at 400k entries
        # (the driver gave up on the engine).
        os.environ.setdefault("JAVA_TOOL_OPTIONS", "-Xmx14g")
    from demo.embedded_mongo import configured_or_embedded_mongo

    with configured_or_embedded_mongo(os.environ) as mongo_url:
        run(arguments, mongo_url)


if __name__ == "__main__":
    main()
