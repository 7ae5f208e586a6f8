"""Reads the PDF's own text layer (fast, exact), marking large or bold lines as headings.

Lines are regrouped into paragraphs by geometry, not by PyMuPDF's blocks alone: many PDF writers
(report generators, PyMuPDF's own ``insert_text``) put every line in a block of its own, which
would make each wrapped line a paragraph and cut Chinese words in two at the wrap ("可观" / "测性").
A line that starts within half a body line under the one before, in the same type size, continues
its paragraph; a wrap between two CJK characters is joined without a break, so the word is whole
again for BM25's bigrams and for the embedder.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from vlkit.documents._lines import PageLines, TextLine
from vlkit.documents._pages import SourcePage
from vlkit.documents.readers._base import PageReader
from vlkit.documents.script import is_cjk

__all__ = ["TextLayerReader", "page_lines"]

HEADING_SIZE_RATIO = 1.2
"""A line whose font is this much larger than the page's body text is a heading."""
MAX_HEADING_CHARS = 120
PARAGRAPH_GAP = 0.5
"""A vertical gap over this many body font sizes between two lines starts a new paragraph."""

_Placed = tuple[int, TextLine]
"""A line and the index of the PyMuPDF block it came from (lines of one block are one paragraph)."""


def page_lines(pdf_page: Any, data: dict | None = None) -> list[_Placed]:
    """The text lines of a PyMuPDF page in reading order, each with its block index; boxes and font
    sizes in PDF points (from ``data``, the page's ``get_text("dict", sort=True)``, when it was already
    extracted)."""
    out: list[_Placed] = []
    if data is None:
        data = pdf_page.get_text("dict", sort=True)
    for b, block in enumerate(data.get("blocks", [])):
        if block.get("type", 0) != 0:
            continue
        for line in block.get("lines", []):
            spans = [s for s in line.get("spans", []) if s.get("text", "").strip()]
            if not spans:
                continue
            text = "".join(s["text"] for s in line["spans"]).strip()
            size = max(s["size"] for s in spans)
            bold = all(s.get("flags", 0) & 16 or "bold" in s.get("font", "").lower() for s in spans)
            x0, y0, x1, y1 = line["bbox"]
            out.append((b, TextLine(text, (x0, y0, x1, y1), size=size, bold=bool(bold))))
    return out


def _separator(prev: _Placed, placed: _Placed, body: float) -> str:
    """What goes between two consecutive body lines: a wrap, a line break or a paragraph break."""
    (prev_block, before), (block, line) = prev, placed
    assert before.box is not None and line.box is not None
    if block != prev_block:
        gap = line.box[1] - before.box[3]
        if gap > PARAGRAPH_GAP * body or abs(line.size - before.size) > 0.5:
            return "\n\n"
    if is_cjk(before.text[-1]) and is_cjk(line.text[0]):
        return ""  # a CJK word wrapped across lines
    return "\n"


def _text(placed: list[_Placed]) -> str:
    """The page text: body lines regrouped into paragraphs, large or bold lines as ``# `` headings."""
    sizes: Counter[float] = Counter()
    for _, line in placed:
        sizes[round(line.size, 1)] += len(line.text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    out = ""
    prev: _Placed | None = None
    for item in placed:
        line = item[1]
        short = len(line.text) <= MAX_HEADING_CHARS
        bigger = body and line.size >= body * HEADING_SIZE_RATIO
        # bold body-size lines count only when the page has more than one size or line style
        if short and (bigger or (line.bold and len(sizes) > 1 and line.size >= body)):
            out += ("\n\n" if out else "") + "# " + line.text.lstrip("# ")
            prev = None  # a heading is a paragraph of its own
            continue
        if prev is None:
            out += "\n\n" if out else ""
        else:
            out += _separator(prev, item, body)
        out += line.text
        prev = item
    return out.strip()


class TextLayerReader(PageReader):
    """The PDF text layer; image files and pages without text give ''.

    The lines' boxes are in the rendered page's pixels (:attr:`SourcePage.scale`), without rendering it.
    """

    name = "text"
    reads_pixels = False

    def read_page(self, page: SourcePage) -> PageLines:
        if page.pdf_page is None:
            return PageLines(page.number, "", [], self.name)
        placed = page_lines(page.pdf_page, page.text_dict())  # the text is laid out in points ...
        scale = page.scale  # ... the lines are handed out in the page image's pixels
        return PageLines(page.number, _text(placed), [line.scaled(scale) for _, line in placed], self.name)

    def read(self, page: SourcePage) -> str:
        return _text(page_lines(page.pdf_page, page.text_dict())) if page.pdf_page is not None else ""
