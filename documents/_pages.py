"""A page on its way from a file to a reader (and to an index's page-image store), and how a PDF page is rendered.

Made by :func:`~vlkit.documents.open_document` (PDF pages rendered by PyMuPDF, image frames by Pillow),
read by the page readers, stored by the knowledge base's page-image store. The PNG is encoded once, on
first use, and shared by whoever needs it (the image store, the VLM reader). A PDF page is rendered only
when something asks for its pixels (OCR, the VLM reader, a blank-page test): the text layer needs none,
so an index renders a text-layer page's image later, when a search shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from vlkit.documents._pngenc import encode_png
from vlkit.vision.limits import MAX_IMAGE_PIXELS

__all__ = ["SourcePage", "render_pdf_page", "render_scale"]


def render_scale(page: Any, dpi: int, max_pixels: int = MAX_IMAGE_PIXELS) -> float:
    """Pixels per PDF point that :func:`render_pdf_page` renders ``page`` at: ``dpi / 72``, lowered for a
    page that would exceed ``max_pixels`` (a poster)."""
    rect = page.rect
    scale = dpi / 72.0
    pixels = rect.width * scale * rect.height * scale
    if pixels > max_pixels:
        scale *= (max_pixels / pixels) ** 0.5
    return scale


def render_pdf_page(page: Any, dpi: int, max_pixels: int = MAX_IMAGE_PIXELS, pymupdf: Any = None) -> np.ndarray:
    """A ``pymupdf.Page`` rendered at ``dpi`` as ``H x W x 3`` RGB ``uint8``; a page that would exceed
    ``max_pixels`` (a poster) is rendered at a lower dpi rather than refused. Ingest (for OCR) and an
    index's image store (an image shown later) render alike, so both see the same pixels."""
    if pymupdf is None:
        import pymupdf
    scale = render_scale(page, dpi, max_pixels)
    pix = page.get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)


class SourcePage:
    """One page handed to a reader: its pixels (given, or rendered on first use), plus the PDF page
    when there is one.

    Args:
        number: 1-based page number in its document.
        pixels: the page's pixels, or ``None`` with ``render``.
        pdf_page: the ``pymupdf.Page`` for PDF input, ``None`` for image files.
        render: makes the pixels on first use of :attr:`pixels` (PDF pages).
        scale: pixels per PDF point of the rendered page (:func:`render_scale`), so the text layer's
            lines get boxes in pixels without rendering; default: measured from the pixels.
    """

    def __init__(self, number: int, pixels: np.ndarray | None = None, pdf_page: Any = None, *,
                 render: Callable[[], np.ndarray] | None = None, scale: float | None = None) -> None:
        if pixels is None and render is None:
            raise TypeError("a SourcePage needs its pixels or a render function")
        self.number, self.pdf_page = number, pdf_page
        self._pixels, self._render, self._png, self._scale = pixels, render, None, scale
        self._text_dict: dict[str, Any] | None = None

    def text_dict(self) -> dict[str, Any]:
        """The PDF page's text layer as PyMuPDF's ``get_text("dict", sort=True)``, extracted once and shared
        by the reader router (how much text, how much image) and the text-layer reader: MuPDF's text
        extraction was a large share of reading a manual's text layer when each did its own. ``{}`` for image files."""
        if self._text_dict is None:
            self._text_dict = self.pdf_page.get_text("dict", sort=True) if self.pdf_page is not None else {}
        return self._text_dict

    def __repr__(self) -> str:
        return f"SourcePage(number={self.number}, rendered={self.rendered})"

    @property
    def pixels(self) -> np.ndarray:
        """The page rendered at the index's dpi (or the image file's frame): ``H x W x 3`` RGB ``uint8``."""
        if self._pixels is None:
            assert self._render is not None
            self._pixels = self._render()
        return self._pixels

    @property
    def rendered(self) -> bool:
        """Whether the pixels exist yet (a text-layer page never needs them)."""
        return self._pixels is not None

    @property
    def scale(self) -> float:
        """Pixels per PDF point (1.0 for an image file): what turns the text layer's coordinates into
        :attr:`pixels` coordinates."""
        if self._scale is None:
            if self.pdf_page is None or self.pdf_page.rect.width <= 0:
                return 1.0
            self._scale = self.width / self.pdf_page.rect.width
        return self._scale

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def png(self) -> bytes:
        """The page as PNG (encoded once, lossless; see :func:`~vlkit.documents.encode_png`)."""
        if self._png is None:
            self._png = encode_png(self.pixels)
        return self._png

    def image(self) -> Any:
        """The page as an RGB ``PIL.Image`` (a view of the pixels, nothing decoded)."""
        from PIL import Image

        return Image.fromarray(self.pixels)
