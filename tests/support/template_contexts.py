"""`response.context` for the Jinja2 pages, as Django's test runner gives it for its own engine.

Django instruments only its own template engine in tests (each render sends
`template_rendered`, which the test client records as `response.context`); this does the same
for the Jinja2 backend of the console, so the page tests can read the context a page rendered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.template.backends import jinja2 as jinja2_backend
from django.test.signals import template_rendered


@pytest.fixture(autouse=True, scope="session")
def jinja_template_contexts() -> Iterator[None]:
    render = jinja2_backend.Template.render

    def instrumented_render(self: Any, context: dict[str, Any] | None = None, request: Any = None) -> str:
        context = {} if context is None else context
        html: str = render(self, context, request)  # fills `context` with request, csrf and processors
        template_rendered.send(sender=self, template=self.template, context=context)
        return html

    jinja2_backend.Template.render = instrumented_render  # type: ignore[method-assign]
    yield
    jinja2_backend.Template.render = render  # type: ignore[method-assign]
