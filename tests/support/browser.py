"""The browser tests' fixtures: the console served over HTTP, a page of Debian's headless Chromium.

Registered for every test module by tests/conftest.py (`pytest_plugins`). The app is served by
Django's threaded WSGI server inside the test process (so the per-test databases of
`settings.ADMIN` apply) on 127.0.0.1, and driven by Playwright with Debian's chromium (never a
browser downloaded by Playwright). Screenshots go to the test's tmp dir, or into
$SCREENSHOTS_DIR when set (`make screenshots` refreshes docs/screenshots/ for the README).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPOSITORY = Path(__file__).resolve().parent.parent.parent
VIEWPORT_WIDTH = 1280

BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM} (make unit installs Debian's chromium)"
    ),
]
"""The `pytestmark` of a module of browser tests."""


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def console_url() -> Iterator[str]:
    """The console served over HTTP on 127.0.0.1 from a thread of this process."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    """A page of a fresh headless Chromium profile (never `playwright install`: Debian's build)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": VIEWPORT_WIDTH, "height": 900},
        )
        context.set_default_timeout(15_000)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """$SCREENSHOTS_DIR (relative to the repository) when set, else a folder of the test's tmp dir."""
    configured = os.environ.get("SCREENSHOTS_DIR")
    folder = REPOSITORY / configured if configured else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def assert_fits_the_window(page: Any) -> None:
    """No sideways scrolling: wide tables scroll in their own box, long values wrap.

    Neither the page nor `main` (the last-resort scroll box, see console.css) is wider than the window.
    """
    widths = page.evaluate(
        "({page: document.documentElement.scrollWidth, window: window.innerWidth,"
        " main: document.querySelector('main').scrollWidth, mainBox: document.querySelector('main').clientWidth})"
    )
    assert widths["window"] == VIEWPORT_WIDTH
    assert widths["page"] <= widths["window"], (page.url, widths)
    assert widths["main"] <= widths["mainBox"], (page.url, widths)
