"""POST /admin/bulk-refresh: every entry of a filter refreshed, batch by batch, against the fake Hub."""

from __future__ import annotations

import threading
from collections import Counter
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from cachereports.documents import cache_entry_document
from tests.support.write_helpers import SHA, serve_dataset, set_config, without_ids

KIND = "config-parquet-and-info"


@pytest.fixture(autouse=True)
def patient_hub() -> None:
    """The fake Hub on a loaded machine can take more than the default 0.2 s: a skip would then be a timeout."""
    set_config(hf_timeout_seconds=10.0)


def post(client: Client, **params: Any) -> Any:
    return client.post(f"/admin/bulk-refresh?{urlencode(params)}", data="", content_type="application/json")


def broken_entry(dataset: str, config: str = "default", **fields: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "kind": KIND,
        "dataset": dataset,
        "config": config,
        "http_status": 500,
        "error_code": "DatasetGenerationError",
        "details": {"cause_exception": "ValueError", "cause_message": "bad"},
        "job_runner_version": 3,
    } | fields
    return cache_entry_document(**arguments)


def seed(cache_db: Any, entries: list[dict[str, Any]]) -> list[str]:
    """Insert in order; the ids, as strings, in `_id` order."""
    return [str(object_id) for object_id in cache_db["cachedResponsesBlue"].insert_many(entries).inserted_ids]


def queue_snapshot(queue_db: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        name: list(queue_db[name].find({}, {"_id": 0}))
        for name in ("jobsBlue", "jobTotalMetric", "workerTypeJobCounts", "locks", "adminActions")
    }


def test_a_dry_run_counts_and_writes_nothing(client: Client, cache_db: Any, queue_db: Any, fake_hub: Any) -> None:
    ids = seed(cache_db, [broken_entry("org/a"), broken_entry("org/b"), broken_entry("org/c", http_status=404)])

    response = post(client, kind=KIND, http_status=500, limit=1)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "dry_run": True,
        "matched": 2,
        "processed": 1,
        "created_jobs": 0,
        "already_waiting": 0,
        "skipped": [],
        "next_cursor": ids[0],
    }
    assert queue_snapshot(queue_db) == {name: [] for name in queue_snapshot(queue_db)}
    assert fake_hub.log == []  # not even the Hub is asked


def test_a_run_queues_one_job_per_entry_and_asks_the_hub_once_per_dataset(
    client: Client, cache_db: Any, queue_db: Any, fake_hub: Any
) -> None:
    serve_dataset(fake_hub, "org/a")
    serve_dataset(fake_hub, "org/b")
    seed(cache_db, [broken_entry("org/a"), broken_entry("org/a", "other"), broken_entry("org/b")])

    response = post(client, kind=KIND, dry_run="false", priority="normal")

    assert response.json() == {
        "dry_run": False,
        "matched": 3,
        "processed": 3,
        "created_jobs": 3,
        "already_waiting": 0,
        "skipped": [],
        "next_cursor": "",
    }
    jobs = sorted(without_ids(list(queue_db["jobsBlue"].find())), key=lambda job: job["unicity_id"])
    assert [(job["dataset"], job["config"], job["revision"], job["priority"], job["status"]) for job in jobs] == [
        ("org/a", "default", SHA, "normal", "waiting"),
        ("org/a", "other", SHA, "normal", "waiting"),
        ("org/b", "default", SHA, "normal", "waiting"),
    ]
    assert sorted(request.path for request, _ in fake_hub.log) == ["/api/datasets/org/a", "/api/datasets/org/b"]
    assert [row["total"] for row in queue_db["jobTotalMetric"].find()] == [3]

    again = post(client, kind=KIND, dry_run="false")
    assert again.json()["created_jobs"] == 0
    assert again.json()["already_waiting"] == 3
    assert queue_db["jobsBlue"].count_documents({}) == 3


def test_chaining_the_cursor_visits_every_match_once(client: Client, cache_db: Any, queue_db: Any, fake_hub: Any):
    names = [f"org/ds{number:02d}" for number in range(7)]
    for name in names:
        serve_dataset(fake_hub, name)
    entries = [broken_entry(name) for name in names]
    entries.insert(3, broken_entry("org/ok", http_status=200, error_code=None, details=None))  # not matched
    seed(cache_db, entries)

    cursor, batches = "", []
    while True:
        answer = post(client, kind=KIND, error_code="DatasetGenerationError", limit=3, cursor=cursor, dry_run=0).json()
        batches.append((answer["matched"], answer["processed"], answer["created_jobs"]))
        cursor = answer["next_cursor"]
        if not cursor:
            break

    assert batches == [(7, 3, 3), (7, 3, 3), (7, 1, 1)]
    assert sorted(job["dataset"] for job in queue_db["jobsBlue"].find()) == names
    actions = list(queue_db["adminActions"].find().sort("requested_at", 1))
    assert len(actions) == 3  # one audit entry per batch


