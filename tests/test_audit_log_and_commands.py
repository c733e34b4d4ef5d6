"""GET /admin/audit-log, and the management commands recreate_dataset and force_refresh."""

from __future__ import annotations

import getpass
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from datasetops.services import ForceRefreshRequest, force_refresh
from foundation.core.identity import HubIdentity
from foundation.core.processing_graph import known_step
from jobs.constants import Priority
from tests.support.write_helpers import SHA, serve_dataset, set_config, upstream_cache_entry, upstream_job

ACTOR = f"command:{getpass.getuser()}"


def run(command: str, *args: str) -> tuple[str, str, int]:
    """Run a command as `manage.py` would: (stdout, stderr, exit status)."""
    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue() + str(error), error.returncode
    return out.getvalue(), err.getvalue(), 0


# --- audit log ----------------------------------------------------------------------------------


def test_audit_log_lists_the_newest_actions_first_by_pages(client: Client, fake_hub: Any) -> None:
    set_config(audit_log_num_results=2)
    for name in ("a", "b", "c"):
        serve_dataset(fake_hub, f"org/{name}")
        request = ForceRefreshRequest(
            step=known_step("dataset-config-names"),
            dataset=f"org/{name}",
            config=None,
            split=None,
            priority=Priority.HIGH,
            difficulty=None,
        )
        force_refresh(request=request, actor=HubIdentity(name=f"user-{name}", org="huggingface"))

    first = client.get("/admin/audit-log")
    assert first.status_code == 200
    assert first["Cache-Control"] == "max-age=10"
    page = first.json()
    assert [(action["actor"], action["parameters"]["dataset"]) for action in page["actions"]] == [
        ("user-c", "org/c"),
        ("user-b", "org/b"),
    ]
    assert page["next_cursor"] == page["actions"][-1]["id"]
    newest = page["actions"][0]
    assert set(newest) == {
        "id",
        "actor",
        "actor_org",
        "action",
        "parameters",
        "requested_at",
        "finished_at",
        "outcome",
        "error_code",
        "message",
        "result",
    }
    assert (newest["action"], newest["outcome"], newest["error_code"], newest["actor_org"]) == (
        "force-refresh",
        "ok",
        None,
        "huggingface",
    )
    assert newest["parameters"] == {"job_type": "dataset-config-names", "dataset": "org/c", "priority": "high"}
    requested_at = datetime.fromisoformat(newest["requested_at"])
    assert requested_at.tzinfo is None, "naive UTC, as every route renders a date"

    second = client.get("/admin/audit-log", {"cursor": page["next_cursor"]}).json()
    assert [action["actor"] for action in second["actions"]] == ["user-a"]
    assert second["next_cursor"] == ""


def test_audit_log_refuses_a_bad_cursor(client: Client) -> None:
    response = client.get("/admin/audit-log", {"cursor": "not-an-id"})
    assert response.status_code == 422
    assert response["X-Error-Code"] == "InvalidParameter"


def test_anonymous_api_calls_are_recorded_as_anonymous(client: Client, fake_hub: Any, queue_db: Any) -> None:
    serve_dataset(fake_hub, "org/ds")
    client.post("/admin/force-refresh/dataset-config-names?dataset=org/ds", data="", content_type="application/json")
    [action] = list(queue_db["adminActions"].find())
    assert action["actor"] == "anonymous"
    assert "actor_org" not in action


# --- recreate_dataset ---------------------------------------------------------------------------


