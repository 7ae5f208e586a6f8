"""The diff heat-map (where two pages differ, with the unmatched/moved text boxes drawn on) and region names."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vlkit.extras import require

if TYPE_CHECKING:  # pragma: no cover
    from vlkit.tools.html.score import DiffItem

__all__ = ["diff_heatmap", "mode_colour", "region_name", "side_by_side"]

PIXEL_DIFF = 32
"""A pixel differs when one channel differs by more than this (0-255); antialiasing noise stays below."""
REGION_SHARE = 0.08
"""A 3×3 region is reported when this share of its pixels differ."""

_COLOURS = {"missing": (220, 30, 30), "extra": (30, 90, 230), "moved": (245, 150, 0), "colour": (170, 0, 200), "text": (0, 160, 120)}


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
    red = np.array([230.0, 20.0, 20.0])
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


def side_by_side(*images: Image.Image, gap: int = 12, labels: tuple[str, ...] = ()) -> Image.Image:
    """The pictures next to each other at the first one's height (screenshot | render | heat-map)."""
    height = images[0].height
    scaled = [im if im.height == height else im.resize((max(1, im.width * height // im.height), height)) for im in images]
    font = ImageFont.load_default(size=max(14, height // 32))
    top = int(font.size * 1.6) if labels else 0
    out = Image.new("RGB", (sum(im.width for im in scaled) + gap * (len(scaled) - 1), height + top), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    x = 0
    for k, im in enumerate(scaled):
        out.paste(im, (x, top))
        if k < len(labels):
            draw.text((x + 6, top * 0.15), labels[k], fill=(0, 0, 0), font=font)
        x += im.width + gap
    return out
