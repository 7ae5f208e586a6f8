"""Reads the PDF's own text layer (fast, exact), marking large or bold lines as headings."""

from __future__ import annotations

from collections import Counter

from vlkit.retrieval.readers.base import PageReader, SourcePage

__all__ = ["TextLayerReader", "page_lines"]

HEADING_SIZE_RATIO = 1.2
"""A line whose font is this much larger than the page's body text is a heading."""
MAX_HEADING_CHARS = 120


def page_lines(pdf_page) -> list[tuple[str, float, bool]]:
    """``(text, font size, all bold)`` per text line of a PyMuPDF page, in reading order."""
    out: list[tuple[str, float, bool]] = []
    data = pdf_page.get_text("dict", sort=True)
    for block in data.get("blocks", []):
        if block.get("type", 0) != 0:
            continue
        for line in block.get("lines", []):
            spans = [s for s in line.get("spans", []) if s.get("text", "").strip()]
            if not spans:
                continue
            text = "".join(s["text"] for s in line["spans"]).strip()
            size = max(s["size"] for s in spans)
            bold = all(s.get("flags", 0) & 16 or "bold" in s.get("font", "").lower() for s in spans)
            out.append((text, size, bold))
        out.append(("", 0.0, False))  # block boundary -> blank line
    return out


class TextLayerReader(PageReader):
    """The PDF text layer; image files and pages without text give ''."""

    name = "text"

    def read(self, page: SourcePage) -> str:
        if page.pdf_page is None:
            return ""
        lines = page_lines(page.pdf_page)
        sizes: Counter[float] = Counter()
        for text, size, _ in lines:
            if text:
                sizes[round(size, 1)] += len(text)
        body = sizes.most_common(1)[0][0] if sizes else 0.0
        parts: list[str] = []
        for text, size, bold in lines:
            if not text:
                if parts and parts[-1] != "":
                    parts.append("")
                continue
            short = len(text) <= MAX_HEADING_CHARS
            bigger = body and size >= body * HEADING_SIZE_RATIO
            # bold body-size lines count only when the page has more than one size or line style
            if short and (bigger or (bold and len(sizes) > 1 and size >= body)):
                if parts and parts[-1] != "":
                    parts.append("")
                parts.append("# " + text.lstrip("# "))
            else:
                parts.append(text)
        return "\n".join(parts).strip()
