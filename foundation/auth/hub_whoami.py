"""The Hub whoami check behind every protected route, and its short-lived verdict cache.

A caller is allowed (REFERENCE.md, "Authentication") when `GET {COMMON_HF_ENDPOINT}{ADMIN_HF_WHOAMI_PATH}`
with its token answers 200, the configured org is in `orgs[].name`, `auth.type` is
`access_token`, and either

- a fine-grained scope (`auth.accessToken.fineGrained.scoped[]`) whose entity is that org
  (type `org`) grants `repo.write`: the Hub's highest repository permission of a scope, the one
  that lets a token change the org's repos; `repo.content.read` alone is read-only, and the
  `org.*`, `discussion.*`, `inference.*` permissions are about other things, so none of them
  counts; or
- the token is a classic `write` token (`auth.accessToken.role == "write"`) and the caller's
  `roleInOrg` there is read, write or admin.

How the answers map to errors: Hub 401 -> 401 ExternalUnauthenticatedError; Hub 403/404, an
answer that is not what the Hub sends, or a token that does not meet the rules -> 404
ExternalAuthenticatedError; a timeout, a connection error or any other status -> 500
AuthCheckHubRequestError.

The token never leaves this module except in the `Authorization` header of the whoami call:
it is not logged, not put in an error message, not used as a cache key (its sha256 is), and
the auth object that carries it hides it from `repr`. Log lines name the Hub user, never the
token.

Verdicts (allowed, 401 or 404) are kept per token hash for ADMIN_AUTH_CACHE_SECONDS (0: never)
in a bounded, thread-safe LRU of this process. One whoami call at most is in flight per token
(`SingleFlight`): requests with the same token that arrive while it runs wait for it and share
its outcome, a failure included, so a burst against a Hub that hangs costs one Hub timeout, not
one per request in turn. Hub failures (500) are never cached: a request that comes after the
failed call asks again. A revoked token therefore keeps working for at most
ADMIN_AUTH_CACHE_SECONDS.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

from foundation.core.config import AdminConfig
from foundation.core.errors import AuthCheckHubRequestError, ExternalAuthenticatedError, ExternalUnauthenticatedError
from foundation.core.identity import HubIdentity
from foundation.hub.http import BearerAuth, get_within

logger = logging.getLogger(__name__)

UNAUTHENTICATED_MESSAGE = "Cannot access the route. Please retry with authentication."
NOT_ALLOWED_MESSAGE = (
    "Cannot access the route with the current credentials. Please retry with other authentication credentials."
)
HUB_FAILURE_MESSAGE = "The authentication check on the Hub failed. Please retry later."

WRITE_SCOPE_PERMISSIONS = frozenset({"repo.write"})
"""Fine-grained permissions on the org that are enough: at least `repo.write`."""
ROLES_IN_ORG_FOR_WRITE_TOKENS = frozenset({"read", "write", "admin"})
"""`roleInOrg` values that, with a classic `write` token, let the caller in."""

MAX_TOKEN_LENGTH = 1024
"""Far above any Hub token (an access token is ~37 characters, an OAuth one ~40)."""
_WELL_FORMED_TOKEN = re.compile(rf"[\x21-\x7e]{{1,{MAX_TOKEN_LENGTH}}}")

MAX_CACHED_VERDICTS = 4096
"""Bound of the verdict cache: least recently used verdicts are dropped beyond it."""


# --- verdicts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What the Hub said about a token: the identity it lets in, or the refusal to raise."""

    identity: HubIdentity | None
    refusal: type[ExternalUnauthenticatedError | ExternalAuthenticatedError] | None = None

    def identity_or_raise(self) -> HubIdentity:
        if self.identity is not None:
            return self.identity
        if self.refusal is ExternalUnauthenticatedError:
            raise ExternalUnauthenticatedError(UNAUTHENTICATED_MESSAGE)
        raise ExternalAuthenticatedError(NOT_ALLOWED_MESSAGE)


UNAUTHENTICATED = Verdict(identity=None, refusal=ExternalUnauthenticatedError)
NOT_ALLOWED = Verdict(identity=None, refusal=ExternalAuthenticatedError)


class _RefusedError(Exception):
    """The whoami answer does not let the caller in; the message says why (never the token)."""


