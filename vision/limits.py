"""How large an input image may be, checked before it is decoded: the one definition of vlkit's image limits.

Every surface that takes an image from a user — ``ChatQwenVL`` (``max_image_pixels`` / ``max_image_bytes``),
``vlkit kb add --max-image-pixels``, the document index's image files, page images rendered from PDFs, and
``vlkit serve``'s request bodies — takes its default from here, so raising the limit is one edit.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ImageLimits", "MAX_IMAGE_PIXELS", "MAX_IMAGE_BYTES"]

MAX_IMAGE_PIXELS = 64_000_000
"""Largest decoded image area accepted by default (64 MP: an A4 page at 600 dpi is 35 MP). Larger image
files are refused from their header, before decoding (decompression bombs); larger PDF pages are
rendered at a lower dpi instead."""

MAX_IMAGE_BYTES = 64 * 1024 * 1024
"""Largest encoded image accepted by default (64 MiB)."""


@dataclass(frozen=True)
class ImageLimits:
    """Refuse images past these sizes before decoding them, and URLs that point into the local network."""

    max_bytes: int = MAX_IMAGE_BYTES
    """Largest encoded image accepted."""
    max_pixels: int = MAX_IMAGE_PIXELS
    """Largest decoded area accepted (width × height)."""
    allow_private_urls: bool = False
    """Fetch http(s) image URLs whose host resolves to a loopback, private or link-local address. Off by
    default: a URL inside a message (written by a user, a web page or a model) must not reach services on
    the machine's own network (SSRF). See :mod:`vlkit.vision.fetch`."""
    fetch_timeout: float = 30.0
    """Seconds one image URL may take to download, redirects included."""
