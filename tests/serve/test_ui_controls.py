"""The chat tab's controls in a real headless Chromium against the session's `vlkit serve` (issue 25.5):
Stop is only live while an answer is generated and marks what it stopped, the stats line shows once,
the invoice table has real headers, "Max tokens" cannot go past the room the prompt leaves, and a prompt
that does not fit names the UI's own "Visual budget" control with a value that fits."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.serve.conftest import API_KEY, MODEL_NAME, Server, png_bytes
from tests.serve.ui_browser import screenshot

pytestmark = [pytest.mark.server, pytest.mark.browser, pytest.mark.slow]

BOT = "#vlkit-chat [data-testid='bot']"


def set_slider(page, elem_id: str, value: int) -> None:
    number = page.locator(f"#{elem_id} input[type=number]")
    number.fill(str(value))
    number.press("Enter")
    page.wait_for_function(f"document.querySelector('#{elem_id} input[type=range]').value == '{value}'")


def send(page, text: str) -> None:
    box = page.locator("#vlkit-input textarea")
    box.fill(text)
    box.press("Enter")


def slider_max(page, elem_id: str) -> int:
    return int(page.locator(f"#{elem_id} input[type=range]").get_attribute("max"))


def is_red(page, selector: str) -> bool:
    colour = page.locator(selector).evaluate("e => getComputedStyle(e).backgroundColor")
    r, g, b = (int(x) for x in re.findall(r"\d+", colour)[:3])
    return r > 150 and g < 110 and b < 110


def wait_idle(page) -> None:
    """Until Stop is disabled and grey (its colour changes with a CSS transition)."""
    page.wait_for_function("""(() => {
        const stop = document.querySelector('#vlkit-stop');
        const rgb = getComputedStyle(stop).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number);
        return stop.disabled && !stop.classList.contains('stop') && Math.max(...rgb) - Math.min(...rgb) < 20;
    })()""")


def test_stop_is_live_only_while_generating_and_marks_the_stopped_answer(ui_page, server: Server, tmp_path: Path) -> None:
    page = ui_page
    stop = page.locator("#vlkit-stop")
    assert stop.is_disabled() and not is_red(page, "#vlkit-stop")  # idle: nothing to stop, not an alarm
    wait_idle(page)
    cancelled = server.metric("vlkit_generations_cancelled_total")
    set_slider(page, "vlkit-max-tokens", 3000)
    send(page, "Write a long story.")
    page.wait_for_function(f"(document.querySelector(`{BOT}:last-of-type`)?.innerText || '').length > 20")
    assert stop.is_enabled() and is_red(page, "#vlkit-stop")  # generating: Stop is the thing to press
    screenshot(page, "generating", tmp_path)
    stop.click()
    page.wait_for_function(f"[...document.querySelectorAll(`{BOT}`)].pop()?.innerText.includes('stopped')")
    answer = page.locator(BOT).last.inner_text()
    assert answer.split("stopped")[0].strip(" \n⏹")  # the text generated so far is kept, marked as stopped
    wait_idle(page)
    assert "stopped after" in page.locator("#vlkit-stats").inner_text()
    assert page.get_by_text("Error", exact=True).count() == 0  # no output of the cancelled event shows as failed
    deadline = time.monotonic() + 30
    while server.metric("vlkit_generations_cancelled_total") < cancelled + 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.metric("vlkit_generations_cancelled_total") == cancelled + 1  # the model stopped too
    screenshot(page, "stopped", tmp_path)


def test_stats_show_once_and_the_empty_invoice_table_has_headers(ui_page, tmp_path: Path) -> None:
    page = ui_page
    headers = [h.strip() for h in page.locator("#vlkit-invoice th").all_inner_texts()]
    assert headers[:3] == ["field", "value", "check"], headers
    send(page, "Hello")
    page.wait_for_function("document.querySelector('#vlkit-stats')?.innerText.includes('tokens/s')")
    wait_idle(page)
    assert page.evaluate("document.body.innerText.split('tokens/s').length - 1") == 1
    assert "tokens/s" not in page.locator(BOT).last.inner_text()
    screenshot(page, "answered", tmp_path)


def prompt_tokens(server: Server, system: str, text: str) -> int:
    """What the API counts for the UI's messages (a 1-token answer)."""
    body = {"model": MODEL_NAME, "max_tokens": 1, "messages": [{"role": "system", "content": system},
            {"role": "user", "content": [{"type": "text", "text": text}]}]}  # fmt: skip
    response = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=120,
                          headers={"Authorization": f"Bearer {API_KEY}"})  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()["usage"]["prompt_tokens"]


def test_max_tokens_cannot_exceed_the_room_the_prompt_leaves(ui_page, server: Server) -> None:
    page = ui_page
    context = int(server.metric("vlkit_context_tokens"))
    system = page.locator("#vlkit-system textarea").input_value()
    page.locator("#vlkit-input textarea").fill("Hello")
    short = context - prompt_tokens(server, system, "Hello")
    page.wait_for_function(f"document.querySelector('#vlkit-max-tokens input[type=range]').max == '{short}'")
    set_slider(page, "vlkit-max-tokens", short)
    long = " ".join(f"word{i}" for i in range(400))
    page.locator("#vlkit-input textarea").fill(long)
    left = context - prompt_tokens(server, system, long)
    assert left < short - 400
    page.wait_for_function(f"document.querySelector('#vlkit-max-tokens input[type=range]').max == '{left}'")
    assert int(page.locator("#vlkit-max-tokens input[type=range]").input_value()) == left  # pulled down with it
    assert f"up to {left}" in page.locator("#vlkit-max-tokens").inner_text()  # and it says why


def test_images_that_do_not_fit_name_the_visual_budget_with_a_value_that_fits(ui_page, tmp_path: Path) -> None:
    page = ui_page
    paths = []
    for i in range(2):
        path = tmp_path / f"scan{i}.png"
        path.write_bytes(png_bytes((1400, 1400)))
        paths.append(str(path))
    set_slider(page, "vlkit-visual", 2500)  # each image then costs 2500 of the 4096 tokens
    page.locator("#vlkit-input input[type=file]").set_input_files(paths)
    page.wait_for_function("document.querySelectorAll('#vlkit-input img, #vlkit-input .thumbnail-item').length >= 2")
    send(page, "Compare the two scans.")
    page.wait_for_function(f"[...document.querySelectorAll(`{BOT}`)].pop()?.innerText.includes('Visual budget')")
    message = page.locator(BOT).last.inner_text()
    wait_idle(page)
    screenshot(page, "visual-budget-error", tmp_path)
    assert "max_pixels" not in message and "the text alone" not in message
    fit = int(re.search(r'"Visual budget" to (\d+)', message).group(1))
    assert 4 <= fit < 2500
    set_slider(page, "vlkit-visual", fit)  # what the message says fits, does
    page.locator("#vlkit-regenerate").click()
    page.wait_for_function("document.querySelector('#vlkit-stats')?.innerText.includes('tokens/s')")