def _as_mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _fine_grained_scope_grants_write(access_token: Mapping[str, Any], *, org: str) -> bool:
    scopes = map(_as_mapping, _as_list(_as_mapping(access_token.get("fineGrained")).get("scoped")))
    return any(
        _as_mapping(scope.get("entity")).get("type") == "org"
        and _as_mapping(scope.get("entity")).get("name") == org
        and any(
            isinstance(grant, str) and grant in WRITE_SCOPE_PERMISSIONS for grant in _as_list(scope.get("permissions"))
        )
        for scope in scopes
    )


def identity_from_whoami(whoami: object, *, org: str) -> HubIdentity:
    """The identity a 200 whoami answer lets in, or `_RefusedError` saying why not."""
    user = _as_mapping(whoami)
    name = user.get("name")
    if not isinstance(name, str) or not name:
        raise _RefusedError("the whoami answer has no user name")
    membership = next(
        (entry for entry in map(_as_mapping, _as_list(user.get("orgs"))) if entry.get("name") == org),
        None,
    )
    if membership is None:
        raise _RefusedError(f"{name} is not a member of {org}")
    auth = _as_mapping(user.get("auth"))
    if auth.get("type") != "access_token":
        raise _RefusedError(f"{name} did not authenticate with an access token")
    access_token = _as_mapping(auth.get("accessToken"))
    if _fine_grained_scope_grants_write(access_token, org=org):
        return HubIdentity(name=name, org=org)
    if access_token.get("role") == "write" and membership.get("roleInOrg") in ROLES_IN_ORG_FOR_WRITE_TOKENS:
        return HubIdentity(name=name, org=org)
    raise _RefusedError(f"the token of {name} does not grant write access to {org}")


# --- the Hub call ---------------------------------------------------------------------------


def whoami_url(config: AdminConfig) -> str:
    return f"{config.hf_endpoint}{config.hf_whoami_path}"


MAX_CONCURRENT_WHOAMI = 8
"""Whoami calls in flight at once, per process: a flood of unknown tokens cannot flood the Hub."""
_WHOAMI_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_WHOAMI)


def ask_hub(*, token: str, config: AdminConfig) -> Verdict:
    """One whoami call, once one of MAX_CONCURRENT_WHOAMI slots is free within the Hub timeout.

    No slot in time: AuthCheckHubRequestError (500), as for a Hub that does not answer.
    """
    if not _WHOAMI_SLOTS.acquire(timeout=config.hf_timeout_seconds):
        logger.warning("whoami: %d calls to the Hub already in flight; one more refused", MAX_CONCURRENT_WHOAMI)
        raise AuthCheckHubRequestError(HUB_FAILURE_MESSAGE)
    try:
        return _ask_hub_uncapped(token=token, config=config)
    finally:
        _WHOAMI_SLOTS.release()


def _ask_hub_uncapped(*, token: str, config: AdminConfig) -> Verdict:
    """One whoami call. Returns the verdict; raises AuthCheckHubRequestError if the Hub fails."""
    org = config.hf_organization
    if org is None:
        raise RuntimeError("the whoami check is only made when ADMIN_HF_ORGANIZATION is set")
    try:
        response = get_within(
            whoami_url(config), seconds=config.hf_timeout_seconds, auth=BearerAuth(token), allow_redirects=False
        )
    except requests.RequestException as error:
        # The exception text names the URL only; the type is enough to act on.
        logger.warning("whoami request to the Hub failed: %s", type(error).__name__)
        raise AuthCheckHubRequestError(HUB_FAILURE_MESSAGE) from None
    status = response.status_code
    if status == 401:
        logger.info("whoami: the Hub does not know the token (401)")
        return UNAUTHENTICATED
    if status in (403, 404):
        logger.info("whoami: the Hub refused the token (%d)", status)
        return NOT_ALLOWED
    if status != 200:
        logger.warning("whoami: unexpected status %d from the Hub", status)
        raise AuthCheckHubRequestError(HUB_FAILURE_MESSAGE)
    try:
        whoami = response.json()
    except ValueError:
        logger.info("whoami: the Hub answer is not JSON")
        return NOT_ALLOWED
    try:
        identity = identity_from_whoami(whoami, org=org)
    except _RefusedError as refusal:
        logger.info("whoami: refused: %s", refusal)
        return NOT_ALLOWED
    return Verdict(identity=identity)


