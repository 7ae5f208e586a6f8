"""The diff heat-map (where two pages differ, with the unmatched/moved text boxes drawn on) and region names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vlkit.extras import require
from vlkit.tools._labels import MIN_SIZE, label_font, wrap

if TYPE_CHECKING:  # pragma: no cover
    from vlkit.tools.html.score import DiffItem

__all__ = ["LEGEND", "diff_heatmap", "mode_colour", "region_name", "side_by_side"]

PIXEL_DIFF = 32
"""A pixel differs when one channel differs by more than this (0-255); antialiasing noise stays below."""
REGION_SHARE = 0.08
"""A 3×3 region is reported when this share of its pixels differ."""

_HEAT = (230, 20, 20)
_COLOURS = {"missing": (220, 30, 30), "extra": (30, 90, 230), "moved": (245, 150, 0), "colour": (170, 0, 200), "text": (0, 160, 120)}
LEGEND: tuple[tuple[str, tuple[int, int, int], str], ...] = (
    ("fill", _HEAT, "pixels differ"),
    ("box", _COLOURS["missing"], "missing: in the screenshot, not in the render"),
    ("box", _COLOURS["extra"], "extra: in the render only"),
    ("box", _COLOURS["moved"], "moved: line from where it should be"),
    ("box", _COLOURS["colour"], "wrong colour"),
    ("box", _COLOURS["text"], "different text"),
)
"""What the heat-map's marks mean, as ``(swatch style, colour, words)``: drawn under the compare picture."""


def region_name(centre: tuple[float, float], size: tuple[int, int]) -> str:
    """'top-right', 'middle-left', 'centre', … of a point on a page of ``size`` (thirds each way)."""
    col = ("left", "centre", "right")[min(2, int(3 * centre[0] / max(1, size[0])))]
    row = ("top", "middle", "bottom")[min(2, int(3 * centre[1] / max(1, size[1])))]
    if row == "middle" and col == "centre":
        return "centre"
    if col == "centre":
        return f"{row}-centre"
    return f"{row}-{col}"


