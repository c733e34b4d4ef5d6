"""`manage.py ensure_indexes` creates the indexes of REFERENCE.md ("created"); run again, it finds them ("exists")."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from pymongo.errors import DuplicateKeyError, OperationFailure

from adminsite.database.indexes import CACHE_INDEXES, QUEUE_INDEXES


def index_keys(database, collection: str) -> dict[str, tuple[list[tuple[str, int]], bool]]:
    return {
        name: ([(key, int(direction)) for key, direction in spec["key"]], bool(spec.get("unique", False)))
        for name, spec in database[collection].index_information().items()
    }


def test_ensure_indexes_creates_the_reference_indexes_and_is_idempotent(cache_db, queue_db):
    first_output, second_output = StringIO(), StringIO()
    call_command("ensure_indexes", stdout=first_output)
    after_first = {
        collection: index_keys(database, collection)
        for database, collection in [
            (cache_db, "cachedResponsesBlue"),
            (cache_db, "cacheTotalMetric"),
            (queue_db, "jobsBlue"),
            (queue_db, "jobTotalMetric"),
            (queue_db, "workerTypeJobCounts"),
            (queue_db, "datasetBlockages"),
        ]
    }
    call_command("ensure_indexes", stdout=second_output)

    assert after_first["cachedResponsesBlue"] == {
        "_id_": ([("_id", 1)], False),
        "kind_1_dataset_1_config_1_split_1": ([("kind", 1), ("dataset", 1), ("config", 1), ("split", 1)], True),
        "dataset_1_kind_1_http_status_1": ([("dataset", 1), ("kind", 1), ("http_status", 1)], False),
        "kind_1_http_status_1_error_code_1": ([("kind", 1), ("http_status", 1), ("error_code", 1)], False),
        "kind_1_http_status_1__id_1": ([("kind", 1), ("http_status", 1), ("_id", 1)], False),
        "kind_1__id_1": ([("kind", 1), ("_id", 1)], False),
        "kind_1_http_status_1_updated_at_1": ([("kind", 1), ("http_status", 1), ("updated_at", 1)], False),
        "kind_1_updated_at_1_dataset_1": ([("kind", 1), ("updated_at", 1), ("dataset", 1)], False),
    }
    assert after_first["jobsBlue"] == {
        "_id_": ([("_id", 1)], False),
        "dataset_1_status_1": ([("dataset", 1), ("status", 1)], False),
        "type_1_dataset_1_status_1": ([("type", 1), ("dataset", 1), ("status", 1)], False),
        "status_1_type_1": ([("status", 1), ("type", 1)], False),
        "type_1_status_1": ([("type", 1), ("status", 1)], False),
        "unicity_id_1_status_1_created_at_-1": ([("unicity_id", 1), ("status", 1), ("created_at", -1)], False),
    }, "only the indexes of REFERENCE.md"
    assert not any(unique for _, unique in after_first["jobsBlue"].values()), "no unique index on jobsBlue"
    assert after_first["cacheTotalMetric"]["kind_1_http_status_1_error_code_1"][1] is True
    for spec in [*CACHE_INDEXES, *QUEUE_INDEXES]:
        if spec.expire_after_seconds is None:  # FerretDB has no TTL index: reported, not created
            assert spec.name in after_first[spec.collection], spec.name
    for collection, indexes in after_first.items():
        assert index_keys(cache_db if collection.startswith("cache") else queue_db, collection) == indexes
    lines = first_output.getvalue().splitlines()
    assert len(lines) == len(CACHE_INDEXES) + len(QUEUE_INDEXES)
    assert "cachedResponsesBlue.kind_1__id_1: created" in lines
    assert "jobsBlue.dataset_1_status_1: created" in lines
    second_lines = second_output.getvalue().splitlines()
    assert "cachedResponsesBlue.kind_1__id_1: exists" in second_lines
    assert second_lines == [line.replace(": created", ": exists") for line in lines], (
        "the second run finds every index the first created, and reports the others alike"
    )


@pytest.fixture
def engine_refuses_a_second_name_for_one_index(cache_db) -> None:
    """Skip where the engine takes the same keys under a second name (mongo-java-server): MongoDB refuses it (85).

    Run against MongoDB (CACHE_MONGO_URL), the test below runs; on the embedded engine it cannot.
    """
    probe = cache_db["indexNameProbe"]
    probe.create_index([("field", 1)], name="first_name")
    try:
        probe.create_index([("field", 1)], name="second_name")
    except OperationFailure:
        return
    finally:
        probe.drop()
    pytest.skip("this engine accepts one index under two names; MongoDB answers IndexOptionsConflict (85)")


@pytest.mark.usefixtures("engine_refuses_a_second_name_for_one_index")
def test_an_index_made_by_another_service_under_another_name_is_left_alone(cache_db):
    cache_db["cachedResponsesBlue"].create_index([("kind", 1), ("_id", 1)], name="upstream_name")
    output = StringIO()
    call_command("ensure_indexes", stdout=output)
    assert "cachedResponsesBlue.kind_1__id_1: exists with other options, left as it is" in output.getvalue()
    assert "upstream_name" in cache_db["cachedResponsesBlue"].index_information()


@pytest.mark.parametrize(
    ("collection", "document"),
    [
        ("cachedResponsesBlue", {"kind": "config-info", "dataset": "org/ds", "config": "default", "http_status": 200}),
        ("cacheTotalMetric", {"kind": "config-info", "http_status": 200, "total": 1}),
    ],
)
def test_the_unique_cache_indexes_refuse_a_second_document(cache_db, collection, document):
    """The engine enforces them: one cache entry per artifact, one metric row per (kind, status, error)."""
    call_command("ensure_indexes", verbosity=0)
    cache_db[collection].insert_one(dict(document))
    with pytest.raises(DuplicateKeyError):
        cache_db[collection].insert_one(dict(document))  # `split` and `error_code` missing, like null: same key
    assert cache_db[collection].count_documents({}) == 1


@pytest.mark.parametrize(
    ("collection", "document"),
    [
        ("jobTotalMetric", {"job_type": "config-info", "status": "waiting", "dataset_status": "normal", "total": 1}),
        ("workerTypeJobCounts", {"worker_size": "light", "jobs_count": 1}),
    ],
)
def test_the_unique_queue_indexes_refuse_a_second_document(queue_db, collection, document):
    call_command("ensure_indexes", verbosity=0)
    queue_db[collection].insert_one(dict(document))
    with pytest.raises(DuplicateKeyError):
        queue_db[collection].insert_one(dict(document))
    assert queue_db[collection].count_documents({}) == 1
