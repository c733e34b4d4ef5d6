"""The yardstick of `make bench`: a minimal Starlette app answering the read routes.

It calls the console's own selector functions (so it sends the same database commands and
reads the same documents) and writes their JSON with the console's renderer function (so its
answers are byte-identical to the console's; `bench/read_endpoints.py` checks it). What it
leaves out is the framework: no Django, no DRF, no middleware. The difference between the two,
under the same load, is what the console's own layers cost.

    python bench/starlette_reference.py --port 8100 --workers 2   # uses CACHE_MONGO_URL etc.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adminsite.settings")

import django  # noqa: E402
from bson import ObjectId  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import PlainTextResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from cachereports.selectors import builder_names as builder_name_counts  # noqa: E402
from cachereports.selectors import reports  # noqa: E402
from cachereports.serializers import cache_report  # noqa: E402
from datasetops import selectors as dataset_selectors  # noqa: E402
from datasetops.serializers import dataset_status_dict  # noqa: E402
from foundation.web.renderers import AdminJSONRenderer  # noqa: E402
from jobs import selectors as job_selectors  # noqa: E402
from jobs.serializers import pending_jobs_dict  # noqa: E402

RENDERER = AdminJSONRenderer()


def json_answer(data: object) -> Response:
    return Response(RENDERER.render(data), media_type="application/json")


# Sync endpoints, as the console's views: Starlette runs each in its thread pool (pymongo is sync).
def healthcheck(request: Request) -> Response:
    return PlainTextResponse("ok")


def blocked_datasets(request: Request) -> Response:
    return json_answer({"blocked_datasets": job_selectors.blocked_datasets()})


def pending_jobs(request: Request) -> Response:
    return json_answer(pending_jobs_dict(job_selectors.pending_job_documents_by_type()))


def dataset_status(request: Request) -> Response:
    return json_answer(dataset_status_dict(dataset_selectors.dataset_status(dataset=request.query_params["dataset"])))


def builder_names(request: Request) -> Response:
    return json_answer(builder_name_counts.num_dataset_infos_by_builder_name())


def cache_reports(request: Request) -> Response:
    page = reports.cache_reports_page(
        kind=request.path_params["kind"],
        after=ObjectId(request.query_params["cursor"]) if request.query_params.get("cursor") else None,
        limit=settings.ADMIN.cache_reports_num_results,
        with_content=False,
    )
    reports_json = [cache_report(entry) for entry in page.cache_entries]
    return json_answer({"cache_reports": reports_json, "next_cursor": page.next_cursor})


app = Starlette(
    routes=[
        Route("/healthcheck", healthcheck),
        Route("/admin/blocked-datasets", blocked_datasets),
        Route("/admin/pending-jobs", pending_jobs),
        Route("/admin/dataset-status", dataset_status),
        Route("/admin/num-dataset-infos-by-builder-name", builder_names),
        Route("/admin/cache-reports/{kind}", cache_reports),
    ]
)


def main() -> None:
    from adminsite.server import TcpConfig, serve

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    # the same uvicorn set-up as `python -m adminsite.server`: TCP_NODELAY, access log off
    config = TcpConfig(
        "bench.starlette_reference:app",
        host="127.0.0.1",
        port=arguments.port,
        workers=arguments.workers,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    serve(config)


if __name__ == "__main__":
    main()
