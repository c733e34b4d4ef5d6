"""Stale jobs and why datasets are blocked (issue 12, items 5 and 6), and the marks of the jobs page.

A started job is stale when its `last_heartbeat` (or `started_at` when it never beat) is older
than ADMIN_STALE_JOB_SECONDS, or its `terminated_at` is. A blocked dataset shows when it was blocked, when the block
expires (6 hours later, the TTL of `datasetBlockages`) and the compute time its jobs used in the
last hour (`pastJobs`) against the workers' threshold of 2 x 3600 s.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from jobs.documents import job_document
from tests.test_pages import mongo_commands, text_of


def now() -> datetime:
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def started_job(dataset: str, *, started: datetime, beat: datetime | None, job_type: str = "dataset-info") -> Any:
    return job_document(
        job_type=job_type,
        dataset=dataset,
        revision="r",
        config=None,
        split=None,
        priority="low",
        status="started",
        difficulty=50,
        created_at=started - timedelta(minutes=1),
        started_at=started,
        last_heartbeat=beat,
    )


@pytest.fixture
def queue_with_stale_jobs(queue_db: Any) -> dict[str, datetime]:
    moment = now()
    beats = {
        "org/lost-beat": moment - timedelta(minutes=10),  # beat 10 min ago: stale
        "org/alive": moment - timedelta(seconds=40),  # beat 40 s ago: alive
    }
    jobs = [
        started_job("org/lost-beat", started=moment - timedelta(hours=1), beat=beats["org/lost-beat"]),
        started_job("org/alive", started=moment - timedelta(hours=2), beat=beats["org/alive"]),
        started_job("org/never-beat", started=moment - timedelta(minutes=7), beat=None),  # stale: started 7 min ago
        started_job("org/just-started", started=moment - timedelta(seconds=20), beat=None),  # not yet
        job_document(
            job_type="dataset-info",
            dataset="org/waiting",
            revision="r",
            config=None,
            split=None,
            priority="low",
            status="waiting",
            difficulty=50,
            created_at=moment - timedelta(days=1),
        ),
    ]
    queue_db["jobsBlue"].insert_many(jobs)
    return beats


def listed_datasets(response: Any) -> list[str]:
    return re.findall(
        r'<td class="wrap"><a href="/admin/dataset\?dataset=[^"]*">([^<]*)</a>', response.content.decode()
    )


def test_stale_jobs_are_counted_on_the_dashboard(client: Client, queue_with_stale_jobs: Any) -> None:
    response = client.get("/admin/")
    assert response.context["stale_jobs"] == 2
    assert (
        '<a id="queue-stale" href="/admin/jobs?stale=1&amp;status=started&amp;sort=last_heartbeat" data-live="stale">'
        "<strong>2</strong> stale</a>"
    ) in response.content.decode()
    assert "1 waiting · 4 started · 2 stale" in text_of(response)


def test_the_jobs_page_lists_the_stale_jobs_with_their_last_heartbeat(
    client: Client, queue_with_stale_jobs: dict[str, datetime], db_commands: Any
) -> None:
    db_commands.commands.clear()
    response = client.get("/admin/jobs?stale=1")
    assert response.status_code == 200
    assert sorted(listed_datasets(response)) == ["org/lost-beat", "org/never-beat"]
    # the page, its count, the blockages of its datasets, its stale jobs by type and worker size
    assert sorted(mongo_commands(db_commands)) == ["aggregate", "aggregate", "find", "find"]
    html = response.content.decode()
    assert '<strong data-live="jobs-total">2</strong> pending jobs' in html
    beat = queue_with_stale_jobs["org/lost-beat"]
    assert re.search(
        rf'<td class="nowrap stale" title="{utc(beat)}">10m( \d+s)? ago <span class="badge stale">stale</span></td>',
        html,
    )
    assert '<td class="nowrap stale" title="">never <span class="badge stale">stale</span></td>' in html
    assert '<input type="checkbox" name="stale" value="1" checked>' in html


def test_every_job_shows_its_last_heartbeat_and_only_stale_ones_are_marked(
    client: Client, queue_with_stale_jobs: dict[str, datetime]
) -> None:
    response = client.get("/admin/jobs")
    assert sorted(listed_datasets(response)) == [
        "org/alive",
        "org/just-started",
        "org/lost-beat",
        "org/never-beat",
        "org/waiting",
    ]
    html = response.content.decode()
    assert '<th><a href="?sort=last_heartbeat">last heartbeat</a></th>' in html
    assert html.count('<span class="badge stale">stale</span>') == 2
    beat = queue_with_stale_jobs["org/alive"]
    assert re.search(rf'<td class="nowrap" title="{utc(beat)}">4\ds ago</td>', html)
    assert '<td class="nowrap" title="">never</td>' in html  # org/just-started
    assert '<td class="nowrap" title=""></td>' in html  # the waiting job has no heartbeat


def test_the_stale_threshold_comes_from_the_configuration(
    client: Client, queue_with_stale_jobs: Any, settings: Any
) -> None:
    settings.ADMIN = dataclasses.replace(settings.ADMIN, stale_job_seconds=30)
    assert sorted(listed_datasets(client.get("/admin/jobs?stale=1"))) == [
        "org/alive",
        "org/lost-beat",
        "org/never-beat",
    ]
    assert client.get("/admin/").context["stale_jobs"] == 3


def test_stale_combines_with_the_other_filters(client: Client, queue_with_stale_jobs: Any) -> None:
    assert listed_datasets(client.get("/admin/jobs?stale=1&dataset=org/never-beat")) == ["org/never-beat"]
    assert listed_datasets(client.get("/admin/jobs?stale=1&status=waiting")) == []
    assert listed_datasets(client.get("/admin/jobs?stale=0&status=waiting")) == ["org/waiting"]


def test_a_job_terminated_longer_ago_than_the_threshold_is_stale_whatever_its_heartbeats(
    client: Client, queue_db: Any, queue_with_stale_jobs: Any
) -> None:
    """REFERENCE.md: a started job with `terminated_at` (its worker got SIGTERM) is stale once that is old."""
    moment = now()
    for dataset, terminated in (("org/terminated", moment - timedelta(minutes=6)), ("org/stopping", moment)):
        job = started_job(dataset, started=moment - timedelta(hours=1), beat=moment - timedelta(seconds=5))
        queue_db["jobsBlue"].insert_one(job | {"terminated_at": terminated})
    assert sorted(listed_datasets(client.get("/admin/jobs?stale=1"))) == [
        "org/lost-beat",
        "org/never-beat",
        "org/terminated",
    ]
    assert client.get("/admin/").context["stale_jobs"] == 3
    html = client.get("/admin/jobs?dataset=org/terminated").content.decode()
    assert html.count('<span class="badge stale">stale</span>') == 1


def test_a_bad_stale_value_is_a_readable_error(client: Client) -> None:
    response = client.get("/admin/jobs?stale=yes")
    assert response.status_code == 422
    assert "Parameter 'stale' must be one of: 0, 1" in text_of(response)


def test_jobs_of_blocked_datasets_are_marked(client: Client, queue_db: Any, queue_with_stale_jobs: Any) -> None:
    queue_db["datasetBlockages"].insert_one({"dataset": "org/alive", "blocked_at": now()})
    html = client.get("/admin/jobs").content.decode()
    assert html.count('class="badge blocked"') == 1
    assert (
        '<a href="/admin/dataset?dataset=org/alive">org/alive</a>'
        ' <a class="badge blocked" href="/admin/blocked#blocked-org/alive" title="rate-limited: in datasetBlockages">'
        "blocked</a>"
    ) in html


# --- Why blocked -----------------------------------------------------------------------------


def past_job(dataset: str, *, duration: int, finished: datetime) -> dict[str, Any]:
    """A document of `pastJobs` as the workers write it when a job ends."""
    return {"dataset": dataset, "duration": duration, "finished_at": finished}


@pytest.fixture
def blocked_world(queue_db: Any) -> dict[str, datetime]:
    moment = now()
    blocked = {"spam/flood": moment - timedelta(minutes=30), "spam/old": moment - timedelta(hours=5)}
    queue_db["datasetBlockages"].insert_many(
        [
            {"dataset": "spam/flood", "blocked_at": blocked["spam/flood"]},
            {"dataset": "spam/flood", "blocked_at": moment - timedelta(hours=2)},  # an older blockage: not the latest
            {"dataset": "spam/old", "blocked_at": blocked["spam/old"]},
        ]
    )
    queue_db["pastJobs"].insert_many(
        [
            past_job("spam/flood", duration=3000, finished=moment - timedelta(minutes=10)),
            past_job("spam/flood", duration=5000, finished=moment - timedelta(minutes=50)),
            past_job("spam/flood", duration=9999, finished=moment - timedelta(hours=2)),  # more than an hour ago
            past_job("spam/old", duration=600, finished=moment - timedelta(minutes=5)),
            past_job("fine/dataset", duration=7000, finished=moment - timedelta(minutes=5)),  # not blocked
        ]
    )
    return blocked


def test_the_blocked_page_says_why_each_dataset_is_blocked_and_until_when(
    client: Client, blocked_world: dict[str, datetime], db_commands: Any
) -> None:
    db_commands.collections.clear()
    response = client.get("/admin/blocked")
    assert response.status_code == 200
    assert sorted(db_commands.collections) == [("aggregate", "pastJobs"), ("find", "datasetBlockages")]
    rows = [
        (row.dataset, row.blocked_at, row.expires_at, row.compute_seconds)
        for row in response.context["blocked"].datasets
    ]
    flood, old = blocked_world["spam/flood"], blocked_world["spam/old"]
    assert rows == [
        ("spam/flood", flood, flood + timedelta(hours=6), 8000),
        ("spam/old", old, old + timedelta(hours=6), 600),
    ]
    html = response.content.decode()
    text = text_of(response)
    assert "2 blocked datasets" in text
    assert "compute time of its jobs in the last hour (pastJobs), against the workers' threshold of 7200 s" in text
    assert f'<td class="nowrap" title="{utc(flood)}">30m' in html
    assert f'<td class="nowrap" title="{utc(flood + timedelta(hours=6))}">in 5h 29m' in html or (
        f'<td class="nowrap" title="{utc(flood + timedelta(hours=6))}">in 5h 30m' in html
    )
    assert (
        '<td class="num error"><meter min="0" max="7200" high="6480.0" value="8000"'
        ' title="8000 s of the 7200 s budget"></meter> 8000 s (111%)</td>'
    ) in html
    assert '<td class="num"><meter min="0" max="7200" high="6480.0" value="600"' in html
    assert '<tr id="blocked-spam/old" ' in html  # a blocked badge's link leads to its row
    assert '<a href="/admin/dataset?dataset=spam/flood">spam/flood</a>' in html


def test_the_dashboard_shows_the_blocked_datasets_with_their_compute_time(
    client: Client, blocked_world: dict[str, datetime]
) -> None:
    response = client.get("/admin/")
    html = response.content.decode()
    assert [row.dataset for row in response.context["blocked"].datasets] == ["spam/flood", "spam/old"]
    assert '<a href="/admin/blocked" data-live="blocked">Blocked datasets (2)</a>' in html
    assert (
        '<td class="num error"><meter min="0" max="7200" high="6480.0" value="8000"'
        ' title="8000 s of the 7200 s budget"></meter> 8000 s (111%)</td>'
    ) in html


def test_no_blocked_dataset(client: Client, queue_db: Any, db_commands: Any) -> None:
    queue_db["pastJobs"].insert_one(past_job("fine/dataset", duration=7000, finished=now()))
    db_commands.collections.clear()
    response = client.get("/admin/blocked")
    assert db_commands.collections == [("find", "datasetBlockages")]  # no dataset: pastJobs is not read
    assert "No dataset is blocked." in text_of(response)
