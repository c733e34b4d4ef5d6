"""Requeue of stale jobs (issue 18, section 4): the JSON route, the command and the jobs page's forms.

A stale job (started; quiet, or terminated, for longer than ADMIN_STALE_JOB_SECONDS) is deleted
under its unicity_id lock only if it is still stale, with its metric row, and one waiting job is
queued for its artifact at the same revision, priority and difficulty, never a duplicate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from foundation.core.serialization import iso_datetime
from jobs import requeue
from jobs.documents import job_document
from jobs.locks import held_lock
from tests.test_pages import mongo_commands, text_of


def now() -> datetime:
    """The time of the call (a test may run minutes after this module was imported)."""
    return datetime.now(UTC).replace(microsecond=0)


def started(
    dataset: str,
    *,
    job_type: str = "config-parquet-and-info",
    config: str | None = "default",
    beat: timedelta | None = timedelta(minutes=10),
    terminated: timedelta | None = None,
    priority: str = "normal",
    difficulty: int = 70,
) -> dict[str, Any]:
    """A started job as a worker leaves it; `beat`/`terminated`: how long ago (None: never), from now."""
    moment = now()
    document = job_document(
        job_type=job_type,
        dataset=dataset,
        revision="rev-1",
        config=config,
        split=None,
        priority=priority,
        status="started",
        difficulty=difficulty,
        created_at=moment - timedelta(hours=2),
        started_at=moment - timedelta(hours=1),
        last_heartbeat=None if beat is None else moment - beat,
    )
    if terminated is not None:
        document["terminated_at"] = moment - terminated
    return document


def seed(queue_db: Any, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert the jobs with the metric rows the workers keep for them; the jobs as stored, in `_id` order."""
    queue_db["jobsBlue"].insert_many(jobs)
    for job in jobs:
        queue_db["jobTotalMetric"].update_one(
            {"job_type": job["type"], "status": job["status"], "dataset_status": "normal"},
            {"$inc": {"total": 1}, "$setOnInsert": {"created_at": now()}},
            upsert=True,
        )
    return list(queue_db["jobsBlue"].find({}).sort("_id", 1))


def metric_rows(queue_db: Any) -> dict[str, Any]:
    totals = {
        (row["job_type"], row["status"]): row["total"] for row in queue_db["jobTotalMetric"].find({}) if row["total"]
    }
    sizes = {row["worker_size"]: row["jobs_count"] for row in queue_db["workerTypeJobCounts"].find({})}
    return {"jobTotalMetric": totals, "workerTypeJobCounts": sizes}


def identity(job: dict[str, Any]) -> dict[str, Any]:
    """How the answer names a job: its id, the job dict of REFERENCE.md, then terminated_at."""
    return {
        "job_id": str(job["_id"]),
        "type": job["type"],
        "dataset": job["dataset"],
        "revision": job["revision"],
        "config": job.get("config"),
        "split": job.get("split"),
        "unicity_id": job["unicity_id"],
        "namespace": job["namespace"],
        "priority": job["priority"],
        "status": job["status"],
        "difficulty": job["difficulty"],
        "created_at": iso_datetime(job["created_at"]),
        "started_at": iso_datetime(job.get("started_at")),
        "last_heartbeat": iso_datetime(job.get("last_heartbeat")),
        "terminated_at": iso_datetime(job.get("terminated_at")),
    }


def post(client: Client, **params: Any) -> Any:
    return client.post(f"/admin/requeue-stale-jobs?{urlencode(params)}", data="", content_type="application/json")


def waiting_jobs(queue_db: Any) -> list[dict[str, Any]]:
    fields = {"_id": 0, "unicity_id": 1, "revision": 1, "priority": 1, "difficulty": 1, "status": 1}
    return list(queue_db["jobsBlue"].find({"status": "waiting"}, fields).sort("unicity_id", 1))


