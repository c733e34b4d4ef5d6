"""Small things of issue 12 (item 7): the cache list's count, copied errors linked to their root,
the dataset page's "errors only" view.

A copied error carries `details.copied_from_artifact` naming its parent artifact; following the
chain reaches the root error (REFERENCE.md, "Copied errors and root causes"). The cache list and
the cache entry page resolve it to links, in a number of queries that does not grow with the page.
"""

from __future__ import annotations

import re
from typing import Any

from bson import ObjectId
from django.test import Client

from tests.support.page_data import insert_cache_entry, seed_broken_dataset
from tests.test_pages import mongo_commands, text_of


def artifact(kind: str, dataset: str, config: str | None = None, split: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "dataset": dataset, "config": config, "split": split}


def copy_of(cache_db: Any, parent: dict[str, Any], kind: str, **place: Any) -> ObjectId:
    """A child entry with the parent's error, as the workers copy it."""
    entry_id: ObjectId = insert_cache_entry(
        cache_db,
        kind=kind,
        dataset=parent["dataset"],
        http_status=500,
        error_code="DatasetGenerationError",
        details={
            "error": "An error occurred while generating the dataset",
            "cause_exception": "ValueError",
            "copied_from_artifact": parent,
        },
        **place,
    )
    return entry_id


def seed_chain(cache_db: Any, dataset: str) -> dict[str, ObjectId]:
    """config-parquet-and-info/fr fails; three levels copy it, down to split-first-rows/fr/train."""
    ids = {
        "root": insert_cache_entry(
            cache_db,
            kind="config-parquet-and-info",
            dataset=dataset,
            config="fr",
            http_status=500,
            error_code="DatasetGenerationError",
            details={"error": "An error occurred", "cause_exception": "ValueError", "cause_message": "bad row 7"},
        )
    }
    ids["parquet"] = copy_of(
        cache_db, artifact("config-parquet-and-info", dataset, "fr"), "config-parquet", config="fr"
    )
    ids["metadata"] = copy_of(
        cache_db, artifact("config-parquet", dataset, "fr"), "config-parquet-metadata", config="fr"
    )
    ids["rows"] = copy_of(
        cache_db, artifact("config-parquet-metadata", dataset, "fr"), "split-first-rows", config="fr", split="train"
    )
    return ids


def test_the_cache_list_links_each_copied_error_to_its_root(client: Client, cache_db: Any, db_commands: Any) -> None:
    ids = seed_chain(cache_db, "acme/reviews")
    db_commands.commands.clear()
    response = client.get("/admin/cache?kind=split-first-rows")
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        f'root: <a class="root" href="/admin/cache/{ids["root"]}"'
        ' title="DatasetGenerationError (ValueError: bad row 7)">config-parquet-and-info / fr</a>'
    ) in html
    assert f'copied from <a href="/admin/cache/{ids["metadata"]}">config-parquet-metadata / fr</a>' in html
    # the page, its count, then one query per level of copies (3 here), not one per row
    assert mongo_commands(db_commands) == ["find", "aggregate", "find", "find", "find"]


def test_a_root_two_levels_up_and_a_root_entry_itself(client: Client, cache_db: Any) -> None:
    ids = seed_chain(cache_db, "acme/reviews")
    html = client.get("/admin/cache?kind=config-parquet-metadata").content.decode()
    assert f'root: <a class="root" href="/admin/cache/{ids["root"]}"' in html
    # a root error is not a copy: no root link on its own row
    root_list = client.get("/admin/cache?kind=config-parquet-and-info").content.decode()
    assert 'class="root"' not in root_list and "copied from" not in root_list


def test_roots_of_a_whole_page_cost_the_same_queries_as_one(client: Client, cache_db: Any, db_commands: Any) -> None:
    seed_chain(cache_db, "org/only")
    db_commands.commands.clear()
    client.get("/admin/cache?kind=split-first-rows")
    one = mongo_commands(db_commands)
    for number in range(30):
        seed_chain(cache_db, f"org/ds{number}")
    db_commands.commands.clear()
    response = client.get("/admin/cache?kind=split-first-rows")
    assert response.content.decode().count('class="root"') == 31
    assert mongo_commands(db_commands) == one


def test_a_copy_whose_root_was_since_fixed(client: Client, cache_db: Any) -> None:
    fixed = insert_cache_entry(cache_db, kind="config-parquet-and-info", dataset="acme/fixed", config="fr")
    copy_of(cache_db, artifact("config-parquet-and-info", "acme/fixed", "fr"), "config-parquet", config="fr")
    copy_of(cache_db, artifact("config-parquet-and-info", "acme/gone", "fr"), "config-parquet", config="fr")
    html = client.get("/admin/cache?kind=config-parquet").content.decode()
    assert (
        f'copied from <a href="/admin/cache/{fixed}">config-parquet-and-info / fr</a>'
        ' <span class="badge ok">since fixed (200)</span>'
    ) in html
    assert 'copied from config-parquet-and-info / fr <span class="badge missing">no such entry</span>' in html
    assert 'class="root"' not in html


