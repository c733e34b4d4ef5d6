"""Values that cost too much to compute on each request, reused and refreshed behind the requests.

A `ReusedValues` keeps, per key, the last value computed and when. A load that finds a value
younger than `max_age_seconds` gets it. A load that finds an older one gets it too, at once,
and starts a refresh in a daemon thread: no request pays for the computation once a value
exists (stale-while-revalidate). At most one computation per key is in flight in a process: a
load that finds no value yet waits for the one in flight (a warm-up, say) instead of starting
a second, and two stale loads start one refresh. A refresh that fails keeps the old value and
logs one line; it is never raised into a request, and the next is tried `max_age_seconds`
later (an outage is not retried at every load). Only a load that finds no value at all, and
no computation to wait for, computes in its own thread (and sees its error).

The clock (monotonic seconds) and the way a refresh is started are injectable, for tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

from foundation.core.errors import DatabaseUnavailableError

T = TypeVar("T")

logger = logging.getLogger(__name__)

_MAX_LOGGED_ERROR_LENGTH = 200
"""A driver's error can run to kilobytes (pymongo describes the whole topology): its start says why."""


def start_daemon_thread(name: str, target: Callable[[], None]) -> None:
    """How refreshes run by default: each in a daemon thread of its own (a process never waits for one)."""
    threading.Thread(target=target, name=name, daemon=True).start()


@dataclass
class _Flight:
    """One computation in progress; `done` is set when it ends, `error` says why it failed."""

    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


@dataclass
class _Slot(Generic[T]):
    value: T | None = None
    computed_at: float | None = None
    """When `value` was computed (the clock's seconds); None: no value yet."""
    flight: _Flight | None = None
    failed_at: float | None = None
    """When the last computation failed, if it did after the last value: the next waits max_age."""


