"""A fake Hub whoami-v2 service and realistic whoami answers, for the authentication tests.

The answers follow the shape the Hub sends on /api/whoami-v2 (as huggingface_hub's `whoami`
and the dataset viewer's admin service read it): the user, its `orgs` with `roleInOrg`, and
`auth.accessToken` with `role` and, for fine-grained tokens, `fineGrained.scoped[]` entries of
`{"entity": {"_id", "type", "name"}, "permissions": [...]}`.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from werkzeug import Request, Response

from foundation.auth import browser_sessions, hub_whoami

ORG = "my-org"
WHOAMI_PATH = "/api/whoami-v2"
HUB_401_BODY = {"error": "Invalid credentials in Authorization header"}


def org_entry(name: str, role_in_org: str) -> dict[str, Any]:
    return {
        "type": "org",
        "id": f"6{name.encode().hex()[:22]:0<23}",
        "name": name,
        "fullname": name.replace("-", " ").title(),
        "email": None,
        "canPay": False,
        "periodEnd": None,
        "avatarUrl": f"https://cdn-avatars.huggingface.co/v1/production/uploads/{name}.png",
        "roleInOrg": role_in_org,
        "isEnterprise": False,
    }


def scope(org: str, *permissions: str) -> dict[str, Any]:
    """A fine-grained scope on an org, as listed in `auth.accessToken.fineGrained.scoped`."""
    return {
        "entity": {"_id": f"6{org.encode().hex()[:22]:0<23}", "type": "org", "name": org},
        "permissions": list(permissions),
    }


def whoami_answer(
    *,
    name: str = "alice",
    orgs: list[dict[str, Any]] | None = None,
    role: str = "fineGrained",
    scoped: list[dict[str, Any]] | None = None,
    auth_type: str = "access_token",
) -> dict[str, Any]:
    """A whoami-v2 answer; by default a fine-grained token with repo.write on ORG."""
    access_token: dict[str, Any] = {
        "displayName": "admin-console",
        "role": role,
        "createdAt": "2024-05-02T09:10:11.000Z",
    }
    if role == "fineGrained":
        access_token["fineGrained"] = {
            "canReadGatedRepos": False,
            "global": ["discussion.write", "post.write"],
            "scoped": scoped if scoped is not None else [scope(ORG, "repo.content.read", "repo.write")],
        }
    return {
        "type": "user",
        "id": "65a1b2c3d4e5f60718293a4b",
        "name": name,
        "fullname": name.title(),
        "email": f"{name}@example.com",
        "emailVerified": True,
        "canPay": False,
        "isPro": False,
        "periodEnd": None,
        "avatarUrl": f"https://cdn-avatars.huggingface.co/v1/production/uploads/{name}.png",
        "orgs": orgs if orgs is not None else [org_entry(ORG, "write"), org_entry("other-org", "admin")],
        "auth": {"type": auth_type, "accessToken": access_token},
    }


class FakeWhoami:
    """Answers whoami-v2 on the fake Hub from `answers` (token -> (status, body)); 401 if unknown."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.answers: dict[str, tuple[int, Any]] = {}
        self.latency_seconds = 0.0
        self.release = threading.Event()
        self.hang = False
        self.seen_authorizations: list[str | None] = []
        server.expect_request(WHOAMI_PATH, method="GET").respond_with_handler(self._answer)

    def allow(self, token: str, answer: dict[str, Any] | None = None) -> None:
        self.answers[token] = (200, answer if answer is not None else whoami_answer())

    def answer(self, token: str, status: int, body: Any) -> None:
        self.answers[token] = (status, body)

    def _answer(self, request: Request) -> Response:
        authorization = request.headers.get("Authorization")
        self.seen_authorizations.append(authorization)
        if self.hang:
            self.release.wait(10)  # released at teardown: a Hub slower than any timeout
        elif self.latency_seconds:
            self.release.wait(self.latency_seconds)
        token = (authorization or "").removeprefix("Bearer ")
        status, body = self.answers.get(token, (401, HUB_401_BODY))
        text = body if isinstance(body, str) else json.dumps(body)
        return Response(text, status=status, content_type="application/json")

    @property
    def calls(self) -> int:
        return len(self.seen_authorizations)


@pytest.fixture
def whoami(fake_hub: Any) -> Iterator[FakeWhoami]:
    fake = FakeWhoami(fake_hub)
    yield fake
    fake.release.set()


@pytest.fixture
def auth_on(settings: Any, whoami: FakeWhoami) -> FakeWhoami:
    """Auth enabled for ORG against the fake Hub (a generous timeout: the machine is shared)."""
    settings.ADMIN = dataclasses.replace(settings.ADMIN, hf_organization=ORG, hf_timeout_seconds=2.0)
    return whoami


class Clock:
    """The clock of the browser sessions and of the verdict cache, moved by hand."""

    def __init__(self) -> None:
        self.moment = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return (self.moment - datetime(2024, 1, 1, tzinfo=UTC)).total_seconds()

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake_clock = Clock()
    monkeypatch.setattr(browser_sessions, "now", fake_clock.now)
    monkeypatch.setattr(hub_whoami.VERDICTS, "clock", fake_clock.monotonic)
    return fake_clock
