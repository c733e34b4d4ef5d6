"""The ASGI application served by uvicorn (`adminsite.asgi:application`)."""

from __future__ import annotations

import asyncio
import contextvars
import os
from typing import IO

import django
from django import db
from django.conf import settings
from django.core import signals
from django.core.cache import close_caches
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import HttpResponseBase
from django.urls import get_resolver, set_script_prefix

from cachereports.selectors import reused_counts
from foundation.web.event_loop import paths_answered_on_the_event_loop
from foundation.web.jinja_environment import load_every_page_template
from foundation.web.request_bodies import BoundedBodies, Receive, Scope, Send

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, but each request goes from the event loop to a thread once, or never.

    Under ASGI, Django builds an async middleware chain: every middleware that is sync only,
    every `process_view` and every sync view is then entered through its own `sync_to_async`
    (or left through `async_to_sync`), and each request gets a thread of its own: 18 switches
    and 2 new threads for `/healthcheck` (5.3 ms in-process). Every middleware and view of the
    console is sync (pymongo is) and it has no SQL connection to keep per thread, so the
    chain is built sync, as under WSGI, and one call in a pooled thread does the request's
    sync work (the request_started signal, the request, the chain and the view); the loop
    reads the body, sends the answer and closes it (the request_finished signal: no I/O).
    The hop is the event loop's own `run_in_executor` in a copy of the request's context:
    asgiref's `sync_to_async` costs twice as much per call for what it adds (running async
    code back on the loop), which the sync chain never asks for.

    A view marked `answers_on_the_event_loop` (`foundation.web.event_loop`: no I/O, a few
    microseconds of work, such as the liveness probe) is served on the loop itself, with no hop:
    it still answers when every thread of the pool waits on a slow MongoDB, and it costs a
    third less. Only routes without path parameters can be marked (looked up by exact path).
    Django's watch for a client disconnect is dropped: it cannot stop a sync view anyway.
    """

    chunk_size = 1 << 22
    """Bytes per body message: Django's 64 KB cut a 4 MB pending-jobs answer into 64 sends, each
    through uvicorn's flow control (its write buffer's high-water mark is 64 KB); 4 MB keeps an
    answer of that size in one. Django also reads files in blocks of this size."""

    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.paths_answered_on_the_loop = paths_answered_on_the_event_loop(get_resolver())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            if scope["path"] in self.paths_answered_on_the_loop:
                response = self._respond(scope, body_file)
            else:
                loop = asyncio.get_running_loop()
                context = contextvars.copy_context()
                response = await loop.run_in_executor(None, context.run, self._respond, scope, body_file)
            await self.send_response(response, send)
            response.close()
        finally:
            body_file.close()

    def _respond(self, scope: Scope, body_file: IO[bytes]) -> HttpResponseBase:
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None  # Django's pair: a request or the error answer
            return error_response
        response = self.get_response(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django's handler does
        return response


_NO_DATABASE = "django.db.backends.dummy"
"""The engine Django puts in place when DATABASES is empty."""
_CACHES_WITHOUT_CONNECTIONS = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}
"""Cache backends whose `close()`, called after every request, does nothing."""


def _drop_per_request_upkeep_of_absent_backends() -> None:
    """Disconnect Django's per-request upkeep of SQL connections and caches the console does not have.

    With `DATABASES = {}` Django still keeps a dummy connection, and every request started and
    finished walks it (reset_queries, close_old_connections); every finished request also closes
    every cache, a no-op for the in-memory one: together a fifth of the sync work of
    `/healthcheck`. Each stays connected when a real SQL database or cache server is configured.
    """
    if all(connection.settings_dict["ENGINE"] == _NO_DATABASE for connection in db.connections.all()):
        signals.request_started.disconnect(db.reset_queries)
        signals.request_started.disconnect(db.close_old_connections)
        signals.request_finished.disconnect(db.close_old_connections)
    if all(cache["BACKEND"] in _CACHES_WITHOUT_CONNECTIONS for cache in settings.CACHES.values()):
        signals.request_finished.disconnect(close_caches)


django.setup(set_prefix=False)
# Bodies over their limit are refused before Django reads (and spools) them whole.
application = BoundedBodies(OneHopASGIHandler())
# The dashboard's counts over many entries, counted in the background before the first request needs them.
reused_counts.warm_up_at_worker_start()
# Django's per-request upkeep of SQL connections and caches the console does not have, dropped.
_drop_per_request_upkeep_of_absent_backends()
# Every page's templates, compiled before the first request of this worker (the URL configuration
# and the views are imported by the handler itself).
load_every_page_template()
