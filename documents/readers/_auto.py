"""Per page: the PDF text layer when it covers the page, else OCR — so mixed PDFs just work.

Which OCR (measured on scans of the dev set's real manuals, ``benchmarks/bench_ocr.py``; figures in
``benchmarks/README.md``): Tesseract reads English scans faster than RapidOCR at the same retrieval
recall, but Chinese pages worse. So ``auto`` OCRs with :class:`OCRRouter`: Tesseract first when the
program and its ``eng`` + ``chi_sim`` data are installed, and a page whose Tesseract text has any
sizeable share of CJK is read again by RapidOCR. Without Tesseract every scan goes to RapidOCR (pip-only).

A Chinese scan would pay both engines on every page that way, so the router follows the document:
after :data:`CJK_RUN` pages in a row went to RapidOCR it sends the next pages straight there, and goes
back to Tesseract first as soon as RapidOCR reads a page with little CJK on it (or a new document
starts, page 1).
"""

from __future__ import annotations

import logging
import shutil

from typing import Any

from vlkit.documents._lines import PageLines
from vlkit.documents._pages import SourcePage
from vlkit.documents.readers._base import PageReader
from vlkit.documents.readers._rapidocr import RapidOCRReader
from vlkit.documents.readers._text import TextLayerReader
from vlkit.documents.script import cjk_share
from vlkit.errors import MissingProgramError

__all__ = ["AutoReader", "OCRRouter", "text_coverage"]

logger = logging.getLogger(__name__)

CJK_PAGE = 0.05
"""A page whose Tesseract text has at least this share of CJK characters is read again by RapidOCR. Low on
purpose: Tesseract drops CJK glyphs even on mostly Latin pages (a receipt's "发票金额" came back "票金额")."""

CJK_RUN = 2
"""After this many CJK pages in a row, the next pages skip Tesseract (until one has little CJK)."""

MIN_CHARS = 20
"""Fewer text-layer characters than this: the page is treated as scanned."""
IMAGE_COVER = 0.5
"""Images covering more than this fraction of the page ..."""
MIN_DENSITY = 5.0
"""... with fewer text-layer characters than this per square inch: scanned, OCR it."""


def text_coverage(pdf_page: Any, data: dict | None = None) -> tuple[int, float, float]:
    """``(chars, chars per square inch, fraction of page area under images)`` of a PDF page, from ``data``
    (its ``get_text("dict")``, text and image blocks) when it was already extracted.

    A typeset page carries ~30 chars/in²; a scan carries none, or an OCR layer over a
    full-page image (which is kept: density is high).
    """
    if data is None:
        data = pdf_page.get_text("dict", sort=True)
    rect = pdf_page.rect
    area = max(rect.width * rect.height, 1.0)
    chars = covered = 0
    for block in data.get("blocks", []):
        if block.get("type", 0) == 1:  # an image placed on the page
            box = rect & block["bbox"]  # clip to the page
            if not box.is_empty:
                covered += box.width * box.height
            continue
        text = "".join(span.get("text", "") for line in block.get("lines", []) for span in line.get("spans", []))
        chars += len("".join(text.split()))  # the non-blank characters (split's blanks are isspace's)
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
        chars, density, images = text_coverage(page.pdf_page, page.text_dict())
        if chars < MIN_CHARS or (images > IMAGE_COVER and density < MIN_DENSITY):
            return self.ocr
        return self.text

    def read_page(self, page: SourcePage) -> PageLines:
        return self.select(page).read_page(page)

    def read(self, page: SourcePage) -> str:
        return self.select(page).read(page)  # the text layer's text needs no pixels


class OCRRouter(PageReader):
    """Tesseract for Latin-script scans, RapidOCR for CJK ones (see the module docstring).

    Args:
        cjk: the reader for CJK pages, and for every page when Tesseract is missing.
        latin: the first reader (default: :class:`~vlkit.documents.TesseractReader`
            with ``eng+chi_sim``, if it runs here; ``None``: RapidOCR only).
        cjk_page: see :data:`CJK_PAGE`.
        cjk_run: see :data:`CJK_RUN` (``0``: never skip Tesseract).

    Pages are expected one document at a time, in order (as ingest reads them); the router is not
    meant to be shared by threads reading different documents at once.
    """

    name = "ocr"

    def __init__(self, cjk: PageReader, latin: PageReader | None | str = "tesseract", *,
                 cjk_page: float = CJK_PAGE, cjk_run: int = CJK_RUN) -> None:
        self.cjk = cjk
        self.latin = _installed_tesseract() if latin == "tesseract" else latin
        self.cjk_page = cjk_page
        self.cjk_run = cjk_run
        self._run = 0  # CJK pages in a row, in the current document

    def read_page(self, page: SourcePage) -> PageLines:
        """The page as the reader that suits it read it (:attr:`PageLines.reader` says which)."""
        if self.latin is None:
            return self.cjk.read_page(page)
        if page.number == 1:
            self._run = 0  # a new document decides afresh
        if self.cjk_run and self._run >= self.cjk_run:
            read = self.cjk.read_page(page)  # a Chinese document: Tesseract's pass would be thrown away
            if cjk_share(read.text) < self.cjk_page:
                self._run = 0  # a Latin page after all: Tesseract first again from the next page
            return read
        read = self.latin.read_page(page)
        if cjk_share(read.text) >= self.cjk_page:
            self._run += 1
            return self.cjk.read_page(page)
        self._run = 0
        return read


def _installed_tesseract() -> PageReader | None:
    if shutil.which("tesseract") is None:
        logger.info("tesseract is not installed: scans are OCR'd with RapidOCR "
                    "(apt-get install tesseract-ocr tesseract-ocr-chi-sim reads English scans faster)")
        return None
    from vlkit.documents.readers._tesseract import TesseractReader

    reader = TesseractReader(languages="eng+chi_sim")
    try:
        reader.check()
    except MissingProgramError as exc:
        logger.info("tesseract cannot be used (%s): scans are OCR'd with RapidOCR", exc)
        return None
    return reader
