"""Time the dashboard and a recreate on a big cache (issue 12, "cost at scale").

    python bench/scale_costs.py                         # 100k cache entries in the embedded engine (mongo-java-server)
    python bench/scale_costs.py --cache-entries 20000   # quicker
    CACHE_MONGO_URL=mongodb://... python bench/scale_costs.py   # an empty MongoDB instead

The world is written by `seed_world` (the code of `manage.py seed_demo`). Then, through the
Django test client: one round of `manage.py collect_counts` (the dashboard's costly counts,
timed), the dashboard three times in a row, and `POST /admin/recreate-dataset`
of the dataset whose number of cache entries is closest to `--recreate-entries` (95 by
default), against a stub Hub on 127.0.0.1. After the recreate the metric rows of
`cacheTotalMetric` are compared with the entries counted one by one: they must still agree.
Each line gives the time, the database commands sent (the round trips) and what was done.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")


from bench.driver_commands import COMMANDS  # noqa: E402 (after ROOT is on the path; before any client)


class StubHub(BaseHTTPRequestHandler):
    """Every dataset exists, is public and supported, at one revision."""

    def do_GET(self) -> None:
        body = json.dumps({"sha": "b" * 40, "private": False, "disabled": False, "tags": [], "cardData": {}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


def timed(client: Any, method: str, url: str) -> tuple[float, Counter[str], Any]:
    COMMANDS.commands.clear()
    begin = time.perf_counter()
    response = client.get(url) if method == "GET" else client.post(url)
    elapsed = time.perf_counter() - begin
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return elapsed, Counter(COMMANDS.commands), response


def described(commands: Counter[str]) -> str:
    return f"{sum(commands.values())} ({', '.join(f'{n} {name}' for name, n in sorted(commands.items()))})"


def metric_rows_agree_with_entries() -> tuple[int, int, int]:
    """(entries counted one by one, total of the metric rows, number of rows that disagree)."""
    from foundation.database import mongo

    cache = mongo.cache_database()
    counted: Counter[tuple[Any, Any, Any]] = Counter()
    for entry in cache[mongo.CACHED_RESPONSES].find({}, {"kind": 1, "http_status": 1, "error_code": 1}):
        counted[(entry.get("kind"), entry.get("http_status"), entry.get("error_code"))] += 1
    rows: Counter[tuple[Any, Any, Any]] = Counter()
    for row in cache[mongo.CACHE_TOTAL_METRIC].find({}):
        rows[(row.get("kind"), row.get("http_status"), row.get("error_code"))] += int(row.get("total", 0))
    disagreeing = sum(1 for key in set(counted) | set(rows) if counted[key] != rows[key])
    return sum(counted.values()), sum(rows.values()), disagreeing


def run(arguments: argparse.Namespace, mongo_url: str) -> None:
    import dataclasses

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from demo.world import seed_world
    from foundation.database import mongo
    from foundation.database.indexes import ensure_all_indexes

    hub = ThreadingHTTPServer(("127.0.0.1", 0), StubHub)
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    assets = tempfile.mkdtemp(prefix="bench-assets-")
    suffix = str(int(time.time()))
    settings.ADMIN = dataclasses.replace(
        settings.ADMIN,
        cache_mongo_url=mongo_url,
        queue_mongo_url=mongo_url,
        cache_mongo_database=f"bench_cache_{suffix}",
        queue_mongo_database=f"bench_queue_{suffix}",
        hf_endpoint=f"http://127.0.0.1:{hub.server_address[1]}",
        hf_timeout_seconds=10.0,  # the stub answers at once; a loaded machine must not turn that into a 500
        assets_storage_root=Path(assets, "assets"),
        cached_assets_storage_root=Path(assets, "cached-assets"),
        max_age=0,
    )
    ensure_all_indexes()
    started = time.monotonic()
    summary = seed_world(datasets=None, cache_entries=arguments.cache_entries, jobs=arguments.jobs, seed=0)
    print(
        f"seeded {summary.datasets:,} datasets, {summary.cache_entries:,} cache entries, {summary.jobs:,} jobs"
        f" in {time.monotonic() - started:.1f}s"
    )
    client = Client()
    print(f"\n{'what':<44} {'seconds':>9}  commands")
    from django.core.management import call_command

    COMMANDS.commands.clear()
    began = time.perf_counter()
    call_command("collect_counts", verbosity=0)
    elapsed = time.perf_counter() - began
    print(f"{'collect_counts, one round':<44} {elapsed:>9.2f}  {described(Counter(COMMANDS.commands))}")
    for number in (1, 2, 3):
        elapsed, commands, _ = timed(client, "GET", "/admin/")
        print(f"{f'dashboard, load {number}':<44} {elapsed:>9.2f}  {described(commands)}")

    cache = mongo.cache_database()[mongo.CACHED_RESPONSES]
    sizes = list(cache.aggregate([{"$group": {"_id": "$dataset", "n": {"$sum": 1}}}]))
    target = min(sizes, key=lambda size: (abs(size["n"] - arguments.recreate_entries), str(size["_id"])))
    dataset, entries = str(target["_id"]), int(target["n"])
    elapsed, commands, response = timed(client, "POST", f"/admin/recreate-dataset?dataset={dataset}")
    deleted = response.json().get("deleted_cached_responses", entries)
    print(f"{f'recreate {dataset} ({deleted} entries)':<44} {elapsed:>9.2f}  {described(commands)}")
    counted, in_rows, disagreeing = metric_rows_agree_with_entries()
    print(f"\nafter the recreate: {counted:,} entries, {in_rows:,} in the metric rows, {disagreeing} rows disagree")
    hub.shutdown()
    if not arguments.keep:
        from bench.bench_world import drop_bench_world

        drop_bench_world(mongo_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-entries", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=2_000)
    parser.add_argument("--recreate-entries", type=int, default=95, help="size of the dataset to recreate")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    arguments = parser.parse_args()
    from demo.embedded_mongo import configured_or_embedded_mongo

    with configured_or_embedded_mongo(os.environ) as mongo_url:
        run(arguments, mongo_url)


if __name__ == "__main__":
    main()
