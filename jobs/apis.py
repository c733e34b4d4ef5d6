"""JSON routes of the queue: pending jobs, blocked datasets, the two repair operations, the audit log."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from adminsite.api import ReadAPIView, WriteAPIView, dataset_parameter, optional_parameter, raw_parameter
from adminsite.identity import identity_of
from jobs import selectors, services


class PendingJobsApi(ReadAPIView):
    """GET /admin/pending-jobs"""

    def get(self, request: Request) -> Response:
        return Response(selectors.pending_jobs_by_type())


class BlockedDatasetsApi(ReadAPIView):
    """GET /admin/blocked-datasets"""

    def get(self, request: Request) -> Response:
        return Response({"blocked_datasets": selectors.blocked_datasets()})


class ForceRefreshApi(WriteAPIView):
    """POST /admin/force-refresh/{job_type}?dataset=&config=&split=&priority=&difficulty="""

    def post(self, request: Request, job_type: str) -> Response:
        refresh = services.parse_force_refresh(
            step=job_type,
            dataset=raw_parameter(request, "dataset"),
            config=optional_parameter(request, "config"),
            split=optional_parameter(request, "split"),
            priority=optional_parameter(request, "priority"),
            difficulty=optional_parameter(request, "difficulty"),
        )
        outcome = services.force_refresh(request=refresh, actor=identity_of(request))
        return Response(outcome.as_json())


class RecreateDatasetApi(WriteAPIView):
    """POST /admin/recreate-dataset?dataset=&priority="""

    def post(self, request: Request) -> Response:
        dataset = dataset_parameter(request)
        priority = services.parse_priority(optional_parameter(request, "priority"))
        outcome = services.recreate_dataset(dataset=dataset, priority=priority, actor=identity_of(request))
        if outcome.not_supported is not None:
            raise outcome.not_supported
        return Response(outcome.as_json())


class AuditLogApi(ReadAPIView):
    """GET /admin/audit-log?cursor= (newest first)"""

    def get(self, request: Request) -> Response:
        page = selectors.audit_log_page(
            cursor=request.query_params.get("cursor", ""), limit=settings.ADMIN.audit_log_num_results
        )
        return Response({"actions": page.actions, "next_cursor": page.next_cursor})