def test_a_dry_run_counts_the_stale_jobs_and_writes_nothing(client: Client, queue_db: Any) -> None:
    stale = seed(queue_db, [started("org/a"), started("org/b", beat=timedelta(seconds=20))])

    response = post(client)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "dry_run": True,
        "matched": 1,
        "processed": 1,
        "requeued": [],
        "created_jobs": 0,
        "already_waiting": 0,
        "left_alone": [],
        "next_cursor": "",
    }
    assert list(queue_db["jobsBlue"].find({}).sort("_id", 1)) == stale
    assert queue_db["adminActions"].count_documents({}) == 0
    assert queue_db["locks"].count_documents({}) == 0


def test_a_requeue_deletes_the_stale_job_and_queues_one_for_the_same_artifact(client: Client, queue_db: Any) -> None:
    lost, alive, never_beat, terminated = seed(
        queue_db,
        [
            started("org/lost"),
            started("org/alive", beat=timedelta(seconds=30)),
            started("org/never", job_type="dataset-config-names", config=None, beat=None, difficulty=50),
            started("org/sigterm", beat=timedelta(seconds=5), terminated=timedelta(minutes=6), priority="high"),
        ],
    )
    queue_db["workerTypeJobCounts"].insert_one({"worker_size": "medium", "jobs_count": 4, "created_at": now()})
    queue_db["datasetBlockages"].insert_one({"dataset": "org/sigterm", "blocked_at": now()})

    response = post(client, dry_run="false")

    assert response.status_code == 200
    answer = response.json()
    waiting = {job["dataset"]: job for job in queue_db["jobsBlue"].find({"status": "waiting"})}
    assert answer == {
        "dry_run": False,
        "matched": 3,
        "processed": 3,
        "requeued": [
            {**identity(job), "waiting_job": {"job_id": str(waiting[job["dataset"]]["_id"]), "action": "created"}}
            for job in (lost, never_beat, terminated)
        ],
        "created_jobs": 3,
        "already_waiting": 0,
        "left_alone": [],
        "next_cursor": "",
    }
    assert [job["dataset"] for job in queue_db["jobsBlue"].find({"status": "started"})] == ["org/alive"]
    assert queue_db["jobsBlue"].find_one({"_id": alive["_id"]}) == alive
    assert waiting_jobs(queue_db) == [
        {
            "unicity_id": "config-parquet-and-info,org/lost,rev-1,default",
            "revision": "rev-1",
            "priority": "normal",
            "status": "waiting",
            "difficulty": 70,
        },
        {
            "unicity_id": "config-parquet-and-info,org/sigterm,rev-1,default",
            "revision": "rev-1",
            "priority": "high",
            "status": "waiting",
            "difficulty": 70,
        },
        {
            "unicity_id": "dataset-config-names,org/never,rev-1",
            "revision": "rev-1",
            "priority": "normal",
            "status": "waiting",
            "difficulty": 50,
        },
    ]
    assert metric_rows(queue_db) == {
        "jobTotalMetric": {
            ("config-parquet-and-info", "started"): 1,
            ("config-parquet-and-info", "waiting"): 2,
            ("dataset-config-names", "waiting"): 1,
        },
        # org/lost (70) and org/never (50) count as medium; org/sigterm is blocked: not counted
        "workerTypeJobCounts": {"medium": 6},
    }
    (action,) = queue_db["adminActions"].find({})
    assert (action["action"], action["outcome"], action["parameters"]) == ("requeue-stale-jobs", "ok", {"limit": 100})
    assert action["result"] == {
        "matched": 3,
        "processed": 3,
        "requeued": 3,
        "created_jobs": 3,
        "already_waiting": 0,
        "left_alone": 0,
        "next_cursor": "",
    }
    assert queue_db["locks"].count_documents({"owner": {"$ne": None}}) == 0
    assert post(client, dry_run="false").json()["matched"] == 0  # nothing stale is left


