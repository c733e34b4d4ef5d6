"""The activity page (/admin/activity) and the dashboard's sparklines, on seeded samples and cache entries.

Samples are written as `collect_counts` writes them (overview.activity), cache entries as the
workers write them; the clock (`mongo.utc_now`) is fixed half a minute into 12:00.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from foundation.database import mongo
from overview.activity import last_samples_by_interval
from tests.support.page_data import insert_cache_entry
from tests.test_pages import text_of

NOW = datetime(2024, 6, 1, 12, 0, 30, tzinfo=UTC)
"""Half a minute into the interval of 12:00: the last hour's intervals run from 11:01 to 12:01."""
PAGE_COMMANDS = [("aggregate", "adminActivitySamples"), ("aggregate", "cachedResponsesBlue")]


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mongo, "utc_now", lambda: NOW)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2024, 6, 1, hour, minute, second, tzinfo=UTC)


def sample_document(
    start: datetime,
    *,
    waiting: int,
    started: int,
    by_size: tuple[int, int, int],
    oldest: datetime | None,
    stale: int,
    blocked: int,
) -> dict[str, Any]:
    """A sample as `collect_counts` writes it, taken 1 s into its interval."""
    light, medium, heavy = by_size
    return {
        "_id": start,
        "interval_seconds": 60,
        "taken_at": start + timedelta(seconds=1),
        "jobs": {"waiting": waiting, "started": started},
        "waiting_jobs_by_worker_size": {"light": light, "medium": medium, "heavy": heavy},
        "cache_entries_by_http_status": {"200": 10, "500": 2},
        "oldest_waiting_job_created_at": oldest,
        "stale_jobs": stale,
        "blocked_datasets": blocked,
    }


def seed_activity(cache_db: Any, queue_db: Any) -> None:
    """Samples at 10:30, 11:57, 11:58 and 12:00 (none at 11:59), entries written at 10:45, 11:58 and 11:59."""
    queue_db["adminActivitySamples"].insert_many(
        [
            sample_document(
                at(10, 30), waiting=40, started=4, by_size=(20, 20, 0), oldest=at(6, 0), stale=0, blocked=0
            ),
            sample_document(at(11, 57), waiting=9, started=1, by_size=(5, 4, 0), oldest=at(6, 0), stale=0, blocked=1),
            sample_document(at(11, 58), waiting=7, started=2, by_size=(3, 4, 0), oldest=at(6, 0), stale=1, blocked=1),
            sample_document(at(12, 0), waiting=5, started=3, by_size=(1, 4, 0), oldest=at(11, 30), stale=2, blocked=2),
        ]
    )
    for kind, dataset, written_at, status, code in (
        ("config-info", "a", at(11, 58, 5), 200, None),
        ("config-info", "b", at(11, 58, 10), 500, "ConfigError"),
        ("dataset-info", "c", at(11, 58, 20), 200, None),
        ("dataset-info", "d", at(11, 59, 30), 404, None),
        ("split-first-rows", "e", at(11, 59, 59), 500, "ConfigError"),
        ("config-info", "f", at(10, 45), 200, None),
    ):
        config = None if kind.startswith("dataset") else "c"
        split = "s" if kind.startswith("split") else None
        insert_cache_entry(
            cache_db,
            kind=kind,
            dataset=dataset,
            config=config,
            split=split,
            http_status=status,
            error_code=code,
            updated_at=written_at,
        )


def numbers(html: str, table_id: str) -> dict[str, list[str]]:
    """A chart's table: each interval's cells, as `text` or `text -> link` (newest first, as the page lists them)."""
    table = re.search(rf'<table class="compact" id="{table_id}">(.*?)</table>', html, flags=re.DOTALL)
    assert table is not None, table_id
    rows = re.findall(r'<tr><th scope="row" class="nowrap">([^<]*)</th>(.*?)</tr>', table.group(1))

    def cell(content: str) -> str:
        link = re.fullmatch(r'<a href="([^"]*)">([^<]*)</a>', content)
        if link:
            return f"{unescape(link.group(2))} -> {unescape(link.group(1))}"
        return unescape(re.sub(r"<[^>]+>", "", content))

    return {
        title: [cell(content) for content in re.findall(r'<td class="num">(.*?)</td>', cells)] for title, cells in rows
    }


