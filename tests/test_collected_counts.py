"""The dashboard's costly counts: made by `manage.py collect_counts`, read back by the pages with their age.

Counting datasets by builder name and grouping the root errors read many cache entries: no page
does it. The collector writes them into `adminCounts`; the dashboard and the builder-names page
read the last ones in one find and say when they were counted, or, before any round, how to run
it. The JSON routes of the other services still count on each request.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from foundation.database import mongo
from overview.collector import Task, TaskOutcome, collect_every, collect_once
from tests.support.page_data import insert_cache_entry
from tests.test_pages import CACHE_COLLECTIONS, text_of

T0 = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The console's clock (`mongo.utc_now`), moved by hand: `now[0] += timedelta(minutes=2)`."""
    moment = [T0]
    monkeypatch.setattr(mongo, "utc_now", lambda: moment[0])
    return moment


def dataset_info(cache_db: Any, dataset: str, builder_name: str) -> None:
    insert_cache_entry(
        cache_db,
        kind="dataset-info",
        dataset=dataset,
        content={"dataset_info": {"default": {"builder_name": builder_name}}},
        updated_at=T0,
    )


def seed(cache_db: Any) -> None:
    for number, builder_name in enumerate(("csv", "csv", "parquet", "my-own-builder")):
        dataset_info(cache_db, f"org/{builder_name}-{number}", builder_name)
    for dataset in ("org/a", "org/b"):
        insert_cache_entry(
            cache_db,
            kind="dataset-config-names",
            dataset=dataset,
            http_status=500,
            error_code="ConfigNamesError",
            details={"cause_exception": "DatasetNotFoundError"},
            updated_at=T0 - timedelta(hours=1),
        )
    insert_cache_entry(
        cache_db,
        kind="config-info",
        dataset="org/a",
        config="default",
        http_status=500,
        error_code="ConfigNamesError",
        details={
            "cause_exception": "DatasetNotFoundError",
            "copied_from_artifact": {"kind": "dataset-config-names", "dataset": "org/a", "config": None, "split": None},
        },
        updated_at=T0,
    )


def collect(verbosity: int = 1) -> str:
    out = StringIO()
    call_command("collect_counts", stdout=out, stderr=StringIO(), verbosity=verbosity)
    return out.getvalue()


def test_before_any_round_the_pages_say_the_counts_are_not_made_yet_and_how_to_make_them(
    client: Client, cache_db: Any, db_commands: Any
) -> None:
    seed(cache_db)
    db_commands.collections.clear()
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    # no page reads all the cache entries: the metric rows, and the sparklines' entries written in the last hour
    assert [target for target in db_commands.collections if target[1] in CACHE_COLLECTIONS] == [
        ("find", "cacheTotalMetric"),
        ("aggregate", "cachedResponsesBlue"),
    ]
    text = text_of(dashboard)
    assert "The root-error groups are counted apart from the pages, by manage.py collect_counts" in text
    assert "Datasets by builder name are counted apart from the pages" in text
    assert "Run python manage.py collect_counts once, and schedule it" in text
    assert 'id="top-root-errors"' not in dashboard.content.decode()  # no table of counts never made
    page = client.get("/admin/builder-names")
    assert page.status_code == 200
    assert "have not been counted yet in these databases. Run python manage.py collect_counts once" in text_of(page)


def test_collect_counts_writes_the_counts_into_admin_counts(cache_db: Any, queue_db: Any, now: list[datetime]) -> None:
    seed(cache_db)
    output = collect()

    lines = output.splitlines()
    assert re.fullmatch(r"builder names: 4 dataset-info entries by builder name, counted in \d+\.\d s", lines[1])
    assert re.fullmatch(r"root errors: 1 root-error groups, 1 copies, counted in \d+\.\d s", lines[2])
    documents = {document["_id"]: document for document in queue_db[mongo.ADMIN_COUNTS].find()}
    assert set(documents) >= {"builder-names", "root-errors"}
    builder_names = documents["builder-names"]
    assert builder_names["counted_at"] == T0
    assert builder_names["counts"] == {
        "parquet": 1,
        "csv": 2,
        "text": 0,
        "imagefolder": 0,
        "audiofolder": 0,
        "json": 0,
        "arrow": 0,
        "webdataset": 0,
        "other": 1,
    }
    assert isinstance(builder_names["duration_seconds"], float)
    root_errors = documents["root-errors"]
    assert root_errors["copied"] == 1
    assert root_errors["groups"] == [
        {
            "kind": "dataset-config-names",
            "error_code": "ConfigNamesError",
            "cause_exception": "DatasetNotFoundError",
            "count": 2,
            "latest_updated_at": T0 - timedelta(hours=1),
            "sample_datasets": ["org/a", "org/b"],
        }
    ]


