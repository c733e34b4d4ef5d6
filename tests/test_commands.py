"""What every management command shows an operator: one line and an exit status, a clean progress bar."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError

from foundation.core.commands import AdminCommand, ProgressBar, public_url
from tests.support.write_helpers import SHA, serve_dataset, set_config

REPOSITORY = Path(__file__).resolve().parent.parent


class Terminal(StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def run(command: str, *args: str, stdout: StringIO | None = None, stderr: StringIO | None = None) -> tuple[str, int]:
    """(the error line, the exit status) of a command run as `manage.py` would."""
    out, err = stdout or StringIO(), stderr or StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
    except CommandError as error:
        return str(error), error.returncode
    return "", 0


@pytest.fixture
def database_down() -> str:
    """Both databases at a closed port, behind a URL with a password; the URL as it may be shown."""
    port = closed_port()
    url = f"mongodb://admin:pa55word@127.0.0.1:{port}/?authSource=admin"
    set_config(cache_mongo_url=url, queue_mongo_url=url, mongo_timeout_seconds=0.2)
    return f"mongodb://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("args", "outcome"),
    [
        (("force_refresh", "config-size", "--dataset", "org/ds", "--config", "c"), "nothing was changed."),
        (
            ("ensure_indexes",),
            "the indexes listed above (if any) were ensured; run it again when it answers.",
        ),
        (("seed_demo", "--if-empty", "--no-progress"), "nothing was changed."),
        (
            ("recount_metrics",),
            "the rows counted before were set to their recount, the others are as they were.",
        ),
    ],
)
def test_an_unavailable_database_is_one_line_and_status_1(
    fake_hub: Any, database_down: str, args: tuple[str, ...], outcome: str
) -> None:
    serve_dataset(fake_hub, "org/ds")
    message, status = run(*args)
    assert (status, message) == (
        1,
        f"The database is unavailable (cache and queue databases at {database_down}): {outcome}",
    )
    assert "pa55word" not in message


def test_recreate_stops_at_an_unavailable_database(fake_hub: Any, database_down: str) -> None:
    serve_dataset(fake_hub, "org/a")
    serve_dataset(fake_hub, "org/b")
    out = StringIO()
    message, status = run("recreate_dataset", "org/a", "org/b", stdout=out)
    assert status == 1
    assert out.getvalue().splitlines() == [
        f"org/a: failed: the database is unavailable (cache and queue databases at {database_down}); stopping",
        "done: 0, not supported: 0, failed: 1, not attempted: 1",
    ]
    assert message == "1 dataset(s) failed: org/a; 1 not attempted"


def test_only_the_database_that_does_not_answer_is_named() -> None:
    port = closed_port()
    set_config(queue_mongo_url=f"mongodb://127.0.0.1:{port}", mongo_timeout_seconds=0.2)
    message, status = run("ensure_indexes")
    assert status == 1
    assert message.startswith(f"The database is unavailable (queue database at mongodb://127.0.0.1:{port}): ")


def test_manage_py_prints_one_line_and_exits_1(tmp_path: Path) -> None:
    port = closed_port()
    url = f"mongodb://admin:pa55word@127.0.0.1:{port}"
    environ = os.environ | {"CACHE_MONGO_URL": url, "QUEUE_MONGO_URL": url, "ADMIN_MONGO_TIMEOUT_SECONDS": "0.2"}
    result = subprocess.run(
        [sys.executable, "manage.py", "ensure_indexes"],
        cwd=REPOSITORY,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"CommandError: The database is unavailable (cache and queue databases at mongodb://127.0.0.1:{port}):"
        " the indexes listed above (if any) were ensured; run it again when it answers."
    ]


def test_an_admin_error_escaping_a_command_is_one_line_and_status_1() -> None:
    from foundation.core.errors import NotFoundError

    class Failing(AdminCommand):
        def handle(self, *args: Any, **options: Any) -> None:
            raise NotFoundError("Unknown thing 'x'")

    with pytest.raises(CommandError) as raised:
        call_command(Failing(), stdout=StringIO(), stderr=StringIO())
    assert (raised.value.returncode, str(raised.value)) == (1, "NotFound: Unknown thing 'x'")


def test_public_url_drops_credentials_and_options() -> None:
    assert public_url("mongodb://u:p@a:1,b:2/db?tlsCertificateKeyFilePassword=x") == "mongodb://a:1,b:2"
    assert public_url("mongodb+srv://u:p%40ss@cluster.example.org/db") == "mongodb+srv://cluster.example.org"


# --- force_refresh exit statuses ----------------------------------------------------------------


def test_force_refresh_exit_status_is_0_when_a_job_stands(fake_hub: Any, queue_db: Any) -> None:
    serve_dataset(fake_hub, "org/ds")
    assert run("force_refresh", "dataset-config-names", "--dataset", "org/ds") == ("", 0)
    assert run("force_refresh", "dataset-config-names", "--dataset", "org/ds") == ("", 0), "already waiting"
    assert queue_db["jobsBlue"].count_documents({}) == 1


def test_force_refresh_command_says_what_it_changed_on_a_standing_job(fake_hub: Any, queue_db: Any) -> None:
    serve_dataset(fake_hub, "org/ds")
    run("force_refresh", "dataset-config-names", "--dataset", "org/ds")
    [job] = list(queue_db["jobsBlue"].find())
    out = StringIO()
    call_command(
        "force_refresh",
        "dataset-config-names",
        "--dataset",
        "org/ds",
        "--priority",
        "high",
        "--difficulty",
        "90",
        stdout=out,
    )
    assert out.getvalue().splitlines()[0] == (
        f"org/ds: updated (priority low -> high, difficulty 50 -> 90): dataset-config-names job {job['_id']}"
        f" (revision {SHA}, priority high, difficulty 90)"
    )


def test_force_refresh_exit_status_is_2_when_the_dataset_is_not_supported(fake_hub: Any, queue_db: Any) -> None:
    fake_hub.expect_request("/api/datasets/gone/x").respond_with_json(
        {}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    out = StringIO()
    message, status = run("force_refresh", "config-parquet", "--dataset", "gone/x", "--config", "d", stdout=out)
    assert (status, message) == (2, "gone/x,d is not supported: nothing queued")
    assert out.getvalue().splitlines()[-1] == "done: 0, not supported: 1, failed: 0"
    assert queue_db["jobsBlue"].count_documents({}) == 0


def test_recreate_of_a_dataset_that_is_not_supported_exits_0(fake_hub: Any, queue_db: Any) -> None:
    fake_hub.expect_request("/api/datasets/gone/x").respond_with_json(
        {}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    assert run("recreate_dataset", "gone/x") == ("", 0)


def our_commands() -> list[str]:
    """Every management command of the project's own parts (not Django's, DRF's or a library's)."""
    ours = {part.name for part in REPOSITORY.iterdir() if (part / "__init__.py").exists()}
    return sorted(name for name, app in get_commands().items() if app.split(".")[0] in ours)


def test_the_command_list_is_found() -> None:
    assert {
        "backfill_dataset",
        "bulk_refresh",
        "collect_counts",
        "ensure_indexes",
        "force_refresh",
        "recount_metrics",
        "recreate_dataset",
        "seed_demo",
    } <= set(our_commands())


@pytest.mark.parametrize("command", our_commands())
def test_every_command_documents_its_exit_statuses(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", command, "--help"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "exit status: 0 " in " ".join(result.stdout.split())


# --- progress bar and log lines -----------------------------------------------------------------


def test_progress_bar_off_a_terminal_prints_nothing_and_lines_are_clean(fake_hub: Any, queue_db: Any) -> None:
    for name in ("a", "b", "c"):
        serve_dataset(fake_hub, f"org/{name}")
    out, err = StringIO(), StringIO()
    call_command("recreate_dataset", "org/a", "org/b", "org/c", stdout=out, stderr=err)
    assert err.getvalue() == ""
    assert "\x1b" not in out.getvalue()
    assert "\r" not in out.getvalue()
    assert [line.split(":")[0] for line in out.getvalue().splitlines()] == ["org/a", "org/b", "org/c", "done"]


def test_progress_bar_on_a_terminal_is_unstyled_and_erased_before_each_line(fake_hub: Any, queue_db: Any) -> None:
    serve_dataset(fake_hub, "org/a")
    fake_hub.expect_request("/api/datasets/gone/y").respond_with_json(
        {}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    screen = Terminal()
    call_command("recreate_dataset", "org/a", "gone/y", stdout=screen, stderr=screen)
    text = screen.getvalue()
    assert "\x1b" not in text, "no colour codes"
    bar = "[" + "#" * 15 + "." * 15 + "] 1/2"
    assert f"\r{bar}\r{' ' * len(bar)}\rgone/y: not supported" in text
    what_is_seen = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
    assert [line.split(":")[0] for line in what_is_seen] == ["org/a", "gone/y", "done", ""]


def test_progress_bar_write_line_and_clear() -> None:
    screen = Terminal()
    progress = ProgressBar(out=screen, bar_stream=screen, total=2)
    progress.advance()
    progress.write_line("one")
    progress.advance()
    progress.clear()
    bar1 = "[" + "#" * 15 + "." * 15 + "] 1/2"
    bar2 = "[" + "#" * 30 + "] 2/2"
    assert screen.getvalue() == f"\r{bar1}\r{' ' * len(bar1)}\rone\n\r{bar2}\r{' ' * len(bar2)}\r"


def test_write_log_lines_are_quiet_during_a_command_unless_verbose(
    fake_hub: Any, queue_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adminsite.writes")
    serve_dataset(fake_hub, "org/ds")
    call_command("force_refresh", "dataset-config-names", "--dataset", "org/ds", stdout=StringIO())
    assert [record for record in caplog.records if record.name == "adminsite.writes"] == []
    assert logging.getLogger("adminsite.writes").level == logging.INFO, "put back after the command"

    call_command("force_refresh", "dataset-config-names", "--dataset", "org/ds", "-v", "2", stdout=StringIO())
    assert [record.name for record in caplog.records if record.name == "adminsite.writes"] == ["adminsite.writes"]