def interval_link(start: str, window: str = "hour") -> str:
    return f"/admin/activity?window={window}&interval=2024-06-01T{start.replace(':', '%3A')}%3A00Z#interval"


def test_the_last_hour_in_charts_and_tables(client: Client, cache_db: Any, queue_db: Any, db_commands: Any) -> None:
    seed_activity(cache_db, queue_db)
    db_commands.collections.clear()

    response = client.get("/admin/activity")

    assert response.status_code == 200
    assert db_commands.collections == PAGE_COMMANDS
    html, text = response.content.decode(), text_of(response)
    assert "Last hour: 60 intervals of 1 minute, from 2024-06-01 11:01:00Z to 2024-06-01 12:01:00Z" in text
    assert "3 samples in this window, taken every 60 s by manage.py collect_counts , the last 29s ago" in text
    assert '<a href="/admin/activity?window=hour" aria-current="page">Last hour</a>' in html
    assert "Jobs finished are counted as the cache entries written" in text

    queue = numbers(html, "queue-by-status-numbers")
    assert len(queue) == 60
    assert list(queue)[:4] == ["12:00-12:01 UTC", "11:59-12:00 UTC", "11:58-11:59 UTC", "11:57-11:58 UTC"]
    assert queue["12:00-12:01 UTC"] == ["5 -> /admin/jobs?status=waiting", "3 -> /admin/jobs?status=started"]
    assert queue["11:59-12:00 UTC"] == ["no sample", "no sample"]
    assert queue["11:58-11:59 UTC"] == ["7 -> /admin/jobs?status=waiting", "2 -> /admin/jobs?status=started"]
    assert queue["11:01-11:02 UTC"] == ["no sample", "no sample"]
    assert numbers(html, "waiting-by-worker-size-numbers")["11:57-11:58 UTC"] == [
        "5 -> /admin/jobs?status=waiting&worker_size=light",
        "4 -> /admin/jobs?status=waiting&worker_size=medium",
        "0",
    ]
    finished = numbers(html, "jobs-finished-numbers")
    assert re.search(r"<th class=\"num\" scope=\"col\">config-info</th>.*dataset-info.*split-first-rows", html)
    assert finished["11:58-11:59 UTC"] == [f"2 -> {interval_link('11:58')}", f"1 -> {interval_link('11:58')}", "0"]
    assert finished["11:59-12:00 UTC"] == ["0", f"1 -> {interval_link('11:59')}", f"1 -> {interval_link('11:59')}"]
    assert finished["12:00-12:01 UTC"] == ["0", "0", "0"]
    written = numbers(html, "entries-written-numbers")
    assert written["11:58-11:59 UTC"] == [f"2 -> {interval_link('11:58')}", f"1 -> {interval_link('11:58')}"]
    assert written["11:59-12:00 UTC"] == ["0", f"2 -> {interval_link('11:59')}"]
    assert sum(row != ["0", "0"] for row in written.values()) == 2  # 10:45 is out of the hour
    oldest = numbers(html, "oldest-waiting-numbers")
    by_age = "/admin/jobs?status=waiting&sort=created_at"
    assert oldest["12:00-12:01 UTC"] == [f"30m 1s -> {by_age}"]
    assert oldest["11:58-11:59 UTC"] == [f"5h 58m -> {by_age}"]
    assert numbers(html, "stale-jobs-numbers")["12:00-12:01 UTC"] == ["2 -> /admin/jobs?stale=1"]
    assert numbers(html, "stale-jobs-numbers")["11:57-11:58 UTC"] == ["0"]
    assert numbers(html, "blocked-datasets-numbers")["11:58-11:59 UTC"] == ["1 -> /admin/blocked"]

    # the headings say the last sample, or the window's entries written
    assert '<p class="chart-latest" id="queue-by-status-latest">last sample: waiting 5, started 3</p>' in html
    assert '<p class="chart-latest" id="jobs-finished-latest">5 jobs in the window</p>' in html
    assert '<p class="chart-latest" id="entries-written-latest">successes 2, errors 3 in the window</p>' in html
    assert '<p class="chart-latest" id="oldest-waiting-latest">last sample: 30m 1s</p>' in html
    # each point of the drawing: its title and the list behind it
    assert (
        '<a href="/admin/jobs?status=waiting" tabindex="-1"><circle cx="680.8" cy="56.8" r="3.0">'
        "<title>11:58-11:59 UTC · waiting: 7 jobs</title></circle></a>"
    ) in html
    assert f'<a href="{interval_link("11:59").replace("&", "&amp;")}" tabindex="-1" class="bar series-error">' in html
    assert "<title>11:59-12:00 UTC · errors: 2 entries</title>" in html

    codes = re.search(r'<section id="top-error-codes".*?</section>', html, flags=re.DOTALL)
    assert codes is not None
    assert (
        '<tr><td><code class="error-code">ConfigError</code></td><td class="num">2</td>\n      <td>'
        "config-info (500): "
        '<a href="/admin/cache?kind=config-info&amp;http_status=500&amp;error_code=ConfigError">1</a>'
        " · split-first-rows (500): "
        '<a href="/admin/cache?kind=split-first-rows&amp;http_status=500&amp;error_code=ConfigError">1</a></td></tr>'
    ) in codes.group()
    assert (
        '<span class="muted">no error code</span></td><td class="num">1</td>\n      <td>'
        'dataset-info (404): <a href="/admin/cache?kind=dataset-info&amp;http_status=404">1</a></td></tr>'
    ) in codes.group()


