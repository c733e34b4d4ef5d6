"""Is a MongoDB-protocol engine atomic where the console relies on it? (issue 13, choosing the engine)

    python bench/engine_atomicity.py mongodb://127.0.0.1:27017 --rounds 10

Engine-agnostic: it only needs a URL (loopback) and writes into a fresh database that it drops
afterwards. Each round runs three cases, each bounded by --case-timeout:

- `$inc`: 500 `$inc` of one document from 8 clients (threads, each with its own MongoClient,
  or processes with --processes) started together: the final count must be 500.
- lock: 50 takers (each its own MongoClient) try once, together, to take one lock key with the
  workers' protocol (REFERENCE.md "locks", `jobs/locks.py`): upsert on
  `{_id: key, owner: {$in: [None, me]}}` (the console's filter, with its `$or` for an expired
  lock) setting `owner: me`; a DuplicateKeyError means "held". Exactly 1 must get it, and the
  document's owner must be that taker. Twice: a new key (the takers race on the insert), and a
  released one (the document is there with `owner: None`: the takers race on the update).
- unique: a unique index on `k` refuses a second insert of the same `k`, and of 8 concurrent
  inserts of one `k` exactly 1 lands.

Prints one line per round and a summary; exit status 0 when every round of every case held.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

INC_TOTAL = 500
INC_CLIENTS = 8
LOCK_TAKERS = 50
UNIQUE_WRITERS = 8
LOCK_TTL_SECONDS = 600

Document = dict[str, Any]


def connect(url: str) -> MongoClient[Document]:
    """A client of its own (no pooling across clients), with bounded waits so a case cannot hang."""
    return MongoClient(
        url,
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=5_000,
        socketTimeoutMS=30_000,
        tz_aware=True,
        appname="engine-atomicity-bench",
    )


@dataclass
class Outcome:
    ok: bool
    text: str


def run_together(
    count: int, work: Callable[[int, threading.Barrier], Any], timeout: float
) -> tuple[list[Any], list[BaseException]]:
    """Run `work(i, barrier)` in `count` threads released together; results and errors, bounded by `timeout`."""
    barrier = threading.Barrier(count, timeout=timeout)
    pool = ThreadPoolExecutor(max_workers=count)
    futures: list[Future[Any]] = [pool.submit(work, i, barrier) for i in range(count)]
    _, not_done = wait(futures, timeout=timeout, return_when=FIRST_EXCEPTION)
    if not_done:
        wait(not_done, timeout=max(0.0, timeout - 0.1))
    pool.shutdown(wait=False, cancel_futures=True)
    results: list[Any] = []
    errors: list[BaseException] = []
    for future in futures:
        if not future.done():
            errors.append(TimeoutError("did not finish within the case timeout"))
        elif future.exception() is not None:
            errors.append(future.exception())  # type: ignore[arg-type]
        else:
            results.append(future.result())
    return results, errors


def _inc_share(index: int) -> int:
    return INC_TOTAL // INC_CLIENTS + (1 if index < INC_TOTAL % INC_CLIENTS else 0)


def _inc_worker(url: str, database: str, key: str, index: int, barrier: threading.Barrier | Any) -> int:
    client = connect(url)
    try:
        collection = client[database]["counters"]
        collection.database.command("ping")
        barrier.wait()
        for _ in range(_inc_share(index)):
            collection.update_one({"_id": key}, {"$inc": {"n": 1}})
        return _inc_share(index)
    finally:
        client.close()


def _inc_process(url: str, database: str, key: str, index: int, start: Any) -> int:
    return _inc_worker(url, database, key, index, start)


def case_inc(url: str, database: str, round_number: int, timeout: float, processes: bool) -> Outcome:
    key = f"inc-{round_number}"
    client = connect(url)
    try:
        collection = client[database]["counters"]
        collection.insert_one({"_id": key, "n": 0})
        errors: list[BaseException] = []
        if processes:
            context = multiprocessing.get_context("spawn")
            with context.Manager() as manager:
                start = manager.Barrier(INC_CLIENTS, timeout=timeout)
                with context.Pool(INC_CLIENTS) as pool:
                    pending = [
                        pool.apply_async(_inc_process, (url, database, key, index, start))
                        for index in range(INC_CLIENTS)
                    ]
                    deadline = time.monotonic() + timeout
                    for result in pending:
                        try:
                            result.get(timeout=max(0.1, deadline - time.monotonic()))
                        except Exception as error:  # a timeout or the worker's error
                            errors.append(error)
        else:
            _, errors = run_together(
                INC_CLIENTS, lambda index, barrier: _inc_worker(url, database, key, index, barrier), timeout
            )
        document = collection.find_one({"_id": key}) or {}
        final = document.get("n")
    finally:
        client.close()
    suffix = f" ({len(errors)} client errors: {errors[0]!r})" if errors else ""
    return Outcome(final == INC_TOTAL and not errors, f"$inc {final}/{INC_TOTAL}{suffix}")


def _lock_filter(key: str, owner: str, now: datetime) -> Document:
    """The console's filter (jobs/locks.py): free, ours, or expired (what a TTL index would allow)."""
    expired = {"ttl": LOCK_TTL_SECONDS, "updated_at": {"$lt": now - timedelta(seconds=LOCK_TTL_SECONDS)}}
    return {"_id": key, "$or": [{"owner": {"$in": [None, owner]}}, expired]}


