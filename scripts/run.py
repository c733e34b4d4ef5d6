"""`make run`: serve the console, on an embedded mongo-java-server with demo data when no MongoDB is set.

With CACHE_MONGO_URL or QUEUE_MONGO_URL in the environment, those servers are used as they
are (no seeding). Otherwise mongo-java-server is started on a free 127.0.0.1 port and loads
what was saved in .data/mongo, indexes are ensured, demo data is written on first start, and
the server runs until interrupted; the engine saves its databases and stops on the way out.

The demo world of the first start has DEMO_CACHE_ENTRIES cache entries (default 100,000) and
DEMO_JOBS jobs (default 10,000): the size at which every page must answer within 300 ms
(bench/pages.py). Later starts load the saved world whatever these say; to seed another size,
remove .data/mongo first (or point DEMO_DATA_DIR at another folder). Only a whole world is
saved: when the seeding does not finish (SIGTERM, Ctrl-C, a failure), nothing is saved and the
next start seeds again.

On the embedded engine and without COMMON_HF_ENDPOINT, a stand-in Hub of ours is served on
127.0.0.1 (`demo/stand_in_hub.py`): it knows the demo datasets, so force-refresh,
recreate and the backfill plan work offline. With COMMON_HF_ENDPOINT set, that Hub is used.

Beside the server, in every case, the collector runs a round every ADMIN_ACTIVITY_SAMPLE_SECONDS
(`manage.py collect_counts --every`, named in the start-up lines): the dashboard's costly counts
and the activity samples, which a deployment gets from its scheduled job instead.

On the embedded engine, a fleet of stand-in workers (`demo/fleet/`, one process) takes the
demo's jobs as the dataset viewer's workers would, so that the queue drains and the cache
moves: DEMO_WORKERS sets it (`2,2,1` light, medium, heavy by default; a total such as `5`;
`0` for none), DEMO_FAILURE_RATE the share of jobs that fail (0.1). Unless
ADMIN_STALE_JOB_SECONDS is set, the demo's console calls a job stale after 30 s without a
heartbeat (300 by default), so that the workers that die show within a minute.
DEMO_DATA_DIR is where the engine saves the world (default .data/mongo; the bench uses a fresh one).

SIGTERM (make forwards it) or Ctrl-C stops the server (whose supervisor stops its workers), the
collector and the fleet, then the engine: nothing is left running and the port is free. Killed
outright (SIGKILL), this script cannot stop them: every child is started with Linux's
parent-death signal (`demo/parent_death.py`): the kernel sends each one SIGTERM then. This
script asks the same of `make`, so that a `make` killed outright stops it the ordinary way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo.embedded_mongo import EmbeddedMongo, running_mongo, stop_on_sigterm, stop_process  # noqa: E402
from demo.fleet.process import FleetProcess, lower_stale_threshold, startup_line  # noqa: E402
from demo.fleet.settings import FleetSettingsError, fleet_settings_from  # noqa: E402
from demo.parent_death import command_dying_with_parent, die_with_parent  # noqa: E402
from demo.stand_in_hub import StandInHub, demo_world_revisions  # noqa: E402
from foundation.core.config import checked_config  # noqa: E402

DEMO_CACHE_ENTRIES = 100_000
DEMO_JOBS = 10_000


class DemoSizeError(Exception):
    """A demo size variable that is not a whole number."""


def demo_size(environ: dict[str, str], name: str, default: int) -> int:
    """The number in `name` (digits, `_` allowed), else `default`; DemoSizeError naming the variable."""
    value = environ.get(name, "").strip()
    if not value:
        return default
    digits = value.replace("_", "")
    if not (digits.isascii() and digits.isdigit()) or int(digits) < 1:  # not `²`, which isdigit() accepts
        raise DemoSizeError(f"{name}: expected a whole number of at least 1, got {value!r}")
    return int(digits)


def manage(*arguments: str, environ: dict[str, str]) -> None:
    command = command_dying_with_parent([sys.executable, str(ROOT / "manage.py"), *arguments])
    subprocess.run(command, check=True, env=environ, cwd=ROOT)


def seed_once(engine: EmbeddedMongo, *, cache_entries: int, jobs: int, environ: dict[str, str]) -> None:
    """The demo world, on the first start only; a seeding cut short is never saved.

    The engine saves what it holds when it stops: a world half written (SIGTERM or Ctrl-C
    during the seeding, or a failure) would be loaded by every later start, whose `--if-empty`
    then writes nothing. Not saving it leaves the databases empty for the next start.
    """
    try:
        manage("seed_demo", "--if-empty", "--cache-entries", str(cache_entries), "--jobs", str(jobs), environ=environ)
    except BaseException:
        engine.persistent = False
        raise


def start_collector(environ: dict[str, str]) -> subprocess.Popen[bytes]:
    """`collect_counts` a round every sample interval, quiet but for the rounds' failures."""
    every = checked_config(environ).activity_sample_seconds
    print(
        f"collector: manage.py collect_counts --every {every} (the dashboard's counts and the activity samples)",
        flush=True,
    )
    command = [sys.executable, str(ROOT / "manage.py"), "collect_counts", "--every", str(every), "--verbosity", "0"]
    return subprocess.Popen(command_dying_with_parent(command), env=environ, cwd=ROOT)


