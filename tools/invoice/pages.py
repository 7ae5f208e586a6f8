"""Files to pages: every page's pixels, text and line boxes, through the knowledge base's readers.

Opening, validating and rendering is :func:`vlkit.retrieval.ingest.open_document` (corrupt PDFs,
empty files and decompression bombs are refused there with a typed error); the text is the ``auto``
reader's (PDF text layer where it covers the page, else RapidOCR). Boxes come from the same pass:
OCR's line boxes (:meth:`RapidOCRReader.read_boxes`, OCR runs once per page) or the text layer's lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vlkit.errors import DocumentError
from vlkit.tools.invoice.grounding import PageText, TextBox

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
    text: PageText
    reader: str
    """Which reader produced the text: ``text``, ``rapidocr`` or ``none``."""
    png: bytes

    def image(self) -> Any:
        from PIL import Image

        return Image.fromarray(self.pixels)


def _pdf_lines(pdf_page: Any, scale: float, number: int) -> list[TextBox]:
    out = []
    for block in pdf_page.get_text("dict", sort=True).get("blocks", []):
        for line in block.get("lines", []):
            text = "".join(s.get("text", "") for s in line.get("spans", [])).strip()
            if text:
                x0, y0, x1, y1 = line["bbox"]
                out.append(TextBox(text, number, (x0 * scale, y0 * scale, x1 * scale, y1 * scale)))
    return out


def read_pages(path: str | Path, *, reader: str = "auto", dpi: int = 144, max_pixels: int | None = None) -> list[InvoicePage]:
    """All pages of an image (PNG/JPEG/TIFF, multi-frame too) or PDF, with text and boxes.

    Blank pages (no text, uniform pixels) are dropped; a document with nothing but blank pages raises
    :class:`~vlkit.errors.DocumentError`.
    """
    from vlkit.retrieval.ingest import MAX_PIXELS, open_document
    from vlkit.retrieval.readers.auto import AutoReader
    from vlkit.retrieval.readers.ocr import RapidOCRReader
    from vlkit.retrieval.readers.text import TextLayerReader

    if reader not in READERS:
        raise DocumentError(f"unknown reader '{reader}'; choose one of: {', '.join(READERS)}")
    path = Path(path)
    doc = open_document(path, max_pixels=max_pixels or MAX_PIXELS)
    auto = AutoReader()
    pages: list[InvoicePage] = []
    try:
        for page in doc.pages(dpi):
            if float(page.pixels[::4, ::4].std()) < BLANK_STD and not _has_text_layer(page.pdf_page):
                logger.info("%s: page %d is blank; skipped", path.name, page.number)
                continue  # before OCR: a blank scan costs nothing
            chosen = {"auto": auto.select(page), "text": auto.text, "rapidocr": auto.ocr}.get(reader)
            boxes: list[TextBox] = []
            text = ""
            name = "none"
            if isinstance(chosen, RapidOCRReader):
                found = chosen.read_boxes(page)
                text = chosen.text_from_boxes(found)
                boxes = [TextBox(b.text, page.number, _bbox(b.box)) for b in found]
                name = "rapidocr"
            elif isinstance(chosen, TextLayerReader):
                text = chosen.read(page)
                if page.pdf_page is not None:
                    boxes = _pdf_lines(page.pdf_page, page.width / page.pdf_page.rect.width, page.number)
                name = "text"
            pages.append(InvoicePage(page.number, page.pixels, PageText(page.number, text, boxes), name, page.png))
    finally:
        doc.close()
    if not pages:
        raise DocumentError(f"{path.name}: every page is blank; nothing to read (is it the right file, or a failed scan?)")
    return pages


def _has_text_layer(pdf_page: Any) -> bool:
    return pdf_page is not None and bool(pdf_page.get_text("text").strip())


def _bbox(quad: tuple[tuple[float, float], ...]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in quad]
    ys = [p[1] for p in quad]
    return (min(xs), min(ys), max(xs), max(ys))
