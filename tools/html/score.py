"""``visual_score``: how close a rendered page is to a screenshot, and *where* it differs.

Design2Code's decomposition (Si et al. 2024) without its CLIP weights: text blocks are found by OCR
(RapidOCR, the engine the knowledge-base OCR reader loads) on both pictures, paired by linear assignment
on text similarity (scipy), then scored as

* ``block_match`` — share of the text-block area (both pictures) that found a partner;
* ``text``        — mean character similarity of paired blocks;
* ``position``    — mean ``1 − max(|Δx|, |Δy|)`` of paired block centres (normalised by page size);
* ``colour``      — mean ``1 − ΔE00 / 100`` of the paired blocks' text colours (CIEDE2000);
* ``layout``      — SSIM of the two pages in grey, downscaled (structure, no model needed);
* ``appearance``  — colour-histogram intersection (palette and backgrounds).

Each term is in [0, 1]; ``total`` is their mean. ``diff`` lists what differs with boxes, and
:meth:`VisualScore.describe` says it in words for the refinement loop ("missing text 'Sign in' at
top-right; block 'Pricing' is 120 px too low").
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from vlkit.errors import ImageUnreadableError
from vlkit.extras import require
from vlkit.tools.html.colour import ciede2000, hex_colour, srgb_to_lab
from vlkit.tools.html.heatmap import diff_heatmap, mode_colour, region_name

__all__ = ["TERMS", "DiffItem", "TextBlock", "VisualScore", "ocr_blocks", "visual_score"]

TERMS = ("block_match", "text", "position", "colour", "layout", "appearance")
MIN_PAIR_SIMILARITY = 0.5
"""Blocks whose texts are less alike than this are not paired (then both count as unmatched)."""
MOVED_PX = 8
"""A paired block whose centre moved more than this (and 1.5 % of the page) is reported as moved."""
COLOUR_DELTA_E = 10.0
"""Text colours further apart than this ΔE00 are reported (2.3 is just noticeable)."""

ImageLike = Image.Image | str | Path


@dataclass(frozen=True)
class TextBlock:
    """One OCR text line: its text, box ``(x0, y0, x1, y1)`` in pixels and text colour (RGB)."""

    text: str
    box: tuple[int, int, int, int]
    colour: tuple[int, int, int]

    @property
    def area(self) -> int:
        return max(1, self.box[2] - self.box[0]) * max(1, self.box[3] - self.box[1])

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


@dataclass(frozen=True)
class DiffItem:
    """One difference: ``kind``, the text concerned, its boxes in the screenshot / render, and a sentence."""

    kind: Literal["missing", "extra", "moved", "colour", "text", "background", "region"]
    text: str
    ref_box: tuple[int, int, int, int] | None
    cand_box: tuple[int, int, int, int] | None
    detail: str
    offset: tuple[float, float] | None = None
    """(dx, dy) in reference pixels, for moved blocks (render minus screenshot)."""


@dataclass
class VisualScore:
    """The six score terms (each in [0, 1]), their mean, the differences and a heat-map picture."""

    block_match: float
    text: float
    position: float
    colour: float
    layout: float
    appearance: float
    diff: list[DiffItem] = field(default_factory=list)
    heatmap: Image.Image | None = field(default=None, repr=False)
    reference_blocks: list[TextBlock] = field(default_factory=list, repr=False)
    candidate_blocks: list[TextBlock] = field(default_factory=list, repr=False)

    @property
    def total(self) -> float:
        """Mean of the six terms."""
        return float(np.mean([getattr(self, t) for t in TERMS]))

    def terms(self) -> dict[str, float]:
        """``{"total": …, "block_match": …, …}`` rounded to 4 places (for logs and JSON)."""
        return {"total": round(self.total, 4), **{t: round(getattr(self, t), 4) for t in TERMS}}

    def describe(self, max_items: int = 15) -> str:
        """The differences in words, most important first, one per line (what the model is shown)."""
        if not self.diff:
            return "No differences found."
        order = {"missing": 0, "background": 1, "moved": 2, "text": 3, "colour": 4, "extra": 5, "region": 6}
        items = sorted(self.diff, key=lambda d: order[d.kind])
        # blocks shifted together (a margin above them changed) become one sentence, not seven
        entries: list[str | tuple[int, int]] = []
        groups: dict[tuple[int, int], list[DiffItem]] = {}
        for d in items:
            if d.kind == "moved" and d.offset is not None:
                key = (round(d.offset[0] / 6), round(d.offset[1] / 6))
                if key not in groups:
                    groups[key] = []
                    entries.append(key)
                groups[key].append(d)
            else:
                entries.append(d.detail)
        lines = []
        for entry in entries:
            if isinstance(entry, tuple):
                group = groups[entry]
                if len(group) == 1:
                    entry = group[0].detail
                else:
                    names = ", ".join(_quote(g.text, 24) for g in group[:3])
                    more = f" and {len(group) - 3} more" if len(group) > 3 else ""
                    dx, dy = group[0].offset or (0.0, 0.0)
                    entry = f"blocks {names}{more} are {_moved_words(dx, dy)}"
            lines.append(f"- {entry}")
        if len(lines) > max_items:
            lines = lines[:max_items] + [f"- … and {len(lines) - max_items} more differences"]
        return "\n".join(lines)


# --------------------------------------------------------------------------- OCR

_OCR_CACHE: OrderedDict[str, list[TextBlock]] = OrderedDict()
_OCR_LOCK = threading.Lock()
_OCR_CACHE_SIZE = 64


def _load(image: ImageLike) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    try:
        with Image.open(image) as img:
            return img.convert("RGB")
    except (OSError, ValueError) as exc:
        raise ImageUnreadableError(f"cannot read image '{image}' ({exc}); pass a PNG or JPEG file") from None


def _text_colour(pixels: np.ndarray, box: tuple[int, int, int, int]) -> tuple[int, int, int]:
    """The ink colour inside ``box``: the pixels furthest from the box's border (background) colour."""
    h, w = pixels.shape[:2]
    x0, y0, x1, y1 = max(0, box[0] - 2), max(0, box[1] - 2), min(w, box[2] + 2), min(h, box[3] + 2)
    crop = pixels[y0:y1, x0:x1].reshape(-1, 3).astype(np.float64) if x1 > x0 and y1 > y0 else None
    if crop is None or len(crop) == 0:
        return (0, 0, 0)
    region = pixels[y0:y1, x0:x1].astype(np.float64)
    border = np.concatenate([region[0], region[-1], region[:, 0], region[:, -1]])
    background = np.median(border, axis=0)
    dist = np.linalg.norm(crop - background, axis=1)
    if dist.max() < 10:
        return tuple(int(v) for v in background)  # type: ignore[return-value]
    ink = crop[dist >= 0.7 * dist.max()]
    return tuple(int(v) for v in np.median(ink, axis=0))  # type: ignore[return-value]


