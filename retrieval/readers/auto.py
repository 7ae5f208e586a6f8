"""Per page: the PDF text layer when it covers the page, else OCR — so mixed PDFs just work."""

from __future__ import annotations

from vlkit.retrieval.pages import SourcePage
from vlkit.retrieval.readers.base import PageReader
from vlkit.retrieval.readers.ocr import RapidOCRReader
from vlkit.retrieval.readers.text import TextLayerReader

__all__ = ["AutoReader", "text_coverage"]

MIN_CHARS = 20
"""Fewer text-layer characters than this: the page is treated as scanned."""
IMAGE_COVER = 0.5
"""Images covering more than this fraction of the page ..."""
MIN_DENSITY = 5.0
"""... with fewer text-layer characters than this per square inch: scanned, OCR it."""


def text_coverage(pdf_page) -> tuple[int, float, float]:
    """``(chars, chars per square inch, fraction of page area under images)`` of a PDF page.

    A typeset page carries ~30 chars/in²; a scan carries none, or an OCR layer over a
    full-page image (which is kept: density is high).
    """
    rect = pdf_page.rect
    area = max(rect.width * rect.height, 1.0)
    chars = sum(1 for c in pdf_page.get_text("text") if not c.isspace())
    covered = 0.0
    for info in pdf_page.get_image_info():
        box = rect & info["bbox"]  # clip to the page
        if not box.is_empty:
            covered += box.width * box.height
    return chars, chars / (area / 72.0 / 72.0), min(covered / area, 1.0)


class AutoReader(PageReader):
    """Routes each page to the text layer or to OCR by :func:`text_coverage`."""

    name = "auto"

    def __init__(self, text: PageReader | None = None, ocr: PageReader | None = None) -> None:
        self.text = text or TextLayerReader()
        self.ocr = ocr or RapidOCRReader()

    def select(self, page: SourcePage) -> PageReader:
        if page.pdf_page is None:
            return self.ocr
        chars, density, images = text_coverage(page.pdf_page)
        if chars < MIN_CHARS or (images > IMAGE_COVER and density < MIN_DENSITY):
            return self.ocr
        return self.text

    def read(self, page: SourcePage) -> str:
        return self.select(page).read(page)
