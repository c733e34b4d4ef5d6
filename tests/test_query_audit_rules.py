"""The rules of the query audit (tests/support/query_audit.py), on shapes made by hand.

The audit itself checks what the whole suite sent (`make unit`, second phase); these tests show
that its rules bite: a removed index, or a new query on an unindexed field, is a finding.
"""

from __future__ import annotations

from typing import Any

from foundation.database import mongo
from tests.support.query_audit import (
    Branch,
    QueryShape,
    audit,
    declared_indexes,
    serves,
    shapes_of_command,
)


def shape(collection: str, query: dict[str, Any], sort: dict[str, int] | None = None) -> QueryShape:
    command: dict[str, Any] = {"find": collection, "filter": query}
    if sort:
        command["sort"] = sort
    return shapes_of_command("find", command)[0]


PENDING_JOBS_OF_DATASET = shape(mongo.JOBS, {"dataset": "org/ds", "status": {"$in": ["waiting", "started"]}})


def test_a_query_on_an_index_s_leading_fields_is_served() -> None:
    assert audit([PENDING_JOBS_OF_DATASET]) == []


def test_removing_the_index_that_serves_a_query_is_a_finding() -> None:
    indexes = declared_indexes()
    indexes[mongo.JOBS] = [keys for keys in indexes[mongo.JOBS] if keys != [("dataset", 1), ("status", 1)]]
    findings = audit([PENDING_JOBS_OF_DATASET], indexes)
    assert [str(finding) for finding in findings] == [
        "no index serves find jobsBlue {dataset=, status=}; closest: (status, type)"
    ]


def test_a_new_query_on_an_unindexed_field_is_a_finding() -> None:
    findings = audit([shape(mongo.CACHED_RESPONSES, {"content.dataset_info.default.builder_name": "csv"})])
    assert len(findings) == 1
    assert str(findings[0]).startswith(
        "no index serves find cachedResponsesBlue {content.dataset_info.default.builder_name=}"
    )


def test_a_sort_is_served_only_in_the_index_order_after_the_equality_fields() -> None:
    index = [("kind", 1), ("http_status", 1), ("_id", 1)]
    branch = Branch(frozenset({"kind", "http_status"}), frozenset())
    assert serves(index, branch, [("_id", 1)])
    assert serves(index, branch, [("_id", -1)])  # the index read backwards
    assert not serves(index, Branch(frozenset({"kind"}), frozenset()), [("_id", 1)])


def test_one_range_field_may_follow_the_equality_and_sort_fields() -> None:
    index = [("kind", 1), ("updated_at", 1), ("dataset", 1)]
    assert serves(index, Branch(frozenset({"kind"}), frozenset({"updated_at"})), [])
    assert not serves(index, Branch(frozenset({"kind"}), frozenset({"updated_at", "dataset"})), [])


def test_or_and_in_are_served_branch_by_branch() -> None:
    served = shape(mongo.CACHED_RESPONSES, {"$or": [{"kind": "a", "dataset": "x"}, {"dataset": "y"}]})
    assert len(served.branches) == 2
    assert audit([served]) == []
    one_unserved = shape(mongo.CACHED_RESPONSES, {"$or": [{"dataset": "y"}, {"progress": 1.0}]})
    assert len(audit([one_unserved])) == 1


def test_an_unserved_sort_is_allowed_after_a_limit() -> None:
    pipeline = [{"$match": {"dataset": "x"}}, {"$limit": 10}, {"$sort": {"progress": 1}}]
    bounded = shapes_of_command("aggregate", {"aggregate": mongo.CACHED_RESPONSES, "pipeline": pipeline})[0]
    assert bounded.bounded
    assert audit([bounded]) == []
    unbounded = shapes_of_command(
        "aggregate", {"aggregate": mongo.CACHED_RESPONSES, "pipeline": [pipeline[0], pipeline[2]]}
    )[0]
    assert len(audit([unbounded])) == 1


def test_exempt_collections_need_no_index() -> None:
    assert audit([shape(mongo.CACHE_TOTAL_METRIC, {})]) == []
    assert audit([shape(mongo.JOBS, {})]) != []