class ReusedValues(Generic[T]):
    """Values by key, each computed by at most one thread at a time and refreshed in the background."""

    def __init__(
        self,
        *,
        max_age_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        start: Callable[[str, Callable[[], None]], None] = start_daemon_thread,
        wait_seconds: float = 120.0,
    ) -> None:
        self.max_age_seconds = max_age_seconds
        self.clock = clock
        self.start = start
        self.wait_seconds = wait_seconds
        """How long a load with no value waits for the computation in flight before it gives up."""
        self._slots: dict[Hashable, _Slot[T]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T], *, name: str) -> T:
        """The value of `key`: the last one (refreshed in the background when old), else computed once."""
        while True:
            with self._lock:
                slot = self._slots.setdefault(key, _Slot())
                if slot.computed_at is not None:
                    known: tuple[T | None] | None = (slot.value,)
                    refresh = self._refresh_if_old(key, slot, compute, name=name)
                else:
                    known, refresh = None, None
                    flight, waiting = slot.flight or _Flight(), slot.flight is not None
                    slot.flight = flight
            if known is not None:
                if refresh is not None:
                    refresh()
                return cast(T, known[0])
            if not waiting:
                return self._compute_here(key, flight, compute)
            if not flight.done.wait(self.wait_seconds):  # a hung database: the page says so, the thread goes back
                raise DatabaseUnavailableError(f"The {name} were not counted within {self.wait_seconds:g}s.")
            if flight.error is not None:
                raise flight.error  # the computation this load waited for failed: so does the load
            # else the value is there now: the next turn returns it

    def peek(self, key: Hashable, compute: Callable[[], T], *, name: str) -> T | None:
        """The last value of `key` (refreshed in the background when old), None if there is none yet.

        Never waits and never computes in the caller's thread: for pages that show the value
        only when it is already known, and load it apart otherwise.
        """
        with self._lock:
            slot = self._slots.get(key)
            if slot is None or slot.computed_at is None:
                return None
            value = slot.value
            refresh = self._refresh_if_old(key, slot, compute, name=name)
        if refresh is not None:
            refresh()
        return value

    def warm(self, key: Hashable, compute: Callable[[], T], *, name: str) -> None:
        """Start computing `key` in the background, unless it has a value or a computation in flight."""
        with self._lock:
            slot = self._slots.setdefault(key, _Slot())
            if slot.computed_at is not None or slot.flight is not None:
                return
            refresh = self._refresh(key, slot, compute, name=name)
        refresh()

    def age_seconds(self, key: Hashable) -> float | None:
        """How old the value of `key` is, None if there is none."""
        with self._lock:
            slot = self._slots.get(key)
            computed_at = None if slot is None else slot.computed_at
        return None if computed_at is None else self.clock() - computed_at

    def wait_for_refreshes(self, timeout_seconds: float | None = None) -> bool:
        """Wait until no computation is in flight (tests, and a clean stop); False if one outlived the timeout."""
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        while True:
            with self._lock:
                flights = [slot.flight for slot in self._slots.values() if slot.flight is not None]
            if not flights:
                return True
            for flight in flights:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not flight.done.wait(remaining):
                    return False

    def forget(self) -> None:
        """Forget every value (computations in flight still end, and store what they computed)."""
        with self._lock:
            self._slots.clear()

    # --- under the lock, or in the computing thread ---------------------------------------------

    def _refresh_if_old(
        self, key: Hashable, slot: _Slot[T], compute: Callable[[], T], *, name: str
    ) -> Callable[[], None] | None:
        """A refresh to start (after the lock is released) when the value is old and none is in flight."""
        assert slot.computed_at is not None
        if slot.flight is not None or self.clock() - slot.computed_at < self.max_age_seconds:
            return None
        if slot.failed_at is not None and self.clock() - slot.failed_at < self.max_age_seconds:
            return None  # the database failed it just now: no refresh at every load of an outage
        return self._refresh(key, slot, compute, name=name)

    def _refresh(self, key: Hashable, slot: _Slot[T], compute: Callable[[], T], *, name: str) -> Callable[[], None]:
        """Mark a computation in flight for `slot`; the returned call starts it (outside the lock)."""
        flight = slot.flight = _Flight()

        def refresh() -> None:
            began = time.monotonic()
            try:
                self._compute_here(key, flight, compute)
                logger.info("counted %s in the background in %.0f ms", name, (time.monotonic() - began) * 1000)
            except Exception as error:  # never raised anywhere: the old value stays, one line says why
                message = (str(error).splitlines() or [""])[0][:_MAX_LOGGED_ERROR_LENGTH]
                kind = type(error).__name__
                logger.warning("refresh of %s failed (its last value, if any, is kept): %s: %s", name, kind, message)

        def start_refresh() -> None:
            try:
                self.start(f"refresh {name}", refresh)
            except Exception as error:  # no thread to run it (say, too many): end the flight, keep the value
                self._fail_flight(key, flight, error)
                logger.warning("refresh of %s could not start: %s: %s", name, type(error).__name__, error)

        return start_refresh

    def _compute_here(self, key: Hashable, flight: _Flight, compute: Callable[[], T]) -> T:
        try:
            value = compute()
        except BaseException as error:
            self._fail_flight(key, flight, error)
            raise
        with self._lock:
            slot = self._end_flight(key, flight)
            if slot is not None:
                slot.value, slot.computed_at, slot.failed_at = value, self.clock(), None
        flight.done.set()
        return value

    def _fail_flight(self, key: Hashable, flight: _Flight, error: BaseException) -> None:
        """End a flight that failed: its waiters see `error`, its slot waits max_age to try again."""
        flight.error = error
        with self._lock:
            failed = self._end_flight(key, flight)
            if failed is not None:
                failed.failed_at = self.clock()
        flight.done.set()

    def _end_flight(self, key: Hashable, flight: _Flight) -> _Slot[T] | None:
        """The slot this flight computed for, its flight cleared; None if it was forgotten meanwhile."""
        slot = self._slots.get(key)
        if slot is None or slot.flight is not flight:
            return None
        slot.flight = None
        return slot
