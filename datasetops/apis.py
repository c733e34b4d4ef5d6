"""JSON routes of one dataset: its status and the repair operations (force-refresh, recreate)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from datasetops import selectors, services
from datasetops.serializers import dataset_status_dict
from foundation.core.identity import identity_of
from foundation.web.api import ReadAPIView, WriteAPIView, dataset_parameter, raw_parameter


class DatasetStatusApi(ReadAPIView):
    """GET /admin/dataset-status?dataset="""

    def get(self, request: Request) -> Response:
        return Response(dataset_status_dict(selectors.dataset_status(dataset=dataset_parameter(request))))


class ForceRefreshApi(WriteAPIView):
    """POST /admin/force-refresh/{job_type}?dataset=&config=&split=&priority=&difficulty="""

    def post(self, request: Request, job_type: str) -> Response:
        refresh = services.parse_force_refresh(
            step=job_type,
            dataset=raw_parameter(request, "dataset"),
            config=raw_parameter(request, "config"),
            split=raw_parameter(request, "split"),
            priority=raw_parameter(request, "priority"),
            difficulty=raw_parameter(request, "difficulty"),
        )
        outcome = services.force_refresh(request=refresh, actor=identity_of(request))
        return Response(outcome.as_json())


class RecreateDatasetApi(WriteAPIView):
    """POST /admin/recreate-dataset?dataset=&priority="""

    def post(self, request: Request) -> Response:
        dataset = dataset_parameter(request)
        priority = services.parse_priority(raw_parameter(request, "priority"))
        outcome = services.recreate_dataset(dataset=dataset, priority=priority, actor=identity_of(request))
        if outcome.not_supported is not None:
            raise outcome.not_supported
        return Response(outcome.as_json())


class DatasetBackfillPlanApi(ReadAPIView):
    """GET /admin/dataset-backfill-plan?dataset=&priority= (asks the Hub; writes nothing)"""

    def get(self, request: Request) -> Response:
        dataset = dataset_parameter(request)
        priority = services.parse_priority(raw_parameter(request, "priority"))
        return Response(selectors.dataset_backfill_plan(dataset=dataset, priority=priority).as_json())


class DatasetBackfillApi(WriteAPIView):
    """POST /admin/dataset-backfill?dataset=&priority="""

    def post(self, request: Request) -> Response:
        dataset = dataset_parameter(request)
        priority = services.parse_priority(raw_parameter(request, "priority"))
        outcome = services.backfill_dataset(dataset=dataset, priority=priority, actor=identity_of(request))
        return Response(outcome.as_json())