def serve(environ: dict[str, str]) -> int:
    """Run the server and the collector until the server exits, or until this process is told to stop.

    Either way both are stopped before this returns (the server first).
    """
    collector = start_collector(environ)
    server = subprocess.Popen(
        command_dying_with_parent([sys.executable, "-m", "adminsite.server"]), env=environ, cwd=ROOT
    )
    try:
        return server.wait()
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C, or SIGTERM (stop_on_sigterm)
        return 0
    finally:
        stop_process(server, grace_seconds=20)  # uvicorn's supervisor stops its workers on SIGTERM
        stop_process(collector, grace_seconds=10)  # a round writes whole documents: stopping loses none


def demo_data_dir(environ: dict[str, str]) -> Path:
    """Where the embedded engine saves the demo world: DEMO_DATA_DIR, else .data/mongo."""
    given = environ.get("DEMO_DATA_DIR", "").strip()
    return Path(given) if given else ROOT / ".data" / "mongo"


def main() -> int:
    stop_on_sigterm()
    die_with_parent()
    environ = dict(os.environ)
    # the workers share their request metrics there, so /admin/metrics counts all of them
    environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(ROOT / ".data" / "prometheus"))
    if environ.get("CACHE_MONGO_URL") or environ.get("QUEUE_MONGO_URL"):
        return serve(environ)  # a real MongoDB: no demo world, no stand-in Hub, no stand-in workers
    try:
        cache_entries = demo_size(environ, "DEMO_CACHE_ENTRIES", DEMO_CACHE_ENTRIES)
        jobs = demo_size(environ, "DEMO_JOBS", DEMO_JOBS)
        fleet = fleet_settings_from(environ)
    except (DemoSizeError, FleetSettingsError) as error:
        print(error, file=sys.stderr)
        return 1
    data_dir = demo_data_dir(environ)
    with running_mongo(data_dir, dies_with_parent=True) as server:
        print(f"embedded mongo-java-server on {server.url} (data in {data_dir})", flush=True)
        environ["CACHE_MONGO_URL"] = environ["QUEUE_MONGO_URL"] = server.url
        manage("ensure_indexes", environ=environ)
        # on first start only: a world the size of the 300 ms target, or DEMO_CACHE_ENTRIES / DEMO_JOBS
        seed_once(server, cache_entries=cache_entries, jobs=jobs, environ=environ)
        with ExitStack() as stack:
            if not environ.get("COMMON_HF_ENDPOINT"):
                config = checked_config(environ)
                revisions = demo_world_revisions(
                    server.url, cache_database=config.cache_mongo_database, queue_database=config.queue_mongo_database
                )
                hub = stack.enter_context(StandInHub(revisions, organization=config.hf_organization))
                print(
                    f"stand-in Hub on {hub.url} (loopback, ours: knows the demo datasets only; "
                    "set COMMON_HF_ENDPOINT to use a real Hub)",
                    flush=True,
                )
                environ["COMMON_HF_ENDPOINT"] = hub.url
            if fleet.workers.total:
                print(startup_line(fleet), flush=True)
                print(lower_stale_threshold(environ), flush=True)
                stack.enter_context(FleetProcess(fleet, environ=environ))
            else:
                print("stand-in workers: none (DEMO_WORKERS=0): the demo's queue stays as it is", flush=True)
            return serve(environ)


if __name__ == "__main__":
    sys.exit(main())
