"""Zoom-and-verify maps the refined point back from the crop; draw_action marks the action."""

from __future__ import annotations

import json

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from PIL import Image

from vlkit.models.families import FAMILIES
from vlkit.tools.gui.actions import DragAction, PointAction, TypeAction
from vlkit.tools.gui.coordinates import ScreenGeometry
from vlkit.tools.gui.draw import draw_action
from vlkit.tools.gui.planner import GUIActionPlanner
from vlkit.tools.gui.zoom import crop_box


def _call(x: int, y: int) -> AIMessage:
    return AIMessage(content="<tool_call>\n" + json.dumps({"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [x, y]}}) + "\n</tool_call>")


def test_zoom_refines_the_point_inside_the_crop() -> None:
    screen = Image.new("RGB", (1366, 768), "white")
    target = (1000, 600, 1040, 620)  # 40x20 px: under a 64-token budget, 1.2 x 0.6 model pixels
    spec = FAMILIES["qwen2_5_vl"]
    budget = (spec.min_pixels, 64 * 28 * 28)
    full = ScreenGeometry.for_family(spec, screen.size, budget)
    rough = (900, 560)
    box = crop_box(screen.size, rough, 3.0)
    crop = ScreenGeometry.for_family(spec, (box[2] - box[0], box[3] - box[1]), budget)
    centre = ((target[0] + target[2]) / 2 - box[0], (target[1] + target[3]) / 2 - box[1])
    model = FakeMessagesListChatModel(responses=[_call(*full.to_model(*rough)), _call(*crop.to_model(*centre))])
    planner = GUIActionPlanner(llm=model, family="qwen2_5_vl", max_pixels=budget[1], zoom=3.0)
    action = planner.plan(screen, "Click the small link")
    assert isinstance(action, PointAction)
    assert target[0] <= action.x < target[2] and target[1] <= action.y < target[3]
    assert "[zoom]" in action.raw
    unzoomed = GUIActionPlanner(llm=FakeMessagesListChatModel(responses=[_call(*full.to_model(*rough))]),
                                family="qwen2_5_vl", max_pixels=budget[1]).plan(screen, "Click the small link")  # fmt: skip
    assert not (target[0] <= unzoomed.x < target[2])  # the refinement is what put it inside


def test_draw_action_marks_point_drag_and_text() -> None:
    screen = Image.new("RGB", (640, 400), "white")
    click = draw_action(screen, PointAction(kind="left_click", x=320, y=200))
    assert click.size == screen.size and click.getpixel((320, 200)) != (255, 255, 255)
    assert click.getpixel((10, 390)) == (255, 255, 255)  # only near the point
    drag = draw_action(screen, DragAction(kind="swipe", x=100, y=300, x2=500, y2=100))
    assert drag.getpixel((300, 200)) != (255, 255, 255)  # on the arrow between the two points
    typed = draw_action(screen, TypeAction(kind="type", text="hello"))
    assert typed.getbbox() is not None and typed.tobytes() != screen.tobytes()
    assert screen.getpixel((320, 200)) == (255, 255, 255)  # the original is untouched
