"""Writes refuse a request from another site whatever the auth mode; scripts keep writing.

The attack: auth off (the default of `make run`), a page on another site posts a plain form to
the console's JSON API; the answer was readable through `Access-Control-Allow-Origin: *`. A
browser marks such a request with `Origin` (and `Sec-Fetch-*`); Django's CSRF check, which the
console's own forms already pass, now applies to it. The client here enforces that check, as a
real server does (Django's test client skips it unless told).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from foundation.core.config import default_allowed_hosts, load_config
from tests.support.auth_support import FakeWhoami, whoami_answer
from tests.support.write_helpers import serve_dataset

DATASET = "org/ds"
REFUSED_MESSAGE = "A write from a page of another site is refused."
ELSEWHERE = "http://attacker.example"
TOKEN = "hf_script_token_0123456789abcdef"
WRITES = [
    f"/admin/recreate-dataset?dataset={DATASET}",
    f"/admin/force-refresh/dataset-config-names?dataset={DATASET}",
    f"/admin/dataset-backfill?dataset={DATASET}",
    "/admin/bulk-refresh?kind=dataset-config-names&dry_run=false",
]


@pytest.fixture
def browser() -> Client:
    """A client whose writes go through Django's CSRF check, as on the real server."""
    return Client(enforce_csrf_checks=True, HTTP_HOST="localhost:8000")


def nothing_was_written(fake_hub: Any, queue_db: Any) -> bool:
    return (
        not fake_hub.log
        and queue_db["jobsBlue"].count_documents({}) == 0
        and "adminActions" not in set(queue_db.list_collection_names())
    )


@pytest.mark.parametrize("path", WRITES)
def test_a_form_posted_from_another_site_writes_nothing(
    browser: Client, fake_hub: Any, queue_db: Any, path: str
) -> None:
    serve_dataset(fake_hub, DATASET)
    response = browser.post(path, data={"priority": "high"}, HTTP_ORIGIN=ELSEWHERE)
    assert response.status_code == 403
    assert response["X-Error-Code"] == "CrossSiteRequestRefused"
    assert "Access-Control-Allow-Origin" not in response
    assert nothing_was_written(fake_hub, queue_db)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_SEC_FETCH_MODE": "navigate"},  # a browser that sent no Origin
        {"HTTP_REFERER": f"{ELSEWHERE}/page"},
        {"HTTP_ORIGIN": "null"},  # a sandboxed frame
        {"HTTP_ORIGIN": "http://localhost:8001"},  # another port of the same host: another origin
    ],
)
def test_other_marks_of_a_browser_on_another_site_are_refused(
    browser: Client, fake_hub: Any, queue_db: Any, headers: dict[str, str]
) -> None:
    serve_dataset(fake_hub, DATASET)
    response = browser.post(f"/admin/recreate-dataset?dataset={DATASET}", **headers)  # type: ignore[arg-type]
    assert (response.status_code, response["X-Error-Code"]) == (403, "CrossSiteRequestRefused")
    assert nothing_was_written(fake_hub, queue_db)


def test_a_host_name_that_is_not_ours_is_refused_before_anything(fake_hub: Any, queue_db: Any) -> None:
    """DNS rebinding: the attacker's name resolves to the server, so its page is same-origin."""
    rebound = Client(enforce_csrf_checks=True, HTTP_HOST="attacker.example")
    serve_dataset(fake_hub, DATASET)
    response = rebound.post(f"/admin/recreate-dataset?dataset={DATASET}", HTTP_ORIGIN=ELSEWHERE)
    assert (response.status_code, response["X-Error-Code"]) == (400, "DisallowedHost")
    assert rebound.get("/admin/pending-jobs").status_code == 400  # reads too
    assert nothing_was_written(fake_hub, queue_db)


def test_a_script_without_browser_headers_still_writes_with_auth_off(
    browser: Client, fake_hub: Any, queue_db: Any
) -> None:
    serve_dataset(fake_hub, DATASET)
    response = browser.post(f"/admin/recreate-dataset?dataset={DATASET}")
    assert response.status_code == 200, response.content
    assert queue_db["jobsBlue"].count_documents({"type": "dataset-init", "dataset": DATASET}) == 1


def test_a_script_with_a_bearer_token_still_writes_with_auth_on(
    browser: Client, auth_on: FakeWhoami, fake_hub: Any, queue_db: Any
) -> None:
    auth_on.allow(TOKEN, whoami_answer(name="script"))
    serve_dataset(fake_hub, DATASET)
    response = browser.post(
        f"/admin/force-refresh/dataset-config-names?dataset={DATASET}", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )
    assert response.status_code == 200, response.content
    assert queue_db["jobsBlue"].count_documents({"type": "dataset-config-names"}) == 1


def test_a_valid_token_does_not_open_writes_to_another_sites_page(
    browser: Client, auth_on: FakeWhoami, fake_hub: Any, queue_db: Any
) -> None:
    auth_on.allow(TOKEN, whoami_answer(name="script"))
    serve_dataset(fake_hub, DATASET)
    response = browser.post(
        f"/admin/force-refresh/dataset-config-names?dataset={DATASET}",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        HTTP_ORIGIN=ELSEWHERE,
    )
    assert (response.status_code, response["X-Error-Code"]) == (403, "CrossSiteRequestRefused")
    assert queue_db["jobsBlue"].count_documents({}) == 0


