"""An incoherent cache is refused everywhere the plan is used (issue 22 items 4 and 12).

The workers' planner refuses a dataset holding entries of configs or splits its name lists do
not list, or a name listed twice. Ours answers 409 IncoherentCacheError on the plan route,
writes nothing on apply (the JSON route, the dataset page's form, the `backfill_dataset`
command), and the dataset page says so with recreate as the repair.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from tests.support.write_helpers import serve_dataset
from tests.test_backfill_plan import DATASET, config_names, entry, job, split_names
from tests.test_dataset_backfill import PLAN_URL, apply
from tests.test_dataset_backfill import everything as everything_and_locks
from tests.test_dataset_page_backfill import PAGE, REDIRECTED, text_of

MESSAGE = (
    f"Incoherent cache of {DATASET}: it holds entries for 1 config(s) that its dataset-config-names entry does not"
    " list: 'gone'. The plan is refused, as the other services' planner refuses it; recreate the dataset to"
    " repair it."
)


def everything(queue_db: Any, cache_db: Any) -> dict[str, list[dict[str, Any]]]:
    """Every document but the locks, which must be free: apply takes the dataset's lock (and releases it)."""
    documents = everything_and_locks(queue_db, cache_db)
    assert all(lock.get("owner") is None for lock in documents.pop("locks"))
    return documents


@pytest.fixture
def incoherent(cache_db: Any, queue_db: Any, fake_hub: Any, small_graph: Any) -> None:
    """Config `gone` has an entry but is not listed; there is work the plan would otherwise queue and delete."""
    cache_db["cachedResponsesBlue"].insert_many(
        [config_names("c1"), split_names("c1", "s1"), entry("config-info", "gone")]
    )
    queue_db["jobsBlue"].insert_one(job("config-info", "gone"))
    serve_dataset(fake_hub, DATASET)


@pytest.fixture
def small_graph(monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.test_backfill_plan import GRAPH
    from tests.test_dataset_backfill import use_graph

    use_graph(monkeypatch, GRAPH)
    return GRAPH


def test_the_plan_route_answers_409(client: Client, incoherent: None) -> None:
    response = client.get(PLAN_URL)
    assert (response.status_code, response["X-Error-Code"]) == (409, "IncoherentCacheError")
    assert response.json() == {"error": MESSAGE}


def test_apply_answers_409_and_writes_nothing(client: Client, incoherent: None, cache_db: Any, queue_db: Any) -> None:
    before = everything(queue_db, cache_db)
    response = apply(client)
    assert (response.status_code, response["X-Error-Code"]) == (409, "IncoherentCacheError")
    assert response.json() == {"error": MESSAGE}
    assert everything(queue_db, cache_db) == before
    [action] = list(queue_db["adminActions"].find())
    assert (action["action"], action["outcome"], action["error_code"]) == (
        "dataset-backfill",
        "failed",
        "IncoherentCacheError",
    )


def test_a_name_listed_twice_is_refused_on_apply(
    client: Client, fake_hub: Any, cache_db: Any, queue_db: Any, small_graph: Any
) -> None:
    cache_db["cachedResponsesBlue"].insert_one(config_names("c1", "c1"))
    serve_dataset(fake_hub, DATASET)
    before = everything(queue_db, cache_db)
    response = apply(client)
    assert (response.status_code, response["X-Error-Code"]) == (409, "IncoherentCacheError")
    assert "lists 1 config(s) more than once: 'c1'" in response.json()["error"]
    assert everything(queue_db, cache_db) == before


def test_the_dataset_page_says_so_with_recreate_as_the_repair(client: Client, incoherent: None) -> None:
    html = client.get(PAGE).content.decode()
    assert f"IncoherentCacheError {MESSAGE}" in text_of(html)
    assert f'<a class="danger" id="plan-repair-link" href="/admin/dataset/recreate?dataset={DATASET}">' in html
    assert 'id="apply-plan"' not in html


def test_the_page_says_so_without_a_config_names_entry_too(client: Client, cache_db: Any, small_graph: Any) -> None:
    cache_db["cachedResponsesBlue"].insert_one(entry("config-info", "c1"))
    html = client.get(PAGE).content.decode()
    assert 'id="plan-incoherent"' in html
    assert "does not list: &#x27;c1&#x27;" in html


def test_the_pages_apply_form_writes_nothing_and_says_why(
    client: Client, incoherent: None, cache_db: Any, queue_db: Any
) -> None:
    before = everything(queue_db, cache_db)
    response = client.post("/admin/dataset/backfill", {"dataset": DATASET}, follow=True)
    assert response.redirect_chain == [(REDIRECTED, 302)]
    assert f"Backfill: {MESSAGE}" in text_of(response.content.decode())
    assert everything(queue_db, cache_db) == before


def test_the_command_writes_nothing_and_fails_that_dataset(
    incoherent: None, cache_db: Any, queue_db: Any, capsys: Any
) -> None:
    before = everything(queue_db, cache_db)
    with pytest.raises(CommandError) as raised:
        call_command("backfill_dataset", DATASET)
    assert raised.value.returncode == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{DATASET}: failed (IncoherentCacheError): {MESSAGE}",
        "done: 0, not supported: 0, failed: 1",
    ]
    assert everything(queue_db, cache_db) == before


def test_the_command_dry_run_says_so_too(incoherent: None, capsys: Any) -> None:
    with pytest.raises(CommandError):
        call_command("backfill_dataset", DATASET, "--dry-run")
    assert capsys.readouterr().out.splitlines()[0] == f"{DATASET}: failed (IncoherentCacheError): {MESSAGE}"
