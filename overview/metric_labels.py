"""The request metrics' label values are a closed set, whatever a client sends.

django-prometheus labels most request metrics with `_method()`, which names an unknown method
`<invalid method>`, but its latency histogram by view and method takes `request.method` as it
came. Every made-up method then added a histogram (some twenty series) to every scrape, for
good: 1,000 unauthenticated requests with 500 made-up methods took one worker's scrape from 459
series to 10,607. `label_metric`, the hook django-prometheus calls for every labelled metric,
maps any method outside HTTP's own to the value its other metrics already use, so an unknown
method is one label value everywhere.
"""

from __future__ import annotations

from typing import Any

from django_prometheus.middleware import PrometheusAfterMiddleware as DjangoPrometheusAfterMiddleware

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"})
"""The methods django-prometheus names as they are (its `_method`)."""
UNKNOWN_METHOD = "<invalid method>"
"""django-prometheus's own label value for any other method."""


def method_label(method: object) -> str:
    return method if isinstance(method, str) and method in KNOWN_METHODS else UNKNOWN_METHOD


class ClosedLabelValues:
    """Mixin for a django-prometheus after-middleware: the `method` label is one of KNOWN_METHODS or UNKNOWN_METHOD."""

    def label_metric(self, metric: Any, request: Any, response: Any = None, **labels: Any) -> Any:
        if "method" in labels:
            labels["method"] = method_label(labels["method"])
        return super().label_metric(metric, request, response, **labels)  # type: ignore[misc]  # the mixed-in middleware's


class PrometheusAfterMiddleware(ClosedLabelValues, DjangoPrometheusAfterMiddleware):  # type: ignore[misc]  # untyped library
    """django-prometheus's after-middleware (put it last), labels closed."""