def test_the_pages_show_the_last_counts_and_how_old_they_are(
    client: Client, cache_db: Any, db_commands: Any, now: list[datetime]
) -> None:
    seed(cache_db)
    collect()
    dataset_info(cache_db, "org/late", "csv")  # written after the round: not in the pages until the next
    now[0] = T0 + timedelta(minutes=2)

    db_commands.collections.clear()
    dashboard = client.get("/admin/")
    assert [target for target in db_commands.collections if target[1] in CACHE_COLLECTIONS] == [
        ("find", "cacheTotalMetric"),
        ("aggregate", "cachedResponsesBlue"),  # the sparklines' entries written in the last hour
    ]
    assert ("find", mongo.ADMIN_COUNTS) in db_commands.collections
    html = dashboard.content.decode()
    assert (
        '<td colspan="5" class="muted" id="top-errors-age" title="2024-06-01 12:00:00Z">'
        "counted 2m ago by collect_counts</td>"
    ) in html
    assert (
        '<td colspan="2" class="muted" id="builder-names-age" title="2024-06-01 12:00:00Z">'
        "counted 2m ago by collect_counts</td>"
    ) in html
    assert "dataset-config-names ConfigNamesError DatasetNotFoundError 2 bulk refresh" in text_of(dashboard)
    assert '<a href="/admin/errors">all</a>; 1 more entries copy them)</caption>' in html
    assert '<tr><td>csv</td><td class="num"><a href="/admin/cache?kind=dataset-info&amp;http_status=200">2</a>' in html

    page = client.get("/admin/builder-names")
    assert "csv 2" in text_of(page) and "counted 2m ago by collect_counts" in text_of(page)

    now[0] = T0 + timedelta(minutes=3)
    collect()
    page = client.get("/admin/builder-names")
    assert "csv 3" in text_of(page) and "counted 0s ago by collect_counts" in text_of(page)


def test_the_json_routes_still_count_on_each_request(client: Client, cache_db: Any) -> None:
    """/admin/num-dataset-infos-by-builder-name and /admin/cache-errors are the other services': exact each time."""
    seed(cache_db)
    collect()
    dataset_info(cache_db, "org/late", "csv")
    assert client.get("/admin/num-dataset-infos-by-builder-name").json()["csv"] == 3
    assert client.get("/admin/cache-errors").json()["errors"][0]["count"] == 2


def test_a_task_that_fails_is_reported_and_the_others_still_run() -> None:
    ran: list[str] = []

    def failing() -> str:
        raise RuntimeError("the aggregation was killed\nand a second line")

    def working() -> str:
        ran.append("working")
        return "done"

    outcomes = collect_once([Task("first", failing), Task("second", working)])
    assert [str(outcome) for outcome in outcomes] == [
        "first: failed: RuntimeError: the aggregation was killed",
        "second: done",
    ]
    assert ran == ["working"]


def test_a_round_against_a_database_that_does_not_answer_exits_1_naming_it(
    cache_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.write_helpers import set_config
    from tests.test_commands import closed_port

    port = closed_port()
    set_config(cache_mongo_url=f"mongodb://127.0.0.1:{port}", mongo_timeout_seconds=0.2)
    errors = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("collect_counts", stdout=StringIO(), stderr=errors)
    assert raised.value.returncode == 1
    assert str(raised.value) == "4 of 5 tasks failed: activity sample, builder names, root errors, metric-row drift"
    unavailable = f"the database is unavailable (cache database at mongodb://127.0.0.1:{port})"
    assert errors.getvalue().splitlines() == [
        f"activity sample: failed: {unavailable}",  # the cache's metric rows are part of a sample
        f"builder names: failed: {unavailable}",
        f"root errors: failed: {unavailable}",
        f"metric-row drift: failed: {unavailable}",
    ]


def test_the_loop_runs_a_round_at_each_multiple_of_its_interval_until_stopped() -> None:
    """`--every 60`: a round at start, then at each minute mark (the same marks in every collector)."""
    clock = [1000.5]
    rounds: list[float] = []
    waits: list[float] = []

    def task() -> str:
        rounds.append(clock[0])
        return "counted"

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        if len(rounds) == 3:
            return True  # stopped
        clock[0] += seconds / 2 if len(waits) == 1 else seconds  # the first wait wakes early: it waits again
        return False

    reports: list[list[TaskOutcome]] = []
    collect_every(60, report=reports.append, wait=wait, clock=lambda: clock[0], tasks=[Task("counts", task)])
    assert rounds == [1000.5, 1020.0, 1080.0]
    assert waits == [19.5, 9.75, 60.0, 60.0]
    assert [str(outcome) for report in reports for outcome in report] == ["counts: counted"] * 3
