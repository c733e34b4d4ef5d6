"""Serve the console with uvicorn: ADMIN_UVICORN_HOSTNAME, _PORT and _NUM_WORKERS.

python -m adminsite.server
"""

from __future__ import annotations

import os
import sys

import uvicorn

from adminsite.config import ConfigError, load_config


def main() -> None:
    try:
        config = load_config(os.environ)
    except ConfigError as error:
        sys.stderr.write(f"configuration error: {error}\n")
        raise SystemExit(1) from None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")
    uvicorn.run(
        "adminsite.asgi:application",
        host=config.uvicorn_hostname,
        port=config.uvicorn_port,
        workers=config.uvicorn_num_workers,
        log_level=config.log_level.lower(),
    )


if __name__ == "__main__":
    main()