def test_a_refused_or_unreachable_dataset_is_skipped_and_the_batch_goes_on(
    client: Client, cache_db: Any, queue_db: Any, fake_hub: Any
) -> None:
    serve_dataset(fake_hub, "org/a")
    fake_hub.expect_request("/api/datasets/org/gone").respond_with_json(
        {"error": "not found"}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    fake_hub.expect_request("/api/datasets/org/down").respond_with_data("oops", status=503)
    serve_dataset(fake_hub, "org/z")
    seed(cache_db, [broken_entry("org/gone"), broken_entry("org/a"), broken_entry("org/down"), broken_entry("org/z")])

    answer = post(client, kind=KIND, dry_run="false").json()

    assert answer == {
        "dry_run": False,
        "matched": 4,
        "processed": 4,
        "created_jobs": 2,
        "already_waiting": 0,
        "skipped": [
            {
                "dataset": "org/gone",
                "config": "default",
                "split": None,
                "reason": "NotSupportedRepositoryNotFoundError: Repository org/gone is not found.",
            },
            {
                "dataset": "org/down",
                "config": "default",
                "split": None,
                "reason": "UnexpectedApiError: The Hub answered 503 about dataset org/down: nothing was changed.",
            },
        ],
        "next_cursor": "",
    }
    assert sorted(job["dataset"] for job in queue_db["jobsBlue"].find()) == ["org/a", "org/z"]


def test_filters_select_exactly_their_entries(client: Client, cache_db: Any, fake_hub: Any) -> None:
    from datetime import UTC, datetime

    old, new = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    seed(
        cache_db,
        [
            broken_entry("org/a", updated_at=old),
            broken_entry("org/b", job_runner_version=5, updated_at=new),
            broken_entry("other/c", details={"cause_exception": "OSError"}, updated_at=old),
            broken_entry(
                "org/d",
                job_runner_version=None,
                updated_at=new,
                details={"cause_exception": "ValueError", "copied_from_artifact": {"kind": "x", "dataset": "org/d"}},
            ),
        ],
    )

    def matched(**params: Any) -> int:
        response = post(client, kind=KIND, **params)
        assert response.status_code == 200, response.json()
        return int(response.json()["matched"])

    assert matched() == 4
    assert matched(cause_exception="ValueError") == 3
    assert matched(cause_exception="ValueError", root_errors_only="true") == 2
    assert matched(job_runner_version_below=4) == 3  # a missing version counts as below
    assert matched(dataset_prefix="org/") == 3
    assert matched(updated_before="2024-03-01") == 2
    assert matched(updated_before="2024-03-01T00:00:00+00:00", dataset_prefix="other") == 1
    assert matched(http_status=404) == 0


@pytest.mark.parametrize(
    ("params", "status", "code", "message"),
    [
        ({}, 422, "MissingRequiredParameter", "Parameter 'kind' is required"),
        ({"kind": "nope"}, 404, "NotFound", "Unknown processing step 'nope'"),
        (
            {"kind": KIND, "limit": 0},
            422,
            "InvalidParameter",
            "Parameter 'limit' should be an int value between 1 and 1000.",
        ),
        (
            {"kind": KIND, "limit": 1001},
            422,
            "InvalidParameter",
            "Parameter 'limit' should be an int value between 1 and 1000.",
        ),
        (
            {"kind": KIND, "limit": "ten"},
            422,
            "InvalidParameter",
            "Parameter 'limit' should be an int value between 1 and 1000.",
        ),
        ({"kind": KIND, "cursor": "zz"}, 422, "InvalidParameter", "Invalid cursor."),
        ({"kind": KIND, "dry_run": "maybe"}, 422, "InvalidParameter", "Parameter 'dry_run' should be true or false."),
        (
            {"kind": KIND, "priority": "urgent"},
            422,
            "InvalidParameter",
            "Parameter 'priority' should be one of high, normal, low.",
        ),
        (
            {"kind": KIND, "http_status": "5xx"},
            422,
            "InvalidParameter",
            "Parameter 'http_status' should be an int value between 100 and 599.",
        ),
        (
            {"kind": KIND, "updated_before": "yesterday"},
            422,
            "InvalidParameter",
            "Parameter 'updated_before' should be an ISO 8601 datetime, e.g. 2024-05-01T12:00:00.",
        ),
        (
            {"kind": KIND, "dataset_prefix": "org/.*"},
            422,
            "InvalidParameter",
            "Parameter 'dataset_prefix' should be the start of a dataset name.",
        ),
    ],
)
def test_bad_parameters_are_refused_before_anything_is_read(
    client: Client, queue_db: Any, params: dict[str, Any], status: int, code: str, message: str
) -> None:
    response = post(client, **({"dry_run": "false"} | params))
    assert (response.status_code, response["X-Error-Code"], response.json()) == (status, code, {"error": message})
    assert list(queue_db["adminActions"].find()) == []


def test_the_limit_bounds_a_batch(client: Client, cache_db: Any, fake_hub: Any) -> None:
    seed(cache_db, [broken_entry(f"org/ds{number:04d}") for number in range(1001)])

    assert post(client, kind=KIND).json()["processed"] == 100  # the default
    assert post(client, kind=KIND, limit=1000).json()["processed"] == 1000
    last = post(client, kind=KIND, limit=1000, cursor=post(client, kind=KIND, limit=1000).json()["next_cursor"])
    assert (last.json()["processed"], last.json()["next_cursor"]) == (1, "")


def test_two_concurrent_runs_of_one_filter_leave_one_job_per_entry(cache_db: Any, queue_db: Any, fake_hub: Any):
    set_config(hf_timeout_seconds=10.0)
    names = [f"org/ds{number}" for number in range(6)]
    for name in names:
        serve_dataset(fake_hub, name)
    seed(cache_db, [broken_entry(name, config) for name in names for config in ("a", "b")])
    barrier = threading.Barrier(2)
    answers: list[dict[str, Any]] = []

    def run() -> None:
        barrier.wait()
        answers.append(post(Client(), kind=KIND, dry_run="false").json())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(answers) == 2
    assert sum(answer["created_jobs"] for answer in answers) == 12
    assert sum(answer["already_waiting"] for answer in answers) == 12
    jobs = list(queue_db["jobsBlue"].find())
    assert len(jobs) == 12
    assert len({job["unicity_id"] for job in jobs}) == 12
    assert [row["total"] for row in queue_db["jobTotalMetric"].find()] == [12]


def test_each_batch_is_one_audit_entry_with_its_filter_and_counts(
    client: Client, cache_db: Any, queue_db: Any, fake_hub: Any
) -> None:
    serve_dataset(fake_hub, "org/a")
    fake_hub.expect_request("/api/datasets/org/gone").respond_with_json(
        {}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    ids = seed(cache_db, [broken_entry("org/a"), broken_entry("org/gone"), broken_entry("org/a", "x")])

    post(client, kind=KIND, cause_exception="ValueError", root_errors_only=1, limit=2, dry_run="false", priority="high")

    [action] = list(queue_db["adminActions"].find())
    assert action["requested_at"] <= action["finished_at"]
    assert without_ids([action])[0] == {
        "actor": "anonymous",
        "action": "bulk-refresh",
        "parameters": {
            "kind": KIND,
            "cause_exception": "ValueError",
            "root_errors_only": True,
            "limit": 2,
            "priority": "high",
        },
        "requested_at": action["requested_at"],
        "finished_at": action["finished_at"],
        "outcome": "partial",  # an entry was skipped (its reason is in the answer)
        "result": {
            "matched": 3,
            "processed": 2,
            "created_jobs": 1,
            "already_waiting": 0,
            "skipped": 1,
            "next_cursor": ids[1],
        },
    }


# --- the command --------------------------------------------------------------------------------


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def run_command(*args: str, stdout: StringIO | None = None) -> tuple[str, int, str]:
    """(output, exit status, error line) of `manage.py bulk_refresh ARGS`."""
    out = stdout or StringIO()
    try:
        call_command("bulk_refresh", *args, stdout=out, stderr=out)
    except CommandError as error:
        return out.getvalue(), error.returncode, str(error)
    return out.getvalue(), 0, ""


def test_the_command_runs_every_batch_and_draws_its_bar_on_a_terminal(cache_db: Any, queue_db: Any, fake_hub: Any):
    for name in ("org/a", "org/b", "org/c"):
        serve_dataset(fake_hub, name)
    seed(cache_db, [broken_entry(name) for name in ("org/a", "org/b", "org/c")])
    screen = Terminal()

    output, status, _ = run_command(
        "--kind", KIND, "--error-code", "DatasetGenerationError", "--limit", "2", stdout=screen
    )

    assert status == 0
    bar = "      entries [" + "#" * 20 + "." * 10 + "] 2/3"
    assert f"\r{bar}" in output
    assert output.rsplit("\r", 1)[-1] == "3 entries processed: 3 jobs created, 0 already waiting, 0 skipped\n"
    assert queue_db["jobsBlue"].count_documents({}) == 3
    assert queue_db["adminActions"].count_documents({"actor": {"$regex": "^command:"}}) == 2


def test_the_command_lists_skipped_entries_and_exits_2(cache_db: Any, queue_db: Any, fake_hub: Any):
    serve_dataset(fake_hub, "org/a")
    fake_hub.expect_request("/api/datasets/org/gone").respond_with_json(
        {}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    seed(cache_db, [broken_entry("org/a"), broken_entry("org/gone")])

    output, status, error = run_command("--kind", KIND)

    assert (status, error) == (2, "1 entry was skipped")
    assert output.splitlines() == [
        "org/gone,default: skipped: NotSupportedRepositoryNotFoundError: Repository org/gone is not found.",
        "2 entries processed: 1 job created, 0 already waiting, 1 skipped",
    ]


def test_the_command_dry_run_lists_and_writes_nothing(cache_db: Any, queue_db: Any, fake_hub: Any):
    seed(cache_db, [broken_entry("org/a"), broken_entry("org/b"), broken_entry("org/c")])

    output, status, _ = run_command("--kind", KIND, "--limit", "2", "--dry-run")

    assert status == 0
    assert output.splitlines() == [
        "org/a,default: would be refreshed (DatasetGenerationError)",
        "org/b,default: would be refreshed (DatasetGenerationError)",
        "dry run, nothing changed. 3 entries match (1 more not listed)",
    ]
    assert queue_db["jobsBlue"].count_documents({}) == 0
    assert queue_db["adminActions"].count_documents({}) == 0
    assert fake_hub.log == []


def test_a_waiting_job_is_kept_and_raised_to_the_asked_priority(cache_db: Any, queue_db: Any, fake_hub: Any) -> None:
    from tests.support.write_helpers import upstream_job

    serve_dataset(fake_hub, "org/a")
    seed(cache_db, [broken_entry("org/a"), broken_entry("org/a", "big")])
    standing = upstream_job(job_type=KIND, dataset="org/a", config="default", priority="low")
    queue_db["jobsBlue"].insert_one(standing)
    cache_db["cachedResponsesBlue"].insert_one(
        cache_entry_document(
            kind="config-info", dataset="org/a", config="big", content={"dataset_info": {"dataset_size": 4_000_000_000}}
        )
    )

    answer = post(Client(), kind=KIND, dry_run="false", priority="high").json()

    assert (answer["created_jobs"], answer["already_waiting"]) == (1, 1)
    jobs = {job["config"]: job for job in queue_db["jobsBlue"].find()}
    assert jobs["default"]["_id"] == standing["_id"]
    assert jobs["default"]["priority"] == "high"
    assert jobs["big"]["priority"] == "high"


def test_a_big_split_gets_the_bonus_difficulty_of_its_step(cache_db: Any, queue_db: Any, fake_hub: Any) -> None:
    serve_dataset(fake_hub, "org/a")
    kind = "split-descriptive-statistics"  # difficulty 70, bonus 20 above 3e9 bytes
    sizes = {"train": {"num_bytes": 4_000_000_000}, "test": {"num_bytes": 1_000}}
    cache_db["cachedResponsesBlue"].insert_many(
        [
            broken_entry("org/a", kind=kind, split="train"),
            broken_entry("org/a", kind=kind, split="test"),
            cache_entry_document(
                kind="config-info", dataset="org/a", config="default", content={"dataset_info": {"splits": sizes}}
            ),
        ]
    )

    assert post(Client(), kind=kind, dry_run="false").json()["created_jobs"] == 2

    assert {job["split"]: job["difficulty"] for job in queue_db["jobsBlue"].find()} == {"train": 90, "test": 70}


def test_a_batch_costs_a_few_commands_per_dataset_whatever_its_entries(
    cache_db: Any, queue_db: Any, fake_hub: Any, db_commands: Any
) -> None:
    serve_dataset(fake_hub, "org/a")
    serve_dataset(fake_hub, "org/b")

    def commands_of_a_run(configs: int) -> Counter[str]:
        cache_db["cachedResponsesBlue"].delete_many({})
        queue_db["jobsBlue"].delete_many({})
        seed(cache_db, [broken_entry(name, f"c{number}") for name in ("org/a", "org/b") for number in range(configs)])
        db_commands.commands.clear()
        assert post(Client(), kind=KIND, dry_run="false", limit=1000).json()["created_jobs"] == 2 * configs
        return Counter(name for name, _ in db_commands.commands if name not in ("endSessions", "isMaster", "hello"))

    few, many = commands_of_a_run(2), commands_of_a_run(200)

    assert few == many
    # count, batch, config-info sizes, audit insert and update; per dataset: its lock, shared (a
    # mark written, the lock read, the mark deleted), its entries still there, the jobs' locks,
    # standing jobs, blockage, insert, the two metric collections, the jobs' locks given back
    assert sum(few.values()) == 5 + 2 * 11, few

    db_commands.commands.clear()
    post(Client(), kind=KIND, limit=1000)  # a dry run: the count (an aggregation) and the batch
    assert [name for name, _ in db_commands.commands] == ["aggregate", "find"]
