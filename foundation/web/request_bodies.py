"""Request bodies are bounded before anyone reads them (issue 11, item 6).

Django's ASGI handler reads a whole request body (spooling it to disk past 2.5 MB) before the
first middleware runs, even for a route that never reads it: an unauthenticated 200 MB POST
was read and spooled. `BoundedBodies` wraps the ASGI application and refuses, with the JSON
error answer (413 `RequestBodyTooLargeError`, `no-store`):

- a body larger than MAX_BODY_BYTES on a method that takes one (POST, PUT, PATCH): from its
  `Content-Length` before a byte is read, or as soon as a chunked body grows past it (the
  rest is then read and dropped, up to MAX_DRAINED_BYTES, so the client gets the answer);
- any body larger than MAX_BODYLESS_BYTES on the other methods (GET, HEAD, OPTIONS, DELETE):
  no route of ours reads one.

A body refused by its length is still read and dropped when it is at most MAX_DRAINED_BYTES
(a connection closed with unread data is reset, and the client would lose the answer); a
larger one is answered at once and the connection closed. Nothing refused is ever kept.

Django's own DATA_UPLOAD_MAX_MEMORY_SIZE is set to the same MAX_BODY_BYTES (settings), so
what passes here is also what Django accepts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.utils.encoding import escape_uri_path

from foundation.core.errors import RequestBodyTooLargeError

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024
"""1 MiB: far above any form or JSON body of the console (a few hundred bytes)."""
MAX_BODYLESS_BYTES = 1024
"""What a method without a body may still carry (some clients send a few bytes)."""
MAX_DRAINED_BYTES = 32 * MAX_BODY_BYTES
"""How much of a too large chunked body is read (and dropped) so that the client gets its 413."""
METHODS_WITH_A_BODY = frozenset({"POST", "PUT", "PATCH"})

logger = logging.getLogger("adminsite.requests")


def body_limit(method: str) -> int:
    return MAX_BODY_BYTES if method in METHODS_WITH_A_BODY else MAX_BODYLESS_BYTES


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, *, limit: int, close: bool) -> None:
    error = RequestBodyTooLargeError(f"The request body is larger than {limit} bytes.")
    body = json.dumps({"error": error.message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"x-error-code", error.error_code.encode()),
                *([(b"connection", b"close")] if close else []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BoundedBodies:
    """ASGI middleware: a body over its method's limit is answered 413 and never read whole."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", "GET"))
        limit = body_limit(method)
        length = _content_length(scope)
        if length is not None and length > limit:
            path = escape_uri_path(scope.get("path", ""))
            logger.info("%s %s 413: a body of %d bytes refused, never kept", method, path, length)
            drained = length <= MAX_DRAINED_BYTES and await _drain(receive)
            await _refuse(send, limit=limit, close=not drained)
            return
        received = 0
        too_large = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, bounded_receive, watched_send)
        if too_large and not started:
            drained = await _drain(receive)
            await _refuse(send, limit=limit, close=not drained)


async def _drain(receive: Receive) -> bool:
    """Read and drop what is left of a chunked body (at most MAX_DRAINED_BYTES) before answering.

    Closing a connection with unread data in it resets it, and the client would lose the 413
    along with it. Past the bound, the client gets the reset: it was sending far too much.
    True when the whole body was read (the connection can stay open).
    """
    drained = 0
    while drained <= MAX_DRAINED_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return False
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False