def test_a_bar_leads_to_its_interval_s_entries_by_kind_status_and_code(
    client: Client, cache_db: Any, queue_db: Any, db_commands: Any
) -> None:
    seed_activity(cache_db, queue_db)
    db_commands.collections.clear()

    response = client.get("/admin/activity", {"window": "hour", "interval": "2024-06-01T11:58:00Z"})

    assert response.status_code == 200
    assert db_commands.collections == PAGE_COMMANDS  # the breakdown is of the rows already read
    html, text = response.content.decode(), text_of(response)
    assert "Entries written 11:58-11:59 UTC 3 entries: 2 successes, 1 error." in text
    rows = re.findall(
        r'<tr><td>(.*?)</td><td class="num">(\d+)</td><td>(.*?)</td>\s*<td class="num"><a href="([^"]+)">(\d+)</a>',
        html,
    )
    assert [
        (kind, status, re.sub(r"<[^>]+>", "", code), unescape(link), count) for kind, status, code, link, count in rows
    ] == [
        ("config-info", "200", "", "/admin/cache?kind=config-info&http_status=200", "1"),
        (
            "config-info",
            "500",
            "ConfigError",
            "/admin/cache?kind=config-info&http_status=500&error_code=ConfigError",
            "1",
        ),
        ("dataset-info", "200", "", "/admin/cache?kind=dataset-info&http_status=200", "1"),
    ]

    gone = client.get("/admin/activity", {"window": "hour", "interval": "2024-05-30T11:58:00Z"})
    assert "No interval of this window starts at 2024-05-30 11:58:00Z: it may have left the window." in text_of(gone)


