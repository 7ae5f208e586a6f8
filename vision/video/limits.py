"""How large an input video may be, checked from the container header before any frame is decoded.

The video counterpart of :class:`~vlkit.vision.limits.ImageLimits`: one frame's area shares the image limit
(:data:`~vlkit.vision.limits.MAX_IMAGE_PIXELS`), the rest is what only a video has — a length in seconds and
in frames, and more bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlkit.vision.limits import MAX_IMAGE_PIXELS

__all__ = ["VideoLimits", "MAX_VIDEO_BYTES", "MAX_VIDEO_FILE_BYTES", "MAX_VIDEO_SECONDS", "MAX_VIDEO_FRAMES"]

MAX_VIDEO_BYTES = 512 * 1024 * 1024
"""Largest video held in memory by default (512 MiB): base64 data, a ``data:`` URL, a download."""

MAX_VIDEO_FILE_BYTES = 16 * 1024**3
"""Largest video file on disk accepted by default (16 GiB). PyAV reads a file as it decodes, never whole,
so a long recording costs disk reads, not memory; the duration limit is what bounds it."""

MAX_VIDEO_SECONDS = 4 * 3600.0
"""Longest video accepted by default (4 hours). Longer videos are not decoded; a long video under the
limit is sampled more sparsely to fit the visual budget."""

MAX_VIDEO_FRAMES = 4 * 3600 * 120
"""Most source frames accepted by default (4 hours at 120 fps), as the container header declares them."""


@dataclass(frozen=True)
class VideoLimits:
    """Refuse videos past these sizes before decoding them, and URLs that point into the local network."""

    max_bytes: int = MAX_VIDEO_BYTES
    """Largest encoded video held in memory (base64 data, a ``data:`` URL, a download)."""
    max_file_bytes: int = MAX_VIDEO_FILE_BYTES
    """Largest video file on disk (opened by path, read as it is decoded)."""
    max_pixels: int = MAX_IMAGE_PIXELS
    """Largest frame area accepted (width × height of the source, before resizing)."""
    max_seconds: float = MAX_VIDEO_SECONDS
    """Longest duration accepted, from the container header."""
    max_frames: int = MAX_VIDEO_FRAMES
    """Most source frames accepted, from the container header (or its duration × frame rate)."""
    allow_private_urls: bool = False
    """Fetch http(s) video URLs whose host resolves to a loopback, private or link-local address (off by
    default: see :mod:`vlkit.vision.fetch`)."""
    fetch_timeout: float = 120.0
    """Seconds one video URL may take to download, redirects included."""
