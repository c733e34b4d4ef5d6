"""What a request costs on its way through uvicorn and Django, before any view work.

- The listening socket that `python -m adminsite.server` shares between its workers must make
  asyncio set TCP_NODELAY on every accepted connection: without it, keep-alive requests wait
  ~40 ms each for the client's delayed ACK.
- The middleware chain and the view run in one thread, entered once from the event loop; the
  liveness probe, which does no I/O, is answered on the loop itself.
"""

from __future__ import annotations

import asyncio
import importlib
import socket
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.reduction import ForkingPickler
from typing import Any

from django import db
from django.core import signals
from django.core.cache import close_caches
from django.http import HttpResponse
from django.template import engines
from django.template.backends.jinja2 import Jinja2

from adminsite import asgi
from adminsite.asgi import OneHopASGIHandler, application
from adminsite.server import TcpConfig
from jobs import apis as json_apis


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


async def get(path: str) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
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
    status: list[int] = []
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: Mapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        else:
            body.append(message.get("body", b""))

    await application(scope, receive, send)
    return status[0], b"".join(body)


def test_a_request_enters_a_thread_from_the_event_loop_once(monkeypatch: Any) -> None:
    """The request_started signal, the whole middleware chain and the view run in one pooled thread."""
    threads: dict[str, set[int]] = {"loop": set(), "request started": set(), "view": set()}
    view = json_apis.BlockedDatasetsApi.get

    def recording_view(self: Any, request: Any) -> Any:
        threads["view"].add(threading.get_ident())
        return view(self, request)

    def on_request_started(**kwargs: Any) -> None:
        threads["request started"].add(threading.get_ident())

    monkeypatch.setattr(json_apis.BlockedDatasetsApi, "get", recording_view)
    signals.request_started.connect(on_request_started)
    hops: list[Any] = []
    run_in_executor = asyncio.BaseEventLoop.run_in_executor

    def counted(self: Any, executor: Any, function: Any, *args: Any) -> Any:
        hops.append(args[0] if args else function)
        return run_in_executor(self, executor, function, *args)

    monkeypatch.setattr(asyncio.BaseEventLoop, "run_in_executor", counted)

    async def on_the_loop() -> tuple[int, bytes]:
        threads["loop"].add(threading.get_ident())
        return await get("/admin/blocked-datasets")

    try:
        status, _ = asyncio.run(on_the_loop())
    finally:
        signals.request_started.disconnect(on_request_started)
    assert status in (200, 503)  # 503 when no MongoDB answers: the chain ran either way
    assert len(hops) == 1
    assert threads["request started"] == threads["view"]
    assert len(threads["view"]) == 1 and threads["view"] != threads["loop"]


def test_the_liveness_probe_answers_while_every_thread_of_the_pool_waits() -> None:
    """/healthcheck is served on the event loop: a pool stuck on a slow MongoDB does not kill the pod."""

    async def scenario() -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        stuck = threading.Event()
        pool = ThreadPoolExecutor(max_workers=2)
        loop.set_default_executor(pool)
        waiting = [loop.run_in_executor(None, stuck.wait) for _ in range(2)]
        try:
            return await asyncio.wait_for(get("/healthcheck"), timeout=10)
        finally:
            stuck.set()
            await asyncio.gather(*waiting)

    assert asyncio.run(scenario()) == (200, b"ok")


def test_only_the_views_marked_for_it_are_served_on_the_event_loop() -> None:
    handler = application.app
    assert isinstance(handler, OneHopASGIHandler)
    assert handler.paths_answered_on_the_loop == frozenset({"/healthcheck", "/admin/healthcheck"})


def test_without_a_sql_database_nor_a_cache_server_no_request_walks_django_connections() -> None:
    """The served app drops Django's SQL upkeep (Django's test client connects it again per request)."""
    importlib.reload(asgi)  # the served app, imported as a worker imports it
    started = [receiver() for _, receiver, _ in signals.request_started.receivers]
    finished = [receiver() for _, receiver, _ in signals.request_finished.receivers]
    assert db.reset_queries not in started and db.close_old_connections not in started
    assert db.close_old_connections not in finished
    assert close_caches not in finished  # the in-memory cache has nothing to close


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


def test_an_answer_of_a_few_megabytes_leaves_in_one_body_message() -> None:
    """Not in Django's 64 KB chunks: each is a send through uvicorn's flow control (64 KB high-water)."""
    messages: list[Mapping[str, Any]] = []

    async def send(message: Mapping[str, Any]) -> None:
        messages.append(message)

    body = b"x" * 4_000_000  # about a 10k-job pending-jobs answer
    asyncio.run(OneHopASGIHandler().send_response(HttpResponse(body), send))
    bodies = [message for message in messages if message["type"] == "http.response.body"]
    assert [len(message["body"]) for message in bodies] == [len(body)]
    assert bodies[0]["more_body"] is False
