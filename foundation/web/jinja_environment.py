"""The Jinja2 environment of the console templates (`TEMPLATES` OPTIONS `environment`).

Jinja2 rather than the Django template language: the dataset page of a big dataset holds
thousands of variables and hundreds of forms, and Django's engine spent most of the request
rendering them (README, "Speed"). The pages give the same HTML as they did with Django's
engine (tests/test_page_golden.py), so the environment keeps its rules:

- autoescape on, and every `{{ value }}` escaped as Django escapes (`&quot;`, `&#x27;`; Jinja's
  own escaping writes `&#34;`, `&#39;`), by `finalize`; HTML marked safe (Markup, SafeString)
  stays as it is;
- a missing variable or attribute renders as nothing, even along a chain (`a.b.c`), as in DTL;
- the whitespace of the templates is kept as written, with their trailing newline.

The filters of `console_tags` and a few of Django's (`pluralize`, `truncatechars`, `urlencode`,
`default_if_none`) are Jinja filters; `url`, `static`, `querystring` (the request's, changed),
`query_string` (of given values) and the inlined stylesheet are globals. Django's backend adds
`request`, `csrf_input` and the context processors (messages, who is logged in).
"""

from __future__ import annotations

import hashlib
import html
import logging
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from django.template import defaultfilters, engines
from django.template.backends.jinja2 import Jinja2
from django.templatetags.static import static
from django.urls import reverse
from jinja2 import ChainableUndefined, Environment, FileSystemBytecodeCache, pass_context
from jinja2.bccache import Bucket
from jinja2.runtime import Context
from markupsafe import Markup

from foundation.web import console_tags, live

logger = logging.getLogger(__name__)


def escaped(value: Any) -> Any:
    """`finalize`: what `{{ value }}` writes is Django's escaping (`django.utils.html.escape`).

    Jinja's autoescape (markupsafe) escapes `&`, `<`, `>` as Django does, the quotes otherwise
    (`&#34;` `&#39;`, Django `&quot;` `&#x27;`): a text with a quote is escaped here, the
    Django way, and marked safe; any other text is left to markupsafe (in C), which writes the
    same as Django for it. Safe HTML (Markup, SafeString) and numbers pass as they are.
    Not as Django: a value that is no text is written as `str()` writes it, where Django's
    templates localized it (a float `1e-07`, Django `0.0000001`; a datetime `2024-06-01
    12:00:00+00:00`, Django `June 1, 2024, noon`); the pages write their dates through `utc`
    and `age`, and the golden pages hold no such float.
    """
    if value.__class__ is not str:
        if value.__class__ is int or hasattr(value, "__html__"):
            return value
        value = str(value)
    if "'" in value or '"' in value:
        return Markup(html.escape(value))  # noqa: S704 (escaped just now)
    return value


def url(name: str, *args: Any) -> str:
    """`{{ url("console-cache-entry", entry.id) }}`: the path of a named route, as `{% url %}`."""
    return reverse(name, args=args or None)


def url_base(name: str) -> str:
    """The path of a route whose last part is its one argument, without it: computed once per page
    for the links of every row (`{{ entry_base }}{{ entry.id }}`), instead of a `reverse` per row."""
    placeholder = "0"
    return reverse(name, args=[placeholder]).removesuffix(placeholder)


def query_string(**params: Any) -> str:
    """`{{ query_string(kind=group.kind, error_code=None) }}`: the query string of the given values, None
    left out, as `urllib.parse.urlencode` writes it (the links a page builds from a row)."""
    return urlencode({name: value for name, value in params.items() if value is not None})


@pass_context
def querystring(context: Context, **changes: Any) -> str:
    """`{{ querystring(page=2, sort=None) }}`: the request's query string changed, as Django's
    `{% querystring %}` writes it (None removes a parameter; "" when nothing is left)."""
    query: QueryDict = context["request"].GET
    params = query.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        elif isinstance(value, Iterable) and not isinstance(value, str):
            params.setlist(key, list(value))
        else:
            params[key] = value
    if not params and not query:
        return ""
    return f"?{params.urlencode()}"


class CompiledTemplates(FileSystemBytecodeCache):
    """Where the compiled templates are kept between processes (Jinja's per-user private temp folder).

    Compiling the 20 templates takes 200-300 ms here, paid by the first load of each page in
    each worker; loaded from this cache, 20 ms for all. Jinja checks each entry against the
    template's source; the file names also hold a digest of this module and of Jinja's version,
    since the compiled code depends on the options set here (autoescape, finalize, ...).
    A cache that cannot be read or written (disk full, folder gone) only costs a compile.
    """

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError as error:
            logger.warning("compiled template %s not read: %s", bucket.key, error)

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as error:
            logger.warning("compiled template %s not kept: %s", bucket.key, error)


def compiled_templates_cache() -> CompiledTemplates | None:
    """The cache of compiled templates, or None (each process compiles) without a private temp folder."""
    fingerprint = hashlib.sha256(Path(__file__).read_bytes() + version("jinja2").encode()).hexdigest()[:16]
    try:
        return CompiledTemplates(pattern=f"console-{fingerprint}-%s.cache")
    except (OSError, RuntimeError) as error:  # RuntimeError: Jinja found the folder unsafe
        logger.warning("templates compiled in each process (no folder for them): %s", error)
        return None


def environment(**options: Any) -> Environment:
    options.update(undefined=ChainableUndefined, finalize=escaped, keep_trailing_newline=True, autoescape=True)
    options.setdefault("bytecode_cache", compiled_templates_cache())
    env = Environment(**options)  # noqa: S701 (autoescape is on, above)
    env.globals.update(
        url=url,
        url_base=url_base,
        static=static,
        querystring=querystring,
        query_string=query_string,
        console_stylesheet=console_tags.console_stylesheet,
        dom_id=console_tags.dom_id,
        is_live_poll=live.is_poll,
        live_seconds=live.LIVE_SECONDS,
    )
    env.filters.update(
        utc=console_tags.utc,
        age=console_tags.age,
        until=console_tags.until,
        or_dash=console_tags.or_dash,
        get_item=console_tags.get_item,
        pretty_json=console_tags.pretty_json,
        is_large=console_tags.is_large,
        pluralize=defaultfilters.pluralize,
        truncatechars=defaultfilters.truncatechars,
        urlencode=defaultfilters.urlencode,
        default_if_none=defaultfilters.default_if_none,
    )
    return env


def load_every_page_template() -> int:
    """Load (compile, or read from the compiled cache) every template of the Jinja2 engines now.

    Called at worker start (`adminsite.asgi`), so that no page's first load in a worker pays for
    its templates: a worker's first `/admin/graph`, which sends no query, took 100-350 ms, then
    15 ms. Returns how many templates were loaded.
    """
    loaded = 0
    for engine in engines.all():
        if isinstance(engine, Jinja2):
            for name in engine.env.list_templates(extensions=("html",)):
                engine.env.get_template(name)
                loaded += 1
    return loaded
