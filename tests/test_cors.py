"""CORS is for the JSON API only, and never with credentials (issue 11, item 2).

Every answer reflected any `Origin` with `Access-Control-Allow-Credentials: true`: a page on
another port of the same host (same site, so the Lax session cookie goes along) read the
console pages, the audit log and the CSRF token with the operator's session. The JSON API
authenticates by Bearer token only, so it needs no credentials: it allows any origin without
them, and nothing else (pages, login, logout, probes) sends CORS headers at all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import URLPattern, get_resolver
from rest_framework.views import APIView

from tests.support.auth_support import FakeWhoami, whoami_answer

ORIGIN = "http://127.0.0.1:1"
TOKEN = "hf_operator_0123456789abcdef"


def example_path(pattern: URLPattern) -> str:
    route = str(pattern.pattern)
    return "/" + route.replace("<str:kind>", "dataset-info").replace("<str:job_type>", "dataset-info").replace(
        "<str:entry_id>", "0123456789abcdef01234567"
    )


def is_json_api(pattern: URLPattern) -> bool:
    view_class = getattr(pattern.callback, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


PATTERNS = [pattern for pattern in get_resolver().url_patterns if isinstance(pattern, URLPattern)]


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if is_json_api(p)], ids=example_path)
def test_the_json_api_allows_any_origin_without_credentials(client: Client, pattern: URLPattern) -> None:
    preflight = client.options(
        example_path(pattern),
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",  # a write's preflight gets none (test_cross_site_writes.py)
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in preflight
    assert "authorization" in preflight["Access-Control-Allow-Headers"].split(", ")
    answer = client.get(example_path(pattern), HTTP_ORIGIN=ORIGIN)
    assert answer["Access-Control-Allow-Origin"] == "*"
    assert answer["Access-Control-Expose-Headers"] == "X-Error-Code, X-Revision"
    assert "Access-Control-Allow-Credentials" not in answer


@override_settings(ROOT_URLCONF="tests.support.cors_test_urls")
def test_a_new_json_route_is_open_to_cors_with_no_other_edit(client: Client) -> None:
    """The settings name no route: a JSON route is one by its view (`foundation.web.cors`)."""
    preflight = client.options("/admin/brand-new-route", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert (preflight.status_code, preflight["Access-Control-Allow-Origin"]) == (200, "*")
    answer = client.get("/admin/brand-new-route", HTTP_ORIGIN=ORIGIN)
    assert (answer.json(), answer["Access-Control-Allow-Origin"]) == ({"new": True}, "*")
    assert "Access-Control-Allow-Credentials" not in answer
    graph_page = client.get("/admin/graph", HTTP_ORIGIN=ORIGIN)
    assert not [name for name in graph_page.headers if name.lower().startswith("access-control-")]


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if not is_json_api(p)], ids=example_path)
def test_pages_login_logout_and_probes_send_no_cors_headers(client: Client, pattern: URLPattern) -> None:
    for answer in (
        client.get(example_path(pattern), HTTP_ORIGIN=ORIGIN),
        client.options(example_path(pattern), HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"),
    ):
        assert not [name for name in answer.headers if name.lower().startswith("access-control-")]


ATTACK = """<!doctype html><title>elsewhere</title><pre id="out">running</pre><script>
const console_url = "%s";
async function attempt(path, options) {
  try {
    const answer = await fetch(console_url + path, options);
    return path + " read " + answer.status + " " + (await answer.text()).length;
  } catch (error) {
    return path + " blocked";
  }
}
(async () => {
  const lines = [];
  for (const path of ["/admin/audit", "/admin/", "/admin/dataset?dataset=org/ds", "/admin/login"]) {
    lines.push(await attempt(path, {credentials: "include"}));
  }
  lines.push(await attempt("/admin/audit-log", {credentials: "include"}));
  lines.push(await attempt("/admin/blocked-datasets", {headers: {"Authorization": "Bearer %s"}}));
  document.getElementById("out").textContent = lines.join("\\n");
})();
</script>"""


@pytest.fixture
def elsewhere(console_url: str) -> Iterator[str]:
    """A page on another loopback port: another origin, the same site."""
    body = (ATTACK % (console_url, TOKEN)).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.browser
def test_a_page_on_another_origin_cannot_read_the_console_with_the_operators_session(
    page: Any,
    console_url: str,
    elsewhere: str,
    auth_on: FakeWhoami,
) -> None:
    auth_on.allow(TOKEN, whoami_answer(name="operator"))
    page.goto(f"{console_url}/admin/login")
    page.fill("#token", TOKEN)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{console_url}/admin/")
    page.goto(elsewhere)
    page.wait_for_function("document.getElementById('out').textContent !== 'running'")
    lines = page.locator("#out").inner_text().splitlines()
    assert lines[:5] == [
        "/admin/audit blocked",
        "/admin/ blocked",
        "/admin/dataset?dataset=org/ds blocked",
        "/admin/login blocked",
        "/admin/audit-log blocked",  # the API with the session cookie: no credentials allowed
    ]
    assert lines[5].startswith("/admin/blocked-datasets read 200 ")  # the API with a token: open to all
