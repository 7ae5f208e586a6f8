"""How a retrieved page is shown to a chat model: its image as a LangChain v1 image block.

Shared by :class:`~vlkit.retrieval.qa.DocumentQA` (the answer) and
:class:`~vlkit.retrieval.rerank.VLMReranker` (the listwise judge), so both spend the same visual
budget per page for the same pixels.
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path
from typing import Any

__all__ = ["image_block"]

logger = logging.getLogger(__name__)


def image_block(path: Path, max_pixels: int) -> dict[str, Any] | None:
    """The page image at ``path`` as an image block of at most ``max_pixels`` pixels.

    A small image goes as a ``file://`` URL (the model reads the file itself); a larger one is
    scaled down (Lanczos) and sent as base64 PNG. ``None`` when the file is missing or unreadable:
    the caller falls back to the page's text.
    """
    try:
        from PIL import Image

        with Image.open(path) as img:
            w, h = img.size
            if w * h <= max_pixels:
                return {"type": "image", "url": path.resolve().as_uri()}
            scale = (max_pixels / (w * h)) ** 0.5
            small = img.convert("RGB").resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.LANCZOS)
            buf = io.BytesIO()
            small.save(buf, format="PNG")
    except OSError as exc:  # a missing or unreadable page image: answer from the text
        logger.warning("page image %s unusable (%s); sending text only", path, exc)
        return None
    return {"type": "image", "base64": base64.b64encode(buf.getvalue()).decode("ascii"), "mime_type": "image/png"}
