"""No request can add a line to the log (issue 11, item 5).

The request path and the write parameters were logged decoded: a `%0A` in them started a
line of the caller's choosing (`... adminsite.writes: write recreate-dataset outcome=ok
caller=FORGED`). Against the real server, whose log is what an operator reads, each forging
attempt must stay inside its own line, escaped.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from foundation.core.words import printable
from foundation.web.request_log import SingleLineFormatter
from tests.test_server import RunningServer, start_server  # noqa: F401 (the fixture)

FORGED = "\n2026-12-01 12:00:00,000 INFO adminsite.writes: write recreate-dataset outcome=ok caller=FORGED"
LINE_START = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: |INFO: |WARNING: |ERROR: )")


def test_forged_lines_stay_inside_the_line_of_their_request(
    start_server: Any,  # noqa: F811
    mongo_server: Any,
    settings: Any,
) -> None:
    server: RunningServer = start_server(
        cache_url=mongo_server.cache_url,
        queue_url=mongo_server.queue_url,
        cache_database=settings.ADMIN.cache_mongo_database,
        queue_database=settings.ADMIN.queue_mongo_database,
    )
    forged = quote(FORGED, safe="")
    attempts = [
        ("get", f"/admin/dataset-status{forged}"),
        ("get", f"/admin/{forged}/x?dataset={forged}"),
        ("post", f"/admin/force-refresh/{forged}?dataset=org/ds"),
        (
            "post",
            f"/admin/bulk-refresh?kind=dataset-info&dry_run=false&cause_exception={forged}&dataset_prefix={forged}",
        ),
        ("post", f"/admin/recreate-dataset?dataset=org/ds&priority={forged}"),
    ]
    for method, path in attempts:
        answer = server.http.request(method, f"{server.url}{path}", timeout=10)
        assert answer.status_code < 500, (path, answer.text)
    output = server.output()
    assert output.count("FORGED") >= len(attempts), output  # logged, inside its own line
    for line in output.splitlines():
        assert LINE_START.match(line), f"a line no logger wrote: {line!r}"
        assert not line.startswith("2026-12-01 12:00:00,000"), line


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("nel\x85ls\u2028ps\u2029", "nel\\x85ls\\u2028ps\\u2029"),
        ("tab\t", "tab\\t"),
        ("org/ds été", "org/ds été"),
    ],
)
def test_printable_escapes_control_characters_only(value: str, shown: str) -> None:
    assert printable(value) == shown


def test_every_logger_writes_one_line_per_record() -> None:
    formatter = SingleLineFormatter("%(name)s: %(message)s")
    record = logging.LogRecord("any", logging.INFO, __file__, 1, "refused: %s", ("bob\nINFO x: forged",), None)
    assert formatter.format(record) == "any: refused: bob\\nINFO x: forged"


def test_the_request_line_logs_the_path_percent_encoded(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="adminsite.requests"):
        client.get("/admin/dataset-status%0Aforged%20line")
    [message] = [record.getMessage() for record in caplog.records if record.name == "adminsite.requests"]
    assert message.startswith("GET /admin/dataset-status%0Aforged%20line 404 ")
