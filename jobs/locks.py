"""Mutual exclusion across services and processes, with the `locks` collection of the queue.

The protocol is upstream's (`libcommon.queue.lock`): to take the lock `key`, upsert
`{_id: key, owner: {$in: [None, me]}}` setting `owner: me`; when someone else holds it, the
filter does not match and the upsert's insert collides on `_id`: a DuplicateKeyError means
"held". Release sets `owner` to None. The other services use no transactions and `jobsBlue`
must not get a unique index, so this is how "no duplicate waiting job" holds even across processes.

The job lock's key is the job's `unicity_id` with `ttl` 600, exactly as the workers take it
when they start a job (`Queue._start_newest_job_and_delete_others`): the console and the
workers exclude each other on the same artifact. On MongoDB a TTL index drops a lock 600 s
after its last update; the embedded engines expire nothing (mongo-java-server lists a TTL index
but never applies it, FerretDB 1.24 has none), so a lock whose holder died (its
`updated_at` older than its ttl) is taken over here, which is what the TTL index would allow.

Our own locks are named `adminsite:<uuid>` and live much shorter: our critical sections (a
few finds, inserts and counters) last well under a second, so a lock of ours not updated for
OUR_LOCK_LIFETIME_SECONDS was left by a process that died (a database killed mid-way, a
server process killed) and is taken over at once, instead of blocking the artifact for 600 s.
The document still says `ttl: 600`, the value the workers' partial TTL index matches, so on
MongoDB it is dropped as before. A lock of anyone else is never taken before its own ttl.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError

from foundation.core.errors import AdminError
from foundation.database import deferred_writes, mongo

logger = logging.getLogger(__name__)

LOCK_TTL_SECONDS_TO_START_JOB = 600
"""Upstream's ttl of the lock on a unicity_id (its TTL index drops the lock after that)."""

OWNER_PREFIX = "adminsite:"
"""How the owner of a lock of ours starts (a worker's owner is a job id): what tells ours apart."""

OUR_LOCK_LIFETIME_SECONDS = 30
"""A lock of ours not updated for this long is stale: its holder is gone. Blocks stay far below."""

LOCK_DEADLINE_SECONDS = 2.0
"""How long a write waits for a lock before giving up: a couple of seconds, as the workers wait 2 s
(20 tries 0.1 s apart) to start a job. A wait happens inside a request thread: a lock held longer
is answered at once with LockTimeoutError (a bulk refresh skips that dataset with the reason)."""


def dataset_lock_key(dataset: str) -> str:
    """The console's lock on one dataset: `admin-dataset,{dataset}`.

    Held alone (exclusive) by a recreate and a backfill of the dataset; shared by the writes
    that may run side by side (force-refreshes, bulk refreshes: `shared_dataset_lock`), so
    that a recreate and a refresh of the same dataset do not interleave, while refreshes of
    one dataset do not queue behind each other.

    No step is named `admin-dataset`, so the key cannot be a job's unicity_id.
    """
    return f"admin-dataset,{dataset}"


SHARED_MARK = ",shared,"
"""`admin-dataset,{dataset},shared,{owner}`: the mark of one shared holder of a dataset's lock."""


DUPLICATE_KEY = 11000
"""The server's error code when an upsert's insert collides on `_id`: the lock is held."""

_FIRST_SLEEP_SECONDS = 0.01
_MAX_SLEEP_SECONDS = 0.05
"""Polls of a held lock at most this far apart (the workers poll every 0.1 s): a lock given back is
taken again within a few tens of milliseconds, so that callers queued on one dataset do not wait
out their couple of seconds idle."""


class LockTimeoutError(AdminError):
    """The lock `key` stayed held by someone else until the deadline: the block it guards did not run.

    Its message says "nothing was changed" (true of the block); an operation that had already
    written something before asking for this lock answers another message, with what it did.
    """

    status_code = 500

    def __init__(self, *, key: str, waited_seconds: float, outcome: str = "nothing was changed.") -> None:
        self.key = key
        self.waited_seconds = waited_seconds
        super().__init__(f"{self.reason()}: {outcome}")

    def reason(self) -> str:
        """`Another process is working on '<key>'; gave up after 2s`, the message without its outcome."""
        return f"Another process is working on {self.key!r}; gave up after {self.waited_seconds:g}s"


def new_owner() -> str:
    return f"{OWNER_PREFIX}{uuid4()}"


