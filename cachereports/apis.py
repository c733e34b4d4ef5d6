"""JSON routes of the cache: reports, reports with content, builder counts."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from cachereports.parameters import CacheErrorsParameters, CacheReportsParameters
from cachereports.selectors import builder_names, error_groups, reports
from cachereports.serializers import cache_errors_dict, cache_report, cache_report_with_content
from foundation.web.api import ReadAPIView
from foundation.web.parameters import request_parameters, validated


class _CacheReportsPageApi(ReadAPIView):
    """One page of the cache reports of a kind; the content and the page size vary by route."""

    with_content: ClassVar[bool] = False

    def get(self, request: Request, kind: str) -> Response:
        config = settings.ADMIN
        parameters = validated(CacheReportsParameters, {**request_parameters(request), "kind": kind})
        page = reports.cache_reports_page(
            kind=parameters["kind"].name,
            after=parameters["cursor"],
            limit=config.cache_reports_with_content_num_results
            if self.with_content
            else config.cache_reports_num_results,
            with_content=self.with_content,
        )
        if self.with_content:
            body = {"cache_reports_with_content": [cache_report_with_content(entry) for entry in page.cache_entries]}
        else:
            body = {"cache_reports": [cache_report(entry) for entry in page.cache_entries]}
        return Response({**body, "next_cursor": page.next_cursor})


class CacheReportsApi(_CacheReportsPageApi):
    """GET /admin/cache-reports/{kind}?cursor="""


class CacheReportsWithContentApi(_CacheReportsPageApi):
    """GET /admin/cache-reports-with-content/{kind}?cursor="""

    with_content = True


class NumDatasetInfosByBuilderNameApi(ReadAPIView):
    """GET /admin/num-dataset-infos-by-builder-name"""

    def get(self, request: Request) -> Response:
        return Response(builder_names.num_dataset_infos_by_builder_name())


class CacheErrorsApi(ReadAPIView):
    """GET /admin/cache-errors?kind= (kind optional: every kind)"""

    def get(self, request: Request) -> Response:
        step = validated(CacheErrorsParameters, request_parameters(request))["kind"]
        return Response(cache_errors_dict(error_groups.cache_errors(kind=step.name if step is not None else None)))