def test_a_waiting_job_of_the_same_artifact_is_not_duplicated_and_gets_the_higher_priority(
    client: Client, queue_db: Any
) -> None:
    stale = started("org/a", priority="high")
    standing = {**stale, "status": "waiting", "priority": "low", "created_at": now()}
    del standing["started_at"], standing["last_heartbeat"]
    stale_job, standing_job = seed(queue_db, [stale, standing])

    answer = post(client, dry_run="false").json()

    assert answer["requeued"] == [
        {**identity(stale_job), "waiting_job": {"job_id": str(standing_job["_id"]), "action": "updated"}}
    ]
    assert (answer["created_jobs"], answer["already_waiting"]) == (0, 1)
    assert waiting_jobs(queue_db) == [
        {
            "unicity_id": stale_job["unicity_id"],
            "revision": "rev-1",
            "priority": "high",
            "status": "waiting",
            "difficulty": 70,
        }
    ]
    assert metric_rows(queue_db)["jobTotalMetric"] == {("config-parquet-and-info", "waiting"): 1}


@contextmanager
def beating_on_lock(queue_db: Any, real_held_lock: Any, **lock: Any) -> Iterator[str]:
    """The job's worker sends a heartbeat while the requeue waits for, then takes, the job's lock."""
    queue_db["jobsBlue"].update_many({"status": "started"}, {"$set": {"last_heartbeat": datetime.now(UTC)}})
    with real_held_lock(**lock) as owner:
        yield owner


