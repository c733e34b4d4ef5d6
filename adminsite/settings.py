"""Django settings. The environment is read once, by `foundation.core.config.load_config`.

A bad configuration value or processing graph stops start-up here with one line on stderr
naming the problem (no traceback), before the server accepts a request.
"""

from __future__ import annotations

import os
from pathlib import Path

from foundation.core.config import AdminConfig, checked_config, stop_on_config_error
from foundation.core.secret_key import stable_secret_key


def _load() -> AdminConfig:
    config = checked_config(os.environ)
    if config.prometheus_multiproc_dir is not None:
        # prometheus_client writes there from the first metric on: it must exist
        # even when uvicorn is started directly rather than by adminsite.server.
        try:
            Path(config.prometheus_multiproc_dir).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            stop_on_config_error(f"PROMETHEUS_MULTIPROC_DIR: cannot create the folder ({error.strerror})")
    return config


ADMIN: AdminConfig = _load()

BASE_DIR = Path(__file__).resolve().parent.parent

# The console has no SQL data of its own: sessions are signed cookies holding the verified
# Hub identity (never the token), so no SQL database is needed. The key must be the same in
# every uvicorn worker: see foundation/core/secret_key.py.
SECRET_KEY = stable_secret_key(environ=os.environ, key_file=BASE_DIR / ".data" / "secret_key")
DEBUG = False
# Host names a request may be addressed to; writes from a browser on another origin must come
# from one of CSRF_TRUSTED_ORIGINS (foundation/web/cross_site.py).
ALLOWED_HOSTS = list(ADMIN.allowed_hosts)
CSRF_TRUSTED_ORIGINS = list(ADMIN.csrf_trusted_origins)

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "foundation.database",
    "foundation.web",
    "demo",
    "auditlog",
    "cachereports",
    "jobs",
    "datasetops",
    "bulkops",
    "overview",
]

MIDDLEWARE = [
    # serving and observability (README "Running in production"): metrics first and last,
    # then the request log, CORS, gzip, static files and the JSON answer guarantees; the body
    # limit before any view or CSRF check reads a body
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "foundation.web.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "foundation.web.cross_site.ReadsOnlyCorsMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "foundation.web.json_answers.JsonAnswersMiddleware",
    "foundation.web.security_headers.ContentSecurityPolicyMiddleware",
    "foundation.web.security_headers.SecureCookiesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "foundation.web.body_limit.BodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "foundation.web.cross_site.CrossSiteWritesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "overview.metric_labels.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "adminsite.urls"
APPEND_SLASH = False
CSRF_FAILURE_VIEW = "foundation.auth.page_context.csrf_failure"

TEMPLATES = [
    {
        # Jinja2: the dataset page renders thousands of variables (foundation/web/jinja_environment.py)
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "foundation.web.jinja_environment.environment",
            "context_processors": [
                "django.contrib.messages.context_processors.messages",
                "foundation.auth.page_context.console_context",
            ],
        },
    },
]

ASGI_APPLICATION = "adminsite.asgi.application"
DATABASES: dict[str, dict[str, object]] = {}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

# Browser authentication (foundation/auth/): the token
# is checked on the Hub at login, then kept split between the cookie and the `adminSessions`
# collection, never whole in either. A session lasts 12 hours at most and is re-checked on the
# Hub every ADMIN_SESSION_REVERIFY_SECONDS.
AUTHENTICATION_BACKENDS = ["foundation.auth.authentication.HubTokenBackend"]
LOGIN_URL = "/admin/login"
LOGIN_REDIRECT_URL = "/admin/"
SESSION_COOKIE_AGE = 12 * 3600

# Request bodies: 1 MiB at most, far above any form or JSON body of the console (a few hundred
# bytes). Django refuses a larger one from its Content-Length before reading it, for every body
# (foundation/web/body_limit.py): a 413. More than 1,000 fields is a 422
# (foundation/web/error_answers.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# The live pages' polled data is reused per interval in this process's memory
# (foundation/web/live.py): N tabs polling a page cost one set of database commands per interval.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "console"}}

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves the static files from the app itself, straight from the finders
# (STATICFILES_DIRS and the apps' static/ folders), so `collectstatic` is never needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False
WHITENOISE_ALLOW_ALL_ORIGINS = False  # CORS headers come from django-cors-headers, as for every route

# CORS: the JSON API's reads only (foundation/web/cross_site.py), for any origin, without
# credentials. The API authenticates by Bearer token alone (never a cookie), so a page elsewhere
# may read it with a token it holds, and never with the operator's browser session: no
# `Access-Control-Allow-Credentials`; a write's answer is never readable by another origin. The
# HTML pages, the login and logout and the probes send no CORS header at all, so a page on
# another origin (another port of the same host is the same *site*: the Lax session cookie
# goes along) cannot read them. Which routes are the JSON API is not listed here: they are the
# routes of its namespace in the URLconf (foundation/web/cors.py), and no path matches the regex.
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_URLS_REGEX = r"(?!)"
CORS_EXPOSE_HEADERS = ["X-Error-Code", "X-Revision"]

USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["foundation.web.renderers.AdminJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "foundation.web.renderers.JSONOnlyNegotiation",
    # `?format=` is not a parameter of the API: without this, DRF answers 404 to `?format=x`.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_PARSER_CLASSES": [
        "foundation.web.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Every DRF view needs a Hub token when ADMIN_HF_ORGANIZATION is set (REFERENCE.md).
    "DEFAULT_AUTHENTICATION_CLASSES": ["foundation.auth.authentication.HubTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["foundation.auth.authentication.IsAllowedByHub"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "foundation.web.api.exception_handler",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "foundation.web.request_log.SingleLineFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    },
    "filters": {"unexpected_only": {"()": "foundation.web.request_log.UnexpectedServerErrorsOnly"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
        "stderr_unexpected": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["unexpected_only"],
        },
    },
    "root": {"handlers": ["stderr"], "level": ADMIN.log_level},
    "loggers": {
        "pymongo": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        # Every answer is already in the request log line; Django's own line is kept only for
        # a 500, whose traceback an operator needs (a 501 or 503 is an answer, not a failure).
        "django.request": {"level": "ERROR", "handlers": ["stderr_unexpected"], "propagate": False},
        # A body too large or with too many fields is the client's mistake, answered 413/422
        # (foundation/web/error_answers.py) and in the request log: no traceback for it.
        # So is a request addressed to a host name that is not ours (400 DisallowedHost).
        **{
            f"django.security.{name}": {"level": "CRITICAL"}
            for name in ("RequestDataTooBig", "TooManyFieldsSent", "TooManyFilesSent", "DisallowedHost")
        },
    },
}