def _takeable(*, key: str, owner: str, ttl_seconds: int, now: datetime) -> dict[str, Any]:
    """The filter of a lock we may take: free or ours already, a stale one of ours, or past its ttl."""
    ours_and_stale = {
        "owner": {"$regex": f"^{OWNER_PREFIX}"},
        "updated_at": {"$lt": now - timedelta(seconds=OUR_LOCK_LIFETIME_SECONDS)},
    }
    expired = {"ttl": ttl_seconds, "updated_at": {"$lt": now - timedelta(seconds=ttl_seconds)}}
    return {"_id": key, "$or": [{"owner": {"$in": [None, owner]}}, ours_and_stale, expired]}


def _try_acquire(*, key: str, owner: str, ttl_seconds: int) -> bool:
    now = mongo.utc_now()
    try:
        mongo.queue_database()[mongo.LOCKS].update_one(
            _takeable(key=key, owner=owner, ttl_seconds=ttl_seconds, now=now),
            {"$set": {"owner": owner, "updated_at": now, "ttl": ttl_seconds}, "$setOnInsert": {"created_at": now}},
            upsert=True,
        )
    except DuplicateKeyError:
        return False
    return True


def release(*, key: str, owner: str) -> None:
    """Give the lock back, if we still hold it (as upstream: `owner` set to None)."""
    release_many(keys=[key], owner=owner)


def _give_back(*, locks: Collection[mongo.MongoDocument], keys: list[str], owner: str, database_lost: bool) -> None:
    """Release `keys` at the end of a block; when the database is away, in the background once it is back."""
    if not keys:
        return

    def give_back() -> None:
        locks.update_many(
            {"_id": {"$in": keys}, "owner": owner}, {"$set": {"owner": None, "updated_at": mongo.utc_now()}}
        )

    what = f"give back {len(keys)} lock(s) of ours ({keys[0]!r}{', ...' if len(keys) > 1 else ''})"
    _end_of_block(what=what, write=give_back, database_lost=database_lost)


def _end_of_block(*, what: str, write: Callable[[], object], database_lost: bool) -> None:
    """Run the idempotent write that ends a block; when the database is away, in the background once it is back.

    After a block that lost the database, no attempt is made here (it would wait the whole
    server-selection timeout again inside the request): the write is deferred at once.
    """
    if database_lost:
        deferred_writes.retry_later(what=what, write=write)
        return
    try:
        write()
    except ConnectionFailure:
        deferred_writes.retry_later(what=what, write=write)
    except Exception:
        # The block's own outcome matters more; the lock expires after its ttl anyway.
        logger.exception("could not %s", what)


@contextmanager
def held_lock(
    *,
    key: str,
    ttl_seconds: int = LOCK_TTL_SECONDS_TO_START_JOB,
    deadline_seconds: float | None = None,
) -> Iterator[str]:
    """Hold the lock `key` for the block (yields the owner id); LockTimeoutError after the deadline.

    The block must stay short (far below OUR_LOCK_LIFETIME_SECONDS): past it, another process
    of ours would take the lock over. The deadline defaults to LOCK_DEADLINE_SECONDS.
    """
    owner = new_owner()
    if deadline_seconds is None:
        deadline_seconds = LOCK_DEADLINE_SECONDS
    deadline = time.monotonic() + deadline_seconds
    sleep = _FIRST_SLEEP_SECONDS
    while not _try_acquire(key=key, owner=owner, ttl_seconds=ttl_seconds):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LockTimeoutError(key=key, waited_seconds=deadline_seconds)
        time.sleep(min(remaining, sleep * (0.5 + random.random())))  # noqa: S311 (jitter, not security)
        sleep = min(sleep * 2, _MAX_SLEEP_SECONDS)
    locks = mongo.queue_database()[mongo.LOCKS]
    try:
        yield owner
    except ConnectionFailure:
        _give_back(locks=locks, keys=[key], owner=owner, database_lost=True)
        raise
    except BaseException:
        _give_back(locks=locks, keys=[key], owner=owner, database_lost=False)
        raise
    _give_back(locks=locks, keys=[key], owner=owner, database_lost=False)


def _try_acquire_many(*, keys: list[str], owner: str, ttl_seconds: int) -> set[str]:
    """Take each lock of `keys` in one unordered bulk write; return the keys someone else holds."""
    now = mongo.utc_now()
    requests = [
        UpdateOne(
            _takeable(key=key, owner=owner, ttl_seconds=ttl_seconds, now=now),
            {"$set": {"owner": owner, "updated_at": now, "ttl": ttl_seconds}, "$setOnInsert": {"created_at": now}},
            upsert=True,
        )
        for key in keys
    ]
    try:
        mongo.queue_database()[mongo.LOCKS].bulk_write(requests, ordered=False)
    except BulkWriteError as error:
        write_errors = error.details.get("writeErrors", [])
        if any(write_error.get("code") != DUPLICATE_KEY for write_error in write_errors) or not write_errors:
            raise
        return {keys[write_error["index"]] for write_error in write_errors}
    return set()


