"""`manage.py ensure_indexes` creates the indexes of REFERENCE.md ("created"); run again, it finds them ("exists")."""

from __future__ import annotations

import dataclasses
from io import StringIO

import pytest
from django.core.management import call_command
from pymongo.errors import DuplicateKeyError, OperationFailure

from foundation.database.indexes import CACHE_INDEXES, QUEUE_INDEXES


def index_keys(database, collection: str) -> dict[str, tuple[list[tuple[str, int]], bool]]:
    return {
        name: ([(key, int(direction)) for key, direction in spec["key"]], bool(spec.get("unique", False)))
        for name, spec in database[collection].index_information().items()
    }


def spec(*keys: str, unique: bool = False, name: str | None = None, ttl: int | None = None):
    """(name, keys, options) of one index as REFERENCE.md lists it (`-field`: descending)."""
    key_list = [(key.lstrip("-"), -1 if key.startswith("-") else 1) for key in keys]
    options: dict[str, object] = {"unique": True} if unique else {}
    if ttl is not None:
        options["expireAfterSeconds"] = ttl
    return (name or "_".join(f"{key}_{direction}" for key, direction in key_list), key_list, options)


REFERENCE_INDEXES = {
    "cachedResponsesBlue": [
        spec("kind", "dataset", "config", "split", unique=True),
        spec("dataset", "kind", "http_status"),
        spec("kind", "http_status", "error_code"),
        spec("kind", "http_status", "_id"),
        spec("kind", "_id"),
        spec("details.cause_exception", "error_code", "details.copied_from_artifact"),
        spec("error_code", "kind", "details.copied_from_artifact"),
        spec("http_status", "error_code", "kind", "updated_at"),
        spec("kind", "http_status", "updated_at"),
        spec("kind", "updated_at", "dataset", name="kind_updated"),
    ],
    "cacheTotalMetric": [spec("kind", "http_status", "error_code", unique=True)],
    "jobsBlue": [
        spec("dataset", "status"),
        spec("type", "dataset", "status"),
        spec("priority", "status", "created_at", "namespace", "difficulty", "dataset", "unicity_id"),
        spec("priority", "status", "created_at", "namespace", "dataset", "difficulty", "unicity_id"),
        spec("priority", "status", "created_at", "difficulty", "dataset", "namespace"),
        spec("priority", "status", "created_at", "dataset", "difficulty", "namespace"),
        spec("priority", "status", "type", "namespace", "unicity_id", "created_at", "-difficulty"),
        spec("status", "type"),
        spec("type", "status"),
        spec("unicity_id", "status", "-created_at"),
    ],
    "jobTotalMetric": [spec("job_type", "status", "dataset_status", unique=True)],
    "workerTypeJobCounts": [spec("worker_size", unique=True)],
    "datasetBlockages": [
        spec("dataset"),
        spec("blocked_at", name="DATASET_BLOCKAGE_EXPIRE_AFTER_SECONDS_BLUE", ttl=21600),
    ],
}
"""REFERENCE.md, "Indexes, exactly as the other services declare them", written out by hand."""

OWN_INDEXES = {"adminActivitySamples": [spec("taken_at", ttl=14 * 24 * 3600)]}
"""Ours: the activity samples expire ADMIN_ACTIVITY_RETENTION_DAYS (14) after `taken_at`."""


IndexDeclaration = tuple[str, list[tuple[str, int]], dict[str, object]]


def sent_indexes(db_commands) -> dict[str, list[IndexDeclaration]]:
    sent: dict[str, list[IndexDeclaration]] = {}
    for command in db_commands.index_creations:
        for index in command["indexes"]:
            options = {option: value for option, value in index.items() if option not in ("key", "name")}
            keys = [(key, int(direction)) for key, direction in index["key"].items()]
            sent.setdefault(command["collection"], []).append((index["name"], keys, options))
    return sent


def test_ensure_indexes_sends_exactly_the_indexes_the_workers_declare(cache_db, queue_db, db_commands):
    """Engine-independent: the createIndexes commands themselves, names, keys and options."""
    call_command("ensure_indexes", stdout=StringIO())
    assert sent_indexes(db_commands) == REFERENCE_INDEXES | OWN_INDEXES
    assert "locks" not in sent_indexes(db_commands) and "pastJobs" not in sent_indexes(db_commands)


