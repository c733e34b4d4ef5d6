"""django-prometheus's request metrics, with each labelled child looked up once per process.

django-prometheus's after-middleware asks `metric.labels(...)` seven times per request: each
call converts and checks the label values and takes the metric's lock, 3-4 us apiece, a tenth of
what `/healthcheck` costs in all. The children it returns are the same objects every time for
the same values, so they are kept in a dict keyed by the metric and the values. The values of
these labels are bounded (methods, statuses, view names, charsets), and prometheus_client keeps
every child anyway: the dict holds nothing it does not. The metrics, their names and labels
are django-prometheus's own (`django_http_*`), unchanged.
"""

from __future__ import annotations

from typing import Any

from django_prometheus import middleware


class PrometheusAfterMiddleware(middleware.PrometheusAfterMiddleware):  # type: ignore[misc]  # untyped
    """django-prometheus's after-middleware (put it last), with its labelled children kept."""

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        self._children: dict[tuple[Any, ...], Any] = {}

    def label_metric(self, metric: Any, request: Any, response: Any = None, **labels: Any) -> Any:
        if not labels:
            return metric
        key = (metric, *labels.items())
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(**labels)
        return child
