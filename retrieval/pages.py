"""A rendered page on its way from a file to a reader and to the page-image store.

Made by :mod:`vlkit.retrieval.ingest` (PDF pages rendered by PyMuPDF, image frames by Pillow), read by
:mod:`vlkit.retrieval.readers`, stored by :class:`~vlkit.retrieval.page_images.PageImageStore`. The
PNG is encoded once, on first use, and shared by whoever needs it (the image store, the VLM reader).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vlkit.retrieval.pngenc import encode_png

__all__ = ["SourcePage"]


@dataclass
class SourcePage:
    """One page handed to a reader: always its rendered pixels, plus the PDF page when there is one."""

    number: int
    """1-based page number in its document."""
    pixels: np.ndarray
    """The page rendered at the index's dpi (or the image file's frame): ``H x W x 3`` RGB ``uint8``."""
    pdf_page: Any = None
    """The ``pymupdf.Page`` for PDF input, ``None`` for image files."""
    _png: bytes | None = field(default=None, repr=False)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def png(self) -> bytes:
        """The page as PNG (encoded once, lossless; see :mod:`vlkit.retrieval.pngenc`)."""
        if self._png is None:
            self._png = encode_png(self.pixels)
        return self._png

    def image(self) -> Any:
        """The page as an RGB ``PIL.Image`` (a view of the pixels, nothing decoded)."""
        from PIL import Image

        return Image.fromarray(self.pixels)