def case_lock(url: str, database: str, round_number: int, timeout: float, released: bool) -> Outcome:
    """`released`: the lock document is already there with `owner: None` (a lock given back, the common case)."""
    key = f"lock-{round_number}-{'released' if released else 'new'}"
    if released:
        setup = connect(url)
        try:
            now = datetime.now(UTC)
            setup[database]["locks"].insert_one(
                {"_id": key, "owner": None, "ttl": LOCK_TTL_SECONDS, "created_at": now, "updated_at": now}
            )
        finally:
            setup.close()

    def take(index: int, barrier: threading.Barrier) -> str | None:
        owner = str(uuid.uuid4())
        client = connect(url)
        try:
            locks = client[database]["locks"]
            locks.database.command("ping")
            barrier.wait()
            now = datetime.now(UTC)
            try:
                locks.update_one(
                    _lock_filter(key, owner, now),
                    {
                        "$set": {"owner": owner, "updated_at": now, "ttl": LOCK_TTL_SECONDS},
                        "$setOnInsert": {"created_at": now},
                    },
                    upsert=True,
                )
            except DuplicateKeyError:
                return None
            return owner
        finally:
            client.close()

    results, errors = run_together(LOCK_TAKERS, take, timeout)
    takers = [owner for owner in results if owner is not None]
    client = connect(url)
    try:
        documents = list(client[database]["locks"].find({"_id": key}))
    finally:
        client.close()
    owner_is_a_taker = len(documents) == 1 and documents[0].get("owner") in takers
    ok = len(takers) == 1 and owner_is_a_taker and not errors
    text = (
        f"{'released' if released else 'new'} lock: takers {len(takers)}/{LOCK_TAKERS}, {len(documents)} doc(s),"
        f" owner is a taker: {owner_is_a_taker}"
    )
    if errors:
        text += f" ({len(errors)} errors: {errors[0]!r})"
    return Outcome(ok, text)


def case_unique(url: str, database: str, round_number: int, timeout: float) -> Outcome:
    name = f"unique_{round_number}"
    client = connect(url)
    try:
        collection = client[database][name]
        collection.create_index("k", unique=True)
        collection.insert_one({"k": "sequential"})
        try:
            collection.insert_one({"k": "sequential"})
            sequential = False
        except DuplicateKeyError:
            sequential = True

        def insert(index: int, barrier: threading.Barrier) -> bool:
            own = connect(url)
            try:
                target = own[database][name]
                target.database.command("ping")
                barrier.wait()
                try:
                    target.insert_one({"k": "concurrent", "writer": index})
                except DuplicateKeyError:
                    return False
                return True
            finally:
                own.close()

        results, errors = run_together(UNIQUE_WRITERS, insert, timeout)
        landed = collection.count_documents({"k": "concurrent"})
        accepted = sum(results)
    finally:
        client.close()
    ok = sequential and landed == 1 and accepted == 1 and not errors
    text = (
        f"unique index: 2nd insert refused {'yes' if sequential else 'NO'}, "
        f"concurrent inserts landed {landed}/{UNIQUE_WRITERS}"
    )
    if errors:
        text += f" ({len(errors)} errors: {errors[0]!r})"
    return Outcome(ok, text)


def guarded(case: Callable[..., Outcome], *arguments: Any) -> Outcome:
    try:
        return case(*arguments)
    except PyMongoError as error:
        return Outcome(False, f"error {error!r}"[:300])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="a MongoDB URL on 127.0.0.1")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--case-timeout", type=float, default=60.0, help="seconds each case may take")
    parser.add_argument("--processes", action="store_true", help="the 8 $inc clients are processes, not threads")
    arguments = parser.parse_args()
    database = f"bench_atomicity_{os.getpid()}_{int(time.time())}"
    totals = {"inc": 0, "lock": 0, "released lock": 0, "unique": 0}
    clients = "processes" if arguments.processes else "threads"
    print(f"{arguments.url}: {arguments.rounds} rounds; $inc from {INC_CLIENTS} {clients}, database {database}")
    try:
        for number in range(1, arguments.rounds + 1):
            started = time.monotonic()
            timeout = arguments.case_timeout
            inc = guarded(case_inc, arguments.url, database, number, timeout, arguments.processes)
            lock = guarded(case_lock, arguments.url, database, number, timeout, False)
            released = guarded(case_lock, arguments.url, database, number, timeout, True)
            unique = guarded(case_unique, arguments.url, database, number, timeout)
            outcomes = {"inc": inc, "lock": lock, "released lock": released, "unique": unique}
            for name, outcome in outcomes.items():
                totals[name] += outcome.ok
            texts = "; ".join(outcome.text for outcome in outcomes.values())
            print(f"round {number:>2}: {texts}  [{time.monotonic() - started:.1f}s]", flush=True)
    finally:
        cleanup = connect(arguments.url)
        try:
            cleanup.drop_database(database)
        except PyMongoError as error:
            print(f"could not drop {database}: {error!r}", file=sys.stderr)
        finally:
            cleanup.close()
    rounds = arguments.rounds
    print(
        f"summary: $inc exact in {totals['inc']}/{rounds} rounds, exactly one taker of a new lock in"
        f" {totals['lock']}/{rounds}, of a released lock in {totals['released lock']}/{rounds},"
        f" unique index enforced in {totals['unique']}/{rounds}"
    )
    return 0 if all(total == rounds for total in totals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
