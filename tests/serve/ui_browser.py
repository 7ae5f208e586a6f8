"""Opening the web UI of the session's `vlkit serve` in a real headless Chromium (shared by the UI tests)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.serve.conftest import Server

__all__ = ["screenshot", "ui_page"]


@pytest.fixture
def ui_page(server: Server) -> Iterator[Any]:
    """A logged-in page on the UI of ``server`` (a fixture of ``tests/serve/conftest.py``)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from vlkit.tools.render import chromium_launch_options

    from tests.serve.conftest import API_KEY

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(**chromium_launch_options())
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(90_000)
        page.goto(server.url + "/")
        page.wait_for_selector("input[type=password], #vlkit-input")
        password = page.locator("input[type=password]")
        if password.count():  # the server runs with --api-key: the UI asks for it
            page.locator("input").first.fill("user")
            password.fill(API_KEY)
            page.get_by_role("button", name="Login").click()
        page.wait_for_selector("#vlkit-input")
        yield page
        browser.close()


def screenshot(page: Any, name: str, tmp_path: Path, **options: Any) -> Path:
    """Save a screenshot as ``ui-NAME.png`` in ``$VLKIT_UI_SCREENSHOTS`` (for a person to look at), else
    in ``tmp_path``."""
    folder = Path(os.environ.get("VLKIT_UI_SCREENSHOTS") or tmp_path)
    path = folder / f"ui-{name}.png"
    page.screenshot(path=str(path), **options)
    return path
