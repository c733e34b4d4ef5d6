"""The application uvicorn serves (`adminsite.asgi:application`): Django's own WSGI handler.

a2wsgi runs each request through Django's WSGI handler in a thread of its pool (every view of
the console is sync: pymongo is). In front of it, the liveness probe is answered on the event
loop, without waiting for a thread.
"""

from __future__ import annotations

import os
from typing import cast

from a2wsgi import WSGIMiddleware
from a2wsgi.asgi_typing import ASGIApp, Receive, Scope, Send
from a2wsgi.wsgi_typing import WSGIApp
from django.core.wsgi import get_wsgi_application
from django.urls import resolve

from foundation.web.jinja_environment import load_every_page_template

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")

LIVENESS_PATHS = frozenset({"/healthcheck", "/admin/healthcheck"})
LIVENESS_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", b"2"),
    (b"cache-control", b"no-store"),
]


class LivenessFirst:
    """Answers a GET or HEAD of the liveness probe itself; passes every other request to `app`.

    When every thread of the pool waits on a slow MongoDB, a probe that needed a thread would
    wait too, and the pod be killed for being busy. The answer is `overview.health.healthcheck`'s
    (`ok`, `no-store`); that view still answers the other methods (a JSON 405) and the test
    client. A probe answered here is in neither the request log nor the request metrics.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in LIVENESS_PATHS and scope["method"] in ("GET", "HEAD"):
            await send({"type": "http.response.start", "status": 200, "headers": LIVENESS_HEADERS})
            await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else b"ok"})
            return
        await self.app(scope, receive, send)


# Django's handler returns the response, which WSGI servers iterate for its bytes
application = LivenessFirst(WSGIMiddleware(cast(WSGIApp, get_wsgi_application())))

# What each worker does once, before its first request: import the URL configuration (and
# with it every view), and compile every page's templates.
resolve("/healthcheck")
load_every_page_template()
