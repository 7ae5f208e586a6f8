"""Files to pages: every page's pixels, text and line boxes, through :mod:`vlkit.documents`' readers.

Opening, validating and rendering is :func:`vlkit.documents.open_document` (corrupt PDFs, empty files
and decompression bombs are refused there with a typed error); the text is the ``auto`` reader's (PDF
text layer where it covers the page, else RapidOCR). Lines and their boxes come from the same pass
(:meth:`~vlkit.documents.PageReader.read_page`: OCR runs once per page), in the rendered page's pixels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vlkit.documents import PageLines
from vlkit.errors import DocumentError
from vlkit.vision import MAX_IMAGE_PIXELS

__all__ = ["InvoicePage", "read_pages", "READERS"]

logger = logging.getLogger(__name__)

READERS = ("auto", "text", "rapidocr", "none")
BLANK_STD = 2.0
"""A page whose pixel values vary less than this (standard deviation) and has no text is blank."""


@dataclass
class InvoicePage:
    """One page as the extractor uses it."""

    number: int
    pixels: np.ndarray
    """``H x W x 3`` RGB uint8, the rendered page; boxes are in these pixels."""
    text: PageLines
    """The page's text and its lines with their boxes."""
    reader: str
    """Which reader produced the text: ``text``, ``rapidocr`` or ``none``."""
    png: bytes

    def image(self) -> Any:
        from PIL import Image

        return Image.fromarray(self.pixels)


def read_pages(path: str | Path, *, reader: str = "auto", dpi: int = 144, max_pixels: int | None = None) -> list[InvoicePage]:
    """All pages of an image (PNG/JPEG/TIFF, multi-frame too) or PDF, with text and boxes.

    Blank pages (no text, uniform pixels) are dropped; a document with nothing but blank pages raises
    :class:`~vlkit.errors.DocumentError`.
    """
    from vlkit.documents import AutoReader, open_document

    if reader not in READERS:
        raise DocumentError(f"unknown reader '{reader}'; choose one of: {', '.join(READERS)}")
    path = Path(path)
    doc = open_document(path, max_pixels=max_pixels or MAX_IMAGE_PIXELS)
    auto = AutoReader()
    pages: list[InvoicePage] = []
    try:
        for page in doc.pages(dpi):
            if float(page.pixels[::4, ::4].std()) < BLANK_STD and not _has_text_layer(page.pdf_page):
                logger.info("%s: page %d is blank; skipped", path.name, page.number)
                continue  # before OCR: a blank scan costs nothing
            chosen = {"auto": auto.select(page), "text": auto.text, "rapidocr": auto.ocr}.get(reader)
            read = chosen.read_page(page) if chosen is not None else PageLines(page.number, "", [], "none")
            pages.append(InvoicePage(page.number, page.pixels, read, read.reader, page.png))
    finally:
        doc.close()
    if not pages:
        raise DocumentError(f"{path.name}: every page is blank; nothing to read (is it the right file, or a failed scan?)")
    return pages


def _has_text_layer(pdf_page: Any) -> bool:
    return pdf_page is not None and bool(pdf_page.get_text("text").strip())
