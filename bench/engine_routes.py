"""Time the console's routes on one MongoDB-protocol engine, given its URL (issue 13, choosing the engine).

    python bench/engine_routes.py mongodb://127.0.0.1:27017 --entries 100000

Engine-agnostic: the world is written by the project's own `manage.py ensure_indexes` and `seed_demo --cache-entries N
--jobs J` into two fresh databases on that URL (CACHE_MONGO_URL/QUEUE_MONGO_URL and
CACHE_MONGO_DATABASE/QUEUE_MONGO_DATABASE in its environment), then the routes are called in
process through Django's test client with the same settings, as `bench/read_endpoints.py` does
(its command counter counts the round trips). Per route: the median of --repeat calls after one
warm-up call, stopped early after --budget seconds; then the resident memory (now and peak) of
the process listening on the URL's port, when it is a local process of ours.
The databases are dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")

from bench.driver_commands import COMMANDS  # noqa: E402 (after ROOT is on the path; before any client)


@dataclass
class Timing:
    name: str
    median_ms: float
    first_ms: float
    calls: int
    commands: int
    size: int
    digest: str


def seed(url: str, cache_database: str, queue_database: str, entries: int, jobs: int, timeout: float) -> float:
    """`manage.py ensure_indexes`, then `seed_demo`, into the fresh databases (as `make run` does); seconds."""
    environment = dict(
        os.environ,
        CACHE_MONGO_URL=url,
        QUEUE_MONGO_URL=url,
        CACHE_MONGO_DATABASE=cache_database,
        QUEUE_MONGO_DATABASE=queue_database,
    )
    started = time.monotonic()
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "ensure_indexes"], env=environment, check=True, timeout=timeout)
    subprocess.run(
        [
            *manage,
            "seed_demo",
            "--cache-entries",
            str(entries),
            "--jobs",
            str(jobs),
            "--no-progress",
        ],
        env=environment,
        check=True,
        timeout=timeout,
    )
    return time.monotonic() - started


def listening_pid(port: int) -> int | None:
    """The pid of the local process listening on 127.0.0.1:`port` (ours, readable in /proc), if any."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{inode}]")
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            for descriptor in (process / "fd").iterdir():
                if os.readlink(descriptor) in inodes:
                    return int(process.name)
        except OSError:
            continue
    return None


def memory_of(pid: int) -> str:
    """VmRSS and VmHWM (peak) of the process and its children, in MB."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    rss = peak = 0
    for each in pids:
        try:
            status = dict(
                line.split(":", 1) for line in Path(f"/proc/{each}/status").read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        rss += int(status.get("VmRSS", "0 kB").split()[0])
        peak += int(status.get("VmHWM", "0 kB").split()[0])
    return f"RSS {rss / 1024:,.0f} MB, peak {peak / 1024:,.0f} MB (pid {pid}, {len(pids)} process(es))"


def time_route(client: object, name: str, url: str, repeat: int, budget: float) -> Timing:
    from django.test import Client

    assert isinstance(client, Client)
    began = time.monotonic()
    COMMANDS.commands.clear()
    start = time.perf_counter()
    response = client.get(url)
    first_ms = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    commands: Counter[str] = Counter(COMMANDS.commands)
    durations: list[float] = []
    while len(durations) < repeat and time.monotonic() - began < budget:
        start = time.perf_counter()
        response = client.get(url)
        durations.append((time.perf_counter() - start) * 1000)
    return Timing(
        name=name,
        median_ms=statistics.median(durations) if durations else first_ms,
        first_ms=first_ms,
        calls=len(durations),
        commands=sum(commands.values()),
        size=len(response.content),
        digest=hashlib.sha256(response.content).hexdigest()[:12],
    )


def run(arguments: argparse.Namespace) -> None:
    suffix = f"{os.getpid()}_{int(time.time())}"
    cache_database, queue_database = f"bench_cache_{suffix}", f"bench_queue_{suffix}"
    port = urlsplit(arguments.url).port or 27017
    pid = arguments.server_pid or listening_pid(port)
    print(f"{arguments.url}: {arguments.entries:,} cache entries, {arguments.jobs:,} jobs into {cache_database}")
    seconds = seed(arguments.url, cache_database, queue_database, arguments.entries, arguments.jobs, arguments.timeout)
    print(f"seeded in {seconds:.1f}s" + (f"; server {memory_of(pid)}" if pid else ""), flush=True)

    os.environ.update(
        CACHE_MONGO_URL=arguments.url,
        QUEUE_MONGO_URL=arguments.url,
        CACHE_MONGO_DATABASE=cache_database,
        QUEUE_MONGO_DATABASE=queue_database,
        ADMIN_MAX_AGE="0",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
    )
    import django

    django.setup()
    from django.test import Client

    from foundation.database import mongo

    try:
        from bench.bench_world import busiest_dataset

        busiest = busiest_dataset()
        routes = [
            ("dataset-status (busiest dataset)", f"/admin/dataset-status?dataset={busiest}"),
            ("cache-reports, first page", "/admin/cache-reports/split-first-rows"),
            ("num-dataset-infos-by-builder-name", "/admin/num-dataset-infos-by-builder-name"),
            ("pending-jobs (whole queue)", "/admin/pending-jobs"),
            ("dashboard page", "/admin/"),
            ("dataset page (busiest dataset)", f"/admin/dataset?dataset={busiest}"),
        ]
        client = Client()
        client.get("/healthcheck")
        print(f"\n{'route':<36} {'median ms':>10} {'first ms':>9} {'calls':>6} {'commands':>9} {'bytes':>10}  sha256")
        for name, url in routes:
            timing = time_route(client, name, url, arguments.repeat, arguments.budget)
            print(
                f"{timing.name:<36} {timing.median_ms:>10.1f} {timing.first_ms:>9.1f} {timing.calls:>6}"
                f" {timing.commands:>9} {timing.size:>10,}  {timing.digest}",
                flush=True,
            )
        if pid:
            print(f"\nserver {memory_of(pid)}")
    finally:
        if not arguments.keep:
            database_client = mongo.client_for(arguments.url)
            database_client.drop_database(cache_database)
            database_client.drop_database(queue_database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="a MongoDB URL on 127.0.0.1")
    parser.add_argument("--entries", type=int, default=100_000, help="cache entries (default 100,000)")
    parser.add_argument("--jobs", type=int, default=10_000, help="waiting/started jobs (default 10,000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per route after the warm-up (default 5)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of timed calls per route at most")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds the seeding may take at most")
    parser.add_argument("--server-pid", type=int, default=None, help="the server's pid (default: found by port)")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
