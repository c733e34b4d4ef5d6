"""Live views: a page's counts and rows, polled every few seconds and reused by every tab for the interval.

A live page (dashboard, jobs, a dataset, errors) declares its live regions in its template;
`static/live.js` asks for the same URL again every LIVE_SECONDS while the tab is visible and not
paused (htmx sends `HX-Request: true`), and swaps those regions in place (README, "Live views").
Without JavaScript the page is the same page: a reload does what a poll does.

A polled answer is the page's own view, so it costs the page's constant number of database
commands. Its data (what the selectors return, never rendered HTML: a page holds the caller's
CSRF token) is kept for the interval in Django's cache (local memory, per process), keyed by the
path and query (which live page, which filters) and the interval's number: N tabs polling the
same page cost one set of commands per interval and process, not N. One thread computes a key at
a time; the others wait for its value. A page that is loaded (not polled) is always computed
afresh: after a form's POST-redirect-GET, it shows what the write did.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.http import HttpRequest

LIVE_SECONDS = 5
"""How often a live page asks for its regions again, and how long one answer's data is reused."""

LIVE_CACHE = "default"
"""The cache alias that keeps polled data (local memory: see CACHES in adminsite/settings.py)."""

POLL_HEADER = "HX-Request"
"""What htmx sends with each of its requests: here, only the polls of `static/live.js` do."""

clock: Callable[[], float] = time.time
"""Wall-clock seconds: every process and tab cut time into the same intervals (tests pin it)."""

_LOCK_STRIPES = [threading.Lock() for _ in range(64)]
"""Few locks for many keys: one thread computes a key while the others of the process wait."""


def is_poll(request: HttpRequest) -> bool:
    """Whether the request is a live page's poll (a GET from htmx), not a load of the page."""
    return request.method == "GET" and request.headers.get(POLL_HEADER) == "true"


def poll_key(request: HttpRequest, interval: int) -> str:
    """`live:<digest of path and sorted query>:<interval number>`: one entry per page, filters and interval."""
    query = "&".join(f"{name}={value}" for name, value in sorted(request.GET.lists()))
    digest = hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()[:32]
    return f"live:{digest}:{interval}"


def reused_while_polled(request: HttpRequest, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`compute()` (a page's data from its selectors), reused by every poll of the same page in an interval.

    The values must pickle (the local-memory cache stores copies): rows, dataclasses, dates.
    """
    if not is_poll(request):
        return compute()
    cache = caches[LIVE_CACHE]
    key = poll_key(request, int(clock() // LIVE_SECONDS))
    cached: dict[str, Any] | None = cache.get(key)
    if cached is not None:
        return cached
    with _LOCK_STRIPES[hash(key) % len(_LOCK_STRIPES)]:
        cached = cache.get(key)
        if cached is not None:
            return cached
        data = compute()
        cache.set(key, data, timeout=2 * LIVE_SECONDS)
    return data
