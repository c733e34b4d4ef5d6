"""Serve the console in production: uvicorn, ADMIN_UVICORN_NUM_WORKERS worker processes.

    python -m adminsite.server

Reads ADMIN_UVICORN_HOSTNAME (localhost), ADMIN_UVICORN_PORT (8000) and
ADMIN_UVICORN_NUM_WORKERS (2). Before any worker starts:

- the whole configuration is checked; a bad value stops start-up with one line naming the
  variable (exit status 1), instead of every worker dying and being restarted in a loop;
- PROMETHEUS_MULTIPROC_DIR, when set, is created and emptied of the metric files of a
  previous run (only prometheus_client's `*.db` files are removed), so the counters of dead
  processes are not added to the new ones.

Uvicorn's access log is off: `adminsite.web.request_log` writes one line per request, with the
caller and without secrets.
"""

from __future__ import annotations

import os
from pathlib import Path

import uvicorn

from adminsite.core.config import checked_config, stop_on_config_error

# prometheus_client's multiprocess files: counter_<pid>.db, histogram_<pid>.db, gauge_*_<pid>.db
_METRIC_FILE_PREFIXES = ("counter_", "gauge_", "histogram_", "summary_")


def prepare_multiprocess_directory(directory: Path) -> None:
    """Create the shared metrics folder, or remove the metric files a previous run left in it."""
    directory.mkdir(parents=True, exist_ok=True)
    for metric_file in directory.glob("*.db"):
        if metric_file.name.startswith(_METRIC_FILE_PREFIXES):
            metric_file.unlink(missing_ok=True)


def main() -> None:
    config = checked_config(os.environ)
    if config.prometheus_multiproc_dir:
        try:
            prepare_multiprocess_directory(Path(config.prometheus_multiproc_dir))
        except OSError as error:
            stop_on_config_error(f"PROMETHEUS_MULTIPROC_DIR: {error}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")
    uvicorn.run(
        "adminsite.asgi:application",
        host=config.uvicorn_hostname,
        port=config.uvicorn_port,
        workers=config.uvicorn_num_workers,
        log_level=config.log_level.lower(),
        access_log=False,
        lifespan="off",  # Django has no lifespan handlers
    )


if __name__ == "__main__":
    main()
