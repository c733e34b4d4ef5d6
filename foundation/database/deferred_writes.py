"""Idempotent writes retried in the background after the database was lost: the end of a write, not lost.

When MongoDB goes away in the middle of an operation, the operation stops and its request
answers at once (503), but two small writes must still land once the database is back, or they
lie for good: the outcome of its audit entry (else it stays "pending") and the release of the
locks it held (else a worker waits for their 600 s ttl before it may start those jobs). Both
are idempotent (`$set` of the outcome, `owner: None` where the owner is still ours), so a retry
that lands twice does no harm. They are handed to one daemon thread per process, which retries
them in order, backing off from 0.2 s to 10 s, for RETRY_FOR_SECONDS; past that it logs them
and gives up (what is left of a process that dies meanwhile is what its log says).

Nothing that is not idempotent goes here: a metric `$inc` whose answer was lost may or may
not have been applied, and applying it again could count it twice. Those rows are repaired by
the recount (`manage.py recount_metrics`), as the other services' own collectors repair theirs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pymongo.errors import ConnectionFailure

logger = logging.getLogger(__name__)

RETRY_FOR_SECONDS = 600.0
"""How long a deferred write is retried before it is given up (and logged)."""

_FIRST_DELAY_SECONDS = 0.2
_MAX_DELAY_SECONDS = 10.0


@dataclass
class _DeferredWrite:
    what: str
    """What the write does, for the log: `complete audit entry 65f...`."""
    write: Callable[[], object]
    give_up_at: float


_pending: list[_DeferredWrite] = []
_condition = threading.Condition()
_running = False
"""Whether the retrying thread is alive (it ends when nothing is left to retry)."""
_in_progress = 0
"""Writes taken from `_pending` by the thread and not settled yet."""


def retry_later(*, what: str, write: Callable[[], object]) -> None:
    """Run `write` (idempotent) in the background, again and again while the database is unavailable."""
    global _running
    with _condition:
        _pending.append(_DeferredWrite(what=what, write=write, give_up_at=time.monotonic() + RETRY_FOR_SECONDS))
        logger.warning("the database is unavailable: will retry to %s", what)
        if not _running:
            _running = True
            threading.Thread(target=_retry_pending, name="deferred-writes", daemon=True).start()
        _condition.notify_all()


def _attempt(deferred: _DeferredWrite) -> bool:
    """Whether the write is settled: it landed, failed for another reason, or is past its time."""
    try:
        deferred.write()
    except ConnectionFailure:
        if time.monotonic() < deferred.give_up_at:
            return False
        logger.critical("gave up after %gs: could not %s", RETRY_FOR_SECONDS, deferred.what)
    except Exception:
        logger.exception("could not %s", deferred.what)
    else:
        logger.info("done once the database was back: %s", deferred.what)
    return True


def _retry_pending() -> None:
    global _running, _in_progress
    delay = _FIRST_DELAY_SECONDS
    while True:
        with _condition:
            if not _pending:
                _running = False
                _condition.notify_all()
                return
            batch = list(_pending)
            _pending.clear()
            _in_progress = len(batch)
        left = []
        for index, deferred in enumerate(batch):
            if not _attempt(deferred):
                left = batch[index:]  # the database is still away: keep the rest, in order
                break
        with _condition:
            _pending[:0] = left
            _in_progress = 0
            _condition.notify_all()
            if left:
                _condition.wait(timeout=delay)
                delay = min(delay * 2, _MAX_DELAY_SECONDS)
            else:
                delay = _FIRST_DELAY_SECONDS


def wait_until_settled(timeout_seconds: float) -> bool:
    """Whether every deferred write landed (or was given up) within the timeout (tests, shutdown)."""
    deadline = time.monotonic() + timeout_seconds
    with _condition:
        while _pending or _in_progress:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _condition.wait(timeout=remaining)
    return True
