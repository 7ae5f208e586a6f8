"""``visual_score``: how close a rendered page is to a screenshot, and *where* it differs.

Design2Code's decomposition (Si et al. 2024) without its CLIP weights. The screenshot's text blocks
are read by OCR (RapidOCR, the engine the knowledge-base OCR reader loads; once per screenshot,
cached); the render's come from the browser's own layout when it is a
:class:`~vlkit.tools.html.page_text.RenderedPage` (no OCR), else by OCR too. Blocks are paired by
linear assignment on text similarity (scipy), then scored as

* ``block_match`` — share of the text (characters, both sides) that found a partner;
* ``text``        — character similarity of paired blocks (means over pairs weigh each by its length);
* ``position``    — mean ``1 − max(|Δx|, |Δy|)`` of paired block centres (normalised by page size;
  shifts under a quarter of a line are the two readers' box conventions, not moves);
* ``colour``      — mean ``1 − ΔE00 / 100`` of the paired blocks' text colours (CIEDE2000, measured
  in the pixels of both pictures alike);
* ``layout``      — SSIM of the two pages in grey, downscaled (structure, no model needed);
* ``appearance``  — colour-histogram intersection (palette and backgrounds).

Each term is in [0, 1]. ``total`` puts content first: ``content × (1 − STYLE_WEIGHT × (1 − style))``
with ``content = block_match² × text' × position^¼`` (``text'``: similarity above :data:`TEXT_NOISE`
counts as right) and ``style`` the weighted mean of colour, layout (twice) and appearance. A
reproduction missing a quarter of its text scores below any recolouring, re-fonting or new
background of a complete one (``benchmarks/bench_html_score.py`` checks that ordering on real
documentation pages, :mod:`vlkit.tools.html.gradedset`). ``diff`` lists what differs with boxes, and
:meth:`VisualScore.describe` says it in words for the refinement loop ("missing text 'Sign in' at
top-right; block 'Pricing' is 120 px too low").
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from vlkit.documents import TextLine
from vlkit.extras import require
from vlkit.tools.html._colour import ciede2000, hex_colour, srgb_to_lab
from vlkit.tools.html.heatmap import diff_heatmap, mode_colour, region_name
from vlkit.tools.html.page_text import RenderedPage
from vlkit.vision.loading import open_image

__all__ = ["STYLE_WEIGHT", "TERMS", "TEXT_NOISE", "DiffItem", "VisualScore", "ocr_blocks", "visual_score"]

TERMS = ("block_match", "text", "position", "colour", "layout", "appearance")
STYLE_WEIGHT = 0.4
"""How much of the total style can take away: a page with every colour, font and background wrong
but all its text in place keeps at least ``1 − STYLE_WEIGHT`` of its content score."""
TEXT_NOISE = 0.9
"""A mean text similarity from this up counts as right in the total: OCR of a clean screenshot and the
DOM of the same page disagree this much (``0``/``O``, ``StringI0``), so smaller gaps are not the render's."""
_STYLE_WEIGHTS = {"colour": 1.0, "layout": 2.0, "appearance": 1.0}
MIN_PAIR_SIMILARITY = 0.5
"""Blocks whose texts are less alike than this are not paired (then both count as unmatched)."""
CONTAINED_SHARE = 0.85
"""An unpaired block counts as present when this share of its characters is found in a block it overlaps."""
POSITION_SLACK = 0.25
"""Paired blocks whose centres are closer than this share of the line height are in place (box conventions)."""
MOVED_PX = 8
"""A paired block whose centre moved more than this (and 1.5 % of the page) is reported as moved."""
COLOUR_DELTA_E = 10.0
"""Text colours further apart than this ΔE00 are reported (2.3 is just noticeable)."""

