"""Browser login with a Hub token: login, logout, protected pages, re-verification, secrecy."""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.serializers import JSONSerializer
from django.core import signing
from django.http import HttpResponseBase
from django.test import Client

from foundation.auth import browser_sessions
from foundation.database import mongo
from tests.support.auth_support import (
    ORG,
    Clock,
    FakeWhoami,
    scope,
    whoami_answer,
)

pytestmark = pytest.mark.urls("tests.support.auth_test_urls")

PAGE = "/admin/test-page"
TOKEN = "hf_BrowserTokenOfAliceZyxwvutsrqpo"


def login(client: Client, token: str = TOKEN, next_url: str = PAGE) -> Any:
    return client.post("/admin/login", {"token": token, "next": next_url})


def session_data(client: Client) -> dict[str, Any]:
    """What the signed session cookie holds (it is signed, not encrypted: anyone can read it)."""
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    data: dict[str, Any] = signing.loads(
        cookie, salt="django.contrib.sessions.backends.signed_cookies", serializer=JSONSerializer
    )
    return data


def sent_to_login(response: HttpResponseBase) -> bool:
    """The answer of a protected page to a visitor without a valid session: the login page, then back."""
    location: str = response["Location"] if response.has_header("Location") else ""
    return response.status_code == 302 and location == "/admin/login?next=/admin/test-page"


def session_records(queue_db: Any) -> list[dict[str, Any]]:
    return list(queue_db[mongo.ADMIN_SESSIONS].find())


# --- redirect, login, logout ----------------------------------------------------------------


def test_a_protected_page_redirects_to_the_login_page(client: Client, auth_on: FakeWhoami) -> None:
    response = client.get(PAGE, {"x": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/login?next=/admin/test-page%3Fx%3D1"
    assert auth_on.calls == 0


def test_the_login_page_shows_a_form_with_a_csrf_token(client: Client, auth_on: FakeWhoami) -> None:
    response = client.get("/admin/login", {"next": PAGE})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'type="password" id="token" name="token"' in page
    assert f'name="next" value="{PAGE}"' in page
    assert ORG in page
    assert "no-store" in response["Cache-Control"]


def test_login_with_an_allowed_token_opens_a_session(client: Client, auth_on: FakeWhoami, queue_db: Any) -> None:
    auth_on.allow(TOKEN, whoami_answer(name="alice"))
    response = login(client)
    assert response.status_code == 302
    assert response["Location"] == PAGE
    page = client.get(PAGE)
    assert page.status_code == 200
    assert page.content == b"<p>Hello alice of my-org</p>"
    assert "private" in page["Cache-Control"]
    assert "Cookie" in page["Vary"]
    assert auth_on.calls == 1
    data = session_data(client)
    assert data[browser_sessions.USER_NAME_KEY] == "alice"
    assert data[browser_sessions.ORG_KEY] == ORG
    assert set(data) == {
        browser_sessions.SESSION_ID_KEY,
        browser_sessions.TOKEN_PAD_KEY,
        browser_sessions.USER_NAME_KEY,
        browser_sessions.ORG_KEY,
    }
    [record] = session_records(queue_db)
    assert record["name"] == "alice" and record["org"] == ORG
    assert set(record) == {"_id", "name", "org", "sealed_token", "created_at", "verified_at", "expires_at"}


def test_the_token_is_split_between_cookie_and_database_and_whole_in_neither(
    client: Client, auth_on: FakeWhoami, queue_db: Any
) -> None:
    auth_on.allow(TOKEN)
    login(client)
    data = session_data(client)
    [record] = session_records(queue_db)
    assert TOKEN not in repr(data) and TOKEN.encode() not in repr(data).encode()
    assert TOKEN not in repr(record) and TOKEN.encode() not in bytes(record["sealed_token"])
    assert record["_id"] != data[browser_sessions.SESSION_ID_KEY]  # the database holds only its hash
    pad = base64.urlsafe_b64decode(data[browser_sessions.TOKEN_PAD_KEY])
    assert bytes(a ^ b for a, b in zip(bytes(record["sealed_token"]), pad, strict=True)) == TOKEN.encode()


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        pytest.param((200, whoami_answer(scoped=[scope(ORG, "repo.content.read")])), 401, id="read-only token"),
        pytest.param((401, {"error": "Invalid credentials"}), 401, id="unknown token"),
        pytest.param((403, {"error": "Forbidden"}), 401, id="hub 403"),
    ],
)
def test_login_with_a_refused_token_shows_the_form_again(
    client: Client, auth_on: FakeWhoami, queue_db: Any, answer: tuple[int, Any], status: int
) -> None:
    auth_on.answer(TOKEN, *answer)
    response = login(client)
    assert response.status_code == status
    page = response.content.decode()
    assert "The Hub did not accept this token: it must grant write access to the my-org organization." in page
    assert TOKEN not in page
    assert session_records(queue_db) == []
    assert sent_to_login(client.get(PAGE))


