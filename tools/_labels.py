"""Readable labels on the pictures vlkit draws (invoice evidence, GUI plans, the HTML compare picture).

One font (CJK-capable, so Chinese invoice values draw as text, not boxes) scaled to the picture so a
label reads at 100 % zoom; text wrapped to a width; and a placement beside the thing labelled that
stays inside the picture and, where it can, covers no other box or label.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Iterable, Sequence

from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "Label",
    "PlacedLabel",
    "callout_width",
    "draw_callouts",
    "draw_label",
    "draw_text_block",
    "label_font",
    "label_size",
    "spread",
    "wrap",
]

Box = tuple[int, int, int, int]
Colour = tuple[int, int, int]

FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk: Latin and CJK
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
MIN_SIZE = 16
"""Smallest label font, in pixels (capitals about 12 px tall)."""
SIZE_SHARE = 52
"""The font is 1/SIZE_SHARE of the picture's mean side (the square root of its area): an A4 page rendered
at 144 dpi (1190 x 1684 px) gets 27 px text, capitals about 20 px tall; a 1080 x 2400 phone screenshot
31 px, a 1920 x 1080 desktop 28 px."""


def label_size(size: tuple[int, int]) -> int:
    """Font size in pixels for labels on a picture of ``size`` (width, height), readable at 100 %."""
    return max(MIN_SIZE, round((size[0] * size[1]) ** 0.5 / SIZE_SHARE))


@cache
def label_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The label font at ``size`` px: Noto Sans CJK where installed, else DejaVu, else Pillow's own
    scalable font (Latin only)."""
    for path in FONT_FILES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float, max_lines: int = 3) -> list[str]:
    """``text`` broken into lines no wider than ``width`` px: at spaces where there are any, anywhere in
    CJK runs; the last line ends in "…" when the text does not fit in ``max_lines``."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for char in paragraph:
            if font.getlength(line + char) <= width or not line:
                line += char
                continue
            cut = line.rfind(" ")
            if char != " " and cut > len(line) // 3:  # break at the last space, not inside a word
                lines.append(line[:cut])
                line = line[cut + 1 :] + char
            else:
                lines.append(line.rstrip())
                line = char.lstrip()
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines = lines[: max_lines - 1] + [last.rstrip() + "…"]
    return lines


@dataclass(frozen=True)
class Label:
    """Text to draw beside ``target`` (a box in picture pixels), in ``colour``."""

    lines: tuple[str, ...]
    colour: Colour
    target: Box | None = None


@dataclass(frozen=True)
class PlacedLabel:
    """Where a label was drawn: its background ``box``, the bounding box of each text line as drawn, and
    the ``text`` of those lines."""

    box: Box
    lines: tuple[Box, ...]
    target: Box | None
    text: tuple[str, ...] = ()


def _pad(font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> int:
    return max(3, int(getattr(font, "size", MIN_SIZE)) // 4)


def _pitch(font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> int:
    return int(getattr(font, "size", MIN_SIZE) * 1.3)


def _ink(font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> tuple[int, int]:
    """Top and bottom of a line's ink below the draw position (accents and descenders included)."""
    box = font.getbbox("ÅHgjy中")
    return int(box[1]), int(box[3])