def ocr_blocks(image: ImageLike, min_score: float = 0.5) -> list[TextBlock]:
    """Text blocks of a picture (RapidOCR lines with their colours); cached by picture content."""
    img = _load(image)
    pixels = np.asarray(img)
    key = hashlib.sha1(pixels.tobytes() + repr((img.size, min_score)).encode()).hexdigest()
    with _OCR_LOCK:
        if key in _OCR_CACHE:
            _OCR_CACHE.move_to_end(key)
            return _OCR_CACHE[key]
    require("rapidocr", "tools", "OCR of screenshots for the visual score")
    from vlkit.retrieval.readers.base import SourcePage
    from vlkit.retrieval.readers.ocr import RapidOCRReader  # the knowledge base's OCR: one engine per process

    with _OCR_LOCK:  # one inference at a time: the ONNX sessions are shared
        lines = RapidOCRReader(min_score=min_score).read_boxes(SourcePage(number=1, pixels=pixels))
    blocks: list[TextBlock] = []
    for line in lines:
        text = " ".join(line.text.split())
        q = np.asarray(line.box)
        box = (int(q[:, 0].min()), int(q[:, 1].min()), int(np.ceil(q[:, 0].max())), int(np.ceil(q[:, 1].max())))
        blocks.append(TextBlock(text, box, _text_colour(pixels, box)))
    blocks.sort(key=lambda b: (b.box[1], b.box[0]))
    with _OCR_LOCK:
        _OCR_CACHE[key] = blocks
        while len(_OCR_CACHE) > _OCR_CACHE_SIZE:
            _OCR_CACHE.popitem(last=False)
    return blocks


# --------------------------------------------------------------------------- pixel terms


