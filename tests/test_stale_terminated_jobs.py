"""A started job sent SIGTERM is stale by its `terminated_at`, as the workers' executors count it (issue 22 item 7).

The executors look for two kinds of stuck jobs: "missing heartbeats" and "terminated" (the
worker got SIGTERM, `terminated_at` set, and the job is still started). A terminated job is
stale once `terminated_at` is older than ADMIN_STALE_JOB_SECONDS, whatever its heartbeats, and
like any started job once its heartbeats are that old; the jobs page and the dashboard count
both kinds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from tests.test_stale_and_blocked import listed_datasets, now, started_job


@pytest.fixture
def terminated_jobs(queue_db: Any) -> None:
    moment = now()
    long_ago, just_now = moment - timedelta(minutes=10), moment - timedelta(seconds=20)
    jobs = [
        # terminated 10 min ago, yet it beat 20 s ago (SIGKILL came before it could finish): stale
        started_job("org/terminated-long-ago", started=moment - timedelta(hours=1), beat=just_now)
        | {"terminated_at": long_ago},
        # terminated 10 min ago, never beat: stale
        started_job("org/terminated-never-beat", started=just_now, beat=None) | {"terminated_at": long_ago},
        # terminated 20 s ago, beat 20 s ago: neither kind yet
        started_job("org/terminated-just-now", started=moment - timedelta(hours=1), beat=just_now)
        | {"terminated_at": just_now},
        # terminated 20 s ago, but its heartbeats stopped 10 min ago: stale by the missing heartbeats
        started_job("org/terminated-just-now-silent", started=moment - timedelta(hours=1), beat=long_ago)
        | {"terminated_at": just_now},
        # not terminated, beat 20 s ago: alive
        started_job("org/alive", started=moment - timedelta(hours=1), beat=just_now),
    ]
    queue_db["jobsBlue"].insert_many(jobs)


STALE = ["org/terminated-just-now-silent", "org/terminated-long-ago", "org/terminated-never-beat"]


def test_the_jobs_page_lists_terminated_jobs_by_their_termination(client: Client, terminated_jobs: None) -> None:
    assert sorted(listed_datasets(client.get("/admin/jobs?stale=1"))) == STALE


def test_the_jobs_page_marks_them_stale(client: Client, terminated_jobs: None) -> None:
    html = client.get("/admin/jobs").content.decode()
    assert html.count('<span class="badge stale">stale</span>') == len(STALE)


def test_the_dashboard_counts_them(client: Client, terminated_jobs: None) -> None:
    assert client.get("/admin/").context["stale_jobs"] == len(STALE)
