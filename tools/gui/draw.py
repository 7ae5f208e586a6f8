"""``draw_action``: the planned action marked on the screenshot, to check a plan by eye."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from vlkit.tools.gui.actions import Action, DragAction

__all__ = ["draw_action"]

_COLOR = (230, 30, 60)
_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


@cache
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in _FONT_CANDIDATES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def draw_action(screenshot: Image.Image, action: Action, *, box: tuple[int, int, int, int] | None = None) -> Image.Image:
    """A copy of ``screenshot`` with ``action`` drawn: a ring and cross-hair at the point, an arrow for a
    drag or swipe, the typed text / keys / scroll as a label. ``box`` (e.g. an eval target) is outlined.
    """
    image = screenshot.convert("RGB").copy()
    draw = ImageDraw.Draw(image, "RGBA")
    side = min(image.size)
    radius = max(6, side // 40)
    width = max(2, side // 300)
    font = _font(max(12, side // 45))
    if box is not None:
        draw.rectangle(box, outline=(20, 160, 60, 255), width=width)
    label = action.describe()
    anchor = action.point
    if isinstance(action, DragAction) and action.start is not None:
        _arrow(draw, action.start, action.point, _COLOR, width, radius)
    if anchor is not None:
        x, y = anchor
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], outline=_COLOR + (255,), width=width, fill=_COLOR + (60,))
        draw.line([x - 2 * radius, y, x + 2 * radius, y], fill=_COLOR + (255,), width=max(1, width // 2))
        draw.line([x, y - 2 * radius, x, y + 2 * radius], fill=_COLOR + (255,), width=max(1, width // 2))
    if action.thought:
        label += "  — " + action.thought[:80]
    position = (anchor[0] + 2 * radius, max(4, anchor[1] - radius)) if anchor else (radius, radius)
    text_box = draw.textbbox(position, label, font=font)
    if text_box[2] > image.width:  # keep the label on screen
        shift = text_box[2] - image.width + radius
        position = (max(0, position[0] - shift), position[1])
        text_box = draw.textbbox(position, label, font=font)
    draw.rectangle([text_box[0] - 4, text_box[1] - 3, text_box[2] + 4, text_box[3] + 3], fill=(255, 255, 255, 220))
    draw.text(position, label, fill=_COLOR + (255,), font=font)
    return image


def _arrow(draw: ImageDraw.ImageDraw, start: tuple[int, int], end: tuple[int, int], color: tuple, width: int, head: int) -> None:
    draw.line([start, end], fill=color + (255,), width=width)
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    for side in (-0.5, 0.5):
        tip = (end[0] - head * 1.6 * math.cos(angle + side), end[1] - head * 1.6 * math.sin(angle + side))
        draw.line([end, tip], fill=color + (255,), width=width)
    draw.ellipse([start[0] - head / 2, start[1] - head / 2, start[0] + head / 2, start[1] + head / 2], outline=color + (255,), width=width)
