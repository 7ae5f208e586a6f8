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
from dataclasses import dataclass

from vlkit.retrieval.pages import SourcePage
from vlkit.retrieval.readers.base import PageReader
from vlkit.retrieval.script import is_cjk

__all__ = ["TextLayerReader", "Line", "page_lines"]

HEADING_SIZE_RATIO = 1.2
"""A line whose font is this much larger than the page's body text is a heading."""
MAX_HEADING_CHARS = 120
PARAGRAPH_GAP = 0.5
"""A vertical gap over this many body font sizes between two lines starts a new paragraph."""


@dataclass(frozen=True)
class Line:
    """One text line of a PDF page."""

    text: str
    size: float
    """Largest font size on the line."""
    bold: bool
    top: float
    bottom: float
    block: int
    """Index of the PyMuPDF block the line came from."""


def page_lines(pdf_page, data: dict | None = None) -> list[Line]:
    """The text lines of a PyMuPDF page, in reading order (from ``data``, the page's
    ``get_text("dict", sort=True)``, when it was already extracted)."""
    out: list[Line] = []
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
            out.append(Line(text, size, bold, y0, y1, b))
    return out


def _separator(prev: Line, line: Line, body: float) -> str:
    """What goes between two consecutive body lines: a wrap, a line break or a paragraph break."""
    if line.block != prev.block:
        gap = line.top - prev.bottom
        if gap > PARAGRAPH_GAP * body or abs(line.size - prev.size) > 0.5:
            return "\n\n"
    if is_cjk(prev.text[-1]) and is_cjk(line.text[0]):
        return ""  # a CJK word wrapped across lines
    return "\n"


class TextLayerReader(PageReader):
    """The PDF text layer; image files and pages without text give ''."""

    name = "text"

    def read(self, page: SourcePage) -> str:
        if page.pdf_page is None:
            return ""
        lines = page_lines(page.pdf_page, page.text_dict())
        sizes: Counter[float] = Counter()
        for line in lines:
            sizes[round(line.size, 1)] += len(line.text)
        body = sizes.most_common(1)[0][0] if sizes else 0.0
        out = ""
        prev: Line | None = None
        for line in lines:
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
                out += _separator(prev, line, body)
            out += line.text
            prev = line
        return out.strip()
