"""The stand-in Hub of the demo (`make run`): force-refresh and recreate work offline against it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import Client

from demo.stand_in_hub import DEMO_OPERATOR, StandInHub, demo_world_revisions

DEMO_DATASET = "jdoe42/cifar10"
DEMO_REVISION = "e6d6d9f3d89a5afeac87add055677f248d93c2ad"


@pytest.fixture
def stand_in_hub(settings: Any, cache_db: Any) -> Iterator[StandInHub]:
    """The stand-in, knowing the datasets of the test's cache database, set as the Hub."""
    cache_db["cachedResponsesBlue"].insert_one(
        {"kind": "dataset-config-names", "dataset": DEMO_DATASET, "dataset_git_revision": DEMO_REVISION}
    )
    config = settings.ADMIN
    revision_of = demo_world_revisions(
        config.cache_mongo_url, cache_database=config.cache_mongo_database, queue_database=config.queue_mongo_database
    )
    with StandInHub(revision_of, organization="demo-org") as hub:
        settings.ADMIN = dataclasses.replace(config, hf_endpoint=hub.url)
        yield hub


def get(hub: StandInHub, path: str, **kwargs: Any) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.get(f"{hub.url}{path}", timeout=5, **kwargs)


def test_it_answers_for_a_demo_dataset_with_its_revision_public_and_not_gated(stand_in_hub: StandInHub) -> None:
    response = get(stand_in_hub, f"/api/datasets/{DEMO_DATASET}")
    assert response.status_code == 200
    assert response.json() == {
        "id": DEMO_DATASET,
        "author": "jdoe42",
        "sha": DEMO_REVISION,
        "private": False,
        "gated": False,
        "disabled": False,
        "tags": [],
        "cardData": {},
    }


def test_it_does_not_know_any_other_dataset(stand_in_hub: StandInHub) -> None:
    response = get(stand_in_hub, "/api/datasets/openai/gsm8k")
    assert (response.status_code, response.headers["X-Error-Code"]) == (404, "RepoNotFound")


def test_whoami_signs_any_token_in_as_the_demo_operator_and_refuses_none(stand_in_hub: StandInHub) -> None:
    answer = get(stand_in_hub, "/api/whoami-v2", headers={"Authorization": "Bearer anything"})
    assert answer.json()["name"] == DEMO_OPERATOR
    assert answer.json()["orgs"] == [{"name": "demo-org", "roleInOrg": "write"}]
    assert get(stand_in_hub, "/api/whoami-v2").status_code == 401


def test_force_refresh_then_recreate_of_a_demo_dataset_work_offline(
    client: Client, stand_in_hub: StandInHub, queue_db: Any
) -> None:
    refreshed = client.post(f"/admin/force-refresh/dataset-config-names?dataset={DEMO_DATASET}")
    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json()["job"]["revision"] == DEMO_REVISION

    recreated = client.post(f"/admin/recreate-dataset?dataset={DEMO_DATASET}")
    assert recreated.status_code == 200, recreated.content
    assert recreated.json()["deleted_cached_responses"] == 1
    # the entries are gone, the stand-in still knows the dataset: a second repair works too
    again = client.post(f"/admin/force-refresh/dataset-config-names?dataset={DEMO_DATASET}")
    assert again.status_code == 200, again.content
    assert {job["revision"] for job in queue_db["jobsBlue"].find({"status": "waiting"})} == {DEMO_REVISION}