def test_login_without_a_token_does_not_ask_the_hub(client: Client, auth_on: FakeWhoami) -> None:
    response = client.post("/admin/login", {"token": "  "})
    assert response.status_code == 401
    assert "Paste a Hugging Face Hub token." in response.content.decode()
    assert auth_on.calls == 0


def test_login_when_the_hub_fails_is_500(client: Client, auth_on: FakeWhoami, queue_db: Any) -> None:
    auth_on.answer(TOKEN, 502, "bad gateway")
    response = login(client)
    assert response.status_code == 500
    assert response["X-Error-Code"] == "AuthCheckHubRequestError"
    assert "The Hub could not be reached" in response.content.decode()
    assert session_records(queue_db) == []


def test_login_when_the_hub_fails_shows_the_login_form_again_without_the_token(
    client: Client, auth_on: FakeWhoami
) -> None:
    """Not a page of its own: reloading a POST result would send the token again."""
    auth_on.answer(TOKEN, 503, "unavailable")
    response = login(client)
    assert response.status_code == 500
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "<title>Sign in · dataset viewer admin</title>" in page
    error = (
        '<p class="error" role="alert">The Hub could not be reached to check this token: you are not signed in.'
        " Paste the token again in a moment.</p>"
    )
    assert error in page
    assert page.index(error) < page.index('<form method="post" action="/admin/login">')
    assert '<input type="password" id="token" name="token" autocomplete="off" required autofocus>' in page
    assert f'<input type="hidden" name="next" value="{PAGE}">' in page
    assert TOKEN not in page
    auth_on.allow(TOKEN)
    assert login(client).status_code == 302  # once the Hub answers, the same form signs in


def test_logout_says_so_on_the_login_page(client: Client, auth_on: FakeWhoami) -> None:
    auth_on.allow(TOKEN)
    login(client)
    response = client.post("/admin/logout")
    page = client.get(response["Location"])
    assert '<li class="message info" role="status">You are signed out.</li>' in page.content.decode()
    assert "You are signed out." not in client.get("/admin/login").content.decode()  # said once


def test_a_message_waits_through_json_and_probe_requests_for_the_next_page(client: Client, auth_on: FakeWhoami) -> None:
    """Messages are read lazily: a route that shows none leaves them (and their cookie) for a page."""
    auth_on.allow(TOKEN)
    login(client)
    response = client.post("/admin/logout")
    for path in ("/healthcheck", "/admin/metrics"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert "messages" not in answer.cookies
    page = client.get(response["Location"])
    assert '<li class="message info" role="status">You are signed out.</li>' in page.content.decode()
    assert "You are signed out." not in client.get("/admin/login").content.decode()


@pytest.mark.parametrize("next_url", ["https://evil.example/x", "//evil.example/x", "javascript:alert(1)", ""])
def test_login_never_redirects_off_site(client: Client, auth_on: FakeWhoami, next_url: str) -> None:
    auth_on.allow(TOKEN)
    response = login(client, next_url=next_url)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_logout_ends_the_session_and_a_copied_cookie_dies_with_it(
    client: Client, auth_on: FakeWhoami, queue_db: Any
) -> None:
    auth_on.allow(TOKEN)
    login(client)
    copied_cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    response = client.post("/admin/logout")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login"
    assert session_records(queue_db) == []
    assert sent_to_login(client.get(PAGE))
    replay = Client()
    replay.cookies[django_settings.SESSION_COOKIE_NAME] = copied_cookie
    assert sent_to_login(replay.get(PAGE))


def test_logout_is_post_only(client: Client, auth_on: FakeWhoami) -> None:
    assert client.get("/admin/logout").status_code == 405


def test_login_and_logout_are_csrf_protected(auth_on: FakeWhoami) -> None:
    auth_on.allow(TOKEN)
    browser = Client(enforce_csrf_checks=True)
    assert browser.post("/admin/login", {"token": TOKEN}).status_code == 403
    assert auth_on.calls == 0
    form = browser.get("/admin/login").content.decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert match is not None
    csrf = match.group(1)
    assert browser.post("/admin/login", {"token": TOKEN, "csrfmiddlewaretoken": csrf}).status_code == 302
    assert browser.get(PAGE).status_code == 200
    assert browser.post("/admin/logout").status_code == 403
    assert browser.get(PAGE).status_code == 200
    form = browser.get("/admin/login").content.decode()
    assert "Signed in as <strong>alice</strong>" in form
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert match is not None
    assert browser.post("/admin/logout", {"csrfmiddlewaretoken": match.group(1)}).status_code == 302
    assert sent_to_login(browser.get(PAGE))


def test_with_auth_off_pages_are_open_and_the_login_page_steps_aside(client: Client, whoami: FakeWhoami) -> None:
    response = client.get(PAGE)
    assert response.status_code == 200
    assert response.content == b"<p>Hello anonymous of None</p>"
    assert client.get("/admin/login", {"next": PAGE})["Location"] == PAGE
    assert whoami.calls == 0


def test_a_session_of_another_org_is_not_accepted(client: Client, auth_on: FakeWhoami, settings: Any) -> None:
    auth_on.allow(TOKEN)
    login(client)
    settings.ADMIN = dataclasses.replace(settings.ADMIN, hf_organization="other-org")
    assert sent_to_login(client.get(PAGE))


def test_a_tampered_cookie_is_not_accepted(client: Client, auth_on: FakeWhoami) -> None:
    auth_on.allow(TOKEN)
    login(client)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    client.cookies[django_settings.SESSION_COOKIE_NAME] = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert sent_to_login(client.get(PAGE))


# --- re-verification ------------------------------------------------------------------------


def test_the_session_is_verified_again_on_the_hub_after_the_interval(
    client: Client, auth_on: FakeWhoami, clock: Clock, queue_db: Any
) -> None:
    auth_on.allow(TOKEN)
    login(client)
    assert auth_on.calls == 1
    clock.advance(599)
    assert client.get(PAGE).status_code == 200
    assert auth_on.calls == 1
    clock.advance(1)
    assert client.get(PAGE).status_code == 200
    assert auth_on.calls == 2
    assert auth_on.seen_authorizations[-1] == f"Bearer {TOKEN}"
    [record] = session_records(queue_db)
    assert record["verified_at"] == clock.now()
    clock.advance(599)
    assert client.get(PAGE).status_code == 200
    assert auth_on.calls == 2


def test_a_revoked_token_ends_the_session_at_the_next_verification(
    client: Client, auth_on: FakeWhoami, clock: Clock, queue_db: Any
) -> None:
    auth_on.allow(TOKEN)
    login(client)
    auth_on.answer(TOKEN, 401, {"error": "Invalid credentials in Authorization header"})
    clock.advance(600)
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login")
    assert session_records(queue_db) == []
    assert auth_on.calls == 2


def test_the_interval_is_configurable(client: Client, auth_on: FakeWhoami, clock: Clock, settings: Any) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, session_reverify_seconds=60)
    auth_on.allow(TOKEN)
    login(client)
    clock.advance(59)
    client.get(PAGE)
    assert auth_on.calls == 1
    clock.advance(1)
    assert client.get(PAGE).status_code == 200
    assert auth_on.calls == 2


