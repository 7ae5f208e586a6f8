"""The refinement loop's control flow with a scripted chat model; rendering and scoring are real."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from langchain_core.messages import ToolMessage

from vlkit.errors import ModelOutputError, UnsupportedModelError
from vlkit.tools.html import HTMLResult, ScreenshotToHTML
from vlkit.tools.html.heatmap import LEGEND

pytestmark = pytest.mark.browser


def _fenced(html: str) -> str:
    return f"Here is the page.\n```html\n{html}\n```\nDone."


def test_keeps_the_better_round_and_stops_when_a_round_does_not_improve(
    scripted, landing_png, pages, edits, prompt_text, prompt_images
) -> None:
    worse, better = dict(edits)["delete"].strip(), dict(edits)["colour"].strip()
    model = scripted([_fenced(worse), _fenced(better), _fenced(worse), _fenced(better)])
    seen = []
    result = ScreenshotToHTML(model=model, family="qwen2_vl", target=0.999).convert(
        landing_png, rounds=4, on_round=seen.append
    )
    # round 3 was worse than round 2, so the loop stopped there: the 4th answer was never asked for
    assert len(model.calls) == 3 and [r.index for r in seen] == [0, 1, 2]
    assert result.best_round == 1 and result.html == better
    totals = [r.total for r in result.rounds]
    assert totals[1] > totals[0] and totals[2] <= totals[1]
    assert result.score is result.rounds[1].score and result.render.size == (1280, 800)
    assert result.png.startswith(b"\x89PNG")
    # the draft shows the screenshot; each revision shows screenshot + render and the diff in words
    assert prompt_images(model.calls[0]) == 1 and "1280×800" in prompt_text(model.calls[0])
    revision = prompt_text(model.calls[1])
    assert prompt_images(model.calls[1]) == 2
    assert "missing text 'Docs' at top-right" in revision
    assert "too low" in revision and worse in revision  # moved blocks, and the HTML being corrected
    assert "#cc3333, should be #3366cc" in prompt_text(model.calls[2])
    side = result.side_by_side()
    assert side.width > 3 * 1280 and side.height >= 800
    legend = np.asarray(side.crop((0, side.height - 80, side.width, side.height)))
    assert all((legend == colour).all(axis=2).any() for _, colour, _ in LEGEND)  # the heat-map's legend, under it


def test_stops_at_the_target(scripted, landing_png, pages) -> None:
    model = scripted([_fenced(pages["landing"]), _fenced("<html><body>never asked</body></html>")])
    result = ScreenshotToHTML(model=model, family="qwen2_vl").convert(landing_png, rounds=3)
    assert len(model.calls) == 1 and result.score.total >= 0.99


def test_an_answer_without_a_document_is_fed_back(scripted, landing_png, pages, prompt_text) -> None:
    model = scripted(["I think this is a landing page for a cloud product.", _fenced(pages["landing"])])
    result = ScreenshotToHTML(model=model, family="qwen2_vl").convert(landing_png, rounds=3)
    assert result.best_round == 1 and result.rounds[0].error and "no HTML document" in result.rounds[0].error
    second = model.calls[1]
    assert "no HTML document" in prompt_text(second)
    assert second[-2].content == "I think this is a landing page for a cloud product."  # its own answer, kept


def test_a_page_that_cannot_render_is_fed_back(scripted, landing_png, pages, prompt_text) -> None:
    too_big = "<!DOCTYPE html><html><body>" + "x" * 2_100_000 + "</body></html>"
    model = scripted([too_big, _fenced(pages["landing"])])
    result = ScreenshotToHTML(model=model, family="qwen2_vl").convert(landing_png, rounds=2)
    assert "limit" in (result.rounds[0].error or "") and result.best_round == 1
    assert "could not be rendered" in prompt_text(model.calls[1])


def test_no_usable_round_raises_or_falls_back_to_text(scripted, landing_png) -> None:
    with pytest.raises(ModelOutputError, match="no round gave a usable HTML page"):
        ScreenshotToHTML(model=scripted(["no", "still no"]), family="qwen2_vl").convert(landing_png, rounds=2)
    result = ScreenshotToHTML(model=scripted(["a <b>bold</b> claim"]), family="qwen2_vl").convert(
        landing_png, rounds=1, fallback_to_text=True
    )
    assert result.from_text and "a &lt;b&gt;bold&lt;/b&gt; claim" in result.html
    assert result.render.size == (1280, 800)


def test_as_a_langchain_tool_it_answers_with_html_and_the_result_as_artifact(scripted, landing_png, pages) -> None:
    tool = ScreenshotToHTML(model=scripted([_fenced(pages["login"])]), family="qwen2_vl")
    assert set(tool.args) >= {"screenshot", "instructions", "rounds", "viewport_width", "viewport_height"}
    data_url = "data:image/png;base64," + base64.b64encode(landing_png.read_bytes()).decode()  # path, URL or data URL
    msg = tool.invoke({"type": "tool_call", "id": "c1", "name": tool.name, "args": {"screenshot": data_url, "rounds": 1}})
    assert isinstance(msg, ToolMessage) and isinstance(msg.artifact, HTMLResult)
    assert msg.content.startswith("visual score 0.") and "Welcome back" in msg.content
    assert msg.artifact.score.total < 0.9  # the login page is not the landing page


def test_viewport_renders_a_retina_screenshot_at_device_scale(scripted, chromium, tmp_path, pages) -> None:
    from vlkit.tools.render import render_html

    shot = tmp_path / "retina.png"
    render_html(pages["login"], 640, 400, device_scale_factor=2).save(shot)
    tool = ScreenshotToHTML(model=scripted([_fenced(pages["login"])]), family="qwen2_vl")
    result = tool.convert(shot, rounds=1, viewport=(640, 400))
    assert result.render.size == (1280, 800) and result.score.total >= 0.99


def test_a_model_of_unknown_family_needs_family(scripted, landing_png) -> None:
    with pytest.raises(UnsupportedModelError, match="family="):
        ScreenshotToHTML(model=scripted(["x"])).convert(landing_png)
