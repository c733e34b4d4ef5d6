"""A token with characters no Hub token has is a 401, never a 500 or a traceback (issue 11, item 4).

Hub tokens are printable ASCII. A token with CR/LF could not go into the whoami request's
header (http.client refuses it, naming the value: the token ended up in a traceback on
stderr), and one with characters outside Latin-1 cannot be encoded at all. Such a token is
refused before the Hub is asked, with the usual message, which does not echo it.
"""

from __future__ import annotations

import http.client
import re
from typing import Any

import pytest
import requests
from django.test import Client

from tests.support.auth_support import ORG, FakeWhoami
from tests.test_server import RunningServer, start_server  # noqa: F401 (the fixture)

BAD_TOKENS = ["hf_abc\r\nX-Forged: yes", "hf_abc\ndef", "hf_\u2603snowman", "hf_\u00e9t\u00e9", "hf_a\x00b", "hf_a\tb"]
UNAUTHENTICATED = {"error": "Cannot access the route. Please retry with authentication."}


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_a_bearer_token_with_bad_characters_is_401_without_asking_the_hub(
    client: Client, auth_on: FakeWhoami, token: str, capfd: pytest.CaptureFixture[str]
) -> None:
    response = client.get("/admin/pending-jobs", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (response.status_code, response["X-Error-Code"]) == (401, "ExternalUnauthenticatedError")
    assert response.json() == UNAUTHENTICATED
    assert auth_on.calls == 0
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err
    assert token not in captured.err + captured.out


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_a_pasted_token_with_bad_characters_is_refused_at_login(
    client: Client, auth_on: FakeWhoami, token: str, capfd: pytest.CaptureFixture[str]
) -> None:
    response = client.post("/admin/login", {"token": token})
    assert response.status_code == 401
    assert "The Hub did not accept this token" in response.content.decode()
    assert auth_on.calls == 0
    assert "Traceback" not in capfd.readouterr().err


def csrf_of(server: RunningServer) -> str:
    page = server.get("/admin/login")
    assert page.status_code == 200
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def test_the_real_server_refuses_bad_tokens_with_nothing_on_stderr(
    start_server: Any,  # noqa: F811
    mongo_server: Any,
    settings: Any,
    whoami: FakeWhoami,
) -> None:
    server: RunningServer = start_server(
        cache_url=mongo_server.cache_url,
        queue_url=mongo_server.queue_url,
        cache_database=settings.ADMIN.cache_mongo_database,
        queue_database=settings.ADMIN.queue_mongo_database,
        ADMIN_HF_ORGANIZATION=ORG,
        ADMIN_HF_TIMEOUT_SECONDS="2",
        COMMON_HF_ENDPOINT=settings.ADMIN.hf_endpoint,
    )
    before = server.output()
    csrf = csrf_of(server)
    for token in BAD_TOKENS:
        response = server.http.post(
            f"{server.url}/admin/login", data={"token": token, "csrfmiddlewaretoken": csrf}, timeout=10
        )
        assert response.status_code == 401, token
        assert token not in response.text
    # obs-text bytes in the header itself (uvicorn decodes them as Latin-1)
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest("GET", "/admin/pending-jobs")
    connection.putheader("Authorization", b"Bearer hf_\xe9t\xe9")
    connection.endheaders()
    answer = connection.getresponse()
    assert (answer.status, answer.getheader("X-Error-Code")) == (401, "ExternalUnauthenticatedError")
    connection.close()
    assert requests.get(f"{server.url}/healthcheck", timeout=10).status_code == 200
    assert whoami.calls == 0
    output = server.output()[len(before) :]
    assert "Traceback" not in output
    assert "ERROR" not in output
    for token in BAD_TOKENS:
        assert token not in output
    assert output.count("POST /admin/login 401") == len(BAD_TOKENS)
