"""Browser sessions of the console: who logged in with which Hub token, re-verified regularly.

The problem. A maintainer logs in once by pasting a Hub token. To notice that the token was
revoked (or its rights on the org removed), the session must be re-checked against the Hub
every ADMIN_SESSION_REVERIFY_SECONDS (default 600), and a re-check needs the token. Yet the
token must not sit in a cookie: sessions are Django signed-cookie sessions, which are signed,
not encrypted, so anything in them is readable by whoever gets hold of the cookie. Nor can the
token live in the memory of one process: the server runs several uvicorn workers, and the
next request of a browser may reach any of them.

The choice: the token is split in two shares, one on each side, so that neither side alone
reveals it.

- The server keeps, in the small `adminSessions` collection of the queue database (shared by
  every worker and every replica), one record per session: `_id` = sha256 of a random session
  id, the verified identity (`name`, `org`), `sealed_token` = token XOR pad, `created_at`,
  `verified_at` and `expires_at`.
- The signed session cookie holds the random session id (256 bits), the pad (random bytes as
  long as the token, fresh for every login, used once), and the identity for display.

XOR with a fresh uniformly random pad of the same length is a one-time pad: the record alone
(a database dump, a backup) and the cookie alone (a stolen cookie, a log of headers) each say
nothing about the token. No cryptography package is needed and nothing depends on SECRET_KEY
staying secret for the token's confidentiality (SECRET_KEY only signs the cookie). Since the
record is keyed by the hash of the session id, the database does not even hold what would be
needed to use a session. Logging out deletes the record, so a copy of the cookie is dead from
then on, which a signed-cookie session alone cannot offer.

Every protected page looks its record up (one query by `_id`). Once the record is older than
the re-verification interval since `verified_at`, the token is rebuilt in memory, checked
with `hub_whoami.verify_token` (same rules and verdict cache as the JSON API) and dropped; a
refusal ends the session, a Hub failure answers 500 without ending it (an outage of the Hub
is not a logout, but it does not let anyone in either). Expired records are purged at each
login (FerretDB has no TTL indexes); sessions last SESSION_COOKIE_AGE at most.

The clock is `browser_sessions.now`, so tests move time instead of sleeping.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bson.binary import Binary
from django.conf import settings
from django.http import HttpRequest
from pymongo.collection import Collection

from foundation.auth import hub_whoami
from foundation.core.config import AdminConfig
from foundation.core.errors import ExternalAuthenticatedError, ExternalUnauthenticatedError
from foundation.core.identity import HubIdentity
from foundation.database import mongo

logger = logging.getLogger(__name__)

now: Callable[[], datetime] = mongo.utc_now
"""The clock of the sessions; tests replace it to move time forward."""

SESSION_ID_KEY = "hub_session_id"
TOKEN_PAD_KEY = "hub_token_pad"  # noqa: S105 (a session key name, not a secret)
USER_NAME_KEY = "hub_user_name"
ORG_KEY = "hub_org"


def _sessions() -> Collection[mongo.MongoDocument]:
    return mongo.queue_database()[mongo.ADMIN_SESSIONS]


def _record_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _xor(left: bytes, right: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(left, right, strict=True))


def open_session(request: HttpRequest, *, token: str, identity: HubIdentity) -> None:
    """Start a session for a verified identity: record server-side, session id and pad in the cookie."""
    moment = now()
    session_id = secrets.token_urlsafe(32)
    token_bytes = token.encode("utf-8")
    pad = secrets.token_bytes(len(token_bytes))
    sessions = _sessions()
    sessions.delete_many({"expires_at": {"$lte": moment}})
    sessions.insert_one(
        {
            "_id": _record_id(session_id),
            "name": identity.name,
            "org": identity.org,
            "sealed_token": Binary(_xor(token_bytes, pad)),
            "created_at": moment,
            "verified_at": moment,
            "expires_at": moment + timedelta(seconds=settings.SESSION_COOKIE_AGE),
        }
    )
    request.session.flush()  # a new session key: no fixation of a session set before login
    request.session[SESSION_ID_KEY] = session_id
    request.session[TOKEN_PAD_KEY] = base64.urlsafe_b64encode(pad).decode("ascii")
    request.session[USER_NAME_KEY] = identity.name
    request.session[ORG_KEY] = identity.org
    logger.info("browser session opened for %s (%s)", identity.name, identity.org)


def close_session(request: HttpRequest) -> None:
    """End the session: delete its record (a copied cookie is then useless) and clear the cookie."""
    session_id = request.session.get(SESSION_ID_KEY)
    if isinstance(session_id, str):
        _sessions().delete_one({"_id": _record_id(session_id)})
    request.session.flush()


def displayed_identity(request: HttpRequest) -> HubIdentity | None:
    """The identity the cookie claims, for display only (not verified: use `session_identity`)."""
    name = request.session.get(USER_NAME_KEY)
    org = request.session.get(ORG_KEY)
    return HubIdentity(name=name, org=org) if isinstance(name, str) and isinstance(org, str) else None


def _unseal(record: dict[str, Any], pad_text: str) -> str | None:
    try:
        pad = base64.urlsafe_b64decode(pad_text.encode("ascii"))
        return _xor(bytes(record["sealed_token"]), pad).decode("utf-8")
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None


def _reverified(request: HttpRequest, record: dict[str, Any], *, pad_text: str, moment: datetime) -> HubIdentity | None:
    """Ask the Hub again; None (and the session ended) when the token is no longer allowed.

    AuthCheckHubRequestError propagates: the page answers 500 and the session stays.
    """
    token = _unseal(record, pad_text)
    if token is None:
        close_session(request)
        return None
    try:
        identity = hub_whoami.verify_token(token=token)
    except (ExternalUnauthenticatedError, ExternalAuthenticatedError):
        logger.info("browser session of %s ended: the Hub no longer allows its token", record.get("name"))
        close_session(request)
        return None
    _sessions().update_one({"_id": record["_id"]}, {"$set": {"verified_at": moment}})
    return identity


def session_identity(request: HttpRequest) -> HubIdentity | None:
    """The verified identity of the browser session, re-checked on the Hub when due; else None."""
    session_id = request.session.get(SESSION_ID_KEY)
    pad_text = request.session.get(TOKEN_PAD_KEY)
    if not isinstance(session_id, str) or not isinstance(pad_text, str):
        return None
    config: AdminConfig = settings.ADMIN
    record = _sessions().find_one({"_id": _record_id(session_id)})
    moment = now()
    if record is None or record.get("expires_at", moment) <= moment or record.get("org") != config.hf_organization:
        close_session(request)
        return None
    if moment - record["verified_at"] < timedelta(seconds=config.session_reverify_seconds):
        return HubIdentity(name=record["name"], org=record["org"])
    return _reverified(request, record, pad_text=pad_text, moment=moment)
