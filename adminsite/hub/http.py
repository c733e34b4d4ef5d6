"""The HTTP plumbing both Hub clients share: a keep-alive session per thread, the bearer token.

`adminsite.hub.dataset_support` (support rules, with COMMON_HF_TOKEN) and `adminsite.auth.hub_whoami` (whoami, with
the caller's token) each keep their own timeouts and redirect policy; what they share is how
a token is sent (in the `Authorization` header only, hidden from `repr`, never replaced by a
~/.netrc) and the connection pool to the Hub. The session keeps no cookies: what the Hub said
to one token must not travel with the next call, made with another.
"""

from __future__ import annotations

import threading
from http.cookiejar import DefaultCookiePolicy

import requests


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


def http_session() -> requests.Session:
    """One `requests.Session` per thread: keep-alive to the Hub without sharing a session."""
    session: requests.Session | None = getattr(_thread_local, "session", None)
    if session is None:
        session = requests.Session()
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        _thread_local.session = session
    return session