@pytest.mark.parametrize(
    ("window", "interval", "rows", "first", "last"),
    [
        ("day", "15 minutes", 96, "2024-05-31 12:15:00Z", "2024-06-01 12:15:00Z"),
        ("week", "1 hour", 168, "2024-05-25 13:00:00Z", "2024-06-01 13:00:00Z"),
    ],
)
def test_the_day_and_the_week_in_longer_intervals(
    client: Client,
    cache_db: Any,
    queue_db: Any,
    db_commands: Any,
    window: str,
    interval: str,
    rows: int,
    first: str,
    last: str,
) -> None:
    seed_activity(cache_db, queue_db)
    db_commands.collections.clear()

    response = client.get("/admin/activity", {"window": window})

    assert response.status_code == 200
    assert db_commands.collections == PAGE_COMMANDS
    html, text = response.content.decode(), text_of(response)
    assert f"{rows} intervals of {interval}, from {first} to {last}" in text
    assert f'<a href="/admin/activity?window={window}" aria-current="page">' in html
    queue = numbers(html, "queue-by-status-numbers")
    written = numbers(html, "entries-written-numbers")
    assert len(queue) == rows
    if window == "day":
        # 11:57 and 11:58 fall in 11:45-12:00: the last of them, 11:58, stands for it
        assert queue["Jun 01 11:45-12:00 UTC"] == ["7 -> /admin/jobs?status=waiting", "2 -> /admin/jobs?status=started"]
        assert queue["Jun 01 12:00-12:15 UTC"][0] == "5 -> /admin/jobs?status=waiting"
        assert queue["Jun 01 10:30-10:45 UTC"][0] == "40 -> /admin/jobs?status=waiting"
        assert written["Jun 01 11:45-12:00 UTC"] == [
            f"2 -> {interval_link('11:45', window)}",
            f"3 -> {interval_link('11:45', window)}",
        ]
        assert written["Jun 01 10:45-11:00 UTC"] == [f"1 -> {interval_link('10:45', window)}", "0"]
    else:
        assert queue["Jun 01 11:00-12:00 UTC"][0] == "7 -> /admin/jobs?status=waiting"
        assert queue["Jun 01 10:00-11:00 UTC"][0] == "40 -> /admin/jobs?status=waiting"
        assert written["Jun 01 11:00-12:00 UTC"] == [
            f"2 -> {interval_link('11:00', window)}",
            f"3 -> {interval_link('11:00', window)}",
        ]
        assert written["Jun 01 10:00-11:00 UTC"][0] == f"1 -> {interval_link('10:00', window)}"


def test_the_page_costs_two_commands_whatever_the_window_and_the_size(
    client: Client, cache_db: Any, queue_db: Any, db_commands: Any
) -> None:
    """The samples (one find on `_id`), the entries written (one aggregation): more samples, entries
    and kinds change nothing."""
    seed_activity(cache_db, queue_db)
    small = {}
    for window in ("hour", "day", "week"):
        db_commands.collections.clear()
        assert client.get("/admin/activity", {"window": window}).status_code == 200
        small[window] = list(db_commands.collections)

    queue_db["adminActivitySamples"].insert_many(
        [
            sample_document(
                at(12, 0) - timedelta(minutes=minutes),
                waiting=minutes,
                started=1,
                by_size=(1, 1, 1),
                oldest=None,
                stale=0,
                blocked=0,
            )
            for minutes in range(5, 2000, 7)  # never 2, 3 or 90 minutes before 12:00: those are seeded
        ]
    )
    cache_db["cachedResponsesBlue"].insert_many(
        [
            {
                "kind": kind,
                "dataset": f"d{n}",
                "http_status": 500,
                "error_code": f"E{n % 13}",
                "updated_at": NOW - timedelta(minutes=n),
            }
            for n in range(600)
            for kind in ("config-info", "dataset-info", "split-first-rows", "config-size", "dataset-size")
        ]
    )
    for window in ("hour", "day", "week"):
        db_commands.collections.clear()
        assert client.get("/admin/activity", {"window": window}).status_code == 200
        assert db_commands.collections == small[window] == PAGE_COMMANDS


def test_each_interval_gets_its_last_sample_and_how_many_were_taken_in_it(queue_db: Any) -> None:
    """One aggregation: the window's samples grouped by interval on the server, the last of each."""
    samples = [
        sample_document(at(11, minute), waiting=minute, started=0, by_size=(0, 0, 0), oldest=None, stale=0, blocked=0)
        for minute in (44, 45, 46, 59)
    ]
    queue_db["adminActivitySamples"].insert_many(samples)

    intervals = last_samples_by_interval(since=at(11, 45), until=at(12, 15), interval_seconds=900)

    assert [(interval.interval_start, interval.last.interval_start, interval.count) for interval in intervals] == [
        (at(11, 45), at(11, 59), 3),  # 11:44 is before the window
    ]
    assert intervals[0].last.jobs_by_status == {"waiting": 59, "started": 0}


