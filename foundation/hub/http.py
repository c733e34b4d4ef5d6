"""The HTTP plumbing both Hub clients share: a keep-alive session per thread, the bearer token,
and the deadline of a whole call.

`foundation.hub.dataset_support` (support rules, with COMMON_HF_TOKEN) and
`foundation.auth.hub_whoami` (whoami, with
the caller's token) each keep their own redirect policy; what they share is how a token is
sent (in the `Authorization` header only, hidden from `repr`, never replaced by a ~/.netrc),
the connection pool to the Hub and `get_within`. The session keeps no cookies: what the Hub
said to one token must not travel with the next call, made with another.

A redirect is followed only to the same origin (scheme, host and port) as the first URL, as
the Hub redirects a renamed repo to its new name: a redirect to another host is that call's
failure (`RedirectedElsewhereError`), never followed, so no other server's answer (its revision,
its verdict) is taken for the Hub's.

ADMIN_HF_TIMEOUT_SECONDS bounds a whole call: connect, headers, body and redirects. A socket
timeout only bounds each read, so a Hub sending a byte every 0.1 s would hold a call for as
long as it likes. `get_within` therefore arms a timer: when it fires, the sockets of the call
are shut down, which wakes the blocked read at once, and the call raises `requests.Timeout`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager


class BearerAuth(requests.auth.AuthBase):
    """Sets the `Authorization` header; explicit so that a ~/.netrc can never replace it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<hidden>)"


_thread_local = threading.local()


class _Deadline:
    """The end of one call: once expired, every socket the call uses is shut down."""

    def __init__(self) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if not self.expired:
                return
        _shut_down(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    """Wake any read blocked on the socket (the plain socket's shutdown, also for TLS ones)."""
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watch_current_call(sock: socket.socket | None) -> None:
    deadline: _Deadline | None = getattr(_thread_local, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch_current_call(self.sock)  # connected and request sent: what is left is the answer
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch_current_call(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPConnectionPool, "https": _WatchedHTTPSConnectionPool}


class _WatchedAdapter(HTTPAdapter):
    """Requests' adapter whose connections (direct or through an HTTP proxy) obey the deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def http_session() -> requests.Session:
    """One `requests.Session` per thread: keep-alive to the Hub without sharing a session."""
    session: requests.Session | None = getattr(_thread_local, "session", None)
    if session is None:
        session = requests.Session()
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        session.mount("http://", _WatchedAdapter())
        session.mount("https://", _WatchedAdapter())
        _thread_local.session = session
    return session


MAX_REDIRECTS = 5
"""Redirects followed within one call (a renamed repo needs one)."""


class RedirectedElsewhereError(requests.RequestException):
    """The Hub answered a redirect to another origin, or too many redirects: not followed."""


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def _get_following_same_origin(
    url: str, *, seconds: float, auth: BearerAuth | None, params: dict[str, str] | None, allow_redirects: bool
) -> requests.Response:
    response = http_session().get(url, params=params, auth=auth, timeout=(seconds, seconds), allow_redirects=False)
    for _ in range(MAX_REDIRECTS if allow_redirects else 0):
        if not response.is_redirect:
            return response
        target = urljoin(response.url, response.headers["Location"])
        response.close()
        if _origin(target) != _origin(url):
            raise RedirectedElsewhereError(f"redirected to another origin ({_origin(target)[1]})")
        response = http_session().get(target, auth=auth, timeout=(seconds, seconds), allow_redirects=False)
    if allow_redirects and response.is_redirect:
        response.close()
        raise RedirectedElsewhereError(f"more than {MAX_REDIRECTS} redirects")
    return response


def get_within(
    url: str,
    *,
    seconds: float,
    auth: BearerAuth | None,
    params: dict[str, str] | None = None,
    allow_redirects: bool = True,
) -> requests.Response:
    """GET `url`, the whole call (connect, answer, redirects) within `seconds`; else requests.Timeout.

    Redirects to the same origin are followed (`allow_redirects`); one to another origin raises
    RedirectedElsewhereError. Other failures raise what requests raises (all
    `requests.RequestException`).
    """
    deadline = _Deadline()
    timer = threading.Timer(seconds, deadline.expire)
    timer.daemon = True
    _thread_local.deadline = deadline
    timer.start()
    try:
        response = _get_following_same_origin(
            url, seconds=seconds, auth=auth, params=params, allow_redirects=allow_redirects
        )
    except requests.RequestException as error:
        if deadline.expired:
            raise requests.Timeout(f"no complete answer within {seconds}s") from error
        raise
    finally:
        timer.cancel()
        _thread_local.deadline = None
    if deadline.expired:
        # A body without a length ends when the connection does: cut at the deadline, it
        # would read as complete (and truncated).
        response.close()
        raise requests.Timeout(f"no complete answer within {seconds}s")
    return response
