"""How a retrieved page is shown to a chat model: its image as a LangChain v1 image block, no larger than
a budget given in the model's own visual tokens.

Shared by :class:`~vlkit.retrieval.qa.DocumentQA` (the answer) and
:class:`~vlkit.retrieval.search.VLMReranker` (the listwise judge), so both spend the same visual
budget per page for the same pixels.
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path
from typing import Any

from vlkit.errors import ImageError
from vlkit.vision.facts import pixels_for_tokens
from vlkit.vision.families import SMALLEST_FACTOR
from vlkit.vision.loading import image_size, open_image

__all__ = ["MIN_IMAGE_PIXELS", "PageImageBudget", "image_block"]

MIN_IMAGE_PIXELS = SMALLEST_FACTOR ** 2
"""One visual token (of the smallest family): the smallest page-image size that shows anything."""

logger = logging.getLogger(__name__)


def image_block(path: Path, max_pixels: int) -> dict[str, Any] | None:
    """The page image at ``path`` as an image block of at most ``max_pixels`` pixels.

    A small image goes as a ``file://`` URL (the model reads the file itself); a larger one is
    scaled down (Lanczos) and sent as base64 PNG. ``None`` when the file is missing or unreadable:
    the caller falls back to the page's text.
    """
    try:
        from PIL import Image

        w, h = image_size(path)  # the header only: a small page goes as it is
        if w * h <= max_pixels:
            return {"type": "image", "url": path.resolve().as_uri()}
        scale = (max_pixels / (w * h)) ** 0.5
        small = open_image(path).resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.LANCZOS)
        buf = io.BytesIO()
        small.save(buf, format="PNG")
    except (ImageError, OSError) as exc:  # a missing or unreadable page image: answer from the text
        logger.warning("page image %s unusable (%s); sending text only", path, exc)
        return None
    return {"type": "image", "base64": base64.b64encode(buf.getvalue()).decode("ascii"), "mime_type": "image/png"}


class PageImageBudget:
    """How many pixels each page image shown to ``model`` may have: ``pixels`` when given, else what
    ``tokens`` of the model's own visual tokens cover (its family asked of it on first use, or ``family``;
    see :func:`vlkit.vision.pixels_for_tokens`)."""

    def __init__(self, model: Any, tokens: int, pixels: int | None = None, family: str | None = None) -> None:
        self.model, self.tokens, self.family, self._pixels = model, tokens, family, pixels

    @property
    def max_pixels(self) -> int:
        if self._pixels is None:
            self._pixels = pixels_for_tokens(self.model, self.tokens, self.family)
        return self._pixels

    def block(self, path: Path) -> dict[str, Any] | None:
        """The page image at ``path`` within the budget (:func:`image_block`)."""
        return image_block(path, self.max_pixels)
