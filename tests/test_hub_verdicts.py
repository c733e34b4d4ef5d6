"""Only the Hub's own verdicts refuse a dataset, in the other services' words (issue 22 item 9, issue 23 item 4).

Recreate removes a dataset the Hub refuses: an answer that is not the Hub's verdict about the
repo (a bare 404 from a proxy or a wrong endpoint, a 401 or 403 for our service token) must
change nothing and answer 500 naming the Hub. The refusals that are verdicts answer 501 with
the message the other services give for them, byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from foundation.core.dataset_names import BlockedDatasetPatterns
from tests.support.write_helpers import hub_not_found, serve_dataset, set_config, snapshot_tree
from tests.test_recreate_dataset import DATASET, everything, post, production, storage  # noqa: F401 (fixtures)


def _disabled_repository(fake_hub: Any) -> None:
    fake_hub.expect_request(f"/api/datasets/{DATASET}").respond_with_json(
        {"error": "Access to this resource is disabled."},
        status=403,
        headers={"X-Error-Message": "Access to this resource is disabled."},
    )


def _private_not_pro(fake_hub: Any) -> None:
    serve_dataset(fake_hub, DATASET, private=True)
    fake_hub.expect_request("/api/whoisthis", query_string={"name": "org"}).respond_with_json(
        {"name": "org", "isPro": False, "plan": None}
    )


def _blocked(fake_hub: Any) -> None:
    set_config(blocked_datasets=BlockedDatasetPatterns.parse("org/*"))
    serve_dataset(fake_hub, DATASET)


VERDICTS = [
    (
        lambda hub: hub_not_found(hub, DATASET),
        "NotSupportedRepositoryNotFoundError",
        f"Repository {DATASET} is not found.",
    ),
    (_disabled_repository, "NotSupportedDisabledRepositoryError", f"Repository {DATASET} is disabled."),
    (
        lambda hub: serve_dataset(hub, DATASET, disabled=True),
        "NotSupportedDisabledRepositoryError",
        f"Not supported: dataset repository {DATASET} is disabled.",
    ),
    (
        _private_not_pro,
        "NotSupportedPrivateRepositoryError",
        f"Not supported: dataset repository {DATASET} is private. Private datasets are only supported for PRO users"
        " and Enterprise Hub organizations.",
    ),
    (
        lambda hub: serve_dataset(hub, DATASET, tags=["porn"]),
        "NotSupportedTagNFAAError",
        "Not supported: dataset viewer is disabled.",
    ),
    (
        lambda hub: serve_dataset(hub, DATASET, cardData={"viewer": False}),
        "NotSupportedDisabledViewerError",
        f"Not supported: dataset viewer is disabled in {DATASET} configuration.",
    ),
    (
        _blocked,
        "DatasetInBlockListError",
        "This dataset has been disabled for now. Please open an issue in"
        " https://github.com/huggingface/dataset-viewer if you want this dataset to be supported.",
    ),
]


@pytest.mark.parametrize(("arrange", "code", "message"), VERDICTS)
def test_each_refusal_is_answered_in_the_other_services_words(
    client: Client, fake_hub: Any, queue_db: Any, arrange: Any, code: str, message: str
) -> None:
    arrange(fake_hub)
    response = client.post(f"/admin/force-refresh/dataset-config-names?dataset={DATASET}")
    assert (response.status_code, response["X-Error-Code"]) == (501, code)
    assert response.content == ('{"error":"' + message + '"}').encode()
    assert queue_db["jobsBlue"].count_documents({}) == 0


def _bare_404(fake_hub: Any) -> None:
    fake_hub.expect_request(f"/api/datasets/{DATASET}").respond_with_json({"error": "Not Found"}, status=404)


def _other_error_code_404(fake_hub: Any) -> None:
    fake_hub.expect_request(f"/api/datasets/{DATASET}").respond_with_json(
        {"error": "no such route"}, status=404, headers={"X-Error-Code": "EntryNotFound"}
    )


def _401(fake_hub: Any) -> None:
    fake_hub.expect_request(f"/api/datasets/{DATASET}").respond_with_json(
        {"error": "Invalid username or password."}, status=401, headers={"X-Error-Code": "RepoNotFound"}
    )


def _403(fake_hub: Any) -> None:
    fake_hub.expect_request(f"/api/datasets/{DATASET}").respond_with_json({"error": "Forbidden"}, status=403)


NOT_VERDICTS = [
    (
        _bare_404,
        f"The Hub answered 404 about dataset {DATASET} without saying the repository is not found"
        " (no X-Error-Code: RepoNotFound): nothing was changed.",
    ),
    (
        _other_error_code_404,
        f"The Hub answered 404 about dataset {DATASET} without saying the repository is not found"
        " (no X-Error-Code: RepoNotFound): nothing was changed.",
    ),
    (_401, "The Hub refused the service's token (COMMON_HF_TOKEN) with a 401: nothing was changed."),
    (_403, "The Hub refused the service's token (COMMON_HF_TOKEN) with a 403: nothing was changed."),
]


@pytest.fixture(autouse=True)
def service_token() -> None:
    set_config(hf_token="hf_service_token")


def test_a_401_without_a_service_token_says_so(client: Client, fake_hub: Any, queue_db: Any) -> None:
    set_config(hf_token=None)
    _401(fake_hub)
    response = post(client, dataset=DATASET)
    assert (response.status_code, response.json()) == (
        500,
        {"error": "The Hub refused a call without COMMON_HF_TOKEN with a 401: nothing was changed."},
    )


@pytest.mark.parametrize(("arrange", "message"), NOT_VERDICTS)
def test_an_answer_that_is_no_verdict_makes_recreate_change_nothing(
    client: Client,
    fake_hub: Any,
    queue_db: Any,
    cache_db: Any,
    tmp_path: Path,
    storage: Any,  # noqa: F811
    production: Any,  # noqa: F811
    arrange: Any,
    message: str,
) -> None:
    before, tree = everything(queue_db, cache_db), snapshot_tree(tmp_path)
    arrange(fake_hub)
    response = post(client, dataset=DATASET)
    assert (response.status_code, response["X-Error-Code"]) == (500, "UnexpectedApiError")
    assert response.json() == {"error": message}
    assert everything(queue_db, cache_db) == before
    assert snapshot_tree(tmp_path) == tree
    [action] = list(queue_db["adminActions"].find())
    assert (action["outcome"], action["result"]) == ("failed", {})


@pytest.mark.parametrize(
    ("arrange", "code"),
    [
        (lambda hub: hub_not_found(hub, DATASET), "NotSupportedRepositoryNotFoundError"),
        (_disabled_repository, "NotSupportedDisabledRepositoryError"),
    ],
)
def test_the_hubs_own_not_found_and_disabled_remove_the_dataset(
    client: Client,
    fake_hub: Any,
    queue_db: Any,
    cache_db: Any,
    storage: tuple[Path, Path],  # noqa: F811
    production: Any,  # noqa: F811
    arrange: Any,
    code: str,
) -> None:
    arrange(fake_hub)
    response = post(client, dataset=DATASET)
    assert (response.status_code, response["X-Error-Code"]) == (501, code)
    assert cache_db["cachedResponsesBlue"].count_documents({"dataset": DATASET}) == 0
    assert queue_db["jobsBlue"].count_documents({"dataset": DATASET, "status": "waiting"}) == 0
    assert not (storage[0] / DATASET).exists()
