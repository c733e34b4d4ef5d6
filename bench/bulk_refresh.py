"""Time a bulk refresh of 10,000 matching cache entries against a fake Hub on loopback.

    python bench/bulk_refresh.py                          # 10,000 entries in 1,000 datasets, batches of 1,000
    python bench/bulk_refresh.py --entries 2000 --datasets 100 --limit 100
    CACHE_MONGO_URL=mongodb://... python bench/bulk_refresh.py   # a real MongoDB instead of the embedded server

The entries are broken `config-parquet-and-info` entries (10 configs a dataset), written into
fresh databases with the indexes ensured. The fake Hub is a threaded HTTP server on 127.0.0.1
that answers every dataset as public at one revision and counts the requests. The run is
POST /admin/bulk-refresh (dry_run=false) through the Django test client, cursor after cursor,
as the page and the command do. Printed: entries per second, Hub calls, database commands.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")

KIND = "config-parquet-and-info"
SHA = "b" * 40


from bench.driver_commands import COMMANDS  # noqa: E402 (after ROOT is on the path; before any client)


class FakeHub(BaseHTTPRequestHandler):
    """`GET /api/datasets/{name}`: a public dataset at SHA; counts every request."""

    calls = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        with FakeHub.lock:
            FakeHub.calls += 1
        name = self.path.removeprefix("/api/datasets/")
        body = json.dumps(
            {"id": name, "sha": SHA, "private": False, "disabled": False, "tags": [], "cardData": {}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def run(arguments: argparse.Namespace, mongo_url: str) -> None:
    import dataclasses
    import logging

    import django

    django.setup()
    logging.getLogger("adminsite").setLevel(logging.WARNING)  # one request and one write line per batch otherwise
    from django.conf import settings
    from django.test import Client

    from cachereports.documents import cache_entry_document
    from foundation.database import mongo
    from foundation.database.indexes import ensure_all_indexes

    hub = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    suffix = str(int(time.time()))
    settings.ADMIN = dataclasses.replace(
        settings.ADMIN,
        cache_mongo_url=mongo_url,
        queue_mongo_url=mongo_url,
        cache_mongo_database=f"bench_cache_{suffix}",
        queue_mongo_database=f"bench_queue_{suffix}",
        hf_endpoint=f"http://127.0.0.1:{hub.server_address[1]}",
        hf_timeout_seconds=10.0,
        hf_organization=None,
    )
    try:
        ensure_all_indexes()
        configs = max(1, arguments.entries // arguments.datasets)
        entries = [
            cache_entry_document(
                kind=KIND,
                dataset=f"bench/ds{number // configs:05d}",
                config=f"config{number % configs}",
                http_status=500,
                error_code="DatasetGenerationError",
                details={"cause_exception": "ValueError", "cause_message": "bench"},
                job_runner_version=1,
            )
            for number in range(arguments.entries)
        ]
        mongo.cache_database()[mongo.CACHED_RESPONSES].insert_many(entries)
        print(f"seeded {len(entries):,} matching entries in {arguments.datasets:,} datasets")

        client, cursor, batches, processed, created = Client(), "", 0, 0, 0
        COMMANDS.commands.clear()
        started = time.perf_counter()
        while True:
            query = {"kind": KIND, "error_code": "DatasetGenerationError", "limit": arguments.limit, "dry_run": "false"}
            response = client.post(f"/admin/bulk-refresh?{urlencode(query | {'cursor': cursor})}")
            assert response.status_code == 200, response.content[:300]
            answer = response.json()
            assert not answer["skipped"], answer["skipped"][:3]
            batches, processed, created = batches + 1, processed + answer["processed"], created + answer["created_jobs"]
            print(f"\r  {processed:,}/{answer['matched']:,} entries", end="", flush=True)
            cursor = answer["next_cursor"]
            if not cursor:
                break
        seconds = time.perf_counter() - started
        print()
        jobs = mongo.queue_database()[mongo.JOBS].count_documents({})
        commands = sum(COMMANDS.commands.values())
        print(
            f"{processed:,} entries in {batches} batches of {arguments.limit} in {seconds:.1f}s:"
            f" {processed / seconds:,.0f} entries/s"
        )
        print(f"Hub calls: {FakeHub.calls:,} (one per dataset of each batch)")
        print(f"jobs created: {created:,} (in the queue: {jobs:,})")
        print(
            f"database commands: {commands:,} ({commands / max(processed, 1):.1f} per entry): "
            + ", ".join(f"{count:,} {name}" for name, count in COMMANDS.commands.most_common())
        )
    finally:
        hub.shutdown()
        if not arguments.keep:
            from bench.bench_world import drop_bench_world

            drop_bench_world(mongo_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--datasets", type=int, default=1_000)
    parser.add_argument("--limit", type=int, default=1_000, help="entries per call (1..1000)")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    arguments = parser.parse_args()
    from demo.embedded_mongo import configured_or_embedded_mongo

    with configured_or_embedded_mongo(os.environ) as mongo_url:
        run(arguments, mongo_url)


if __name__ == "__main__":
    main()
