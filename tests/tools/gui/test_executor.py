"""The Playwright executor really acts on a live local page (JS on, the page records clicks), in CSS
pixels from screenshot pixels at device-pixel ratio 1 and 2 and on full-page captures."""

from __future__ import annotations

import pytest

from vlkit.errors import MissingExtraError
from vlkit.tools.gui._actions import DragAction, KeyAction, PointAction, ScrollAction, TypeAction
from vlkit.tools.gui._executor import PageExecutor, playwright_key
from vlkit.tools.gui._policy import ActionPolicy

pytestmark = pytest.mark.browser

QUIET = ActionPolicy(detect_injection=False)


def _centre_px(page, selector: str, full_page: bool = False) -> tuple[int, int]:
    """The element's centre in screenshot pixels (CSS box × devicePixelRatio), from the DOM."""
    box = page.run(
        lambda p: p.evaluate(
            """([sel, full]) => { const r = document.querySelector(sel).getBoundingClientRect();
                 const dx = full ? window.scrollX : 0, dy = full ? window.scrollY : 0;
                 return [(r.left + r.right) / 2 + dx, (r.top + r.bottom) / 2 + dy, window.devicePixelRatio]; }""",
            [selector, full_page],
        )
    )
    return int(box[0] * box[2]), int(box[1] * box[2])


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_click_type_key_scroll_drag_on_a_live_page(scale: float, click_site, open_page) -> None:
    page = open_page(click_site.url + "/", width=1024, height=700, scale=scale)
    shot = page.screenshot()
    assert shot.size == (int(1024 * scale), int(700 * scale))
    executor = PageExecutor(page, QUIET)
    x, y = _centre_px(page, "#plain")
    result = executor.execute(PointAction(kind="left_click", x=x, y=y))
    assert result.executed
    clicks = page.run(lambda p: p.evaluate("window.clicks"))
    assert [c["id"] for c in clicks] == ["plain"]
    assert abs(clicks[0]["x"] - x / scale) <= 1 and abs(clicks[0]["y"] - y / scale) <= 1  # CSS pixels

    executor.execute(PointAction(kind="left_click", **dict(zip("xy", _centre_px(page, "#user")))))
    assert executor.execute(TypeAction(kind="type", text="ada 你好")).executed
    executor.execute(KeyAction(kind="key", keys=["BackSpace"]))
    assert page.run(lambda p: p.input_value("#user")) == "ada 你"

    executor.execute(PointAction(kind="double_click", x=x, y=y))
    assert [c["id"] for c in page.run(lambda p: p.evaluate("window.clicks"))].count("plain") == 3

    assert executor.execute(ScrollAction(kind="scroll", amount=-400, x=x, y=y)).executed  # negative: down
    page.run(lambda p: p.wait_for_function("window.scrollY > 0"))
    assert page.run(lambda p: p.evaluate("window.scrollY")) >= 300

    page.run(lambda p: p.evaluate("""() => { window.scrollTo(0, 0); window.drag = [];
        document.addEventListener('mousedown', e => window.drag.push(['down', e.clientX, e.clientY]));
        document.addEventListener('mouseup', e => window.drag.push(['up', e.clientX, e.clientY])); }"""))
    executor.execute(DragAction(kind="swipe", x=int(100 * scale), y=int(400 * scale), x2=int(300 * scale), y2=int(450 * scale)))
    drag = page.run(lambda p: p.evaluate("window.drag"))
    assert [d[0] for d in drag] == ["down", "up"]
    assert abs(drag[0][1] - 100) <= 1 and abs(drag[1][1] - 300) <= 1 and abs(drag[1][2] - 450) <= 1


def test_full_page_capture_points_are_scrolled_into_view(click_site, open_page) -> None:
    page = open_page(click_site.url + "/", width=800, height=600, scale=1.0)
    shot = page.screenshot(full_page=True)
    assert shot.height > 1400
    x, y = _centre_px(page, "#deep", full_page=True)
    assert y > 600  # below the fold of the viewport
    result = PageExecutor(page, QUIET, full_page=True).execute(PointAction(kind="left_click", x=x, y=y))
    assert result.executed
    assert [c["id"] for c in page.run(lambda p: p.evaluate("window.clicks"))] == ["deep"]


def test_key_names_map_to_playwright() -> None:
    assert [playwright_key(k) for k in ["ctrl", "Return", "page_down", "a", "F5", "esc", "arrowleft"]] == [
        "Control", "Enter", "PageDown", "a", "F5", "Escape", "ArrowLeft",
    ]  # fmt: skip


def test_the_desktop_executor_needs_the_desktop_extra() -> None:
    import importlib.util

    from vlkit.tools.gui._executor import DesktopExecutor

    if importlib.util.find_spec("pyautogui") is not None:
        pytest.skip("pyautogui is installed here; the missing-extra path cannot be shown")
    with pytest.raises(MissingExtraError, match=r"pip install 'vlkit\[desktop\]'"):
        DesktopExecutor()