ImageLike = Image.Image | str | Path
Candidate = ImageLike | RenderedPage
"""A render: a picture (its text read by OCR) or a :class:`RenderedPage` (its text from the DOM)."""


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
    """The six score terms (each in [0, 1]), the total, the differences and a heat-map picture."""

    block_match: float
    text: float
    position: float
    colour: float
    layout: float
    appearance: float
    diff: list[DiffItem] = field(default_factory=list)
    heatmap: Image.Image | None = field(default=None, repr=False)
    reference_blocks: list[TextLine] = field(default_factory=list, repr=False)
    candidate_blocks: list[TextLine] = field(default_factory=list, repr=False)

    @property
    def content(self) -> float:
        """Is the text there, right and in place: ``block_match² × min(1, text / TEXT_NOISE) × position^¼``.

        Missing text counts twice (squared): on its own, block_match loses a quarter for a quarter of
        the text gone, about what a new background and font cost the style terms."""
        return self.block_match**2 * min(1.0, self.text / TEXT_NOISE) * self.position**0.25

    @property
    def style(self) -> float:
        """Does it look the same: colour, layout (counted twice) and appearance, weighted mean."""
        return sum(w * getattr(self, t) for t, w in _STYLE_WEIGHTS.items()) / sum(_STYLE_WEIGHTS.values())

    @property
    def total(self) -> float:
        """Content first: ``content × (1 − STYLE_WEIGHT × (1 − style))``."""
        return float(self.content * (1.0 - STYLE_WEIGHT * (1.0 - self.style)))

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

_OCR_CACHE: OrderedDict[str, list[TextLine]] = OrderedDict()
_OCR_LOCK = threading.Lock()
_OCR_CACHE_SIZE = 64


def _load(image: ImageLike) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    return open_image(image)  # checked before decoding: size limits, format, a truncated file


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


def _ocr_lines(pixels: np.ndarray, min_score: float) -> list[tuple[str, tuple[float, float, float, float]]]:
    """``(text, (x0, y0, x1, y1))`` of every line RapidOCR reads in ``pixels``: the page readers' OCR (one
    engine per process), and the only place this module touches them."""
    from vlkit.documents import RapidOCRReader, SourcePage

    return [(ln.text, ln.box) for ln in RapidOCRReader(min_score=min_score).read_page(SourcePage(number=1, pixels=pixels)).lines if ln.box]


def ocr_blocks(image: ImageLike, min_score: float = 0.5) -> list[TextLine]:
    """Text blocks of a picture (RapidOCR lines with their colours); cached by picture content."""
    img = _load(image)
    pixels = np.asarray(img)
    key = hashlib.sha1(pixels.tobytes() + repr((img.size, min_score)).encode()).hexdigest()
    with _OCR_LOCK:
        if key in _OCR_CACHE:
            _OCR_CACHE.move_to_end(key)
            return _OCR_CACHE[key]
    require("rapidocr", "tools", "OCR of screenshots for the visual score")
    with _OCR_LOCK:  # one inference at a time: the ONNX sessions are shared
        lines = _ocr_lines(pixels, min_score)
    blocks: list[TextLine] = []
    for raw, (x0, y0, x1, y1) in lines:
        text = " ".join(raw.split())
        box = (int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))
        blocks.append(TextLine(text, box, colour=_text_colour(pixels, box)))
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
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "—": "-", "–": "-", "|": "i", "l": "i"})


def _norm(text: str) -> str:
    """What two readings of one line agree on: NFKC, lower case, no spaces (OCR splits and joins words
    freely), one kind of quote and dash, | l and I alike, leading list bullets dropped."""
    t = unicodedata.normalize("NFKC", text).lower().lstrip(_BULLETS)
    return "".join(t.translate(_QUOTES).split())


def _similarity(a: str, b: str) -> float:
    a, b = _norm(a), _norm(b)
    return 1.0 if a == b else SequenceMatcher(None, a, b, autojunk=False).ratio()


def _weight(block: TextLine) -> int:
    """A block's share of the page's text: its characters (OCR boxes and DOM line boxes differ in height,
    so areas would not compare across the two readers; characters do)."""
    return max(1, len(_norm(block.text)))


