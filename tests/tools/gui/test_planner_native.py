"""Each family's native answer for a target's centre → an Action inside the target box, in the original
screenshot's pixels, over Chromium-rendered pages at four viewports and several budgets.

The model is scripted (control flow only): it reads the image it was sent and the resolution it was told,
and answers the way that family writes coordinates. A planner that sent the wrong size, told the wrong
resolution or converted with the wrong convention misses the box.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from vlkit.vision import FAMILIES
from vlkit.tools.gui._actions import PointAction
from vlkit.tools.gui.evalset import load_items
from vlkit.tools.gui._planner import GUIActionPlanner

pytestmark = pytest.mark.browser

BUDGET_TOKENS = [None, 64, 1280]
"""None: the default (CPU) budget of the family."""


@pytest.mark.parametrize("tokens", BUDGET_TOKENS, ids=lambda t: f"budget-{t or 'default'}")
@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_native_answers_land_inside_the_target(family: str, tokens: int | None, evalset: Path, native_model: type) -> None:
    spec = FAMILIES[family]
    items = load_items(evalset)
    assert {i.viewport for i in items} == {"desktop-1920", "desktop-1366", "mobile-412", "tall-1366"}
    items = items[::2] if tokens is None else items[1::5]  # every viewport, fewer items at the extra budgets
    model = native_model(family=family)
    max_pixels = tokens * spec.factor**2 if tokens else None
    planners = {d: GUIActionPlanner(model=model, family=family, device=d, max_pixels=max_pixels) for d in ("desktop", "mobile")}
    images: dict[str, Image.Image] = {}
    misses = []
    for item in items:
        image = images.setdefault(item.image, Image.open(evalset / item.image).convert("RGB"))
        left, top, right, bottom = item.box
        model.target = (left / image.width, top / image.height, right / image.width, bottom / image.height)
        planner = planners[item.device]
        action = planner.plan(image, item.instruction)
        assert isinstance(action, PointAction)
        assert action.kind == ("click" if item.device == "mobile" else "left_click")
        geometry = planner.geometry(image.size)
        seen = model.seen[-1]
        assert seen["image_size"] == geometry.model_size  # resized here, so the backend's resize is a no-op
        if family == "qwen2_5_vl":
            assert seen["told"] == geometry.model_size  # told the size it sees
        elif family == "qwen3_vl":
            assert seen["told"] == (1000, 1000)
        if not item.contains(action.point):
            misses.append((item.viewport, item.instruction, item.box, action.point, geometry.model_size))
    assert not misses, misses


def test_qwen3_divisor_999_is_a_setting(evalset: Path, native_model: type) -> None:
    item = next(i for i in load_items(evalset) if i.viewport == "mobile-412" and i.element == "button")
    image = Image.open(evalset / item.image).convert("RGB")
    model = native_model(family="qwen3_vl")
    left, top, right, bottom = item.box
    model.target = (left / image.width, top / image.height, right / image.width, bottom / image.height)
    planner = GUIActionPlanner(model=model, family="qwen3_vl", device="mobile", relative_divisor=999)
    action = planner.plan(image, item.instruction)
    assert model.seen[-1]["told"] == (999, 999)
    assert item.contains(action.point)
    assert '"name": "mobile_use"' in model.seen[-1]["text"] and "swipe" in model.seen[-1]["text"]


def test_history_goes_into_the_prompt_as_steps(native_model: type) -> None:
    model = native_model(family="qwen2_5_vl", target=(0.4, 0.4, 0.6, 0.6))
    planner = GUIActionPlanner(model=model, family="qwen2_5_vl")
    first = planner.plan(Image.new("RGB", (1280, 800), "white"), "Open the menu")
    planner.plan(Image.new("RGB", (1280, 800), "white"), "Open the menu", history=["Opened the browser.", first])
    text = model.seen[-1]["text"]
    assert "The user query: Open the menu" in text
    assert f"Step 1: Opened the browser.; Step 2: left_click at ({first.x}, {first.y});" in text
    assert first.thought == "I will click the target." and '"coordinate"' in first.raw