def test_the_cache_entry_page_links_the_parent_and_the_root(client: Client, cache_db: Any, db_commands: Any) -> None:
    ids = seed_chain(cache_db, "acme/reviews")
    db_commands.commands.clear()
    response = client.get(f"/admin/cache/{ids['rows']}")
    html = response.content.decode()
    assert (
        f'<dt>copied from</dt><dd id="copied-from"><a href="/admin/cache/{ids["metadata"]}">'
        "config-parquet-metadata / fr</a></dd>"
    ) in html
    assert (
        f'<dt>root error</dt><dd id="root-error"><a class="root" href="/admin/cache/{ids["root"]}"'
        ' title="DatasetGenerationError (ValueError: bad row 7)">config-parquet-and-info / fr</a>'
        " DatasetGenerationError (ValueError: bad row 7)</dd>"
    ) in html
    assert mongo_commands(db_commands) == ["find", "find", "find", "find"]  # the entry, then 3 levels up
    root_page = client.get(f"/admin/cache/{ids['root']}").content.decode()
    assert 'id="copied-from"' not in root_page and 'id="root-error"' not in root_page


def test_a_cycle_of_copies_ends(client: Client, cache_db: Any) -> None:
    """Corrupt data (two entries copying each other) must not loop: no root is named."""
    copy_of(cache_db, artifact("config-parquet", "org/loop", "fr"), "config-parquet-and-info", config="fr")
    copy_of(cache_db, artifact("config-parquet-and-info", "org/loop", "fr"), "config-parquet", config="fr")
    response = client.get("/admin/cache?kind=config-parquet")
    assert response.status_code == 200
    assert 'class="root"' not in response.content.decode()


# --- The cache list counts what its filter matches -----------------------------------------


def test_the_cache_list_says_how_many_entries_match(client: Client, cache_db: Any, db_commands: Any) -> None:
    for number in range(3):
        insert_cache_entry(cache_db, kind="dataset-info", dataset=f"ok{number}")
    insert_cache_entry(cache_db, kind="dataset-info", dataset="bad", http_status=500, error_code="E")
    insert_cache_entry(cache_db, kind="config-info", dataset="ok0", config="c")
    db_commands.commands.clear()
    html = client.get("/admin/cache?kind=dataset-info").content.decode()
    assert mongo_commands(db_commands) == ["find", "aggregate"]
    assert '<p class="totals" id="cache-count"><strong>4</strong> entries match</p>' in html
    html = client.get("/admin/cache?kind=dataset-info&http_status=200").content.decode()
    assert '<p class="totals" id="cache-count"><strong>3</strong> entries match</p>' in html
    html = client.get("/admin/cache?kind=dataset-info&error_code=E").content.decode()
    assert '<p class="totals" id="cache-count"><strong>1</strong> entry matches</p>' in html
    html = client.get("/admin/cache?kind=dataset-info&error_code=Nope").content.decode()
    assert '<p class="totals" id="cache-count"><strong>0</strong> entries match</p>' in html


def test_the_count_is_of_the_filter_not_of_the_page(client: Client, cache_db: Any, settings: Any) -> None:
    import dataclasses

    settings.ADMIN = dataclasses.replace(settings.ADMIN, cache_reports_num_results=2)
    for number in range(5):
        insert_cache_entry(cache_db, kind="dataset-info", dataset=f"ok{number}")
    first = client.get("/admin/cache?kind=dataset-info")
    assert "<strong>5</strong> entries match" in first.content.decode()
    after = first.context["page"].next_cursor
    assert (
        "<strong>5</strong> entries match"
        in client.get(f"/admin/cache?kind=dataset-info&after={after}").content.decode()
    )


# --- The dataset page's "errors only" view ---------------------------------------------------


def rows_of(html: str) -> list[tuple[str, str, str]]:
    return re.findall(r'<tr class="\w+" data-step="([^"]*)" data-config="([^"]*)" data-split="([^"]*)"[^>]*>', html)


def test_the_error_badge_opens_the_errors_only_view(client: Client, cache_db: Any, queue_db: Any) -> None:
    seed_broken_dataset(cache_db, queue_db)
    whole = client.get("/admin/dataset?dataset=acme/reviews").content.decode()
    assert (
        '<a id="errors-only-link" href="/admin/dataset?dataset=acme/reviews&amp;errors=1">'
        '<span class="badge error" data-live="errors">1 error</span></a>'
    ) in whole
    assert len(rows_of(whole)) > 10

    response = client.get("/admin/dataset?dataset=acme/reviews&errors=1")
    html = response.content.decode()
    assert rows_of(html) == [("config-parquet-and-info", "fr", "")]
    assert html.count('<tbody id="step-') == 1  # steps without an error are left out
    assert "Errors only: 1 of" in text_of(response)
    assert '<a id="all-rows-link" href="/admin/dataset?dataset=acme/reviews">show every row</a>' in html
    # the counts stay those of the whole dataset
    assert '<span class="badge ok" data-live="ok">' in html and "5 ok" in text_of(response)


def test_errors_only_of_a_dataset_without_error(client: Client, cache_db: Any) -> None:
    insert_cache_entry(cache_db, kind="dataset-config-names", dataset="acme/fine", content={"config_names": []})
    response = client.get("/admin/dataset?dataset=acme/fine&errors=1")
    assert rows_of(response.content.decode()) == []
    assert "No error in this dataset." in text_of(response)


def test_a_bad_errors_value_is_a_readable_error(client: Client) -> None:
    response = client.get("/admin/dataset?dataset=acme/fine&errors=all")
    assert response.status_code == 422
    assert "Parameter 'errors' must be one of: 0, 1" in text_of(response)
