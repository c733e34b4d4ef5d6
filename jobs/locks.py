"""Mutual exclusion across services and processes, with the `locks` collection of the queue.

The protocol is upstream's (`libcommon.queue.lock`): to take the lock `key`, upsert
`{_id: key, owner: {$in: [None, me]}}` setting `owner: me`; when someone else holds it, the
filter does not match and the upsert's insert collides on `_id`: a DuplicateKeyError means
"held". Release sets `owner` to None. FerretDB has no transactions and `jobsBlue` must not get
a unique index, so this is how "no duplicate waiting job" holds even across processes.

The job lock's key is the job's `unicity_id` with `ttl` 600, exactly as the workers take it
when they start a job (`Queue._start_newest_job_and_delete_others`): the console and the
workers exclude each other on the same artifact. On MongoDB a TTL index drops a lock 600 s
after its last update; FerretDB has no TTL indexes, so a lock whose holder died (its
`updated_at` older than its ttl) is taken over here, which is what the TTL index would allow.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from uuid import uuid4

from pymongo.errors import DuplicateKeyError

from adminsite.core.errors import AdminError
from adminsite.database import mongo

logger = logging.getLogger(__name__)

LOCK_TTL_SECONDS_TO_START_JOB = 600
"""Upstream's ttl of the lock on a unicity_id (its TTL index drops the lock after that)."""

LOCK_DEADLINE_SECONDS = 10.0
"""How long a repair operation waits for a lock before giving up (nothing written then)."""

_FIRST_SLEEP_SECONDS = 0.01
_MAX_SLEEP_SECONDS = 0.2


class LockTimeoutError(AdminError):
    """The lock stayed held by someone else until the deadline: nothing was written."""

    status_code = 500


def _try_acquire(*, key: str, owner: str, ttl_seconds: int) -> bool:
    now = mongo.utc_now()
    expired = {"ttl": ttl_seconds, "updated_at": {"$lt": now - timedelta(seconds=ttl_seconds)}}
    try:
        mongo.queue_database()[mongo.LOCKS].update_one(
            {"_id": key, "$or": [{"owner": {"$in": [None, owner]}}, expired]},
            {"$set": {"owner": owner, "updated_at": now, "ttl": ttl_seconds}, "$setOnInsert": {"created_at": now}},
            upsert=True,
        )
    except DuplicateKeyError:
        return False
    return True


def release(*, key: str, owner: str) -> None:
    """Give the lock back, if we still hold it (as upstream: `owner` set to None)."""
    mongo.queue_database()[mongo.LOCKS].update_one(
        {"_id": key, "owner": owner}, {"$set": {"owner": None, "updated_at": mongo.utc_now()}}
    )


@contextmanager
def held_lock(
    *,
    key: str,
    ttl_seconds: int = LOCK_TTL_SECONDS_TO_START_JOB,
    deadline_seconds: float = LOCK_DEADLINE_SECONDS,
) -> Iterator[str]:
    """Hold the lock `key` for the block (yields the owner id); LockTimeoutError after the deadline."""
    owner = str(uuid4())
    deadline = time.monotonic() + deadline_seconds
    sleep = _FIRST_SLEEP_SECONDS
    while not _try_acquire(key=key, owner=owner, ttl_seconds=ttl_seconds):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LockTimeoutError(
                f"Another process is working on {key!r}; gave up after {deadline_seconds:g}s: nothing was changed."
            )
        time.sleep(min(remaining, sleep * (0.5 + random.random())))  # noqa: S311 (jitter, not security)
        sleep = min(sleep * 2, _MAX_SLEEP_SECONDS)
    try:
        yield owner
    finally:
        try:
            release(key=key, owner=owner)
        except Exception:
            # The block's own outcome matters more; the lock expires after its ttl anyway.
            logger.exception("could not release the lock %r", key)
