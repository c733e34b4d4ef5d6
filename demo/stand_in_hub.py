"""A stand-in Hub on loopback, so that the demo of `make run` repairs its datasets offline.

Force-refresh, recreate and the backfill plan ask the Hub for a dataset's current revision
and whether it may be processed (REFERENCE.md). In the demo there is no Hub to ask, so
`make run` (without COMMON_HF_ENDPOINT, on the embedded engine) serves this one on 127.0.0.1
and points COMMON_HF_ENDPOINT at it. It knows the datasets of the demo world, and only them:

- `GET /api/datasets/{dataset}`: 200 with the revision the demo world holds for the dataset
  (`sha`), public, not gated, not disabled, no tags, no card data; 404 `RepoNotFound` for a
  dataset the demo world does not hold.
- `GET /api/whoisthis?name=`: a user, not PRO (only asked about private datasets: none here).
- `GET /api/whoami-v2`: when the demo runs with ADMIN_HF_ORGANIZATION, any Bearer token signs
  in as `demo-operator`, a member with write rights in that organization; no token: 401.

It is a stand-in, not a model of the Hub: it never answers for a real dataset.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

DEMO_OPERATOR = "demo-operator"

RevisionOf = Callable[[str], "str | None"]
"""The revision the demo world holds for a dataset, None when it holds no such dataset."""


def dataset_answer(dataset: str, revision: str) -> dict[str, object]:
    namespace, _, _ = dataset.rpartition("/")
    return {
        "id": dataset,
        "author": namespace or None,
        "sha": revision,
        "private": False,
        "gated": False,
        "disabled": False,
        "tags": [],
        "cardData": {},
    }


def whoami_answer(organization: str) -> dict[str, object]:
    return {
        "type": "user",
        "name": DEMO_OPERATOR,
        "orgs": [{"name": organization, "roleInOrg": "write"}],
        "auth": {"type": "access_token", "accessToken": {"displayName": "demo", "role": "write"}},
    }


class StandInHub:
    """The stand-in, served by a thread of the calling process until `stop()` (or the `with` ends)."""

    def __init__(self, revision_of: RevisionOf, *, organization: str | None = None) -> None:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hub.answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the console logs its own requests

        self.revision_of = revision_of
        self.organization = organization
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="stand-in-hub", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        path = unquote(parts.path)
        if path.startswith("/api/datasets/"):
            dataset = path.removeprefix("/api/datasets/")
            revision = self.revision_of(dataset)
            if revision is None:
                _send(request, HTTPStatus.NOT_FOUND, {"error": "Repository not found"}, error_code="RepoNotFound")
            else:
                _send(request, HTTPStatus.OK, dataset_answer(dataset, revision))
        elif path == "/api/whoisthis":
            name = parse_qs(parts.query).get("name", [""])[0]
            _send(request, HTTPStatus.OK, {"name": name, "type": "user", "isPro": False})
        elif path == "/api/whoami-v2" and self.organization:
            if (
                request.headers.get("Authorization", "").startswith("Bearer ")
                and len(request.headers["Authorization"]) > 7
            ):
                _send(request, HTTPStatus.OK, whoami_answer(self.organization))
            else:
                _send(request, HTTPStatus.UNAUTHORIZED, {"error": "Invalid credentials in Authorization header"})
        else:
            _send(request, HTTPStatus.NOT_FOUND, {"error": "Not found"})

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StandInHub:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def _send(
    request: BaseHTTPRequestHandler, status: HTTPStatus, body: dict[str, object], *, error_code: str = ""
) -> None:
    payload = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(payload)))
    if error_code:
        request.send_header("X-Error-Code", error_code)
    request.end_headers()
    request.wfile.write(payload)


def demo_world_revisions(mongo_url: str, *, cache_database: str, queue_database: str) -> RevisionOf:
    """The revision of each dataset of the demo world: that of its cache entries, else of its jobs.

    The first answer for a dataset is kept, so that a recreate (which deletes the entries, then
    queues a job at that revision) does not make the dataset unknown.
    """
    from pymongo import MongoClient

    from foundation.database.mongo import CACHED_RESPONSES, JOBS

    client: MongoClient[dict[str, object]] = MongoClient(mongo_url, serverSelectionTimeoutMS=2000)
    known: dict[str, str] = {}
    lock = threading.Lock()

    def revision_of(dataset: str) -> str | None:
        with lock:
            if dataset not in known:
                entry = client[cache_database][CACHED_RESPONSES].find_one(
                    {"dataset": dataset}, {"dataset_git_revision": 1}
                )
                job = None if entry else client[queue_database][JOBS].find_one({"dataset": dataset}, {"revision": 1})
                revision = (entry or {}).get("dataset_git_revision") or (job or {}).get("revision")
                if isinstance(revision, str):
                    known[dataset] = revision
            return known.get(dataset)

    return revision_of
