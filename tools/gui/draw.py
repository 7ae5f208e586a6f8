"""``draw_action``: the planned action marked on the screenshot, to check a plan by eye."""

from __future__ import annotations

import math

from PIL import Image, ImageDraw

from vlkit.tools._labels import Label, draw_label, label_font, label_size, wrap
from vlkit.tools.gui._actions import Action, DragAction

__all__ = ["draw_action"]

_COLOR = (230, 30, 60)


def draw_action(screenshot: Image.Image, action: Action, *, box: tuple[int, int, int, int] | None = None) -> Image.Image:
    """A copy of ``screenshot`` with ``action`` drawn: a ring and cross-hair at the point, an arrow for a
    drag or swipe, the typed text / keys / scroll as a label. ``box`` (e.g. an eval target) is outlined.

    The label is wrapped to the screenshot's width and kept inside it: beside the point, off the ring, for
    an action with a point; for one without (type, key, wait, …) along the bottom edge, clear of the app's
    status and title bars.
    """
    image = screenshot.convert("RGB").copy()
    draw = ImageDraw.Draw(image, "RGBA")
    side = min(image.size)
    radius = max(6, side // 40)
    width = max(2, side // 300)
    font = label_font(label_size(image.size))
    if box is not None:
        draw.rectangle(box, outline=(20, 160, 60, 255), width=width)
    anchor = action.point
    marks: list[tuple[int, int, int, int]] = []
    if isinstance(action, DragAction) and action.start is not None:
        _arrow(draw, action.start, action.point, _COLOR, width, radius)
        sx, sy = action.start
        marks.append((sx - radius, sy - radius, sx + radius, sy + radius))
    if anchor is not None:
        x, y = anchor
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], outline=_COLOR + (255,), width=width, fill=_COLOR + (60,))
        draw.line([x - 2 * radius, y, x + 2 * radius, y], fill=_COLOR + (255,), width=max(1, width // 2))
        draw.line([x, y - 2 * radius, x, y + 2 * radius], fill=_COLOR + (255,), width=max(1, width // 2))
        marks.append((x - 2 * radius, y - 2 * radius, x + 2 * radius, y + 2 * radius))
    text = action.describe() + (f"  — {action.thought[:160]}" if action.thought else "")
    room = image.width - 4 * radius
    lines = tuple(wrap(text, font, room if anchor is None else min(room, image.width * 0.6), max_lines=4))
    # Without a point the label sits along the bottom edge, above a strip of ``radius`` px.
    bottom = (2 * radius, image.height - radius, image.width - 2 * radius, image.height - radius)
    target = marks[-1] if anchor is not None else bottom
    draw_label(image, Label(lines, _COLOR, target), font, avoid=marks + ([box] if box else []))
    return image


def _arrow(draw: ImageDraw.ImageDraw, start: tuple[int, int], end: tuple[int, int], color: tuple, width: int, head: int) -> None:
    draw.line([start, end], fill=color + (255,), width=width)
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    for side in (-0.5, 0.5):
        tip = (end[0] - head * 1.6 * math.cos(angle + side), end[1] - head * 1.6 * math.sin(angle + side))
        draw.line([end, tip], fill=color + (255,), width=width)
    draw.ellipse([start[0] - head / 2, start[1] - head / 2, start[0] + head / 2, start[1] + head / 2], outline=color + (255,), width=width)