# --- the verdict cache ----------------------------------------------------------------------


class VerdictCache:
    """A bounded, thread-safe LRU of verdicts, each kept until its own expiry time."""

    def __init__(self, *, max_size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_size = max_size
        self.clock = clock
        self._entries: OrderedDict[tuple[str, ...], tuple[float, Verdict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Verdict | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, verdict = entry
            if self.clock() >= expires_at:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return verdict

    def put(self, key: tuple[str, ...], verdict: Verdict, *, ttl_seconds: float) -> None:
        with self._lock:
            self._entries[key] = (self.clock() + ttl_seconds, verdict)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


VERDICTS = VerdictCache(max_size=MAX_CACHED_VERDICTS)


class _Flight:
    """One whoami call in progress: its outcome once `landed` is set (a verdict, or it failed)."""

    def __init__(self) -> None:
        self.landed = threading.Event()
        self.verdict: Verdict | None = None


class SingleFlight:
    """At most one call in flight per key; the callers that arrive meanwhile share its outcome.

    The first caller (the leader) makes the call; the others wait for it to land and get its
    verdict, or an AuthCheckHubRequestError of their own when it failed (an exception object
    is never raised in two threads at once). A caller that comes after the landing starts a new
    call: the outcome is shared, not kept (keeping is the verdict cache's job).
    """

    def __init__(self) -> None:
        self._flights: dict[tuple[str, ...], _Flight] = {}
        self._lock = threading.Lock()

    def run(self, key: tuple[str, ...], call: Callable[[], Verdict], *, wait_seconds: float) -> Verdict:
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            # the leader's call is itself bounded (a slot, then the whole call, each within the timeout)
            if not flight.landed.wait(wait_seconds) or flight.verdict is None:
                raise AuthCheckHubRequestError(HUB_FAILURE_MESSAGE)
            return flight.verdict
        try:
            flight.verdict = call()
            return flight.verdict
        finally:
            with self._lock:
                del self._flights[key]
            flight.landed.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._flights)


WHOAMI_FLIGHTS = SingleFlight()


def _cache_key(*, token: str, config: AdminConfig) -> tuple[str, ...]:
    """The token's sha256, within the Hub and org it was checked against."""
    token_hash = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return (whoami_url(config), config.hf_organization or "", token_hash)


def verdict_for(*, token: str) -> Verdict:
    """The verdict on a token, from the cache when fresh; raises AuthCheckHubRequestError."""
    config: AdminConfig = settings.ADMIN
    ttl_seconds = config.auth_cache_seconds
    key = _cache_key(token=token, config=config)
    if ttl_seconds > 0:
        verdict = VERDICTS.get(key)
        if verdict is not None:
            return verdict

    def ask_and_remember() -> Verdict:
        verdict = VERDICTS.get(key) if ttl_seconds > 0 else None  # a flight that just landed
        if verdict is None:
            verdict = ask_hub(token=token, config=config)
            if ttl_seconds > 0:
                VERDICTS.put(key, verdict, ttl_seconds=ttl_seconds)
        return verdict

    # a slot wait and a call, each within the timeout, and a moment for the landing
    wait_seconds = 2 * config.hf_timeout_seconds + 1.0
    return WHOAMI_FLIGHTS.run(key, ask_and_remember, wait_seconds=wait_seconds)


def is_well_formed_token(token: str) -> bool:
    """Printable ASCII, at most MAX_TOKEN_LENGTH characters: what every Hub token is.

    Anything else could not even be sent: CR/LF in a header is refused by http.client with
    the value in its message (the token in a traceback), and characters outside Latin-1
    cannot be encoded.
    """
    return _WELL_FORMED_TOKEN.fullmatch(token) is not None


def verify_token(*, token: str) -> HubIdentity:
    """The identity the token lets in; raises the AdminError of REFERENCE.md otherwise.

    A token that is not well formed is a 401 before the Hub is asked (the message never
    echoes it).
    """
    if not is_well_formed_token(token):
        logger.info("refused a token with characters no Hub token has, without asking the Hub")
        raise ExternalUnauthenticatedError(UNAUTHENTICATED_MESSAGE)
    return verdict_for(token=token).identity_or_raise()


def forget_verdicts() -> None:
    """Empty the verdict cache (tests; an operator revoking access in a hurry restarts instead)."""
    VERDICTS.clear()
