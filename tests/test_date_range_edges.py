"""`updated_before` at the edges of the date range: a 422 or a clean command error, never a 500.

A date with an offset that moves it out of years 1..9999 once in UTC raised OverflowError: a
500 on the API and the page, a traceback from the command.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from tests.test_server import PROJECT_ROOT, server_environment

OUT_OF_RANGE = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00+23:59"]
AT_THE_EDGES = ["0001-01-01", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999", "9999-12-31T23:00:00-00:59"]
MESSAGE = "Parameter 'updated_before' should be a datetime between 0001-01-01 and 9999-12-31T23:59:59.999999 in UTC."


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize("dry_run", ["true", "false"])
def test_a_date_out_of_range_in_utc_is_a_422(client: Client, queue_db: Any, value: str, dry_run: str) -> None:
    response = client.post(f"/admin/bulk-refresh?kind=dataset-info&dry_run={dry_run}&updated_before={quote(value)}")
    assert (response.status_code, response["X-Error-Code"]) == (422, "InvalidParameter")
    assert response.json() == {"error": MESSAGE}
    assert queue_db["adminActions"].count_documents({}) == 0


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_the_bulk_refresh_page_says_so_too(client: Client, value: str) -> None:
    response = client.get(f"/admin/bulk?kind=dataset-info&updated_before={quote(value)}")
    assert response.status_code == 422
    assert MESSAGE.replace("'", "&#x27;") in response.content.decode()


@pytest.mark.parametrize("value", AT_THE_EDGES)
def test_the_first_and_last_moments_are_dates_like_any_other(client: Client, cache_db: Any, value: str) -> None:
    response = client.post(f"/admin/bulk-refresh?kind=dataset-info&updated_before={quote(value)}")
    assert response.status_code == 200, response.content
    assert response.json()["matched"] == 0


def test_the_command_ends_with_one_line_and_status_1(settings: Any) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "bulk_refresh", "--kind", "dataset-info", "--updated-before", OUT_OF_RANGE[0]],
        cwd=PROJECT_ROOT,
        env=server_environment(
            CACHE_MONGO_URL=settings.ADMIN.cache_mongo_url,
            QUEUE_MONGO_URL=settings.ADMIN.queue_mongo_url,
            CACHE_MONGO_DATABASE=settings.ADMIN.cache_mongo_database,
            QUEUE_MONGO_DATABASE=settings.ADMIN.queue_mongo_database,
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"CommandError: InvalidParameter: {MESSAGE}"]
