"""A render of HTML together with the text lines its DOM laid out: the candidate side of the visual score.

The screenshot being reproduced is a picture, so its text has to be read by OCR; a render vlkit made
itself is not — Chromium knows where every glyph run went. :func:`render_with_text` renders untrusted
HTML exactly like :func:`~vlkit.tools.render.render_html` (JavaScript off, no requests leave the page)
and, in the same browser job, takes a DOM snapshot (CDP ``DOMSnapshot.captureSnapshot``, which needs no
JavaScript) whose text runs are chained into lines the way OCR's detector groups words: runs side by
side on one baseline with at most half a line height between them, never across a table cell's border;
hidden, transparent, clipped and scrolled-away text left out. That replaces the OCR of the candidate,
which was most of the time a score took.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from vlkit.documents import TextLine
# the untrusted-render page and checks of render_html, so both renders isolate a page the same way
from vlkit.tools.render import MAX_HTML_BYTES, ChromiumWorker, render_untrusted

__all__ = ["LINE_GAP_EM", "RenderedPage", "lines_from_snapshot", "render_with_text"]

logger = logging.getLogger(__name__)

LINE_GAP_EM = 0.5
"""Runs on one baseline further apart than this many line heights are separate lines (columns, a nav
bar's items), as OCR's text detector separates them; closer ones are one line."""
_STYLES = ["visibility", "opacity", "text-transform", "color", "display", "overflow-x", "overflow-y"]

Fragment = tuple[str, float, float, float, float, int]
"""``(text, x0, y0, x1, y1, cell)``: a run of text, its box in CSS pixels and the table cell holding it (or -1)."""


@dataclass
class RenderedPage:
    """A render (``image``) and the text lines the browser laid out in it (``lines``, picture pixels)."""

    image: Image.Image = field(repr=False)
    lines: list[TextLine]

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def resized(self, size: tuple[int, int]) -> RenderedPage:
        """The same page at ``size`` (the picture resampled, the boxes scaled)."""
        if size == self.image.size:
            return self
        sx, sy = size[0] / self.image.width, size[1] / self.image.height
        lines = [
            TextLine(ln.text, (round(ln.box[0] * sx), round(ln.box[1] * sy), round(ln.box[2] * sx), round(ln.box[3] * sy)))
            for ln in self.lines
        ]
        return RenderedPage(self.image.resize(size, Image.Resampling.BILINEAR), lines)


def _transform(text: str, how: str) -> str:
    if how == "uppercase":
        return text.upper()
    if how == "lowercase":
        return text.lower()
    if how == "capitalize":
        return re.sub(r"\b(\w)", lambda m: m.group(1).upper(), text)
    return text


def _fragments(snapshot: dict[str, Any], viewport: tuple[float, float]) -> list[Fragment]:
    """Visible text runs in CSS pixels, clipped to the viewport and to clipping ancestors, with their table cells.

    Whitespace-only runs are kept (a highlighted code line is a run per token, its spaces runs of
    their own: they bridge the gaps); a line made only of them is dropped later.
    """
    strings: list[str] = snapshot["strings"]
    doc = snapshot["documents"][0]
    layout, boxes, parents = doc["layout"], doc["textBoxes"], doc["nodes"]["parentIndex"]
    style_of = {node: layout["styles"][k] for k, node in enumerate(layout["nodeIndex"])}

    def cell(node: int) -> int:
        # the table cell a text is in: two cells side by side are two lines even when close (OCR splits
        # at the cell border); other block boxes side by side (floats) follow the gap rule
        while node >= 0:
            styles = style_of.get(node)
            if styles is not None and len(styles) > 4 and styles[4] >= 0:
                display = strings[styles[4]]
                if display == "table-cell":
                    return node
                if display == "table":  # a caption or a nested table's text is outside this table's cells
                    return -1
            node = parents[node]
        return -1

    layout_of = {node: k for k, node in enumerate(layout["nodeIndex"])}
    clips: dict[int, tuple[float, float, float, float]] = {}

    def clip(node: int) -> tuple[float, float, float, float]:
        # what of the page a text can show through: the viewport, cut by every ancestor that clips its
        # overflow (a sidebar with a scroll bar lists more than it shows)
        if node < 0:
            return (0.0, 0.0, float(viewport[0]), float(viewport[1]))
        if node not in clips:
            x0, y0, x1, y1 = clip(parents[node])
            k = layout_of.get(node)
            styles = style_of.get(node) or []
            if k is not None and len(styles) > 6:
                overflow = {strings[i] for i in styles[5:7] if i >= 0}
                if overflow & {"hidden", "clip", "auto", "scroll"}:
                    bx, by, bw, bh = layout["bounds"][k]
                    x0, y0, x1, y1 = max(x0, bx), max(y0, by), min(x1, bx + bw), min(y1, by + bh)
            clips[node] = (x0, y0, x1, y1)
        return clips[node]

    out: list[Fragment] = []
    for k, index in enumerate(boxes["layoutIndex"]):
        text_id = layout["text"][index]
        if text_id < 0:
            continue
        styles = [strings[i] if i >= 0 else "" for i in layout["styles"][index]] + [""] * len(_STYLES)
        visibility, opacity, transform, colour = styles[:4]
        if visibility != "visible" or (opacity and float(opacity) == 0) or (colour.startswith("rgba(") and colour.endswith(", 0)")):
            continue
        start, length = boxes["start"][k], boxes["length"][k]
        text = _transform(strings[text_id][start : start + length], transform)
        x, y, w, h = boxes["bounds"][k]
        node = layout["nodeIndex"][index]
        cx0, cy0, cx1, cy1 = clip(parents[node])
        x0, y0, x1, y1 = max(cx0, x), max(cy0, y), min(cx1, x + w), min(cy1, y + h)
        if not text or x1 - x0 < 0.5 or y1 - y0 < 0.5 * h:  # scrolled or clipped out of sight, or mostly
            continue
        if text.strip() and not text.strip(_MARKERS):
            continue  # a list marker: its box is taller than the line and would join two rows
        out.append((text, x0, y0, x1, y1, cell(node)))
    return out


def lines_from_snapshot(
    snapshot: dict[str, Any], viewport: tuple[float, float], scale: float = 1.0, gap_em: float = LINE_GAP_EM
) -> list[TextLine]:
    """Text lines of a ``DOMSnapshot.captureSnapshot`` result (with :data:`_STYLES` as computed styles).

    Fragments are chained left to right: one continues a line when it overlaps the line's last inked
    fragment vertically by half the smaller height and starts at most ``gap_em`` line heights after the
    line's end (a table cell boundary always ends a line). Chaining, rather than cutting the page into
    rows, keeps a sidebar's lines and the text beside them apart when their line pitches differ.
    ``scale`` maps CSS pixels to picture pixels (the device scale factor).
    """
    open_lines: list[_Chain] = []
    done: list[_Chain] = []
    for frag in sorted(_fragments(snapshot, viewport), key=lambda f: (f[1], f[2])):
        text, x0, y0, x1, y1, cell = frag
        inked = bool(text.strip())
        if len(open_lines) > 64:  # runs come left to right: a line ended far to the left takes no more
            done += [c for c in open_lines if x0 - c.right > 8 * (c.band[1] - c.band[0])]
            open_lines = [c for c in open_lines if x0 - c.right <= 8 * (c.band[1] - c.band[0])]
        best: tuple[float, _Chain] | None = None
        for chain in open_lines:
            ly0, ly1 = chain.band
            height = max(ly1 - ly0, y1 - y0) if inked else ly1 - ly0
            overlap = min(y1, ly1) - max(y0, ly0)
            if overlap < 0.5 * (min(y1 - y0, ly1 - ly0) if inked else ly1 - ly0):
                continue
            gap = x0 - chain.right
            if gap < -0.5 * height or gap > gap_em * height or (cell != chain.cell and gap > 1):
                continue
            if best is None or abs(gap) < best[0]:
                best = (abs(gap), chain)
        if best is not None:
            chain = best[1]
            chain.fragments.append(frag)
            chain.right = max(chain.right, x1)
            if inked:
                chain.band, chain.cell = (y0, y1), cell
        elif inked:
            open_lines.append(_Chain([frag], x1, (y0, y1), cell))
    lines = [_line(chain.fragments, scale) for chain in done + open_lines]
    return sorted((ln for ln in lines if ln.text.strip(_MARKERS)), key=lambda ln: (ln.box[1], ln.box[0]))


@dataclass
class _Chain:
    fragments: list[Fragment]
    right: float
    band: tuple[float, float]
    """The vertical extent of the line's last inked fragment."""
    cell: int


_MARKERS = " •●○◦▪■□‣⁃"
"""List markers: drawn, but not text that OCR reads reliably (nor that a reproduction must copy)."""


def _line(group: list[Fragment], scale: float) -> TextLine:
    parts: list[str] = []
    right = None
    for text, x0, _, x1, _, _ in group:
        if right is not None and x0 - right > 2 and parts and not parts[-1].endswith(" ") and not text.startswith(" "):
            parts.append(" ")  # fragments that touch are one word ("json" + "()"); a visible gap is a space
        parts.append(text)
        right = x1 if right is None else max(right, x1)
    text = " ".join("".join(parts).split())
    inked = [g for g in group if g[0].strip()] or group  # the box of the text, not of trailing spaces
    box = (
        int(min(g[1] for g in inked) * scale),
        int(min(g[2] for g in inked) * scale),
        int(-(-max(g[3] for g in inked) * scale // 1)),
        int(-(-max(g[4] for g in inked) * scale // 1)),
    )
    return TextLine(text, box)


def render_with_text(
    html: str,
    width: int = 1280,
    height: int = 800,
    *,
    device_scale_factor: float = 1,
    timeout_s: float = 15.0,
    max_html_bytes: int = MAX_HTML_BYTES,
    worker: ChromiumWorker | None = None,
) -> RenderedPage:
    """Render untrusted ``html`` in a ``width``×``height`` viewport; the picture and its text lines.

    The same isolation and limits as :func:`~vlkit.tools.render.render_html` (whose reused JS-off page
    it uses); the same errors (:class:`RenderError`, :class:`RenderTimeoutError`).

    Example:
        ```python
        page = render_with_text("<h1>Hello</h1><p>World</p>", 640, 480)
        [line.text for line in page.lines]   # ['Hello', 'World']
        ```
    """
    def capture(page: Any, timeout_ms: float) -> tuple[bytes, dict[str, Any]]:
        png = page.screenshot(type="png", timeout=timeout_ms, animations="disabled")
        cdp = page.context.new_cdp_session(page)
        try:
            return png, cdp.send("DOMSnapshot.captureSnapshot", {"computedStyles": _STYLES})
        finally:
            cdp.detach()

    png, snapshot = render_untrusted(
        html, width, height, capture, device_scale_factor=device_scale_factor, timeout_s=timeout_s,
        max_html_bytes=max_html_bytes, worker=worker,
    )
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return RenderedPage(image, lines_from_snapshot(snapshot, (width, height), device_scale_factor))
