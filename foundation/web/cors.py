"""Which requests CORS is for: the JSON API's, recognised by their view, not by a list of paths.

The JSON API authenticates by Bearer token alone (never a cookie), so a page elsewhere may call
it with a token it holds, for any origin, without credentials (`adminsite/settings.py`). The
pages, the login and logout and the probes send no CORS header at all. Every JSON route is
served by a view of `foundation.web.api` (`ReadAPIView`, `WriteAPIView`: they give the JSON
routes their `Cache-Control` and `Vary`), which marks itself as one: a route added to the
URLconf with such a view is open to CORS with nothing else to edit, and no other route is.

django-cors-headers asks its `check_request_enabled` signal (its documented hook for rules its
settings cannot say) whether a request is one of them; `CORS_URLS_REGEX` matches no path. The
path is resolved as Django will resolve it for the view; the verdict is kept per URLconf and
path (a few thousand), so that a request pays for one resolution, not two.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import Resolver404, get_urlconf, resolve

from foundation.web.api import is_json_api_view


def is_json_api_request(sender: object, request: HttpRequest, **kwargs: Any) -> bool:
    """The receiver of `corsheaders.signals.check_request_enabled`: whether a JSON API view serves the path."""
    return _is_json_api_path(get_urlconf() or settings.ROOT_URLCONF, request.path_info)


@lru_cache(maxsize=4096)
def _is_json_api_path(urlconf: Any, path: str) -> bool:
    """`urlconf`: the request's URLconf (a module path, or the module), as Django resolves the request."""
    try:
        return is_json_api_view(resolve(path, urlconf).func)
    except Resolver404:
        return False
