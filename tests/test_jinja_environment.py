"""The Jinja2 environment of the pages: escaping as Django's, and the cache of compiled templates."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from jinja2 import DictLoader
from markupsafe import Markup

from foundation.web.jinja_environment import CompiledTemplates, environment

TEMPLATE = "{{ text }} {{ number }} {{ html }} {{ missing.chain.of.names }}|"


def render(bytecode_cache: Any) -> str:
    env = environment(loader=DictLoader({"page.html": TEMPLATE}), bytecode_cache=bytecode_cache)
    return env.get_template("page.html").render(text='It\'s "<b>" & co', number=7, html=Markup("<i>x</i>"))


def test_values_are_escaped_as_django_escapes_them_and_a_missing_name_is_nothing() -> None:
    assert render(None) == "It&#x27;s &quot;&lt;b&gt;&quot; &amp; co 7 <i>x</i> |"


def test_a_second_process_loads_the_compiled_template_instead_of_compiling_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = environment(loader=DictLoader({"page.html": TEMPLATE}), bytecode_cache=CompiledTemplates(str(tmp_path)))
    first.get_template("page.html")
    assert len(list(tmp_path.iterdir())) == 1
    second = environment(loader=DictLoader({"page.html": TEMPLATE}), bytecode_cache=CompiledTemplates(str(tmp_path)))

    def no_compile(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(second, "compile", no_compile)
    rendered = second.get_template("page.html").render(text="a", number=1, html="")
    assert rendered == "a 1  |"


def test_a_cache_that_cannot_be_written_only_costs_a_compile(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    with caplog.at_level(logging.WARNING, logger="foundation.web.jinja_environment"):
        assert render(CompiledTemplates(str(not_a_folder))) == render(None)
    assert "compiled template" in caplog.text
    assert "not kept" in caplog.text
