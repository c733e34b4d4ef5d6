"""Django settings. The environment is read once, by `adminsite.config.load_config`.

A bad configuration value or processing graph stops start-up here with one line on stderr
naming the problem (no traceback), before the server accepts a request.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from adminsite.config import AdminConfig, ConfigError, load_config
from adminsite.processing_graph import ProcessingGraphError, processing_graph


def _load() -> AdminConfig:
    try:
        config = load_config(os.environ)
        processing_graph()
    except (ConfigError, ProcessingGraphError) as error:
        sys.stderr.write(f"configuration error: {error}\n")
        sys.stderr.flush()
        raise SystemExit(1) from None
    return config


ADMIN: AdminConfig = _load()

BASE_DIR = Path(__file__).resolve().parent.parent

# The console has no SQL data of its own: sessions are signed cookies holding the verified
# Hub identity (never the token), so no SQL database is needed.
SECRET_KEY = os.environ.get("ADMIN_SECRET_KEY") or os.urandom(32).hex()
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "cachereports",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "adminsite.urls"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
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

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["adminsite.renderers.AdminJSONRenderer"],
    # `?format=` is not a parameter of the API: without this, DRF answers 404 to `?format=x`.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "adminsite.api.exception_handler",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": ADMIN.log_level},
    "loggers": {"pymongo": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}
