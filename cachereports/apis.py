"""JSON routes of the cache: reports, reports with content, dataset status, builder counts."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from adminsite.api import ReadAPIView, dataset_parameter
from cachereports import selectors


class CacheReportsApi(ReadAPIView):
    """GET /admin/cache-reports/{kind}?cursor="""

    def get(self, request: Request, kind: str) -> Response:
        page = selectors.cache_reports_page(
            kind=kind,
            cursor=request.query_params.get("cursor", ""),
            limit=settings.ADMIN.cache_reports_num_results,
            with_content=False,
        )
        return Response({"cache_reports": page.cache_reports, "next_cursor": page.next_cursor})


class CacheReportsWithContentApi(ReadAPIView):
    """GET /admin/cache-reports-with-content/{kind}?cursor="""

    def get(self, request: Request, kind: str) -> Response:
        page = selectors.cache_reports_page(
            kind=kind,
            cursor=request.query_params.get("cursor", ""),
            limit=settings.ADMIN.cache_reports_with_content_num_results,
            with_content=True,
        )
        return Response({"cache_reports_with_content": page.cache_reports, "next_cursor": page.next_cursor})


class DatasetStatusApi(ReadAPIView):
    """GET /admin/dataset-status?dataset="""

    def get(self, request: Request) -> Response:
        return Response(selectors.dataset_status(dataset=dataset_parameter(request)))


class NumDatasetInfosByBuilderNameApi(ReadAPIView):
    """GET /admin/num-dataset-infos-by-builder-name"""

    def get(self, request: Request) -> Response:
        return Response(selectors.num_dataset_infos_by_builder_name())
