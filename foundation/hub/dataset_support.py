"""The Hub, as the repair operations ask it: is a dataset supported, and at which revision.

Two look-ups (REFERENCE.md): `GET /api/datasets/{dataset}` (sha, private, disabled, tags,
cardData, author) and, for a private dataset, `GET /api/whoisthis?name=<author>` (isPro, plan).
Both use COMMON_HF_TOKEN and ADMIN_HF_TIMEOUT_SECONDS. The support rules are upstream's
(`libcommon.operations.get_latest_dataset_revision_if_supported_or_raise`), in its order:

- not found (404 with `X-Error-Code: RepoNotFound`) -> NotSupportedRepositoryNotFoundError
- disabled (403 "Access to this resource is disabled." or `disabled: true`) -> NotSupportedDisabledRepositoryError
- private, unless its author is PRO (`isPro`) or Enterprise (non-null `plan`) -> NotSupportedPrivateRepositoryError
- public and tagged not-for-all-audiences (or a synonym) -> NotSupportedTagNFAAError
- `viewer: false` in the card data -> NotSupportedDisabledViewerError
- matched by COMMON_BLOCKED_DATASETS -> DatasetInBlockListError

Each refusal is a 501, with the other services' own message. Those are the Hub's verdicts, and
only they may be destructive (recreate removes a dataset the Hub refuses). Any other answer is
a 500 `HubRequestError` and the caller must not write anything: a timeout, a connection error,
a 404 without `X-Error-Code: RepoNotFound` (a proxy or a wrong endpoint says nothing about the
repo), a 401 or another 403 (the Hub refusing our COMMON_HF_TOKEN), another status, an answer
without a sha. The token is sent in a header only; it never appears in a message or a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

from foundation.core.config import AdminConfig
from foundation.core.dataset_names import is_valid_dataset_name
from foundation.core.errors import AdminError
from foundation.hub.http import BearerAuth, get_within

logger = logging.getLogger(__name__)

TAG_NFAA_SYNONYMS = frozenset({"not-for-all-audiences", "nsfw", "porn", "hentai", "inappropriate"})
"""Tags that make a public dataset not supported (upstream's TAG_NFAA_SYNONYMS)."""

DISABLED_REPOSITORY_MESSAGE = "Access to this resource is disabled."
"""The `X-Error-Message` of the Hub for a disabled repository."""
REPOSITORY_NOT_FOUND_CODE = "RepoNotFound"
"""The `X-Error-Code` of the Hub's own "not found" (a 404 without it is not the Hub's verdict)."""
BLOCKED_DATASET_MESSAGE = (
    "This dataset has been disabled for now. Please open an issue in"
    " https://github.com/huggingface/dataset-viewer if you want this dataset to be supported."
)
"""The other services' words for a dataset of COMMON_BLOCKED_DATASETS."""


class HubRequestError(AdminError):
    """The Hub could not be asked (timeout, connection error, unexpected answer): nothing is written.

    Its code is the contract's 500, UnexpectedApiError, which the other services answer in this
    case and their clients match on; the message says that the Hub failed and nothing changed.
    """

    status_code = 500
    error_code = "UnexpectedApiError"


class NotSupportedError(AdminError):
    """The dataset cannot be processed by the viewer (501)."""

    status_code = 501


class NotSupportedRepositoryNotFoundError(NotSupportedError):
    """The Hub does not know the dataset (or hides it from our token): its 404 with `RepoNotFound`."""


class NotSupportedDisabledRepositoryError(NotSupportedError):
    """The repository is disabled on the Hub."""


class NotSupportedPrivateRepositoryError(NotSupportedError):
    """Private, and its owner is neither PRO nor an Enterprise organization."""


class NotSupportedTagNFAAError(NotSupportedError):
    """Public and tagged not-for-all-audiences (or a synonym)."""


class NotSupportedDisabledViewerError(NotSupportedError):
    """Its card data says `viewer: false`."""


class DatasetInBlockListError(NotSupportedError):
    """Matched by COMMON_BLOCKED_DATASETS."""


@dataclass(frozen=True)
class DatasetInfo:
    """The fields of `GET /api/datasets/{dataset}` that the support rules read."""

    sha: str
    private: bool
    disabled: bool
    tags: tuple[str, ...]
    card_data: dict[str, Any]
    author: str | None


@dataclass(frozen=True)
class EntityInfo:
    """The fields of `GET /api/whoisthis` that the support rules read."""

    is_pro: bool
    plan: object | None


def _config() -> AdminConfig:
    config: AdminConfig = settings.ADMIN
    return config


def _get(path: str, *, params: dict[str, str] | None = None) -> requests.Response:
    """One GET to the Hub, whole within the timeout; a timeout or a connection error becomes a HubRequestError."""
    config = _config()
    try:
        return get_within(
            f"{config.hf_endpoint}{path}",
            seconds=config.hf_timeout_seconds,
            params=params,
            auth=BearerAuth(config.hf_token) if config.hf_token else None,
        )
    except requests.Timeout:
        raise HubRequestError(
            f"The Hub did not answer within {config.hf_timeout_seconds}s: nothing was changed."
        ) from None
    except requests.RequestException as error:
        logger.warning("Hub request failed: %s", type(error).__name__)
        raise HubRequestError("The Hub could not be reached: nothing was changed.") from None


def _json_object(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise HubRequestError(f"The Hub sent an unexpected answer for {what}: nothing was changed.")
    return body


def _raise_unless_found(response: requests.Response, *, dataset: str) -> None:
    """A 200 passes; the Hub's own verdicts raise their NotSupported error; anything else is a HubRequestError.

    A wrong answer here deletes a healthy dataset (recreate removes what the Hub refuses), so
    only the two answers the Hub gives about the repo itself are verdicts.
    """
    status = response.status_code
    if status == 200:
        return
    if status == 404 and response.headers.get("X-Error-Code") == REPOSITORY_NOT_FOUND_CODE:
        raise NotSupportedRepositoryNotFoundError(f"Repository {dataset} is not found.")
    if status == 403 and response.headers.get("X-Error-Message") == DISABLED_REPOSITORY_MESSAGE:
        raise NotSupportedDisabledRepositoryError(f"Repository {dataset} is disabled.")
    if status in (401, 403):
        # Our COMMON_HF_TOKEN (or the lack of one) is refused: the Hub says nothing about the dataset.
        token = "the service's token (COMMON_HF_TOKEN)" if _config().hf_token else "a call without COMMON_HF_TOKEN"
        logger.error("The Hub answered %s to %s", status, token)
        raise HubRequestError(f"The Hub refused {token} with a {status}: nothing was changed.")
    if status == 404:
        raise HubRequestError(
            f"The Hub answered 404 about dataset {dataset} without saying the repository is not found"
            " (no X-Error-Code: RepoNotFound): nothing was changed."
        )
    raise HubRequestError(f"The Hub answered {status} about dataset {dataset}: nothing was changed.")


def dataset_info(*, dataset: str) -> DatasetInfo:
    """The Hub's view of a dataset; raises a NotSupported error if it is not found or disabled."""
    if not is_valid_dataset_name(dataset):
        # Defence in depth: every caller validates first; a bad name must never reach a URL.
        raise HubRequestError("Refusing to ask the Hub about an invalid dataset name.")
    response = _get(f"/api/datasets/{dataset}")
    _raise_unless_found(response, dataset=dataset)
    body = _json_object(response, f"dataset {dataset}")
    sha = body.get("sha")
    if not isinstance(sha, str) or not sha:
        raise HubRequestError(f"The Hub gave no git revision for dataset {dataset}: nothing was changed.")
    tags = body.get("tags")
    card_data = body.get("cardData")
    author = body.get("author")
    return DatasetInfo(
        sha=sha,
        private=body.get("private") is True,
        disabled=body.get("disabled") is True,
        tags=tuple(tag for tag in tags if isinstance(tag, str)) if isinstance(tags, list) else (),
        card_data=card_data if isinstance(card_data, dict) else {},
        author=author if isinstance(author, str) and author else None,
    )


def entity_info(*, name: str) -> EntityInfo:
    """Whether a user is PRO or an organization is Enterprise (`GET /api/whoisthis?name=`)."""
    response = _get("/api/whoisthis", params={"name": name})
    if response.status_code != 200:
        raise HubRequestError(f"The Hub answered {response.status_code} about the owner {name}: nothing was changed.")
    body = _json_object(response, f"the owner {name}")
    return EntityInfo(is_pro=body.get("isPro") is True, plan=body.get("plan"))


def supported_revision(*, dataset: str) -> str:
    """The current commit of a dataset the viewer supports; else raise its NotSupported error.

    Raises HubRequestError when the Hub cannot tell: then the caller writes nothing.
    """
    info = dataset_info(dataset=dataset)
    if info.disabled:
        raise NotSupportedDisabledRepositoryError(f"Not supported: dataset repository {dataset} is disabled.")
    if info.private:
        if info.author is None:
            raise HubRequestError(f"The Hub gave no author for private dataset {dataset}: nothing was changed.")
        owner = entity_info(name=info.author)
        if not owner.is_pro and owner.plan is None:
            raise NotSupportedPrivateRepositoryError(
                f"Not supported: dataset repository {dataset} is private. Private datasets are only supported"
                " for PRO users and Enterprise Hub organizations."
            )
    elif any(tag in TAG_NFAA_SYNONYMS for tag in info.tags):
        raise NotSupportedTagNFAAError("Not supported: dataset viewer is disabled.")
    if not info.card_data.get("viewer", True):
        raise NotSupportedDisabledViewerError(f"Not supported: dataset viewer is disabled in {dataset} configuration.")
    if _config().blocked_datasets.matches(dataset):
        raise DatasetInBlockListError(BLOCKED_DATASET_MESSAGE)
    return info.sha