def _similarities(ref: list[TextLine], cand: list[TextLine]) -> np.ndarray:
    """Text similarity of every (reference, candidate) pair; pairs that cannot reach
    :data:`MIN_PAIR_SIMILARITY` (by length, then by SequenceMatcher's cheap bounds) are 0."""
    rn, cn = [_norm(r.text) for r in ref], [_norm(c.text) for c in cand]
    sim = np.zeros((len(ref), len(cand)))
    matcher = SequenceMatcher(None, autojunk=False)
    for j, b in enumerate(cn):
        matcher.set_seq2(b)  # the expensive half of SequenceMatcher, once per candidate block
        for i, a in enumerate(rn):
            if a == b:
                sim[i, j] = 1.0
            elif 2 * min(len(a), len(b)) >= MIN_PAIR_SIMILARITY * (len(a) + len(b)):
                matcher.set_seq1(a)
                if matcher.real_quick_ratio() >= MIN_PAIR_SIMILARITY and matcher.quick_ratio() >= MIN_PAIR_SIMILARITY:
                    sim[i, j] = matcher.ratio()
    return sim


def _match(ref: list[TextLine], cand: list[TextLine], ref_size: tuple[int, int], cand_size: tuple[int, int]):
    """Pairs ``(i, j, similarity)`` maximising text similarity (near blocks win ties, e.g. repeated labels)."""
    if not ref or not cand:
        return []
    optimize = require("scipy.optimize", "tools", "matching text blocks for the visual score")
    sim = _similarities(ref, cand)
    rc = np.array([[r.centre[0] / ref_size[0], r.centre[1] / ref_size[1]] for r in ref])
    cc = np.array([[c.centre[0] / cand_size[0], c.centre[1] / cand_size[1]] for c in cand])
    dist = np.abs(rc[:, None, :] - cc[None, :, :]).max(axis=2)
    rows, cols = optimize.linear_sum_assignment(-(sim - 0.2 * dist))
    return [(int(i), int(j), float(sim[i, j])) for i, j in zip(rows, cols) if sim[i, j] >= MIN_PAIR_SIMILARITY]


def _contained(
    blocks: list[TextLine], unpaired: set[int], others: list[TextLine], to_others: tuple[float, float]
) -> set[int]:
    """Unpaired ``blocks`` whose text is part of an ``others`` block they overlap on the page.

    Two readers cut lines differently (OCR joins a table row's cells, or splits a line at a wide
    space, where the DOM does the opposite); a piece that lies inside a block of the other side with
    the same words is there, not missing."""
    sx, sy = to_others
    found = set()
    for i in unpaired:
        b = blocks[i]
        text = _norm(b.text)
        if len(text) < 2:
            continue
        x0, y0, x1, y1 = b.box[0] * sx, b.box[1] * sy, b.box[2] * sx, b.box[3] * sy
        for o in others:
            if min(x1, o.box[2]) <= max(x0, o.box[0]) or min(y1, o.box[3]) <= max(y0, o.box[1]):
                continue
            other = _norm(o.text)
            if text in other or (len(other) > len(text) and _share_found(text, other) >= CONTAINED_SHARE):
                found.add(i)
                break
    return found


def _share_found(piece: str, text: str) -> float:
    """The share of ``piece``'s characters that appear, in order, in ``text`` (OCR misreads a few)."""
    blocks = SequenceMatcher(None, piece, text, autojunk=False).get_matching_blocks()
    return sum(m.size for m in blocks) / len(piece)


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


def _candidate(candidate: Candidate, min_ocr_score: float) -> tuple[Image.Image, list[TextLine]]:
    """The render's picture and its text blocks: from the DOM for a :class:`RenderedPage`, else by OCR."""
    if isinstance(candidate, RenderedPage):
        image = candidate.image.convert("RGB")
        pixels = np.asarray(image)
        blocks = [replace(line, colour=_text_colour(pixels, line.box)) for line in candidate.lines]
        return image, sorted(blocks, key=lambda b: (b.box[1], b.box[0]))
    image = _load(candidate)
    return image, ocr_blocks(image, min_ocr_score)


