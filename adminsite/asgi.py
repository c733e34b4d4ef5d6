"""The ASGI application served by uvicorn (`adminsite.asgi:application`)."""

from __future__ import annotations

import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponseBase

from adminsite.web.request_bodies import BoundedBodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, but the middleware chain and the view run in one thread, in one hop.

    Under ASGI, Django builds an async middleware chain: every middleware that is sync only,
    every `process_view` and every sync view is then entered through its own `sync_to_async`
    (or left through `async_to_sync`), 18 switches between the event loop and a thread for
    `/healthcheck` (5.3 ms in-process). Every middleware and view of the console is sync
    (pymongo is), so the chain is built sync, as under WSGI, and the event loop hands the
    whole request to one thread once. What stays async is Django's own: reading the body,
    the request_started signal, sending the answer and closing it.
    """

    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django.setup(set_prefix=False)
# Bodies over their limit are refused before Django reads (and spools) them whole.
application = BoundedBodies(OneHopASGIHandler())
