"""Zoom-and-verify maps the refined point back from the crop; draw_action marks the action."""

from __future__ import annotations

import json

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from PIL import Image

from vlkit.vision import FAMILIES
from vlkit.tools.gui._actions import DragAction, PointAction, TypeAction
from vlkit.tools.gui._coordinates import ScreenGeometry
from vlkit.tools.gui.draw import draw_action
from vlkit.tools.gui._planner import GUIActionPlanner
from vlkit.tools.gui._zoom import crop_box


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
    planner = GUIActionPlanner(model=model, family="qwen2_5_vl", max_pixels=budget[1], zoom=3.0)
    action = planner.plan(screen, "Click the small link")
    assert isinstance(action, PointAction)
    assert target[0] <= action.x < target[2] and target[1] <= action.y < target[3]
    assert "[zoom]" in action.raw
    unzoomed = GUIActionPlanner(model=FakeMessagesListChatModel(responses=[_call(*full.to_model(*rough))]),
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


def _phone() -> Image.Image:
    """A 1080 x 2400 phone screen: status bar and blue app header on top, a text field, a button."""
    from PIL import ImageDraw

    screen = Image.new("RGB", (1080, 2400), (245, 245, 245))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 1080, 260), fill=(40, 90, 200))
    draw.rectangle((60, 400, 1020, 520), fill="white", outline=(120, 120, 120), width=3)
    draw.rectangle((60, 820, 1020, 940), fill=(40, 90, 200))
    return screen


def _changed(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int] | None:
    from PIL import ImageChops

    return ImageChops.difference(before, after).getbbox()


def test_a_long_type_label_stays_inside_the_phone_screen_and_off_its_header() -> None:
    screen = _phone()
    text = "alice.wonderland@example.com and then a rather long note that a phone screen cannot hold on one line"
    typed = draw_action(screen, TypeAction(kind="type", text=text, thought="The email field has the focus."))
    x0, y0, x1, y1 = _changed(screen, typed)
    assert _changed(screen.crop((0, 0, 1080, 260)), typed.crop((0, 0, 1080, 260))) is None  # header untouched
    assert x0 > 0 and x1 < screen.width and y1 < screen.height  # wrapped: it does not run off the screen
    assert y1 - y0 >= 3 * 30  # three lines of text at least 30 px apart: readable at 100 %


def test_a_point_label_sits_beside_the_point_inside_the_screen() -> None:
    screen = _phone()
    tap = PointAction(kind="left_click", x=1000, y=460, thought="Tap the email field at its right end to focus it.")
    drawn = draw_action(screen, tap)
    x0, y0, x1, y1 = _changed(screen, drawn)
    assert x1 < screen.width and 260 <= y0 and y1 < 600  # ring and label together next to the point, on screen
    ring = drawn.getpixel((1000, 460))
    assert ring[0] > ring[1] + 60  # the point itself stays visible (red), not under the label