def _grey_small(img: Image.Image, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(img.convert("L").resize(size, Image.Resampling.BILINEAR), dtype=np.float64)


def ssim(a: np.ndarray, b: np.ndarray, window: int = 7) -> float:
    """Mean structural similarity of two grey images of equal shape (Wang et al. 2004, uniform window)."""
    ndimage = require("scipy.ndimage", "tools", "the visual score")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = ndimage.uniform_filter(a, window), ndimage.uniform_filter(b, window)
    var_a = ndimage.uniform_filter(a * a, window) - mu_a**2
    var_b = ndimage.uniform_filter(b * b, window) - mu_b**2
    cov = ndimage.uniform_filter(a * b, window) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(np.clip(s.mean(), 0.0, 1.0))


def histogram_similarity(a: Image.Image, b: Image.Image, bins: int = 8) -> float:
    """Intersection of the two pictures' RGB histograms (``bins`` per channel), in [0, 1]."""

    def hist(img: Image.Image) -> np.ndarray:
        small = np.asarray(img.resize((256, max(1, 256 * img.height // img.width))), dtype=np.int64)
        q = (small // (256 // bins)).reshape(-1, 3)
        h = np.bincount((q[:, 0] * bins + q[:, 1]) * bins + q[:, 2], minlength=bins**3).astype(np.float64)
        return h / h.sum()

    return float(np.minimum(hist(a), hist(b)).sum())


def _dominant_colour(img: Image.Image) -> tuple[int, int, int]:
    return mode_colour(np.asarray(img.resize((128, max(1, 128 * img.height // img.width)), Image.Resampling.NEAREST)))


# --------------------------------------------------------------------------- matching


_BULLETS = "•●○◦▪■·-–*> "


def _similarity(a: str, b: str) -> float:
    # OCR reads list bullets inconsistently ('•' / '●'); they are not the text
    a, b = a.lower().lstrip(_BULLETS), b.lower().lstrip(_BULLETS)
    return 1.0 if a == b else SequenceMatcher(None, a, b).ratio()


def _match(ref: list[TextBlock], cand: list[TextBlock], ref_size: tuple[int, int], cand_size: tuple[int, int]):
    """Pairs ``(i, j, similarity)`` maximising text similarity (near blocks win ties, e.g. repeated labels)."""
    if not ref or not cand:
        return []
    optimize = require("scipy.optimize", "tools", "matching text blocks for the visual score")
    sim = np.array([[_similarity(r.text, c.text) for c in cand] for r in ref])
    rc = np.array([[r.centre[0] / ref_size[0], r.centre[1] / ref_size[1]] for r in ref])
    cc = np.array([[c.centre[0] / cand_size[0], c.centre[1] / cand_size[1]] for c in cand])
    dist = np.abs(rc[:, None, :] - cc[None, :, :]).max(axis=2)
    rows, cols = optimize.linear_sum_assignment(-(sim - 0.2 * dist))
    return [(int(i), int(j), float(sim[i, j])) for i, j in zip(rows, cols) if sim[i, j] >= MIN_PAIR_SIMILARITY]


def _quote(text: str, limit: int = 40) -> str:
    return "'" + (text if len(text) <= limit else text[: limit - 1] + "…") + "'"


def _moved_words(dx: float, dy: float) -> str:
    parts = []
    if abs(dy) > MOVED_PX:
        parts.append(f"{abs(dy):.0f} px too {'low' if dy > 0 else 'high'}")
    if abs(dx) > MOVED_PX:
        parts.append(f"{abs(dx):.0f} px too far {'right' if dx > 0 else 'left'}")
    return " and ".join(parts)


# --------------------------------------------------------------------------- the score


def visual_score(reference: ImageLike, candidate: ImageLike, *, min_ocr_score: float = 0.5) -> VisualScore:
    """Score ``candidate`` (a render) against ``reference`` (the screenshot); PIL images or paths.

    Example:
        ```python
        s = visual_score("shot.png", render_html(html, *Image.open("shot.png").size))
        print(s.total, s.describe())
        ```
    """
    ref_img, cand_img = _load(reference), _load(candidate)
    rw, rh = ref_img.size
    if cand_img.size != ref_img.size:
        cand_cmp = cand_img.resize(ref_img.size, Image.Resampling.BILINEAR)  # pixel terms compare like sizes
    else:
        cand_cmp = cand_img
    ref_blocks = ocr_blocks(ref_img, min_ocr_score)
    cand_blocks = ocr_blocks(cand_img, min_ocr_score)
    # positions in the candidate's own pixels, mapped to the reference frame for distances
    sx, sy = rw / cand_img.width, rh / cand_img.height
    pairs = _match(ref_blocks, cand_blocks, ref_img.size, cand_img.size)

    diff: list[DiffItem] = []
    total_area = sum(b.area for b in ref_blocks) + sum(b.area * sx * sy for b in cand_blocks)
    if not ref_blocks and not cand_blocks:
        block_match = text = position = colour = 1.0  # no text on either side: nothing to get wrong
    elif not pairs:
        block_match = text = position = colour = 0.0
    else:
        matched_area = sum(ref_blocks[i].area + cand_blocks[j].area * sx * sy for i, j, _ in pairs)
        block_match = matched_area / total_area
        text = float(np.mean([s for _, _, s in pairs]))
        positions, colours = [], []
        ref_lab = srgb_to_lab(np.array([ref_blocks[i].colour for i, _, _ in pairs]))
        cand_lab = srgb_to_lab(np.array([cand_blocks[j].colour for _, j, _ in pairs]))
        delta_e = np.atleast_1d(ciede2000(ref_lab, cand_lab))
        for (i, j, s), de in zip(pairs, delta_e):
            r, c = ref_blocks[i], cand_blocks[j]
            dx, dy = c.centre[0] * sx - r.centre[0], c.centre[1] * sy - r.centre[1]
            positions.append(1.0 - max(abs(dx) / rw, abs(dy) / rh))
            colours.append(max(0.0, 1.0 - float(de) / 100.0))
            if max(abs(dx), abs(dy)) > max(MOVED_PX, 0.015 * max(rw, rh)):
                diff.append(
                    DiffItem("moved", r.text, r.box, c.box, f"block {_quote(r.text)} is {_moved_words(dx, dy)}", (dx, dy))
                )
            if s < 0.95:
                diff.append(
                    DiffItem("text", r.text, r.box, c.box, f"text reads {_quote(c.text)}, should read {_quote(r.text)}")
                )
            if de > COLOUR_DELTA_E:
                diff.append(
                    DiffItem(
                        "colour",
                        r.text,
                        r.box,
                        c.box,
                        f"text {_quote(r.text)} colour {hex_colour(c.colour)}, should be {hex_colour(r.colour)}",
                    )
                )
        position = float(np.mean(positions))
        colour = float(np.mean(colours))
    paired_ref = {i for i, _, _ in pairs}
    paired_cand = {j for _, j, _ in pairs}
    for i, b in enumerate(ref_blocks):
        if i not in paired_ref:
            where = region_name(b.centre, (rw, rh))
            x0, y0, x1, y1 = b.box
            diff.append(
                DiffItem("missing", b.text, b.box, None, f"missing text {_quote(b.text)} at {where} (x {x0}-{x1}, y {y0}-{y1})")
            )
    for j, b in enumerate(cand_blocks):
        if j not in paired_cand:
            where = region_name((b.centre[0] * sx, b.centre[1] * sy), (rw, rh))
            diff.append(DiffItem("extra", b.text, None, b.box, f"extra text {_quote(b.text)} at {where}, not in the screenshot"))

    ref_bg, cand_bg = _dominant_colour(ref_img), _dominant_colour(cand_cmp)
    if float(ciede2000(srgb_to_lab(ref_bg), srgb_to_lab(cand_bg))) > 5:
        diff.append(
            DiffItem("background", "", None, None, f"main background colour is {hex_colour(cand_bg)}, should be {hex_colour(ref_bg)}")
        )

    small = (min(256, rw), max(1, min(256, rw) * rh // rw))
    layout = ssim(_grey_small(ref_img, small), _grey_small(cand_cmp, small))
    appearance = histogram_similarity(ref_img, cand_cmp)
    heat, regions = diff_heatmap(ref_img, cand_cmp, diff, (sx, sy))
    for name, share, ref_main, cand_main in regions:
        detail = f"the {name} region differs ({share:.0%} of its pixels)"
        if float(ciede2000(srgb_to_lab(ref_main), srgb_to_lab(cand_main))) > COLOUR_DELTA_E:
            detail += f": mostly {hex_colour(cand_main)} there, should be {hex_colour(ref_main)}"
        diff.append(DiffItem("region", "", None, None, detail))
    return VisualScore(
        block_match=float(np.clip(block_match, 0, 1)),
        text=float(np.clip(text, 0, 1)),
        position=float(np.clip(position, 0, 1)),
        colour=float(np.clip(colour, 0, 1)),
        layout=layout,
        appearance=appearance,
        diff=diff,
        heatmap=heat,
        reference_blocks=ref_blocks,
        candidate_blocks=cand_blocks,
    )
