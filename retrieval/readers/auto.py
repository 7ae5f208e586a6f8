"""Per page: the PDF text layer when it covers the page, else OCR — so mixed PDFs just work.

Which OCR (measured on 150-dpi scans of the dev set's real manuals, ``benchmarks/bench_ocr.py``):
Tesseract reads English scans 3.5x faster than RapidOCR did before issue 15 (1.8x faster than
RapidOCR now) at the same retrieval recall, but Chinese pages worse (character accuracy 0.82
against RapidOCR's 0.95). So ``auto`` OCRs with :class:`OCRRouter`: Tesseract first when the
program and its ``eng`` + ``chi_sim`` data are installed, and a page whose Tesseract text has any
sizeable share of CJK is read again by RapidOCR. Without Tesseract every scan goes to RapidOCR (pip-only).
"""

from __future__ import annotations

import logging
import shutil

from vlkit.errors import MissingProgramError
from vlkit.retrieval.pages import SourcePage
from vlkit.retrieval.readers.base import PageReader
from vlkit.retrieval.readers.ocr import RapidOCRReader
from vlkit.retrieval.readers.text import TextLayerReader
from vlkit.retrieval.script import cjk_share

__all__ = ["AutoReader", "OCRRouter", "text_coverage"]

logger = logging.getLogger(__name__)

CJK_PAGE = 0.05
"""A page whose Tesseract text has at least this share of CJK characters is read again by RapidOCR. Low on
purpose: Tesseract drops CJK glyphs even on mostly Latin pages (a receipt's "发票金额" came back "票金额")."""

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


class OCRRouter(PageReader):
    """Tesseract for Latin-script scans, RapidOCR for CJK ones (see the module docstring).

    Args:
        cjk: the reader for CJK pages, and for every page when Tesseract is missing.
        latin: the first reader (default: :class:`~vlkit.retrieval.readers.tesseract.TesseractReader`
            with ``eng+chi_sim``, if it runs here; ``None``: RapidOCR only).
        cjk_page: see :data:`CJK_PAGE`.
    """

    name = "ocr"

    def __init__(self, cjk: PageReader, latin: PageReader | None | str = "tesseract", *,
                 cjk_page: float = CJK_PAGE) -> None:
        self.cjk = cjk
        self.latin = _installed_tesseract() if latin == "tesseract" else latin
        self.cjk_page = cjk_page

    def read(self, page: SourcePage) -> str:
        return self.read_named(page)[0]

    def read_named(self, page: SourcePage) -> tuple[str, str]:
        if self.latin is None:
            return self.cjk.read(page), self.cjk.name
        text = self.latin.read(page)
        if cjk_share(text) >= self.cjk_page:
            return self.cjk.read(page), self.cjk.name
        return text, self.latin.name


def _installed_tesseract() -> PageReader | None:
    if shutil.which("tesseract") is None:
        logger.info("tesseract is not installed: scans are OCR'd with RapidOCR "
                    "(apt-get install tesseract-ocr tesseract-ocr-chi-sim reads English scans ~1.8x faster)")
        return None
    from vlkit.retrieval.readers.tesseract import TesseractReader

    reader = TesseractReader(languages="eng+chi_sim")
    try:
        reader.check()
    except MissingProgramError as exc:
        logger.info("tesseract cannot be used (%s): scans are OCR'd with RapidOCR", exc)
        return None
    return reader
