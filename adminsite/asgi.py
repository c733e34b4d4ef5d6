"""The ASGI application served by uvicorn (`adminsite.asgi:application`)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")

application = get_asgi_application()