def test_an_empty_world_says_there_is_no_sample_yet_and_how_to_take_them(client: Client) -> None:
    response = client.get("/admin/activity")

    assert response.status_code == 200
    html, text = response.content.decode(), text_of(response)
    assert (
        "No activity sample in this window yet: the queue, the oldest waiting job, the stale jobs and the blocked"
        " datasets over time come from the samples that manage.py collect_counts takes, one every 60 s."
        " Run python manage.py collect_counts once, and schedule it every minute"
    ) in text
    assert "python manage.py collect_counts --every 60 beside the server; make run does it." in text
    assert text.count("No sample in this window.") == 5
    assert "No job finished in this window: no cache entry was written." in text
    assert "No cache entry was written in this window." in text
    assert "No error entry was written in this window." in text
    assert set(numbers(html, "queue-by-status-numbers")["12:00-12:01 UTC"]) == {"no sample"}

    call_command("collect_counts", verbosity=0)  # a round of the collector takes the sample of 12:00

    text = text_of(client.get("/admin/activity"))
    assert "No activity sample in this window yet" not in text
    assert "1 sample in this window" in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"window": "month"}, "Parameter 'window' must be one of: hour, day, week"),
        (
            {"interval": "yesterday"},
            "Parameter 'interval' must be the start of an interval in UTC, as 2024-06-01T12:05:00Z",
        ),
        ({"interval": "2024-06-01 11:58"}, "Parameter 'interval' must be the start of an interval in UTC"),
    ],
)
def test_a_bad_window_or_interval_is_a_422_page(client: Client, query: dict[str, str], message: str) -> None:
    response = client.get("/admin/activity", query)
    assert response.status_code == 422
    assert response["X-Error-Code"] == "InvalidParameter"
    assert message in text_of(response)


def test_the_dashboard_draws_the_same_series_as_sparklines_leading_to_their_charts(
    client: Client, cache_db: Any, queue_db: Any
) -> None:
    seed_activity(cache_db, queue_db)

    html = client.get("/admin/").content.decode()

    tiles = re.findall(
        r'<a class="sparkline-tile" id="spark-([a-z-]+)" href="([^"]+)">\s*<span class="sparkline-title">([^<]+)</span>'
        r'.*?<span class="sparkline-latest">([^<]+)</span>',
        html,
        flags=re.DOTALL,
    )
    assert [(name, unescape(href), title, latest) for name, href, title, latest in tiles] == [
        (
            "queue-by-status",
            "/admin/activity?window=hour#queue-by-status",
            "Queue depth by status",
            "last sample: waiting 5, started 3",
        ),
        (
            "waiting-by-worker-size",
            "/admin/activity?window=hour#waiting-by-worker-size",
            "Waiting jobs by worker size",
            "last sample: light 1, medium 4, heavy 0",
        ),
        (
            "jobs-finished",
            "/admin/activity?window=hour#jobs-finished",
            "Jobs finished per interval",
            "5 jobs in the window",
        ),
        (
            "entries-written",
            "/admin/activity?window=hour#entries-written",
            "Cache entries written per interval",
            "successes 2, errors 3 in the window",
        ),
        (
            "oldest-waiting",
            "/admin/activity?window=hour#oldest-waiting",
            "Age of the oldest waiting job",
            "last sample: 30m 1s",
        ),
        ("stale-jobs", "/admin/activity?window=hour#stale-jobs", "Stale jobs", "last sample: 2"),
        ("blocked-datasets", "/admin/activity?window=hour#blocked-datasets", "Blocked datasets", "last sample: 2"),
    ]
    # the waiting line: 9, 7, a gap at 11:59, then 5 (of 9, the top of both lines); its last point marked
    assert (
        '<g class="series-waiting"><path d="M130.2,3 L132.5,8.8 M137,14.6"/><circle cx="137.0" cy="14.6" r="2"/></g>'
        in html
    )
    assert '<a href="/admin/activity?window=hour">Activity, last hour</a>' in html


def test_the_dashboard_of_an_empty_world_says_where_samples_come_from(client: Client) -> None:
    text = text_of(client.get("/admin/"))
    assert "No activity sample in the last hour: the queue over time comes from manage.py collect_counts" in text
