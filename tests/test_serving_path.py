"""The way a request is served: uvicorn, the liveness answer in front, Django's WSGI handler.

- The listening socket that `python -m adminsite.server` shares between its workers must make
  asyncio set TCP_NODELAY on every accepted connection: without it, keep-alive requests wait
  ~40 ms each for the client's delayed ACK (uvicorn issue #3149).
- The liveness probe is answered before the thread pool of the WSGI application: it answers
  while every thread waits on a slow MongoDB.
"""

from __future__ import annotations

import asyncio
import importlib
import socket
from collections.abc import Mapping
from multiprocessing.reduction import ForkingPickler
from typing import Any

from django.template import engines
from django.template.backends.jinja2 import Jinja2

from adminsite import asgi
from adminsite.asgi import LivenessFirst, application
from adminsite.server import TcpConfig


async def nodelay_of_accepted_connection(listening: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connection, sock=listening)
    _, client = await asyncio.open_connection(*listening.getsockname()[:2])
    try:
        return await asyncio.wait_for(accepted, timeout=10)
    finally:
        client.close()
        server.close()


def test_the_socket_shared_by_the_workers_gets_tcp_nodelay_on_accepted_connections() -> None:
    config = TcpConfig("adminsite.asgi:application", host="127.0.0.1", port=0, workers=2)
    listening = config.bind_socket()
    # a worker receives the socket as multiprocessing hands it over to a spawned process
    in_worker: socket.socket = ForkingPickler.loads(ForkingPickler.dumps(listening))
    listening.close()
    assert in_worker.proto == socket.IPPROTO_TCP
    assert asyncio.run(nodelay_of_accepted_connection(in_worker)) == 1


async def call(app: Any, method: str, path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request through an ASGI application: its status, headers and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [{"type": "http.request", "body": b"", "more_body": False}]
    start: list[Mapping[str, Any]] = []
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: Mapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.append(message)
        else:
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return start[0]["status"], dict(start[0]["headers"]), b"".join(body)


def test_the_liveness_probe_answers_while_the_application_behind_it_waits() -> None:
    """GET and HEAD of /healthcheck never reach the WSGI application, whose threads may all wait on MongoDB."""
    behind: list[str] = []

    async def stuck(scope: Any, receive: Any, send: Any) -> None:
        behind.append(scope["path"])
        await asyncio.Event().wait()

    async def scenario() -> list[tuple[int, dict[bytes, bytes], bytes]]:
        app = LivenessFirst(stuck)
        probes = [call(app, "GET", "/healthcheck"), call(app, "GET", "/admin/healthcheck")]
        answers = [await asyncio.wait_for(probe, timeout=10) for probe in probes]
        answers.append(await asyncio.wait_for(call(app, "HEAD", "/healthcheck"), timeout=10))
        for method, path in (("POST", "/healthcheck"), ("GET", "/admin/readiness")):
            waiting = asyncio.ensure_future(call(app, method, path))
            await asyncio.sleep(0)  # let it reach the application (it never answers)
            waiting.cancel()
        return answers

    answers = asyncio.run(scenario())
    assert [(status, body) for status, _, body in answers] == [(200, b"ok"), (200, b"ok"), (200, b"")]
    assert {headers[b"cache-control"] for _, headers, _ in answers} == {b"no-store"}
    assert {headers[b"content-type"] for _, headers, _ in answers} == {b"text/plain; charset=utf-8"}
    assert behind == ["/healthcheck", "/admin/readiness"]  # another method, another path: the application's


def test_the_served_application_gives_django_s_answers() -> None:
    """Through a2wsgi and Django's WSGI handler: the probe's 405 to a POST is the view's JSON answer."""
    status, headers, body = asyncio.run(call(application, "POST", "/healthcheck"))
    assert (status, headers[b"x-error-code"]) == (405, b"MethodNotAllowed")
    assert body == b'{"error": "Method \\"POST\\" not allowed."}'
    status, headers, body = asyncio.run(call(application, "GET", "/admin/no-such-route"))
    assert (status, headers[b"cache-control"], body) == (404, b"no-store", b'{"error": "Not found."}')


def test_every_page_template_is_compiled_before_the_first_request(monkeypatch: Any) -> None:
    """Importing the served app loads every template: no page's first load in a worker compiles one."""
    [engine] = [engine for engine in engines.all() if isinstance(engine, Jinja2)]
    names = engine.env.list_templates(extensions=("html",))
    assert "pages/dataset.html" in names and "base.html" in names
    assert engine.env.cache is not None
    engine.env.cache.clear()  # what earlier tests of this process rendered: a new worker has none
    importlib.reload(asgi)  # the served app, imported as a worker imports it

    def no_source(*args: Any) -> Any:
        raise AssertionError("a template was read again")

    monkeypatch.setattr(engine.env.loader, "get_source", no_source)
    for name in names:
        engine.env.get_template(name)