def test_ensure_indexes_creates_the_reference_indexes_and_is_idempotent(cache_db, queue_db):
    first_output, second_output = StringIO(), StringIO()
    call_command("ensure_indexes", stdout=first_output)
    after_first = {
        collection: index_keys(cache_db if collection.startswith("cache") else queue_db, collection)
        for collection in REFERENCE_INDEXES
    }
    call_command("ensure_indexes", stdout=second_output)

    lines = first_output.getvalue().splitlines()
    for collection, indexes in REFERENCE_INDEXES.items():
        for name, keys, options in indexes:
            if name in after_first[collection]:  # an engine that lists what it was asked to create
                assert after_first[collection][name] == (keys, options.get("unique", False)), name
    assert not any(unique for _, unique in after_first["jobsBlue"].values()), "no unique index on jobsBlue"
    assert set(after_first["jobsBlue"]) <= {"_id_", *(name for name, _, _ in REFERENCE_INDEXES["jobsBlue"])}
    assert after_first["cacheTotalMetric"]["kind_1_http_status_1_error_code_1"][1] is True
    for collection, listed in after_first.items():
        assert index_keys(cache_db if collection.startswith("cache") else queue_db, collection) == listed
    assert (
        len(lines)
        == sum(len(indexes) for indexes in (REFERENCE_INDEXES | OWN_INDEXES).values())
        == len(CACHE_INDEXES) + len(QUEUE_INDEXES) + 1
    )
    assert "cachedResponsesBlue.kind_updated: created" in lines
    assert "jobsBlue.dataset_1_status_1: created" in lines
    second_lines = second_output.getvalue().splitlines()
    assert "cachedResponsesBlue.kind_updated: exists" in second_lines
    assert second_lines == [line.replace(": created", ": exists") for line in lines], (
        "the second run finds every index the first created, and reports the others alike"
    )


def test_a_second_run_sends_the_same_indexes_and_creates_nothing_new(cache_db, queue_db, db_commands):
    call_command("ensure_indexes", stdout=StringIO())
    before = {name: sorted(cache_db[name].index_information()) for name in cache_db.list_collection_names()}
    db_commands.index_creations.clear()
    output = StringIO()
    call_command("ensure_indexes", stdout=output)
    assert sent_indexes(db_commands) == REFERENCE_INDEXES | OWN_INDEXES
    assert ": created" not in output.getvalue()
    assert {name: sorted(cache_db[name].index_information()) for name in cache_db.list_collection_names()} == before


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


class RefusingCollection:
    """Answers createIndexes as MongoDB does when another service made the index under another name."""

    def __init__(self, code: int, errmsg: str) -> None:
        self.code, self.errmsg = code, errmsg

    def create_index(self, keys, **options):
        raise OperationFailure(self.errmsg, code=self.code, details={"errmsg": self.errmsg, "code": self.code})


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (85, "cachedResponsesBlue.kind_updated: exists with other options, left as it is"),
        (86, "cachedResponsesBlue.kind_updated: exists with other options, left as it is"),
    ],
)
def test_a_conflicting_index_is_reported_and_left_alone(code, expected):
    """Whatever the engine: a conflict (85/86) is one line, never an error or a drop."""
    from foundation.database.indexes import ensure_index

    spec = next(spec for spec in CACHE_INDEXES if spec.name == "kind_updated")
    database = {"cachedResponsesBlue": RefusingCollection(code, "no TTL")}
    assert ensure_index(database, spec, existing=set()) == expected  # type: ignore[arg-type]


def test_the_activity_samples_expire_after_the_configured_retention(queue_db, settings):
    settings.ADMIN = dataclasses.replace(settings.ADMIN, activity_retention_days=30)
    output = StringIO()
    call_command("ensure_indexes", stdout=output)
    assert "adminActivitySamples.taken_at_1: created" in output.getvalue().splitlines()
    index = queue_db["adminActivitySamples"].index_information()["taken_at_1"]
    assert (index["key"], index["expireAfterSeconds"]) == ([("taken_at", 1)], 30 * 24 * 3600)


class ConflictingDatabase:
    """A database whose index of ours exists with another TTL: MongoDB refuses createIndexes (85), takes collMod."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str, dict[str, object]]] = []

    def __getitem__(self, collection: str) -> RefusingCollection:
        return RefusingCollection(85, "An equivalent index already exists with a different expireAfterSeconds")

    def command(self, name: str, collection: str, **fields: object) -> dict[str, object]:
        self.commands.append((name, collection, fields))
        return {"ok": 1}


def test_a_changed_retention_changes_the_expiry_of_the_samples_in_place():
    """Ours only: an index of the other services with other options is left as it is (above)."""
    from foundation.database.indexes import ensure_index, own_queue_indexes

    (samples_index,) = own_queue_indexes()
    database = ConflictingDatabase()
    assert (
        ensure_index(database, samples_index, existing={"taken_at_1"})  # type: ignore[arg-type]
        == "adminActivitySamples.taken_at_1: expiry changed to 1209600 s"
    )
    assert database.commands == [
        ("collMod", "adminActivitySamples", {"index": {"name": "taken_at_1", "expireAfterSeconds": 1209600}})
    ]
