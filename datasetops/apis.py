"""JSON routes of one dataset: its status and the repair operations (force-refresh, recreate)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from datasetops import selectors, services
from datasetops.parameters import (
    DatasetOperationParameters,
    DatasetParameters,
    force_refresh_request,
)
from datasetops.serializers import dataset_status_dict
from foundation.core.identity import identity_of
from foundation.web.api import ReadAPIView, WriteAPIView
from foundation.web.parameters import request_parameters, validated


class DatasetStatusApi(ReadAPIView):
    """GET /admin/dataset-status?dataset="""

    def get(self, request: Request) -> Response:
        parameters = validated(DatasetParameters, request_parameters(request))
        return Response(dataset_status_dict(selectors.dataset_status(dataset=parameters["dataset"])))


class ForceRefreshApi(WriteAPIView):
    """POST /admin/force-refresh/{job_type}?dataset=&config=&split=&priority=&difficulty="""

    def post(self, request: Request, job_type: str) -> Response:
        refresh = force_refresh_request({**request_parameters(request), "job_type": job_type})
        outcome = services.force_refresh(request=refresh, actor=identity_of(request))
        return Response(outcome.as_json())


class RecreateDatasetApi(WriteAPIView):
    """POST /admin/recreate-dataset?dataset=&priority="""

    def post(self, request: Request) -> Response:
        parameters = validated(DatasetOperationParameters, request_parameters(request))
        outcome = services.recreate_dataset(
            dataset=parameters["dataset"], priority=parameters["priority"], actor=identity_of(request)
        )
        if outcome.not_supported is not None:
            raise outcome.not_supported
        return Response(outcome.as_json())


class DatasetBackfillPlanApi(ReadAPIView):
    """GET /admin/dataset-backfill-plan?dataset=&priority= (asks the Hub; writes nothing)"""

    def get(self, request: Request) -> Response:
        parameters = validated(DatasetOperationParameters, request_parameters(request))
        plan = selectors.dataset_backfill_plan(dataset=parameters["dataset"], priority=parameters["priority"])
        return Response(plan.as_json())


class DatasetBackfillApi(WriteAPIView):
    """POST /admin/dataset-backfill?dataset=&priority="""

    def post(self, request: Request) -> Response:
        parameters = validated(DatasetOperationParameters, request_parameters(request))
        outcome = services.backfill_dataset(
            dataset=parameters["dataset"], priority=parameters["priority"], actor=identity_of(request)
        )
        return Response(outcome.as_json())