def test_a_job_that_beats_in_the_meantime_is_left_alone_and_said_so(
    client: Client, queue_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (job,) = seed(queue_db, [started("org/a")])
    monkeypatch.setattr(requeue, "held_lock", lambda **lock: beating_on_lock(queue_db, held_lock, **lock))

    answer = post(client, dry_run="false").json()

    (left_alone,) = answer["left_alone"]
    after = queue_db["jobsBlue"].find_one({"_id": job["_id"]})
    assert left_alone == {
        **identity(after),
        "reason": f"not stale anymore: it sent a heartbeat at {iso_datetime(after['last_heartbeat'])}",
    }
    assert (answer["matched"], answer["requeued"]) == (1, [])
    assert queue_db["jobsBlue"].count_documents({}) == 1
    assert metric_rows(queue_db)["jobTotalMetric"] == {("config-parquet-and-info", "started"): 1}


def test_a_job_whose_lock_a_worker_holds_is_left_alone_and_the_others_go_on(
    client: Client, queue_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked, _free = seed(queue_db, [started("org/locked"), started("org/free")])
    queue_db["locks"].insert_one(
        {"_id": locked["unicity_id"], "owner": "a-worker-job-id", "ttl": 600, "created_at": now(), "updated_at": now()}
    )
    monkeypatch.setattr(requeue, "LOCK_WAIT_SECONDS", 0.05)

    answer = post(client, dry_run="false").json()

    assert [job["dataset"] for job in answer["requeued"]] == ["org/free"]
    (left_alone,) = answer["left_alone"]
    assert left_alone["dataset"] == "org/locked"
    reason = r"LockTimeoutError: Another process is working on '.*'; gave up after 0.05s.*"
    assert re.fullmatch(reason, left_alone["reason"])
    assert queue_db["jobsBlue"].find_one({"_id": locked["_id"]}) == locked


def test_the_filters_of_the_jobs_page_and_the_batches(client: Client, queue_db: Any) -> None:
    jobs = seed(
        queue_db,
        [
            started("org/a", difficulty=20),
            started("org/b", difficulty=20),
            started("other/c", difficulty=20),
            started("org/d", difficulty=90),
            started("org/e", job_type="dataset-info", config=None, difficulty=20),
        ],
    )
    light_of_org = {"namespace": "org", "worker_size": "light", "type": "config-parquet-and-info"}

    first = post(client, dry_run="false", limit=1, **light_of_org).json()
    second = post(client, dry_run="false", limit=1, cursor=first["next_cursor"], **light_of_org).json()

    assert (first["matched"], first["processed"], first["next_cursor"]) == (2, 1, str(jobs[0]["_id"]))
    assert [job["dataset"] for job in first["requeued"]] == ["org/a"]
    assert (second["matched"], second["next_cursor"]) == (1, "")
    assert [job["dataset"] for job in second["requeued"]] == ["org/b"]
    assert post(client, dataset="org/e").json()["matched"] == 1
    assert post(client, priority="high").json()["matched"] == 0


@pytest.mark.parametrize(
    ("params", "status", "code", "message"),
    [
        ({"type": "no-such-step"}, 404, "NotFound", "Unknown processing step 'no-such-step'"),
        (
            {"worker_size": "huge"},
            422,
            "InvalidParameter",
            "Parameter 'worker_size' must be one of: light, medium, heavy",
        ),
        ({"dataset": "../x"}, 422, "InvalidParameter", "Parameter 'dataset' is not a valid dataset name"),
        ({"namespace": "a/b"}, 422, "InvalidParameter", "Parameter 'namespace' is not a valid namespace"),
        ({"limit": "0"}, 422, "InvalidParameter", "Parameter 'limit' should be an int value between 1 and 1000."),
        ({"cursor": "nope"}, 422, "InvalidParameter", "Invalid cursor."),
        ({"dry_run": "maybe"}, 422, "InvalidParameter", "Parameter 'dry_run' should be true or false."),
    ],
)
def test_a_bad_parameter_is_a_clear_error_and_touches_nothing(
    client: Client, queue_db: Any, params: dict[str, str], status: int, code: str, message: str
) -> None:
    stale = seed(queue_db, [started("org/a")])

    response = post(client, **{"dry_run": "false", **params})

    assert (response.status_code, response["X-Error-Code"], response.json()) == (status, code, {"error": message})
    assert list(queue_db["jobsBlue"].find({})) == stale
    assert queue_db["adminActions"].count_documents({}) == 0


def run_command(*args: str) -> tuple[str, int, str]:
    out = StringIO()
    try:
        call_command("requeue_stale_jobs", *args, stdout=out, stderr=out)
    except CommandError as error:
        return out.getvalue(), error.returncode, str(error)
    return out.getvalue(), 0, ""


def test_the_command_lists_in_a_dry_run_then_requeues_every_batch(queue_db: Any) -> None:
    seed(queue_db, [started("org/a"), started("org/b"), started("org/c", beat=timedelta(seconds=10))])

    output, status, _ = run_command("--dry-run")
    assert (output.splitlines(), status) == (
        [
            "config-parquet-and-info org/a,default: would be requeued",
            "config-parquet-and-info org/b,default: would be requeued",
            "dry run, nothing changed. 2 stale jobs match",
        ],
        0,
    )
    assert queue_db["jobsBlue"].count_documents({"status": "waiting"}) == 0

    output, status, _ = run_command("--limit", "1", "--namespace", "org")
    assert (output.splitlines(), status) == (
        [
            "Requeued the config-parquet-and-info job of org/a / default: a waiting job was queued"
            " (priority normal, difficulty 70, revision rev-1).",
            "Requeued the config-parquet-and-info job of org/b / default: a waiting job was queued"
            " (priority normal, difficulty 70, revision rev-1).",
            "2 stale jobs requeued (2 waiting jobs queued, 0 already waiting), 0 left alone",
        ],
        0,
    )
    assert queue_db["adminActions"].count_documents({"action": "requeue-stale-jobs"}) == 2  # one per batch


def test_the_command_says_which_jobs_were_locked_and_exits_2(queue_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (job,) = seed(queue_db, [started("org/a")])
    queue_db["locks"].insert_one({"_id": job["unicity_id"], "owner": "w", "ttl": 600, "updated_at": now()})
    monkeypatch.setattr(requeue, "LOCK_WAIT_SECONDS", 0.05)

    output, status, error = run_command()

    assert status == 2
    assert error == "1 job was locked by another process"
    assert output.splitlines()[0].startswith("Left the config-parquet-and-info job of org/a / default alone:")


# --- The jobs page ----------------------------------------------------------------------------


def test_the_jobs_page_shows_the_stale_jobs_by_type_and_worker_size(client: Client, queue_db: Any) -> None:
    seed(
        queue_db,
        [
            started("org/a", difficulty=20),
            started("org/b", difficulty=80),
            started("org/c", job_type="dataset-info", config=None, difficulty=20),
            started("org/d", difficulty=20, beat=timedelta(seconds=3)),
            started("org/e", beat=timedelta(seconds=3), terminated=timedelta(minutes=30)),
        ],
    )

    response = client.get("/admin/jobs")

    summary = response.context["stale_summary"]
    assert summary.by_type == {
        "config-parquet-and-info": {"light": 1, "medium": 1, "heavy": 1},
        "dataset-info": {"light": 1, "medium": 0, "heavy": 0},
    }
    assert (summary.by_worker_size, summary.total) == ({"light": 2, "medium": 1, "heavy": 1}, 4)
    text = text_of(response)
    assert "Stale jobs: 4" in text
    assert "Requeue the 4 stale jobs… (asks to confirm)" in text
    assert "all types 2 1 1" in text
    html = response.content.decode()
    assert html.count('<button type="submit" form="requeue-one" name="job"') == 4
    assert re.search(r"terminated 30m( \d+s)? ago", text)
    filtered = client.get("/admin/jobs?type=dataset-info&stale=1")
    assert filtered.context["stale_summary"].total == 1
    assert 'id="requeue-stale-link" href="/admin/jobs/requeue-stale?type=dataset-info"' in filtered.content.decode()


def test_the_jobs_page_sorts_by_last_heartbeat(client: Client, queue_db: Any) -> None:
    seed(
        queue_db,
        [
            started("org/recent", beat=timedelta(seconds=5)),
            started("org/never", beat=None),
            started("org/old", beat=timedelta(minutes=30)),
        ],
    )

    def order(sort: str) -> list[str]:
        return [job["dataset"] for job in client.get(f"/admin/jobs?sort={sort}").context["jobs_page"].jobs]

    assert order("last_heartbeat") == ["org/never", "org/old", "org/recent"]
    assert order("-last_heartbeat") == ["org/recent", "org/old", "org/never"]


def test_one_stale_job_is_requeued_from_its_row(client: Client, queue_db: Any) -> None:
    (job,) = seed(queue_db, [started("org/a")])

    response = client.post("/admin/jobs/requeue", {"job": str(job["_id"]), "back": "stale=1&evil=x&dataset=org/a"})

    assert response.status_code == 302
    assert response["Location"] == "/admin/jobs?dataset=org%2Fa&stale=1"
    page = client.get(response["Location"])
    assert (
        "Requeued the config-parquet-and-info job of org/a / default: a waiting job was queued (priority normal,"
        " difficulty 70, revision rev-1)."
    ) in text_of(page)
    assert waiting_jobs(queue_db)[0]["unicity_id"] == job["unicity_id"]
    (action,) = queue_db["adminActions"].find({})
    assert (action["parameters"], action["result"]) == (
        {"job_id": str(job["_id"])},
        {"requeued": 1, "waiting_job_action": "created"},
    )

    again = client.post("/admin/jobs/requeue", {"job": str(job["_id"]), "back": ""})
    assert again["Location"] == "/admin/jobs"
    assert f"Left job {job['_id']} alone: no longer in the queue" in text_of(client.get("/admin/jobs"))


def test_a_job_that_is_not_stale_is_not_requeued_from_a_row(client: Client, queue_db: Any) -> None:
    (job,) = seed(queue_db, [started("org/a", beat=timedelta(seconds=2))])

    client.post("/admin/jobs/requeue", {"job": str(job["_id"])})

    page = text_of(client.get("/admin/jobs"))
    assert "Left the config-parquet-and-info job of org/a / default alone: not stale anymore: it sent a" in page
    assert list(queue_db["jobsBlue"].find({})) == [job]
    bad = client.post("/admin/jobs/requeue", {"job": "nope"})
    assert "Requeue: Parameter 'job' should be the id of a job." in text_of(client.get(bad["Location"]))


def test_every_stale_job_of_a_filter_is_requeued_after_a_confirmation_that_states_the_count(
    client: Client, queue_db: Any
) -> None:
    seed(
        queue_db,
        [started("org/a"), started("org/b"), started("other/c"), started("org/d", beat=timedelta(seconds=1))],
    )

    confirmation = client.get("/admin/jobs/requeue-stale?namespace=org")

    assert confirmation.status_code == 200
    text = text_of(confirmation)
    assert "2 stale jobs match this filter." in text
    assert '<button type="submit" class="danger" id="requeue-confirm">Requeue 2 stale jobs</button>' in (
        confirmation.content.decode()
    )
    assert queue_db["jobsBlue"].count_documents({"status": "waiting"}) == 0  # the confirmation wrote nothing

    report = client.post("/admin/jobs/requeue-stale", {"namespace": "org"})

    assert report.status_code == 200
    text = text_of(report)
    assert "2 requeued (2 waiting jobs queued, 0 already waiting) · 0 left alone" in text
    assert [job["dataset"] for job in queue_db["jobsBlue"].find({"status": "waiting"}).sort("dataset", 1)] == [
        "org/a",
        "org/b",
    ]
    assert queue_db["jobsBlue"].count_documents({"status": "started"}) == 2  # other/c and the living org/d
    nothing = text_of(client.get("/admin/jobs/requeue-stale?namespace=org"))
    assert "No stale job matches this filter: nothing to requeue." in nothing


def test_a_dataset_page_marks_its_stale_jobs(client: Client, queue_db: Any) -> None:
    alive = started("org/a", job_type="dataset-info", config=None, beat=timedelta(seconds=4))
    seed(queue_db, [started("org/a"), alive])

    response = client.get("/admin/dataset?dataset=org/a")

    assert len(response.context["overview"].stale_job_ids) == 1
    html = response.content.decode()
    assert '<span class="badge stale">1 stale</span>' in html
    assert html.count('<a class="badge stale" href="/admin/jobs?dataset=org/a&amp;stale=1"') == 1


def test_blocked_is_in_the_navigation_and_a_blocked_badge_leads_to_its_row(client: Client, queue_db: Any) -> None:
    queue_db["datasetBlockages"].insert_one({"dataset": "org/a", "blocked_at": now() - timedelta(minutes=5)})
    queue_db["pastJobs"].insert_many(
        [
            {"dataset": "org/a", "duration": 3000, "finished_at": now() - timedelta(minutes=10)},
            {"dataset": "org/a", "duration": 4500.5, "finished_at": now() - timedelta(minutes=20)},
            {"dataset": "org/a", "duration": 9999, "finished_at": now() - timedelta(hours=2)},  # out of the hour
        ]
    )
    seed(queue_db, [started("org/a")])

    jobs = client.get("/admin/jobs").content.decode()
    blocked = client.get("/admin/blocked").content.decode()
    dataset = client.get("/admin/dataset?dataset=org/a").content.decode()

    assert '<a href="/admin/blocked">Blocked</a>' in jobs
    assert 'href="/admin/blocked#blocked-org/a"' in jobs
    assert 'id="blocked-badge" href="/admin/blocked#blocked-org/a"' in dataset
    assert '<tr id="blocked-org/a"' in blocked
    assert "7500 s (104%)" in blocked
    assert '<meter min="0" max="7200" high="6480.0" value="7500"' in blocked


def test_a_requeue_costs_a_few_commands_per_job(client: Client, queue_db: Any, db_commands: Any) -> None:
    seed(queue_db, [started(f"org/{number}") for number in range(3)])
    db_commands.commands.clear()

    assert post(client).json()["matched"] == 3
    assert sorted(mongo_commands(db_commands)) == ["aggregate", "find"]  # a dry run: the count, the batch

    db_commands.commands.clear()
    post(client, dry_run="false")

    per_job = ["update", "findAndModify", "update", "find", "find", "update", "update", "insert", "update"]
    assert sorted(mongo_commands(db_commands)) == sorted(["aggregate", "find", "insert", "update"] + per_job * 3)
