"""/admin/metrics stays bounded: made-up HTTP methods are one label value, not one series each."""

from __future__ import annotations

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

PATHS = ["/healthcheck", "/admin/pending-jobs", "/admin/no-such-route"]


def series(client: Client) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """Every (sample name, labels) of one scrape."""
    response = client.get("/admin/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def method_values(scraped: set[tuple[str, tuple[tuple[str, str], ...]]]) -> set[str]:
    return {value for _, labels in scraped for name, value in labels if name == "method"}


def test_a_flood_of_made_up_methods_adds_no_series(client: Client) -> None:
    for path in PATHS:  # the series of an unknown method on these routes exist from now on
        client.generic("MADEUP", path)
    series(client)  # and those of the scrape itself
    before = series(client)
    for number in range(1000):
        client.generic(f"X{number % 500}Y", PATHS[number % len(PATHS)])
    after = series(client)
    assert after - before == set()
    assert method_values(after) <= {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "<invalid method>"}
    assert (
        "django_http_requests_latency_seconds_by_view_method_count",
        (("method", "X7Y"), ("view", "<unnamed view>")),
    ) not in after


def test_an_unknown_method_is_counted_under_one_value_everywhere(client: Client) -> None:
    client.generic("PROPFIND", "/healthcheck")
    scraped = series(client)
    assert "PROPFIND" not in method_values(scraped)
    latency_methods = {
        dict(labels)["method"]
        for name, labels in scraped
        if name == "django_http_requests_latency_seconds_by_view_method_count"
    }
    assert "<invalid method>" in latency_methods
