"""Hub token authentication of the JSON API (REFERENCE.md, "Authentication")."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver

from foundation.auth import hub_whoami
from foundation.core.identity import HubIdentity
from tests.support.auth_support import (
    ORG,
    Clock,
    FakeWhoami,
    org_entry,
    scope,
    whoami_answer,
)
from tests.support.write_helpers import serve_dataset

ROUTE = "/admin/blocked-datasets"
TOKEN = "hf_AliceWriteTokenAbcdefghijklmnop"

UNAUTHENTICATED = {"error": "Cannot access the route. Please retry with authentication."}
NOT_ALLOWED = {
    "error": "Cannot access the route with the current credentials. Please retry with other authentication credentials."
}
HUB_FAILURE = {"error": "The authentication check on the Hub failed. Please retry later."}


def get(client: Client, token: str | None = TOKEN, route: str = ROUTE) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get(route, headers=headers)


def assert_error(response: Any, status: int, code: str, body: dict[str, str]) -> None:
    assert response.status_code == status
    assert response["X-Error-Code"] == code
    assert response.json() == body
    assert response["Cache-Control"] == "max-age=10"  # the read route's header, errors included


# --- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(whoami_answer(), id="fine-grained repo.write on the org"),
        pytest.param(whoami_answer(scoped=[scope(ORG, "repo.write")]), id="fine-grained repo.write alone"),
        pytest.param(
            whoami_answer(
                scoped=[scope("other-org", "repo.content.read"), scope(ORG, "repo.content.read", "repo.write")]
            ),
            id="fine-grained, the org's scope is the second",
        ),
        pytest.param(whoami_answer(role="write", orgs=[org_entry(ORG, "read")]), id="write token, read in the org"),
        pytest.param(whoami_answer(role="write", orgs=[org_entry(ORG, "write")]), id="write token, write in the org"),
        pytest.param(whoami_answer(role="write", orgs=[org_entry(ORG, "admin")]), id="write token, admin of the org"),
    ],
)
def test_an_allowed_token_reaches_the_route(client: Client, auth_on: FakeWhoami, answer: dict[str, Any]) -> None:
    auth_on.allow(TOKEN, answer)
    response = get(client)
    assert response.status_code == 200
    assert response.json() == {"blocked_datasets": []}
    assert response["Cache-Control"] == "max-age=10"
    assert auth_on.seen_authorizations == [f"Bearer {TOKEN}"]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(whoami_answer(scoped=[scope(ORG, "repo.content.read")]), id="fine-grained read only"),
        pytest.param(
            whoami_answer(scoped=[scope(ORG, "repo.content.read", "discussion.write", "org.read")]),
            id="fine-grained without repo.write",
        ),
        pytest.param(whoami_answer(scoped=[scope("other-org", "repo.write")]), id="repo.write on another org"),
        pytest.param(
            whoami_answer(scoped=[{"entity": {"type": "user", "name": ORG}, "permissions": ["repo.write"]}]),
            id="repo.write on a user named like the org",
        ),
        pytest.param(whoami_answer(scoped=[]), id="fine-grained, no scope"),
        pytest.param(whoami_answer(orgs=[org_entry("other-org", "admin")]), id="org missing from orgs"),
        pytest.param(whoami_answer(orgs=[]), id="member of no org"),
        pytest.param(whoami_answer(role="read"), id="read token"),
        pytest.param(whoami_answer(role="write", orgs=[org_entry(ORG, "contributor")]), id="write token, contributor"),
        pytest.param(whoami_answer(role="write", orgs=[org_entry(ORG, "none")]), id="write token, unknown role"),
        pytest.param(whoami_answer(auth_type="oauth"), id="not an access token"),
        pytest.param({"name": "alice"}, id="no orgs, no auth"),
        pytest.param({"orgs": [org_entry(ORG, "admin")], "auth": {"type": "access_token"}}, id="no name"),
        pytest.param([], id="a list"),
        pytest.param("not json at all", id="not JSON"),
        pytest.param(
            whoami_answer(scoped=[{"entity": "my-org", "permissions": [{"repo.write": True}]}]),
            id="malformed scope",
        ),
    ],
)
def test_a_token_that_does_not_meet_the_rules_is_404(
    client: Client, auth_on: FakeWhoami, answer: dict[str, Any]
) -> None:
    auth_on.allow(TOKEN, answer)
    assert_error(get(client), 404, "ExternalAuthenticatedError", NOT_ALLOWED)


@pytest.mark.parametrize(
    ("hub_status", "status", "code", "body"),
    [
        (401, 401, "ExternalUnauthenticatedError", UNAUTHENTICATED),
        (403, 404, "ExternalAuthenticatedError", NOT_ALLOWED),
        (404, 404, "ExternalAuthenticatedError", NOT_ALLOWED),
        (429, 500, "AuthCheckHubRequestError", HUB_FAILURE),
        (500, 500, "AuthCheckHubRequestError", HUB_FAILURE),
        (302, 500, "AuthCheckHubRequestError", HUB_FAILURE),
    ],
)
def test_hub_statuses_map_to_the_reference_errors(
    client: Client, auth_on: FakeWhoami, hub_status: int, status: int, code: str, body: dict[str, str]
) -> None:
    auth_on.answer(TOKEN, hub_status, {"error": "whatever the Hub says"})
    assert_error(get(client), status, code, body)
    assert auth_on.calls == 1


def test_without_a_token_the_answer_is_401_and_the_hub_is_not_asked(client: Client, auth_on: FakeWhoami) -> None:
    for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer "}, {"Authorization": "Basic YWxpY2U6cHc="}):
        assert_error(client.get(ROUTE, headers=headers), 401, "ExternalUnauthenticatedError", UNAUTHENTICATED)
    assert auth_on.calls == 0


def test_the_bearer_scheme_is_case_insensitive(client: Client, auth_on: FakeWhoami) -> None:
    auth_on.allow(TOKEN)
    assert client.get(ROUTE, headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200


def test_a_hub_slower_than_the_timeout_is_500_within_the_timeout(
    client: Client, auth_on: FakeWhoami, settings: Any
) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, hf_timeout_seconds=0.2)
    auth_on.allow(TOKEN)
    auth_on.hang = True  # answers only when released, at teardown
    started = time.monotonic()
    response = get(client)
    elapsed = time.monotonic() - started
    assert_error(response, 500, "AuthCheckHubRequestError", HUB_FAILURE)
    assert elapsed < 0.2 + 1.0  # cut by the timeout: the fake Hub itself never answers


def test_an_unreachable_hub_is_500(client: Client, settings: Any) -> None:
    # A port nothing listens on: bind one, close it, point the Hub there.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.ADMIN = dataclasses.replace(settings.ADMIN, hf_organization=ORG, hf_endpoint=f"http://127.0.0.1:{port}")
    assert_error(get(client), 500, "AuthCheckHubRequestError", HUB_FAILURE)


# --- where auth applies ---------------------------------------------------------------------


def _drf_routes() -> list[str]:
    """Every DRF route of the URLconf, with sample values in its parameters."""
    routes = []
    for pattern in get_resolver().url_patterns:
        assert isinstance(pattern, URLPattern)
        if hasattr(pattern.callback, "cls"):
            route = "/" + str(pattern.pattern)
            for converter in pattern.pattern.converters:
                route = route.replace(f"<str:{converter}>", "dataset-config-names")
            routes.append(route)
    return routes


def test_every_json_route_needs_a_token_when_auth_is_on(client: Client, auth_on: FakeWhoami) -> None:
    routes = _drf_routes()
    assert "/admin/pending-jobs" in routes and "/admin/cache-reports/dataset-config-names" in routes
    for route in routes:
        for method in (client.get, client.post):
            response = method(route)
            assert response.status_code == 401, (route, method)
            assert response["X-Error-Code"] == "ExternalUnauthenticatedError"
    assert auth_on.calls == 0


def test_every_json_route_is_open_when_auth_is_off(
    client: Client, whoami: FakeWhoami, fake_hub: Any, settings: Any
) -> None:
    assert settings.ADMIN.hf_organization is None
    serve_dataset(fake_hub, "org/ds")  # the backfill plan asks the Hub for the revision
    for route in _drf_routes():
        response = client.get(route, {"dataset": "org/ds"})
        assert response.status_code in (200, 405), route  # 405: a POST-only route, past authentication
    assert whoami.calls == 0


def test_healthchecks_stay_open_with_auth_on(client: Client, auth_on: FakeWhoami) -> None:
    for route in ("/healthcheck", "/admin/healthcheck"):
        response = client.get(route)
        assert response.status_code == 200
        assert response.content == b"ok"
    assert auth_on.calls == 0


def test_metrics_and_readiness_stay_open_with_auth_on(client: Client, auth_on: FakeWhoami) -> None:
    metrics = client.get("/admin/metrics")
    assert metrics.status_code == 200
    assert b'mongodb_up{database="queue"} 1.0' in metrics.content
    readiness = client.get("/admin/readiness")
    assert readiness.status_code == 200
    assert readiness.json()["status"] == "ready"
    assert auth_on.calls == 0


# --- the identity ---------------------------------------------------------------------------


def test_the_identity_of_the_caller_is_on_both_requests(auth_on: FakeWhoami, rf: Any) -> None:
    from rest_framework.request import Request

    from foundation.auth.authentication import HubTokenAuthentication, IsAllowedByHub
    from foundation.core.identity import identity_of

    auth_on.allow(TOKEN, whoami_answer(name="bob"))
    django_request = rf.get(ROUTE, headers={"Authorization": f"Bearer {TOKEN}"})
    request = Request(django_request, authenticators=[HubTokenAuthentication()])
    user: object = request.user
    assert user == HubIdentity(name="bob", org=ORG)
    assert identity_of(request) == HubIdentity(name="bob", org=ORG)
    assert identity_of(django_request) == HubIdentity(name="bob", org=ORG)
    assert IsAllowedByHub().has_permission(request, None)  # type: ignore[arg-type]


def test_the_identity_is_anonymous_when_auth_is_off(rf: Any) -> None:
    from rest_framework.request import Request

    from foundation.auth.authentication import HubTokenAuthentication
    from foundation.core.identity import ANONYMOUS, identity_of

    django_request = rf.get(ROUTE)
    request = Request(django_request, authenticators=[HubTokenAuthentication()])
    user: object = request.user
    assert user == ANONYMOUS
    assert identity_of(request) is ANONYMOUS
    assert identity_of(django_request) is ANONYMOUS


# --- the verdict cache ----------------------------------------------------------------------


def test_a_burst_of_requests_with_one_token_costs_one_hub_call(client: Client, auth_on: FakeWhoami) -> None:
    auth_on.allow(TOKEN)
    for _ in range(5):
        assert get(client).status_code == 200
    assert auth_on.calls == 1


def test_refusals_are_cached_too(client: Client, auth_on: FakeWhoami) -> None:
    auth_on.allow(TOKEN, whoami_answer(scoped=[scope(ORG, "repo.content.read")]))
    auth_on.answer("hf_revoked", 401, {"error": "Invalid credentials"})
    for _ in range(3):
        assert get(client).status_code == 404
        assert get(client, "hf_revoked").status_code == 401
    assert auth_on.calls == 2


def test_hub_failures_are_not_cached(client: Client, auth_on: FakeWhoami) -> None:
    auth_on.answer(TOKEN, 503, {"error": "unavailable"})
    assert get(client).status_code == 500
    auth_on.allow(TOKEN)
    assert get(client).status_code == 200
    assert auth_on.calls == 2


def test_zero_seconds_turns_the_cache_off(client: Client, auth_on: FakeWhoami, settings: Any) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, auth_cache_seconds=0)
    auth_on.allow(TOKEN)
    for _ in range(4):
        assert get(client).status_code == 200
    assert auth_on.calls == 4
    assert len(hub_whoami.VERDICTS) == 0


def test_a_verdict_expires_after_the_configured_seconds(client: Client, auth_on: FakeWhoami, clock: Clock) -> None:
    auth_on.allow(TOKEN)
    assert get(client).status_code == 200
    clock.advance(9.9)
    assert get(client).status_code == 200
    assert auth_on.calls == 1
    auth_on.answer(TOKEN, 401, {"error": "revoked"})
    clock.advance(0.1)
    assert get(client).status_code == 401
    assert auth_on.calls == 2


def test_each_token_has_its_own_verdict(client: Client, auth_on: FakeWhoami) -> None:
    auth_on.allow(TOKEN)
    auth_on.allow("hf_other", whoami_answer(scoped=[scope(ORG, "repo.content.read")]))
    assert get(client).status_code == 200
    assert get(client, "hf_other").status_code == 404
    assert get(client).status_code == 200
    assert auth_on.calls == 2


def test_concurrent_first_requests_with_one_token_make_one_hub_call(auth_on: FakeWhoami) -> None:
    auth_on.allow(TOKEN)
    auth_on.latency_seconds = 0.1
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    identities: list[HubIdentity] = []

    def verify() -> None:
        barrier.wait()
        identities.append(hub_whoami.verify_token(token=TOKEN))

    threads = [threading.Thread(target=verify) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert identities == [HubIdentity(name="alice", org=ORG)] * threads_count
    assert auth_on.calls == 1


def test_the_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    cache = hub_whoami.VerdictCache(max_size=2)
    allowed = hub_whoami.Verdict(identity=HubIdentity(name="alice", org=ORG))
    cache.put(("a",), allowed, ttl_seconds=10)
    cache.put(("b",), hub_whoami.NOT_ALLOWED, ttl_seconds=10)
    assert cache.get(("a",)) == allowed  # "a" is now the most recently used
    cache.put(("c",), hub_whoami.UNAUTHENTICATED, ttl_seconds=10)
    assert len(cache) == 2
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) == allowed
    assert cache.get(("c",)) == hub_whoami.UNAUTHENTICATED


def test_the_cache_keeps_the_token_hash_not_the_token(client: Client, auth_on: FakeWhoami) -> None:
    auth_on.allow(TOKEN)
    assert get(client).status_code == 200
    keys = list(hub_whoami.VERDICTS._entries)
    assert len(keys) == 1
    assert TOKEN not in repr(keys) and TOKEN not in repr(list(hub_whoami.VERDICTS._entries.values()))