def test_recreate_command_summarises_and_fails_when_one_dataset_fails(
    fake_hub: Any, queue_db: Any, cache_db: Any, tmp_path: Path
) -> None:
    set_config(assets_storage_root=tmp_path / "a", cached_assets_storage_root=tmp_path / "c")
    serve_dataset(fake_hub, "org/ok")
    fake_hub.expect_request("/api/datasets/org/gone").respond_with_json(
        {}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    fake_hub.expect_request("/api/datasets/org/flaky").respond_with_data("oops", status=503)
    cache_db["cachedResponsesBlue"].insert_one(upstream_cache_entry(kind="dataset-config-names", dataset="org/gone"))
    names = tmp_path / "datasets.txt"
    names.write_text("# to recreate\norg/gone\n\norg/flaky\n")

    out, err, status = run("recreate_dataset", "org/ok", "--from-file", str(names), "--priority", "normal")

    assert status == 1
    assert out.splitlines() == [
        "org/ok: deleted 0 waiting jobs, 0 cache entries, 0 asset folders;"
        f" created a dataset-init job at revision {SHA}",
        "org/gone: not supported (NotSupportedRepositoryNotFoundError): deleted 0 waiting jobs, 1 cache entry,"
        " 0 asset folders, no job",
        "org/flaky: failed (UnexpectedApiError): The Hub answered 503 about dataset org/flaky: nothing was changed.",
        "done: 1, not supported: 1, failed: 1",
    ]
    assert "#" not in err, "no progress bar off a terminal"
    assert "1 dataset(s) failed: org/flaky" in err
    [job] = list(queue_db["jobsBlue"].find())
    assert (job["type"], job["dataset"], job["priority"]) == ("dataset-init", "org/ok", "normal")
    assert cache_db["cachedResponsesBlue"].count_documents({}) == 0
    actions = {action["parameters"]["dataset"]: action for action in queue_db["adminActions"].find()}
    assert {name: (action["actor"], action["outcome"]) for name, action in actions.items()} == {
        "org/ok": (ACTOR, "ok"),
        "org/gone": (ACTOR, "not_supported"),
        "org/flaky": (ACTOR, "failed"),
    }


def test_recreate_command_dry_run_changes_nothing(fake_hub: Any, queue_db: Any, cache_db: Any, tmp_path: Path) -> None:
    assets = tmp_path / "a"
    (assets / "org" / "ds" / "--").mkdir(parents=True)
    set_config(assets_storage_root=assets, cached_assets_storage_root=tmp_path / "c")
    queue_db["jobsBlue"].insert_many(
        [
            upstream_job(job_type="dataset-config-names", dataset="org/ds"),
            upstream_job(job_type="config-parquet", dataset="org/ds", config="x", status="started"),
        ]
    )
    cache_db["cachedResponsesBlue"].insert_one(upstream_cache_entry(kind="dataset-config-names", dataset="org/ds"))
    serve_dataset(fake_hub, "org/ds")
    before = (list(queue_db["jobsBlue"].find()), list(cache_db["cachedResponsesBlue"].find()))

    out, _, status = run("recreate_dataset", "org/ds", "--dry-run")

    assert status == 0
    assert out.splitlines() == [
        "org/ds: would delete 1 waiting job, 1 cache entry, 1 asset folder;"
        f" would create a dataset-init job at revision {SHA}",
        "dry run, nothing changed. done: 1, not supported: 0, failed: 0",
    ]
    assert (list(queue_db["jobsBlue"].find()), list(cache_db["cachedResponsesBlue"].find())) == before
    assert (assets / "org" / "ds" / "--").is_dir()
    assert list(queue_db["adminActions"].find()) == []
    assert list(queue_db["locks"].find()) == []


@pytest.mark.parametrize("args", [("../x",), ("org/ok", "a/b/c"), ("org/ok", "--priority", "urgent"), ()])
def test_recreate_command_checks_everything_before_doing_anything(
    fake_hub: Any, queue_db: Any, args: tuple[str, ...]
) -> None:
    _, err, status = run("recreate_dataset", *args)
    assert status == 1
    assert err
    assert fake_hub.log == []
    assert list(queue_db["adminActions"].find()) == []


# --- force_refresh ------------------------------------------------------------------------------


def test_force_refresh_command_queues_the_job_and_records_the_os_user(fake_hub: Any, queue_db: Any) -> None:
    serve_dataset(fake_hub, "org/ds")
    out, _, status = run(
        "force_refresh",
        "split-first-rows",
        "--dataset",
        "org/ds",
        "--config",
        "c",
        "--split",
        "s",
        "--priority",
        "high",
    )
    assert status == 0
    job = queue_db["jobsBlue"].find_one()
    assert out.splitlines() == [
        f"org/ds,c,s: created: split-first-rows job {job['_id']} (revision {SHA}, priority high, difficulty 70)",
        "done: 1, not supported: 0, failed: 0",
    ]
    [action] = list(queue_db["adminActions"].find())
    assert (action["actor"], action["action"], action["outcome"]) == (ACTOR, "force-refresh", "ok")
    assert Priority(job["priority"]) is Priority.HIGH


def test_force_refresh_command_exit_status(fake_hub: Any, queue_db: Any) -> None:
    fake_hub.expect_request("/api/datasets/org/gone").respond_with_json(
        {}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    out, err, status = run("force_refresh", "dataset-config-names", "--dataset", "org/gone")
    assert (status, out.splitlines()[-1]) == (2, "done: 0, not supported: 1, failed: 0")
    assert err == "org/gone is not supported: nothing queued"

    set_config(hf_endpoint="http://127.0.0.1:9")
    out, err, status = run("force_refresh", "dataset-config-names", "--dataset", "org/ds")
    assert (status, out.splitlines()[-1]) == (1, "done: 0, not supported: 0, failed: 1")
    assert "force-refresh of org/ds failed" in err

    _, err, status = run("force_refresh", "config-parquet", "--dataset", "org/ds")
    assert (status, err) == (1, "MissingRequiredParameter: Parameter 'config' is required")
    assert list(queue_db["jobsBlue"].find()) == []