def diff_heatmap(
    reference: Image.Image, candidate: Image.Image, diff: list[DiffItem], scale: tuple[float, float] = (1.0, 1.0)
) -> tuple[Image.Image, list[tuple[str, float, tuple[int, int, int], tuple[int, int, int]]]]:
    """Heat-map over the reference (red = pixels differ) with diff boxes; and the 3×3 regions that differ most
    as ``(name, share of pixels, main colour there in the reference, in the candidate)``.

    ``candidate`` has the reference's size; ``scale`` maps candidate-box pixels to reference pixels.
    """
    ndimage = require("scipy.ndimage", "tools", "the diff heat-map")
    w, h = reference.size
    a = np.asarray(reference, dtype=np.int16)
    b = np.asarray(candidate, dtype=np.int16)
    differs = (np.abs(a - b).max(axis=2) > PIXEL_DIFF).astype(np.float64)
    heat = ndimage.uniform_filter(differs, size=max(3, min(w, h) // 80))
    heat = np.clip(heat * 3.0, 0, 1)
    grey = np.asarray(reference.convert("L"), dtype=np.float64)[..., None] * 0.45 + 140
    red = np.array(_HEAT, dtype=np.float64)
    out = grey * (1 - heat[..., None]) + red * heat[..., None]
    img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")

    draw = ImageDraw.Draw(img)
    line = max(2, min(w, h) // 300)
    for d in diff:
        colour = _COLOURS.get(d.kind)
        if colour is None:
            continue
        if d.ref_box is not None and d.kind != "extra":
            draw.rectangle(d.ref_box, outline=colour, width=line)
        if d.cand_box is not None and d.kind in ("extra", "moved"):
            x0, y0, x1, y1 = d.cand_box
            box = (x0 * scale[0], y0 * scale[1], x1 * scale[0], y1 * scale[1])
            draw.rectangle(box, outline=colour, width=line)
            if d.kind == "moved" and d.ref_box is not None:
                rc = ((d.ref_box[0] + d.ref_box[2]) / 2, (d.ref_box[1] + d.ref_box[3]) / 2)
                draw.line([rc, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)], fill=colour, width=line)

    regions: list[tuple[str, float, tuple[int, int, int], tuple[int, int, int]]] = []
    for row in range(3):
        for col in range(3):
            rows, cols = slice(row * h // 3, (row + 1) * h // 3), slice(col * w // 3, (col + 1) * w // 3)
            cell = differs[rows, cols]
            share = float(cell.mean()) if cell.size else 0.0
            if share >= REGION_SHARE:
                centre = ((col + 0.5) * w / 3, (row + 0.5) * h / 3)
                mask = cell > 0
                # the most common colour among the differing pixels, on each side: "blue where red should be"
                regions.append((region_name(centre, (w, h)), share, mode_colour(a[rows, cols][mask]), mode_colour(b[rows, cols][mask])))
    regions.sort(key=lambda r: -r[1])
    return img, regions[:4]


def mode_colour(pixels: np.ndarray) -> tuple[int, int, int]:
    """The most common colour of ``pixels`` (N×3): the median of its most common 32-level bin."""
    px = np.asarray(pixels, dtype=np.int64).reshape(-1, 3)
    if len(px) == 0:
        return (0, 0, 0)
    q = px // 8
    codes = (q[:, 0] * 32 + q[:, 1]) * 32 + q[:, 2]
    values, counts = np.unique(codes, return_counts=True)
    return tuple(int(v) for v in np.median(px[codes == values[counts.argmax()]], axis=0))  # type: ignore[return-value]


def side_by_side(
    *images: Image.Image,
    gap: int = 12,
    labels: tuple[str, ...] = (),
    legend: Sequence[tuple[str, tuple[int, int, int], str]] = (),
) -> Image.Image:
    """The pictures next to each other at the first one's height (screenshot | render | heat-map), a title
    over each, and under them the ``legend``: ``(style, colour, words)`` entries, style ``"fill"`` (a patch
    of colour) or ``"box"`` (an outlined square), laid out in rows across the picture."""
    height = images[0].height
    scaled = [im if im.height == height else im.resize((max(1, im.width * height // im.height), height)) for im in images]
    width = sum(im.width for im in scaled) + gap * (len(scaled) - 1)
    font = label_font(max(MIN_SIZE, height // 32))
    top = int(font.size * 1.6) if labels else 0
    entries, bottom = _legend_layout(legend, font, width)
    out = Image.new("RGB", (width, height + top + bottom), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    x = 0
    for k, im in enumerate(scaled):
        out.paste(im, (x, top))
        if k < len(labels):
            draw.text((x + 6, top * 0.15), labels[k], fill=(0, 0, 0), font=font)
        x += im.width + gap
    side, pitch = font.size, int(font.size * 1.4)
    for x, y, style, colour, lines in entries:
        y += height + top
        square = (x, y + (pitch - side) // 2, x + side, y + (pitch + side) // 2)
        if style == "fill":
            draw.rectangle(square, fill=colour)
        else:
            draw.rectangle(square, outline=colour, width=max(2, side // 6))
        for i, line in enumerate(lines):
            draw.text((x + side + side // 2, y + i * pitch + pitch // 2), line, fill=(0, 0, 0), font=font, anchor="lm")
    return out


def _legend_layout(
    legend: Sequence[tuple[str, tuple[int, int, int], str]], font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int
) -> tuple[list[tuple[int, int, str, tuple[int, int, int], list[str]]], int]:
    """Each legend entry as ``(x, y, style, colour, lines)`` (y below the pictures), flowed into rows no
    wider than ``width`` (an entry too wide for a row of its own wraps its words); and the strip's height."""
    side, pitch = font.size, int(font.size * 1.4)
    margin = side // 2
    room = max(side, width - 2 * margin - side - side // 2)
    entries = []
    x, y, row = margin, side // 2, 0
    for style, colour, words in legend:
        lines = wrap(words, font, room)
        span = side + side // 2 + int(max(font.getlength(line) for line in lines)) + 2 * side
        if x > margin and x + span - 2 * side > width - margin:
            x, y, row = margin, y + row, 0
        entries.append((x, y, style, colour, lines))
        x += span
        row = max(row, pitch * len(lines))
    return entries, (y + row + side // 2 if entries else 0)