def test_the_browsers_own_origin_writes_with_djangos_csrf_token(browser: Client, fake_hub: Any) -> None:
    serve_dataset(fake_hub, DATASET)
    path = f"/admin/recreate-dataset?dataset={DATASET}"
    without_token = browser.post(path, HTTP_ORIGIN="http://localhost:8000")
    assert without_token.status_code == 403
    browser.get(f"/admin/dataset/recreate?dataset={DATASET}")  # a console form: it sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    with_token = browser.post(path, HTTP_ORIGIN="http://localhost:8000", HTTP_X_CSRFTOKEN=token)
    assert with_token.status_code == 200, with_token.content


def test_a_trusted_origin_may_write_with_the_token(browser: Client, fake_hub: Any, settings: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://admin.example.org"]
    serve_dataset(fake_hub, DATASET)
    browser.get(f"/admin/dataset/recreate?dataset={DATASET}")
    token = browser.cookies["csrftoken"].value
    path = f"/admin/recreate-dataset?dataset={DATASET}"
    written = browser.post(path, HTTP_ORIGIN="https://admin.example.org", HTTP_X_CSRFTOKEN=token)
    assert written.status_code == 200
    assert "Access-Control-Allow-Origin" not in written  # a write's answer: never for another origin to read
    assert browser.post(path, HTTP_ORIGIN=ELSEWHERE, HTTP_X_CSRFTOKEN=token).status_code == 403


# --- CORS: another origin reads the API, never a write's answer ---------------------------------


@pytest.mark.parametrize("path", WRITES)
def test_a_writes_preflight_gets_no_cors_headers(browser: Client, path: str) -> None:
    preflight = browser.options(
        path,
        HTTP_ORIGIN=ELSEWHERE,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert not [name for name in preflight.headers if name.lower().startswith("access-control-")]


def test_reads_stay_open_to_every_origin(browser: Client) -> None:
    preflight = browser.options(
        "/admin/pending-jobs",
        HTTP_ORIGIN=ELSEWHERE,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert browser.get("/admin/pending-jobs", HTTP_ORIGIN=ELSEWHERE)["Access-Control-Allow-Origin"] == "*"


# --- the host names --------------------------------------------------------------------------------


def test_allowed_hosts_default_to_the_configured_names() -> None:
    assert load_config({}).allowed_hosts == ("localhost", "127.0.0.1", "[::1]")
    assert load_config({"ADMIN_UVICORN_HOSTNAME": "admin.internal"}).allowed_hosts == (
        "admin.internal",
        "localhost",
        "127.0.0.1",
        "[::1]",
    )
    assert set(default_allowed_hosts("::")) >= {"localhost", "127.0.0.1", "[::1]"}  # every interface
    assert load_config({"ADMIN_ALLOWED_HOSTS": "admin.example.org, .svc.cluster.local"}).allowed_hosts == (
        "admin.example.org",
        ".svc.cluster.local",
    )


def test_trusted_origins_must_be_origins() -> None:
    assert load_config(
        {"ADMIN_CSRF_TRUSTED_ORIGINS": "https://a.example, https://*.b.example"}
    ).csrf_trusted_origins == (
        "https://a.example",
        "https://*.b.example",
    )
    with pytest.raises(Exception, match="ADMIN_CSRF_TRUSTED_ORIGINS: expected origins"):
        load_config({"ADMIN_CSRF_TRUSTED_ORIGINS": "admin.example.org"})


# --- a real browser -------------------------------------------------------------------------------

ATTACK = """<!doctype html><title>elsewhere</title>
<form id="attack" method="post" action="%s/admin/recreate-dataset?dataset=%s">
<input name="priority" value="high"></form>
<pre id="out">running</pre>
<script>
(async () => {
  let read;
  try {
    const answer = await fetch("%s/admin/force-refresh/dataset-config-names?dataset=%s", {method: "POST"});
    read = "read " + answer.status;
  } catch (error) {
    read = "blocked";
  }
  document.getElementById("out").textContent = read;
  document.getElementById("attack").submit();
})();
</script>"""


@pytest.fixture
def attacker(console_url: str) -> Iterator[str]:
    """A page on another origin that posts to the console as soon as it loads."""
    body = (ATTACK % (console_url, DATASET, console_url, DATASET)).encode()

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
def test_a_page_of_another_site_cannot_write_through_the_operators_browser(
    page: Any,
    console_url: str,
    attacker: str,
    fake_hub: Any,
    queue_db: Any,
) -> None:
    serve_dataset(fake_hub, DATASET)
    page.goto(attacker)
    page.wait_for_url(f"{console_url}/admin/recreate-dataset?dataset={DATASET}")  # the form was sent
    assert REFUSED_MESSAGE in page.content()
    assert nothing_was_written(fake_hub, queue_db)
