"""The web UI in a real headless Chromium: streamed chat about an uploaded image, and a cited answer
from an uploaded PDF in the documents tab."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.serve.conftest import API_KEY, Server, png_bytes

pytestmark = [pytest.mark.server, pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(server: Server):
    sync_api = pytest.importorskip("playwright.sync_api")
    from vlkit.tools.render import chromium_launch_options

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


def test_chat_streams_an_answer_about_an_uploaded_image(page, tmp_path: Path) -> None:
    image = tmp_path / "receipt.png"
    image.write_bytes(png_bytes())
    page.locator("#vlkit-input input[type=file]").set_input_files(str(image))
    page.wait_for_selector("#vlkit-input img, #vlkit-input .thumbnail-item")
    box = page.locator("#vlkit-input textarea")
    box.fill("What is the total?")
    box.press("Enter")
    bot = page.locator("#vlkit-chat [data-testid='bot']").last
    lengths: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if bot.count():
            lengths.append(len(bot.inner_text()))
            if "tokens/s" in page.locator("#vlkit-stats").inner_text():
                break
        time.sleep(0.05)
    page.wait_for_function("document.querySelector('#vlkit-stats')?.innerText.includes('tokens/s')")
    assert "time to first token" in page.locator("#vlkit-stats").inner_text()  # under the answer, not in it
    growing = sorted(set(n for n in lengths if n > 0))
    assert len(growing) >= 2, lengths  # text appeared piece by piece before the answer was complete
    assert page.locator("#vlkit-chat [data-testid='user'] img").count() >= 1  # the uploaded image is in the history


def test_documents_tab_answers_with_citations_and_page_images(page, tmp_path: Path) -> None:
    fitz = pytest.importorskip("fitz")
    pdf = tmp_path / "manual.pdf"
    doc = fitz.open()
    for text in ["Backups run every six hours and are kept for 30 days.", "Rotate the API key in Settings > Security."]:
        doc.new_page().insert_text((72, 72), text, fontsize=14)
    doc.save(pdf)
    page.get_by_role("tab", name="Documents").click()
    assert "temporary folder" in page.locator("#vlkit-doc-index").inner_text()  # the server names where uploads go
    page.locator("#vlkit-doc-files input[type=file]").set_input_files(str(pdf))
    page.locator("#vlkit-doc-add").click()
    page.wait_for_function("document.querySelector('#vlkit-doc-status')?.innerText.includes('Indexed')", timeout=180_000)
    assert "2 page(s)" in page.locator("#vlkit-doc-status").inner_text()
    page.locator("#vlkit-doc-question textarea").fill("How often do backups run?")
    page.locator("#vlkit-doc-ask").click()
    page.wait_for_function("document.querySelector('#vlkit-doc-sources')?.innerText.includes('[manual.pdf p.')",
                           timeout=180_000)  # fmt: skip
    sources = page.locator("#vlkit-doc-sources").inner_text()
    assert "[manual.pdf p.1]" in sources
    assert page.locator("#vlkit-doc-pages img").count() >= 1
    assert page.locator("#vlkit-doc-answer").inner_text().strip()
