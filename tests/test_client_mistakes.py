"""A client's mistake is a 400/413/422 with the JSON error answer, never a 500 (issue 11, item 6).

Against the real server: a body over the limit, more than 1,000 form fields and JSON nested
100,000 deep were 500s; a 200 MB body was read and spooled before anything looked at it. Now
Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE from its Content-Length before it is read
(the server answers while the client has sent nothing of it), and a chunked body, which a WSGI
application cannot read, is refused whole.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_server import RunningServer, start_server  # noqa: F401 (the fixture)


@pytest.fixture
def server(start_server: Any, mongo_server: Any, settings: Any) -> RunningServer:  # noqa: F811
    running: RunningServer = start_server(
        cache_url=mongo_server.cache_url,
        queue_url=mongo_server.queue_url,
        cache_database=settings.ADMIN.cache_mongo_database,
        queue_database=settings.ADMIN.queue_mongo_database,
    )
    return running


def raw_exchange(server: RunningServer, head: str, body: bytes = b"") -> bytes:
    """Send a request head (and maybe the start of a body) and read the answer the server sends."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head.encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < 20:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_200_mb_post_is_refused_before_its_body_is_sent(server: RunningServer) -> None:
    answer = raw_exchange(
        server,
        "POST /admin/recreate-dataset?dataset=org/ds HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Type: application/json\r\nContent-Length: {200 * 1024 * 1024}\r\n\r\n",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"x-error-code: requestbodytoolargeerror" in head.lower()
    assert b"cache-control: no-store" in head.lower()
    assert body.startswith(b'{"error": "The request body is larger than 1048576 bytes."}')


def test_a_chunked_body_is_refused_not_dropped(server: RunningServer) -> None:
    """Django would see an empty body: the bulk refresh would run on the query string's filter alone."""

    def chunks() -> Iterator[bytes]:
        yield b'{"http_status": "500"}'

    response = server.http.post(f"{server.url}/admin/bulk-refresh?kind=dataset-info", data=chunks(), timeout=10)
    assert (response.status_code, response.headers["X-Error-Code"]) == (411, "LengthRequiredError")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json() == {"error": "A request body needs a Content-Length header."}


@pytest.mark.parametrize("path", ["/admin/recreate-dataset", "/admin/dataset/recreate"], ids=["JSON API", "page"])
def test_a_body_just_over_the_limit_with_its_length_is_413(server: RunningServer, settings: Any, path: str) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = server.http.post(f"{server.url}{path}", data=b"{" + b" " * limit + b"}", timeout=10)
    assert (response.status_code, response.headers["X-Error-Code"]) == (413, "RequestBodyTooLargeError")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json() == {"error": f"The request body is larger than {limit} bytes."}


FIELDS = "&".join(f"f{index}=1" for index in range(1001))
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        (
            "/admin/recreate-dataset",
            "&".join(f"f{index}=1" for index in range(1001)),
            "application/x-www-form-urlencoded",
        ),
        (
            "/admin/force-refresh/dataset-info",
            "&".join(f"f{index}=1" for index in range(1001)),
            "application/x-www-form-urlencoded",
        ),
        ("/admin/recreate-dataset", "[" * 100_000 + "]" * 100_000, "application/json"),
        ("/admin/bulk-refresh", "[" * 100_000 + "]" * 100_000, "application/json"),
        ("/admin/recreate-dataset", '{"dataset": "org/ds", "x": ' + "{" * 5000 + "}" * 5000 + "}", "application/json"),
    ],
    ids=["1001 fields", "1001 fields force-refresh", "deep JSON", "deep JSON bulk-refresh", "deep object"],
)
def test_malformed_bodies_are_422_with_the_json_error(
    server: RunningServer, path: str, body: str, content_type: str
) -> None:
    response = server.http.post(f"{server.url}{path}", data=body, headers={"Content-Type": content_type}, timeout=10)
    assert (response.status_code, response.headers["X-Error-Code"]) == (422, "InvalidParameter"), response.text
    assert set(response.json()) == {"error"}
    assert "Traceback" not in server.output()


@pytest.mark.parametrize("path", ["/admin/login", "/admin/dataset/recreate", "/admin/dataset/force-refresh"])
def test_too_many_fields_on_a_console_form_is_a_422_not_a_500(server: RunningServer, path: str) -> None:
    form_page = server.get("/admin/dataset/recreate?dataset=org/ds")
    assert form_page.status_code == 200
    assert "csrftoken" in server.http.cookies  # so the CSRF check reads the form
    response = server.http.post(f"{server.url}{path}", data=FIELDS, headers={"Content-Type": FORM}, timeout=10)
    assert (response.status_code, response.headers["X-Error-Code"]) == (422, "InvalidParameter")
    assert response.json() == {"error": "The request has more than 1000 fields."}
    assert "Traceback" not in server.output()
    assert " 500 " not in server.output()
