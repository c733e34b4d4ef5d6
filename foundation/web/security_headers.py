"""Headers that keep the browser pages to themselves: Secure cookies over HTTPS, a CSP.

- `SecureCookiesMiddleware`: when the request came over HTTPS, every cookie the answer sets
  (session, CSRF, messages) is `Secure`, so the browser never sends it over plain HTTP.
  Behind a TLS-terminating proxy, HTTPS is known from `X-Forwarded-Proto`, which uvicorn
  trusts only from FORWARDED_ALLOW_IPS (default 127.0.0.1, the proxy beside it); from any
  other address the header is ignored.
- `ContentSecurityPolicyMiddleware`: every HTML answer says what the page may load: nothing
  but its own origin's scripts (no inline script, no `eval`), the console's stylesheet (it is
  inlined: allowed by its sha256), images of its own or `data:`; forms post only here, and
  no other site may frame it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from functools import cache

from django.http import HttpRequest, HttpResponseBase

from foundation.web.console_tags import inlined_stylesheet


@cache
def content_security_policy() -> str:
    digest = base64.b64encode(hashlib.sha256(inlined_stylesheet().encode()).digest()).decode()
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' 'sha256-{digest}'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


class SecureCookiesMiddleware:
    """Sits above the session, CSRF and messages middleware: sees the cookies they set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.is_secure():
            for cookie in response.cookies.values():
                cookie["secure"] = True
        return response


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", content_security_policy())
        return response