def test_a_hub_failure_at_verification_is_500_and_keeps_the_session(
    client: Client, auth_on: FakeWhoami, clock: Clock, queue_db: Any
) -> None:
    auth_on.allow(TOKEN)
    login(client)
    auth_on.answer(TOKEN, 503, "unavailable")
    clock.advance(600)
    response = client.get(PAGE)
    assert response.status_code == 500
    assert response["X-Error-Code"] == "AuthCheckHubRequestError"
    assert "no-store" in response["Cache-Control"]
    assert len(session_records(queue_db)) == 1
    auth_on.allow(TOKEN)
    assert client.get(PAGE).status_code == 200


def test_an_expired_session_is_over_and_purged_at_the_next_login(
    client: Client, auth_on: FakeWhoami, clock: Clock, queue_db: Any
) -> None:
    auth_on.allow(TOKEN)
    login(client)
    clock.advance(django_settings.SESSION_COOKIE_AGE)
    assert sent_to_login(client.get(PAGE))
    other = Client()
    login(other)
    assert len(session_records(queue_db)) == 1


# --- the token stays secret -----------------------------------------------------------------


def _texts_of(response: Any) -> list[str]:
    texts = [response.content.decode("utf-8", "replace")]
    texts += [f"{name}: {value}" for name, value in response.items()]
    texts += [morsel.OutputString() for morsel in response.cookies.values()]
    return texts


def test_the_token_appears_in_no_log_record_response_or_cookie(
    client: Client, auth_on: FakeWhoami, caplog: pytest.LogCaptureFixture, clock: Clock, settings: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "django", "adminsite"):
        caplog.set_level(logging.DEBUG, logger=name)
    refused = "hf_RefusedTokenNotAllowedHere123456"
    unknown = "hf_UnknownTokenTheHubRejects987654"
    failing = "hf_FailingTokenHubAnswers500abcdef"
    auth_on.allow(TOKEN)
    auth_on.allow(refused, whoami_answer(scoped=[scope(ORG, "repo.content.read")]))
    auth_on.answer(failing, 500, "oops")
    responses = []
    for token in (TOKEN, refused, unknown, failing):
        responses.append(client.get("/admin/pending-jobs", headers={"Authorization": f"Bearer {token}"}))
        responses.append(login(Client(), token))
        responses.append(login(client, token))
    responses.append(client.get(PAGE))
    auth_on.answer(TOKEN, 401, {"error": "revoked"})
    clock.advance(600)
    responses.append(client.get(PAGE))
    responses.append(client.post("/admin/logout"))
    assert [response.status_code for response in responses][:3] == [200, 302, 302]
    secrets = (TOKEN, refused, unknown, failing)
    texts = [text for response in responses for text in _texts_of(response)]
    texts += [morsel.OutputString() for morsel in client.cookies.values()]
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args), str(record.exc_text), repr(record.__dict__)]
    assert len(caplog.records) > 0
    leaks = [text for text in texts for secret in secrets if secret in text]
    assert leaks == []
