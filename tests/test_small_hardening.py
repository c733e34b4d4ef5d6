"""The small ones of issue 11 (item 8): probes' 405, --from-file, Secure cookies, CSP, whoami flood."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from foundation.auth import hub_whoami
from tests.support.auth_support import ORG, FakeWhoami, whoami_answer
from tests.test_server import PROJECT_ROOT, RunningServer, server_environment, start_server  # noqa: F401

# --- non-GET on the probes and metrics ---------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthcheck", "/admin/healthcheck", "/admin/readiness", "/admin/metrics"])
@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_a_write_method_on_a_probe_is_a_json_405_no_cache_keeps(client: Client, path: str, method: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response["X-Error-Code"] == "MethodNotAllowed"
    assert response["Cache-Control"] == "no-store"
    assert response["Allow"] == "GET, HEAD"
    assert response.json() == {"error": f'Method "{method.upper()}" not allowed.'}


# --- recreate_dataset --from-file ----------------------------------------------------------------


def run_manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=server_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_from_file_reads_a_bounded_amount(tmp_path: Path) -> None:
    done = run_manage("recreate_dataset", "--from-file", "/dev/zero", "--dry-run")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "CommandError: /dev/zero is larger than 16777216 bytes: split it into smaller files"
    ]


def test_from_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_bytes(b"org/a\n\xff\xfeorg/b\n")
    done = run_manage("recreate_dataset", "--from-file", str(names), "--dry-run")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"CommandError: {names} is not UTF-8 text (at byte 6)"]
    assert "Traceback" not in done.stderr


# --- Secure cookies behind an HTTPS proxy, and the Content-Security-Policy ---------------------------


def cookie_headers(response: Any) -> dict[str, str]:
    """{cookie name: its Set-Cookie header} of a requests response."""
    headers = response.raw.headers.getlist("Set-Cookie")
    return {header.split("=", 1)[0]: header for header in headers}


@pytest.fixture
def https_proxied(start_server: Any, mongo_server: Any, settings: Any, whoami: FakeWhoami) -> Any:  # noqa: F811
    def start(**env: str) -> RunningServer:
        server: RunningServer = start_server(
            cache_url=mongo_server.cache_url,
            queue_url=mongo_server.queue_url,
            cache_database=settings.ADMIN.cache_mongo_database,
            queue_database=settings.ADMIN.queue_mongo_database,
            ADMIN_HF_ORGANIZATION=ORG,
            ADMIN_HF_TIMEOUT_SECONDS="2",
            COMMON_HF_ENDPOINT=settings.ADMIN.hf_endpoint,
            **env,
        )
        return server

    return start


def sign_in(server: RunningServer, whoami: FakeWhoami, headers: dict[str, str]) -> tuple[Any, Any]:
    whoami.allow("hf_operator_token_0123456789", whoami_answer(name="operator"))
    form = server.get("/admin/login", headers=headers)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token is not None
    login = server.http.post(
        f"{server.url}/admin/login",
        data={"token": "hf_operator_token_0123456789", "csrfmiddlewaretoken": token.group(1)},
        headers={
            **headers,
            "Referer": f"{server.url.replace('http:', 'https:')}/admin/login",
            # a Secure cookie is not sent over http:// by the client: the proxy would, over https
            "Cookie": f"csrftoken={form.cookies['csrftoken']}",
        },
        allow_redirects=False,
        timeout=10,
    )
    return form, login


def test_cookies_are_secure_when_a_trusted_proxy_says_https(https_proxied: Any, whoami: FakeWhoami) -> None:
    server = https_proxied()
    form, login = sign_in(server, whoami, {"X-Forwarded-Proto": "https"})
    assert login.status_code == 302, login.text
    assert "; Secure" in cookie_headers(form)["csrftoken"]
    assert "; Secure" in cookie_headers(login)["sessionid"]


def test_cookies_are_not_secure_over_plain_http(https_proxied: Any, whoami: FakeWhoami) -> None:
    server = https_proxied()
    form, login = sign_in(server, whoami, {})
    assert login.status_code == 302, login.text
    assert "Secure" not in cookie_headers(form)["csrftoken"]
    assert "Secure" not in cookie_headers(login)["sessionid"]


def test_a_forwarded_proto_from_an_untrusted_address_is_ignored(https_proxied: Any, whoami: FakeWhoami) -> None:
    server = https_proxied(FORWARDED_ALLOW_IPS="10.9.8.7")
    form = server.get("/admin/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in cookie_headers(form)["csrftoken"]


def test_pages_carry_a_content_security_policy_without_inline_script(client: Client) -> None:
    response = client.get("/admin/")
    policy = response["Content-Security-Policy"]
    directives = dict(directive.strip().split(" ", 1) for directive in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe-inline" not in policy
    assert "<script>" not in response.content.decode()


# --- the whoami flood ----------------------------------------------------------------------------


def test_concurrent_whoami_calls_are_capped(auth_on: FakeWhoami, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow_ask(*, token: str, config: Any) -> Any:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        release.wait(5)
        with lock:
            in_flight[0] -= 1
        return hub_whoami.UNAUTHENTICATED

    monkeypatch.setattr(hub_whoami, "_ask_hub_uncapped", slow_ask)
    outcomes: list[str] = []

    def call(index: int) -> None:
        try:
            verdict = hub_whoami.ask_hub(token=f"hf_unknown_{index:04d}", config=settings.ADMIN)
            outcomes.append("refused" if verdict.identity is None else "allowed")
        except Exception as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=call, args=(index,)) for index in range(3 * hub_whoami.MAX_CONCURRENT_WHOAMI)]
    for thread in threads:
        thread.start()
    threading.Timer(3.0, release.set).start()
    for thread in threads:
        thread.join(timeout=20)
    assert peak[0] == hub_whoami.MAX_CONCURRENT_WHOAMI
    assert outcomes.count("refused") == hub_whoami.MAX_CONCURRENT_WHOAMI
    assert outcomes.count("AuthCheckHubRequestError") == 2 * hub_whoami.MAX_CONCURRENT_WHOAMI


def test_refusals_are_remembered_so_a_repeated_unknown_token_costs_one_hub_call(auth_on: FakeWhoami) -> None:
    for _ in range(5):
        with pytest.raises(Exception, match="Please retry with authentication"):
            hub_whoami.verify_token(token="hf_unknown_flooding_token")
    assert auth_on.calls == 1