def release_many(*, keys: list[str], owner: str) -> None:
    """Give back every lock of `keys` we still hold, in one update."""
    if keys:
        mongo.queue_database()[mongo.LOCKS].update_many(
            {"_id": {"$in": keys}, "owner": owner}, {"$set": {"owner": None, "updated_at": mongo.utc_now()}}
        )


class LockSet:
    """The locks one operation holds, all under one owner: more can be taken while it runs.

    An operation that spans several writes (a recreate: the dataset's lock, then every waiting
    job's, then the `dataset-init` job's) takes what it needs before it writes anything, and
    may take more on the way (a job queued meanwhile). A key already held is not asked again.
    Everything is given back at the end of `lock_set()`.
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.keys: set[str] = set()

    def take(
        self,
        keys: Iterable[str],
        *,
        ttl_seconds: int = LOCK_TTL_SECONDS_TO_START_JOB,
        deadline_seconds: float | None = None,
    ) -> None:
        """Take every lock of `keys` not held yet (one bulk write a try), waiting up to the deadline.

        LockTimeoutError when one stays held elsewhere: the locks this call took are given
        back (those taken before stay held), so the set is as it was.
        """
        if deadline_seconds is None:
            deadline_seconds = LOCK_DEADLINE_SECONDS
        wanted = sorted(set(keys) - self.keys)
        deadline = time.monotonic() + deadline_seconds
        sleep = _FIRST_SLEEP_SECONDS
        pending = wanted
        while pending:
            pending = sorted(_try_acquire_many(keys=pending, owner=self.owner, ttl_seconds=ttl_seconds))
            if not pending:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                release_many(keys=wanted, owner=self.owner)
                raise LockTimeoutError(key=pending[0], waited_seconds=deadline_seconds)
            time.sleep(min(remaining, sleep * (0.5 + random.random())))  # noqa: S311 (jitter, not security)
            sleep = min(sleep * 2, _MAX_SLEEP_SECONDS)
        self.keys.update(wanted)

    def touch(self) -> None:
        """Mark every lock held as still in use (`updated_at` now), between the steps of a long operation.

        Another process of ours takes over a lock of ours not updated for OUR_LOCK_LIFETIME_SECONDS.
        """
        if self.keys:
            mongo.queue_database()[mongo.LOCKS].update_many(
                {"_id": {"$in": sorted(self.keys)}, "owner": self.owner}, {"$set": {"updated_at": mongo.utc_now()}}
            )


@contextmanager
def lock_set() -> Iterator[LockSet]:
    """A LockSet for the block; every lock it took is given back at the end, whatever happened."""
    locks = LockSet(new_owner())
    collection = mongo.queue_database()[mongo.LOCKS]
    try:
        yield locks
    except ConnectionFailure:
        _give_back(locks=collection, keys=sorted(locks.keys), owner=locks.owner, database_lost=True)
        raise
    except BaseException:
        _give_back(locks=collection, keys=sorted(locks.keys), owner=locks.owner, database_lost=False)
        raise
    _give_back(locks=collection, keys=sorted(locks.keys), owner=locks.owner, database_lost=False)


@contextmanager
def held_locks(
    *,
    keys: Iterable[str],
    ttl_seconds: int = LOCK_TTL_SECONDS_TO_START_JOB,
    deadline_seconds: float | None = None,
) -> Iterator[str]:
    """Hold every lock of `keys` for the block (yields the owner id), whatever their number.

    One bulk write takes them all; the ones held elsewhere are tried again (only those) until
    the deadline, then LockTimeoutError and every lock taken is given back: nothing was written.
    The protocol of each lock is `held_lock`'s, so a worker starting one of those jobs and this
    block exclude each other.
    """
    with lock_set() as locks:
        locks.take(keys, ttl_seconds=ttl_seconds, deadline_seconds=deadline_seconds)
        yield locks.owner


# ---------------------------------------------------------------------------------------------
# The dataset's lock, held alone or shared


def _held_by_someone(lock: Mapping[str, object] | None, *, now: datetime) -> bool:
    """Whether a lock document is held: it has an owner, not a stale one of ours, not past its ttl."""
    if lock is None or lock.get("owner") is None:
        return False
    updated_at, ttl = lock.get("updated_at"), lock.get("ttl")
    if isinstance(updated_at, datetime):
        ours = str(lock["owner"]).startswith(OWNER_PREFIX)
        if ours and updated_at < now - timedelta(seconds=OUR_LOCK_LIFETIME_SECONDS):
            return False
        if isinstance(ttl, int) and updated_at < now - timedelta(seconds=ttl):
            return False
    return True


@contextmanager
def shared_dataset_lock(*, dataset: str, deadline_seconds: float | None = None) -> Iterator[None]:
    """Hold the dataset's lock shared with other such writers, never beside its exclusive holder.

    Each shared holder writes its own mark (`admin-dataset,{dataset},shared,{owner}`: no two
    contend), then reads the dataset's lock: held by someone (a recreate), it takes its mark
    back and tries again until the deadline (LockTimeoutError: nothing was changed). The
    exclusive holder takes the dataset's lock, then waits until no mark is left
    (`wait_for_shared_holders`). Mark-then-read on one side and take-then-read on the other:
    whatever the order, at least one of the two sees the other, so they never both proceed.
    """
    key = dataset_lock_key(dataset)
    owner = new_owner()
    mark = f"{key}{SHARED_MARK}{owner}"
    locks = mongo.queue_database()[mongo.LOCKS]
    if deadline_seconds is None:
        deadline_seconds = LOCK_DEADLINE_SECONDS
    deadline = time.monotonic() + deadline_seconds
    sleep = _FIRST_SLEEP_SECONDS
    while True:
        now = mongo.utc_now()
        locks.update_one(
            {"_id": mark},
            {
                "$set": {"owner": owner, "updated_at": now, "ttl": LOCK_TTL_SECONDS_TO_START_JOB},
                "$setOnInsert": {"created_at": now},
            },
            upsert=True,
        )
        if not _held_by_someone(locks.find_one({"_id": key}), now=mongo.utc_now()):
            break
        locks.delete_one({"_id": mark})
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LockTimeoutError(key=key, waited_seconds=deadline_seconds)
        time.sleep(min(remaining, sleep * (0.5 + random.random())))  # noqa: S311 (jitter, not security)
        sleep = min(sleep * 2, _MAX_SLEEP_SECONDS)

    def take_the_mark_back() -> None:
        locks.delete_one({"_id": mark})

    what = f"take back the shared mark of {key!r}"
    try:
        yield
    except ConnectionFailure:
        _end_of_block(what=what, write=take_the_mark_back, database_lost=True)
        raise
    except BaseException:
        _end_of_block(what=what, write=take_the_mark_back, database_lost=False)
        raise
    _end_of_block(what=what, write=take_the_mark_back, database_lost=False)


def wait_for_shared_holders(*, dataset: str, deadline_seconds: float | None = None) -> None:
    """For the exclusive holder of the dataset's lock: wait until no shared holder is left inside.

    A mark not updated for OUR_LOCK_LIFETIME_SECONDS was left by a process that died: ignored.
    LockTimeoutError after the deadline (the caller has written nothing yet).
    """
    key = dataset_lock_key(dataset)
    locks = mongo.queue_database()[mongo.LOCKS]
    if deadline_seconds is None:
        deadline_seconds = LOCK_DEADLINE_SECONDS
    deadline = time.monotonic() + deadline_seconds
    sleep = _FIRST_SLEEP_SECONDS
    marks = {"_id": {"$regex": f"^{re.escape(key + SHARED_MARK)}"}}
    while True:
        fresh = {"updated_at": {"$gte": mongo.utc_now() - timedelta(seconds=OUR_LOCK_LIFETIME_SECONDS)}}
        inside = locks.find_one({**marks, **fresh}, {"_id": 1})
        if inside is None:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LockTimeoutError(key=key, waited_seconds=deadline_seconds)
        time.sleep(min(remaining, sleep * (0.5 + random.random())))  # noqa: S311 (jitter, not security)
        sleep = min(sleep * 2, _MAX_SLEEP_SECONDS)


@contextmanager
def exclusive_dataset_lock(*, dataset: str) -> Iterator[None]:
    """Hold the dataset's lock alone: no other holder, shared or not (else LockTimeoutError: nothing was changed)."""
    with held_lock(key=dataset_lock_key(dataset)):
        wait_for_shared_holders(dataset=dataset)
        yield
