"""Test set-up: one MongoDB-protocol server per test session, fresh databases per test.

Without CACHE_MONGO_URL/QUEUE_MONGO_URL in the environment, an embedded mongo-java-server
(memory backend) is started on 127.0.0.1 for the session; with them, that server is used. Every test gets its own cache
and queue database names (dropped afterwards), so tests run in any order.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from pymongo import monitoring
from pymongo.database import Database

from demo.embedded_mongo import EmbeddedMongo
from foundation.database import mongo
from foundation.web import live
from tests.support import query_audit

# Fixtures of the authentication tests: `whoami` (fake Hub whoami-v2), `auth_on`, `clock`; of the browser
# tests: `console_url`, `page` (headless Chromium), `screenshots`;
# `response.context` for the Jinja2 pages.
pytest_plugins = ["tests.support.auth_support", "tests.support.template_contexts", "tests.support.browser"]


class CommandRecorder(monitoring.CommandListener):
    """Records the name and database of every command pymongo sends (the round trips)."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str]] = []
        self.collections: list[tuple[str, str]] = []
        """(command name, collection) of each command that names a collection (e.g. find, aggregate)."""
        self.index_creations: list[dict[str, Any]] = []
        """The `createIndexes` commands as sent (collection, indexes with their keys and options)."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append((event.command_name, event.database_name))
        collection = event.command.get(event.command_name)
        if isinstance(collection, str):
            self.collections.append((event.command_name, collection))
        if event.command_name == "createIndexes":
            self.index_creations.append({"collection": collection, "indexes": list(event.command["indexes"])})

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


COMMAND_RECORDER = CommandRecorder()
monitoring.register(COMMAND_RECORDER)

QUERY_SHAPES = query_audit.QueryShapeRecorder()
"""The shapes of the console's queries, saved for the query audit when QUERY_AUDIT_DIR is set."""
if query_audit.audit_folder() is not None:
    monitoring.register(QUERY_SHAPES)


def pytest_sessionfinish(session: pytest.Session) -> None:
    folder = query_audit.audit_folder()
    if folder is not None and QUERY_SHAPES.shapes:
        QUERY_SHAPES.save(folder, os.environ.get("PYTEST_XDIST_WORKER", "main"))


_database_numbers = itertools.count()


@dataclasses.dataclass(frozen=True)
class MongoServer:
    cache_url: str
    queue_url: str


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    cache_url = os.environ.get("CACHE_MONGO_URL")
    queue_url = os.environ.get("QUEUE_MONGO_URL")
    if cache_url or queue_url:
        yield MongoServer(cache_url or str(queue_url), queue_url or str(cache_url))
        return
    data_dir: Path = tmp_path_factory.mktemp("mongo")
    with EmbeddedMongo(data_dir, persistent=False) as server:
        yield MongoServer(server.url, server.url)
        mongo.close_clients()  # before the server stops, so it need not wait for open connections


@pytest.fixture(autouse=True)
def databases(settings: Any, mongo_server: MongoServer) -> Iterator[None]:
    """Point the service at databases of its own for this test, and drop them afterwards."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    number = next(_database_numbers)
    settings.ADMIN = dataclasses.replace(
        settings.ADMIN,
        cache_mongo_url=mongo_server.cache_url,
        cache_mongo_database=f"test_cache_{worker}_{number}",
        queue_mongo_url=mongo_server.queue_url,
        queue_mongo_database=f"test_queue_{worker}_{number}",
        # The fake Hub on a loaded machine can take more than the production default (0.2 s): a
        # test then got a Hub timeout it did not ask for. Tests of the timeout set their own.
        hf_timeout_seconds=5.0,
        # So can the engine for the one insert_many that seeds a big world (every call is bounded
        # by this, `mongo.client_for`). Tests of a stalled or dead database set their own.
        mongo_timeout_seconds=60.0,
    )
    yield
    mongo.client_for(mongo_server.cache_url).drop_database(f"test_cache_{worker}_{number}")
    mongo.client_for(mongo_server.queue_url).drop_database(f"test_queue_{worker}_{number}")


@pytest.fixture(autouse=True)
def live_data() -> None:
    """Each test starts with no polled data kept for the interval (foundation/web/live.py)."""
    caches[live.LIVE_CACHE].clear()


@pytest.fixture
def cache_db() -> Database[mongo.MongoDocument]:
    return mongo.cache_database()


@pytest.fixture
def queue_db() -> Database[mongo.MongoDocument]:
    return mongo.queue_database()


@pytest.fixture
def db_commands() -> CommandRecorder:
    """The recorder, emptied: after a request, `.commands` lists the commands it sent."""
    COMMAND_RECORDER.commands.clear()
    COMMAND_RECORDER.collections.clear()
    COMMAND_RECORDER.index_creations.clear()
    return COMMAND_RECORDER


@pytest.fixture
def fake_hub(httpserver: Any, settings: Any) -> Any:
    """A fake Hub: a real HTTP server on 127.0.0.1 (pytest-httpserver) set as COMMON_HF_ENDPOINT.

    Tests declare its answers with `fake_hub.expect_request(...)`; the service reaches it over
    HTTP exactly as it would reach the Hub.
    """
    settings.ADMIN = dataclasses.replace(settings.ADMIN, hf_endpoint=httpserver.url_for("/").rstrip("/"))
    return httpserver


@pytest.fixture(autouse=True)
def forget_hub_verdicts() -> Iterator[None]:
    """Each test starts with an empty whoami verdict cache (the fake Hub answers differ by test)."""
    from foundation.auth import hub_whoami

    hub_whoami.forget_verdicts()
    yield
    hub_whoami.forget_verdicts()