def visual_score(reference: ImageLike, candidate: Candidate, *, min_ocr_score: float = 0.5) -> VisualScore:
    """Score ``candidate`` (a render) against ``reference`` (the screenshot).

    ``reference`` is a PIL image or a path; its text is read by OCR once and cached (by its pixels), so
    every round of a refinement loop reuses it. ``candidate`` is best a :class:`RenderedPage` from
    :func:`~vlkit.tools.html.page_text.render_with_text`: its text lines come from the browser's layout,
    with no OCR at all; a bare picture (or path) is read by OCR like the reference.

    Example:
        ```python
        shot = Image.open("shot.png")
        s = visual_score(shot, render_with_text(html, *shot.size))
        print(s.total, s.describe())
        ```
    """
    ref_img = _load(reference)
    cand_img, cand_blocks = _candidate(candidate, min_ocr_score)
    rw, rh = ref_img.size
    if cand_img.size != ref_img.size:
        cand_cmp = cand_img.resize(ref_img.size, Image.Resampling.BILINEAR)  # pixel terms compare like sizes
    else:
        cand_cmp = cand_img
    ref_blocks = ocr_blocks(ref_img, min_ocr_score)
    # positions in the candidate's own pixels, mapped to the reference frame for distances
    sx, sy = rw / cand_img.width, rh / cand_img.height
    pairs = _match(ref_blocks, cand_blocks, ref_img.size, cand_img.size)
    paired_ref = {i for i, _, _ in pairs}
    paired_cand = {j for _, j, _ in pairs}
    # pieces cut differently by the two readers, lying inside a block of the other side: present, not missing
    split_ref = _contained(ref_blocks, set(range(len(ref_blocks))) - paired_ref, cand_blocks, (1 / sx, 1 / sy))
    split_cand = _contained(cand_blocks, set(range(len(cand_blocks))) - paired_cand, ref_blocks, (sx, sy))

    diff: list[DiffItem] = []
    total_chars = sum(map(_weight, ref_blocks)) + sum(map(_weight, cand_blocks))
    if not ref_blocks and not cand_blocks:
        block_match = text = position = colour = 1.0  # no text on either side: nothing to get wrong
    elif not pairs:
        block_match = text = position = colour = 0.0
    else:
        pieces = sum(_weight(ref_blocks[i]) for i in split_ref) + sum(_weight(cand_blocks[j]) for j in split_cand)
        matched = sum(_weight(ref_blocks[i]) + _weight(cand_blocks[j]) for i, j, _ in pairs) + pieces
        block_match = matched / total_chars
        weights = np.array([_weight(ref_blocks[i]) for i, _, _ in pairs], dtype=np.float64)
        sims = np.array([s for _, _, s in pairs])
        # a piece found inside a longer block counts as read right, at its own weight
        text = float((sims @ weights + pieces / 2) / (weights.sum() + pieces / 2))
        positions, colours = [], []
        ref_lab = srgb_to_lab(np.array([ref_blocks[i].colour for i, _, _ in pairs]))
        cand_lab = srgb_to_lab(np.array([cand_blocks[j].colour for _, j, _ in pairs]))
        delta_e = np.atleast_1d(ciede2000(ref_lab, cand_lab))
        for (i, j, s), de in zip(pairs, delta_e):
            r, c = ref_blocks[i], cand_blocks[j]
            dx, dy = c.centre[0] * sx - r.centre[0], c.centre[1] * sy - r.centre[1]
            # an OCR ink box and a DOM line box of one line differ by a few pixels: no move under a quarter line
            slack = POSITION_SLACK * min(r.box[3] - r.box[1], (c.box[3] - c.box[1]) * sy)
            positions.append(1.0 - max(max(0.0, abs(dx) - slack) / rw, max(0.0, abs(dy) - slack) / rh))
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
        position = float(np.average(positions, weights=weights))
        colour = float(np.average(colours, weights=weights))
    for i, b in enumerate(ref_blocks):
        if i not in paired_ref and i not in split_ref:
            where = region_name(b.centre, (rw, rh))
            x0, y0, x1, y1 = b.box
            diff.append(
                DiffItem("missing", b.text, b.box, None, f"missing text {_quote(b.text)} at {where} (x {x0}-{x1}, y {y0}-{y1})")
            )
    for j, b in enumerate(cand_blocks):
        if j not in paired_cand and j not in split_cand:
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
