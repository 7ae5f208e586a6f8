"""The Documents tab's cited pages: each page whole at the width of its panel, a click opens it large,
and the passage the answer was drawn from marked on it.

The passage is the hit's chunk that holds most of the question's terms (BM25's terms: English stems, CJK
bigrams); the search's own order of a page's chunks is the tie-break. On a PDF page read from its text
layer its lines are marked, each at its box from the PDF's own text (the index keeps a copy of every PDF
it holds); the chunk's character offsets in the page text say which lines are its. A page read by OCR or a VLM keeps no line boxes in the index, so the
whole page is framed as cited and its caption says so. Images go into the page as data URLs: the UI's
password (the API key) then covers them as it covers the rest of the UI, with no route of their own.
The stylesheet and the click-to-zoom script are package data beside this module (``ui_static/``).
"""

from __future__ import annotations

import base64
import html
import io
import logging
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["PAGES_CSS", "PAGES_JS", "passage", "passage_boxes", "pages_html"]

log = logging.getLogger(__name__)

Fraction = tuple[float, float, float, float]
"""``(x0, y0, x1, y1)`` as fractions of the page's width and height: a box that scales with the image."""

MAX_INLINE_BYTES = 6 * 2**20
"""A page image larger than this is sent downscaled (as JPEG) rather than as its own PNG."""
INLINE_SIDE = 2400
"""The longest side of a downscaled page image: still readable when zoomed."""


@cache
def _static(name: str) -> str:
    return resources.files("vlkit.serve").joinpath("ui_static", name).read_text(encoding="utf-8")


PAGES_CSS = _static("pages.css")
PAGES_JS = _static("pages.js")


def passage(hit: Any, question: str) -> Any:
    """The chunk of ``hit`` that holds most of the terms of ``question`` (None: the hit has no chunks)."""
    from vlkit.retrieval.bm25 import tokenize

    terms = set(tokenize(question))
    return max(hit.chunks, key=lambda c: len(terms.intersection(tokenize(c.text))), default=None)


def passage_boxes(index: Any, hit: Any, question: str) -> list[Fraction] | None:
    """Where on its page the :func:`passage` of ``hit`` is printed: a box per line, as fractions of the page.

    ``None`` when that is not known: a page read by OCR or a VLM (no boxes are kept), a document whose
    PDF copy is gone, or a hit without chunks. Needs the caller to hold the index's lock (MuPDF is not
    safe to call from two threads at once).
    """
    chunk = passage(hit, question)
    if chunk is None or chunk.reader != "text":
        return None
    source = index.images.source_path(chunk.sha256)
    if not source.is_file():
        return None
    import pymupdf
    from vlkit.documents import SourcePage, TextLayerReader

    try:
        with pymupdf.open(source) as doc:
            if not 1 <= hit.page <= doc.page_count:
                return None
            pdf_page = doc.load_page(hit.page - 1)
            width, height = pdf_page.rect.width, pdf_page.rect.height
            page = SourcePage(hit.page, pdf_page=pdf_page, render=_no_pixels, scale=1.0)  # boxes in points
            lines = TextLayerReader().read_page(page).lines
    except Exception as exc:  # a damaged copy: the page is shown framed instead
        log.warning("cannot read the lines of page %d of %s: %s", hit.page, source, exc)
        return None
    boxes: list[Fraction] = []
    cursor = 0
    for line in lines:  # each line's place in the page text, in reading order
        needle = line.text.lstrip("# ").strip()
        at = hit.text.find(needle, cursor) if needle else -1
        if at < 0 or line.box is None:
            continue
        cursor = at + len(needle)
        if at < chunk.end and cursor > chunk.start:
            x0, y0, x1, y1 = line.box
            boxes.append((x0 / width, y0 / height, x1 / width, y1 / height))
    return boxes or None


def _no_pixels() -> Any:
    raise RuntimeError("the text layer is read without rendering the page")


def pages_html(hits: list[Any], boxes: list[list[Fraction] | None]) -> str:
    """The cited pages as HTML figures (``boxes[i]``: the marked lines of ``hits[i]``, or None)."""
    figures = []
    for hit, marks in zip(hits, boxes):
        if not hit.image_path or not Path(hit.image_path).is_file():
            continue
        url = _inline(Path(hit.image_path))
        spans = "".join(
            f'<span class="vlkit-mark" style="left:{x0:.3%};top:{y0:.3%};width:{x1 - x0:.3%};height:{y1 - y0:.3%}">'
            "</span>"
            for x0, y0, x1, y1 in _padded(marks or [])
        )
        how = "the cited passage is marked" if marks else "the passage's place on the page is not known (read by OCR)"
        caption = f'{html.escape(hit.citation)} · {how}<span class="vlkit-hint"> · click to enlarge</span>'
        figures.append(
            f'<figure class="vlkit-page{"" if marks else " whole"}"><figcaption>{caption}</figcaption>'
            f'<div class="vlkit-sheet"><img src="{url}" alt="{html.escape(hit.citation, quote=True)}">{spans}</div>'
            "</figure>"
        )
    return f'<div class="vlkit-pages">{"".join(figures)}</div>' if figures else ""


def _padded(boxes: list[Fraction], pad: float = 0.003) -> list[Fraction]:
    return [(max(0.0, a - pad), max(0.0, b - pad), min(1.0, c + pad), min(1.0, d + pad)) for a, b, c, d in boxes]


def _inline(path: Path) -> str:
    """The image as a data URL; a very large one downscaled to :data:`INLINE_SIDE`."""
    from PIL import Image

    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        if len(data) <= MAX_INLINE_BYTES:
            mime = Image.MIME.get(image.format or "", "image/png")
            return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        image = image.convert("RGB")
        image.thumbnail((INLINE_SIDE, INLINE_SIDE))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        return f"data:image/jpeg;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"