def block_size(lines: Sequence[str], font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> tuple[int, int]:
    """Width and height of ``lines`` drawn as one label, background padding included."""
    pad = _pad(font)
    top, bottom = _ink(font)
    width = max((font.getlength(line) for line in lines), default=0)
    return int(width) + 2 * pad, (len(lines) - 1) * _pitch(font) + bottom - top + 2 * pad


def draw_text_block(
    draw: ImageDraw.ImageDraw,
    origin: tuple[int, int],
    lines: Sequence[str],
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    colour: Colour,
    *,
    background: tuple[int, int, int, int] | None = (255, 255, 255, 228),
) -> tuple[Box, tuple[Box, ...]]:
    """Draw ``lines`` with their top-left corner at ``origin`` on a light background with a thin border in
    ``colour``; returns the background box and each line's text bounding box."""
    pad = _pad(font)
    width, height = block_size(lines, font)
    x, y = origin
    box = (x, y, x + width, y + height)
    if background is not None:
        draw.rectangle(box, fill=background, outline=colour + (255,), width=max(1, pad // 4))
    drawn = []
    top = _ink(font)[0]
    for i, line in enumerate(lines):
        at = (x + pad, y + pad + i * _pitch(font) - top)
        draw.text(at, line, fill=colour + (255,), font=font)
        drawn.append(tuple(int(v) for v in draw.textbbox(at, line, font=font)))
    return box, tuple(drawn)  # type: ignore[return-value]


def _overlap(a: Box, b: Box) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def _candidates(target: Box, size: tuple[int, int], gap: int) -> Iterable[tuple[int, int]]:
    """Top-left corners beside ``target``, best first: above and below (left- then right-aligned), right,
    left, then further above and below for a crowded row."""
    x0, y0, x1, y1 = target
    w, h = size
    middle = (y0 + y1) // 2 - h // 2
    yield x0, y0 - gap - h
    yield x0, y1 + gap
    yield x1 - w, y0 - gap - h
    yield x1 - w, y1 + gap
    yield x1 + gap, middle
    yield x0 - gap - w, middle
    for k in (1, 2, 3):
        yield x0, y0 - gap - h - k * (h + gap)
        yield x0, y1 + gap + k * (h + gap)


def place(
    size: tuple[int, int], target: Box, picture: tuple[int, int], avoid: Sequence[Box], placed: Sequence[Box]
) -> Box:
    """The box for a label of ``size`` beside ``target``, kept inside ``picture`` (width, height): the first
    candidate that covers nothing, else the one that covers least (other labels count three times,
    ``target`` itself four)."""
    w, h = size
    margin = 4
    gap = max(2, h // 8)
    best: tuple[float, Box] | None = None
    for x, y in _candidates(target, size, gap):
        x = min(max(margin, x), max(margin, picture[0] - margin - w))
        y = min(max(margin, y), max(margin, picture[1] - margin - h))
        box = (x, y, x + w, y + h)
        cost = 4 * _overlap(box, target) + sum(_overlap(box, other) for other in avoid if other != target)
        cost += 3 * sum(_overlap(box, other) for other in placed)
        if cost == 0:
            return box
        if best is None or cost < best[0]:
            best = (cost, box)
    assert best is not None
    return best[1]


def draw_label(
    image: Image.Image,
    label: Label,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    *,
    avoid: Sequence[Box] = (),
) -> PlacedLabel:
    """Draw one label beside its target on ``image`` (in place), kept inside it and off the ``avoid`` boxes
    where it can be; a label without a target goes to the bottom-left corner."""
    size = block_size(label.lines, font)
    target = label.target or (0, image.height, size[0], image.height)
    box = place(size, target, image.size, avoid, [])
    draw = ImageDraw.Draw(image, "RGBA")
    background, lines = draw_text_block(draw, (box[0], box[1]), label.lines, font, label.colour)
    return PlacedLabel(background, lines, label.target, tuple(label.lines))


def spread(wanted: Sequence[float], heights: Sequence[int], top: int, gap: int) -> list[int]:
    """Tops for blocks of ``heights``, in order, as near their ``wanted`` tops as they can be without
    overlapping and not above ``top``: blocks that would collide form a run centred where its members want
    to be (a crowd spreads up and down, not only down). The last block may end below the picture."""
    runs: list[list[int]] = []  # [first index, last index, top]
    offsets: list[float] = []  # each block's offset from the top of its run
    for i, (want, height) in enumerate(zip(wanted, heights)):
        runs.append([i, i, max(top, int(want))])
        offsets.append(0)
        while len(runs) > 1:
            first, last, run_top = runs[-2]
            bottom = run_top + offsets[last] + heights[last] + gap
            if bottom <= runs[-1][2]:
                break
            start = offsets[last] + heights[last] + gap
            for j in range(runs[-1][0], runs[-1][1] + 1):
                offsets[j] += start
            members = range(first, runs[-1][1] + 1)
            centred = sum(wanted[j] - offsets[j] for j in members) / len(members)
            runs[-2:] = [[first, runs[-1][1], max(top, int(centred))]]
    tops = [0] * len(heights)
    for first, last, run_top in runs:
        for j in range(first, last + 1):
            tops[j] = int(run_top + offsets[j])
    return tops


def _quiet_row(ink: Any, target: Box, gap: int) -> int:
    """The row near ``target`` (its own rows, or a few above or below) along which a line from its right
    edge to the picture's right edge crosses the least ink: the white space between text lines."""
    import numpy as np

    x0, y0, x1, y1 = target
    middle = (y0 + y1) // 2
    rows = np.arange(max(0, y0 - 3 * gap), min(ink.shape[0], y1 + 3 * gap + 1))
    if rows.size == 0:
        return min(max(middle, 0), ink.shape[0] - 1)
    cost = ink[rows, min(x1 + gap, ink.shape[1] - 1) :].sum(axis=1) * 4 + np.abs(rows - middle)
    return int(rows[int(cost.argmin())])


GUTTER_SHARE = 0.1
"""Share of a callout panel left between the picture and the labels for the lines to fan out in."""


def callout_width(panel: int, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> int:
    """How wide a label's text may be to fit a callout panel ``panel`` px wide."""
    return int(panel * (1 - GUTTER_SHARE)) - 2 * _pad(font) - 8


def draw_callouts(
    image: Image.Image,
    labels: Sequence[Label],
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    panel: int,
) -> tuple[Image.Image, list[PlacedLabel]]:
    """``image`` widened by a ``panel`` px column on the right holding the labels, each at the height of
    its target and joined to it by a line: labels never cover the picture, each other or any box.

    Labels keep their targets' order, top to bottom; when they need more height than the picture has, the
    result is taller. A line leaves its box along the nearest row that crosses the least ink on the way to
    the panel (the white space between text lines), so it strikes through no text where it need not.
    """
    import numpy as np

    gap = max(2, label_size(image.size) // 4)
    targeted = [lb for lb in labels if lb.target]
    order = sorted(targeted, key=lambda lb: (lb.target[1] + lb.target[3], lb.target[0]))  # type: ignore[index]
    sizes = [block_size(lb.lines, font) for lb in order]
    wanted = [(lb.target[1] + lb.target[3]) / 2 - h / 2 for lb, (_, h) in zip(order, sizes)]  # type: ignore[index]
    tops = spread(wanted, [h for _, h in sizes], gap, gap)
    height = max([image.height] + [t + h + gap for t, (_, h) in zip(tops, sizes)])
    out = Image.new("RGB", (image.width + panel, height), "white")
    out.paste(image, (0, 0))
    draw = ImageDraw.Draw(out, "RGBA")
    joint, left = image.width + gap, image.width + int(panel * GUTTER_SHARE)
    ink = np.asarray(image.convert("L")) < 160
    width = max(1, gap // 3)
    placed = []
    for label, top, (_, h) in zip(order, tops, sizes):
        x0, y0, x1, y1 = label.target  # type: ignore[misc]
        middle = (y0 + y1) // 2
        row = _quiet_row(ink, label.target, gap)  # type: ignore[arg-type]
        colour = label.colour + (190,)
        path = [(x1, middle), (x1 + gap, row), (joint, row), (left, top + h // 2)]
        draw.line(path, fill=colour, width=width, joint="curve")
        background, lines = draw_text_block(draw, (left, top), label.lines, font, label.colour)
        placed.append(PlacedLabel(background, lines, label.target, tuple(label.lines)))
    return out, placed
