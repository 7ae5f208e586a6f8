"""Video inputs: every accepted block form in, one checked :class:`VideoInput` out.

Accepted forms (inside a human message's content list):

* ``{"type": "video", "path": "clip.mp4"}``, or ``"url"`` as a ``file://`` URI, a plain path, an http(s) URL
  or a ``data:video/mp4;base64,…`` URL; ``{"type": "video", "base64": …, "mime_type": "video/mp4"}`` (and
  the older ``source_type="base64"`` / ``data`` spelling);
* OpenAI style (vLLM, SGLang): ``{"type": "video_url", "video_url": {"url": …}}``;
* Qwen style: ``{"type": "video", "video": "clip.mp4"}``;
* a list of frames as a video: ``{"type": "video", "video": [image, …]}`` (or ``"frames"``), each a PIL
  image, an image block or a path; ``fps`` is then the rate the frames were taken at (default 2).

Options on the block: ``fps`` (frames sampled per second, default 2), ``max_frames``, ``min_pixels`` /
``max_pixels`` (per frame), ``start`` / ``end`` (seconds; Qwen's ``video_start`` / ``video_end`` too).

Files are checked from the container header before any frame is decoded (:func:`probe_video`); a file is
opened by path and never read whole. http(s) videos are fetched when decoded, with
:func:`vlkit.vision.fetch.fetch` (public addresses only unless ``VideoLimits.allow_private_urls``).
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from PIL import Image

from vlkit.errors import (
    RAISE_VIDEO_LIMIT,
    ImageTooLargeError,
    InvalidArgumentError,
    UnsupportedVideoFormatError,
    VideoTooLargeError,
    VideoUnreadableError,
)
from vlkit.vision.limits import ImageLimits
from vlkit.vision.loading import image_from_block, open_image
from vlkit.vision.video.decode import VideoInfo, probe_video
from vlkit.vision.video.limits import VideoLimits

__all__ = ["VideoInput", "video_from_block", "is_video_block", "VIDEO_BLOCK_TYPES"]

VIDEO_BLOCK_TYPES = frozenset({"video", "video_url"})
"""Content block types that carry a video."""

_NUMBER_OPTIONS = {"fps": "fps", "start": "start", "end": "end", "video_start": "start", "video_end": "end"}
_INT_OPTIONS = ("max_frames", "min_pixels", "max_pixels")


@dataclass
class VideoInput:
    """One video of a message — a file, bytes, a remote URL or a list of frames — checked, not yet decoded."""

    path: Path | None = None
    data: bytes | None = None
    url: str | None = None
    frames: list[Image.Image] | None = None
    """A list of frames given as a video (RGB PIL images)."""
    mime_type: str | None = None
    fps: float | None = None
    """For a file: frames sampled per second (None: the default, 2). For a list of frames: the rate they
    were taken at (None: 2)."""
    max_frames: int | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    start: float | None = None
    end: float | None = None
    info: VideoInfo | None = field(default=None)
    """The container header's facts; None for frames and for a remote URL not fetched yet."""
    source: str = "video"
    """Where the video came from (a path, a URL, "base64 video"), for messages."""

    @property
    def is_remote(self) -> bool:
        return self.url is not None and self.path is None and self.data is None and self.frames is None

    def fetch(self, limits: VideoLimits | None = None) -> None:
        """Download a remote video into :attr:`data` under ``limits`` and read its header (no-op otherwise)."""
        if not self.is_remote:
            return
        limits = limits or VideoLimits()
        from vlkit.vision.fetch import any_address, fetch, is_public_address

        try:
            fetched = fetch(
                self.url or "",
                max_bytes=limits.max_bytes,
                timeout=limits.fetch_timeout,
                allow_address=any_address if limits.allow_private_urls else is_public_address,
            )
        except ImageTooLargeError:  # the fetcher speaks of images; this one is a video
            raise VideoTooLargeError(
                f"video {(self.url or '')[:200]} is larger than the {limits.max_bytes / 2**20:.0f} MiB limit (",
                RAISE_VIDEO_LIMIT, ")",
            ) from None
        self.info = probe_video(fetched.data, limits, what=self.source)
        self.data, self.mime_type = fetched.data, self.mime_type or fetched.content_type


def is_video_block(block: Any) -> bool:
    """True for a content block that carries a video in any accepted form."""
    return isinstance(block, dict) and block.get("type") in VIDEO_BLOCK_TYPES


def video_from_block(block: dict[str, Any], limits: VideoLimits | None = None) -> VideoInput:
    """Turn one content block into a checked :class:`VideoInput` (header read, nothing decoded).

    Raises :class:`~vlkit.errors.UnsupportedVideoFormatError`, :class:`~vlkit.errors.VideoUnreadableError`,
    :class:`~vlkit.errors.VideoTooLargeError` or, for a bad option value,
    :class:`~vlkit.errors.InvalidArgumentError` — each saying what to change.

    Example:
        ```python
        video = video_from_block({"type": "video", "path": "clip.mp4", "fps": 1, "end": 30})
        video.info.duration, video.info.fps
        ```
    """
    limits = limits or VideoLimits()
    options = _options(block)
    if block.get("type") == "video_url":
        ref = block.get("video_url")
        ref = ref.get("url") if isinstance(ref, dict) else ref
        if not isinstance(ref, str):
            raise UnsupportedVideoFormatError("a 'video_url' block needs video_url.url as a string")
        return _from_reference(ref, limits, options)
    frames = block.get("video") if block.get("video") is not None else block.get("frames")
    if isinstance(frames, (list, tuple)):
        return _from_frames(list(frames), limits, options)
    if isinstance(frames, (str, Path)):
        return _from_reference(str(frames), limits, options)
    if frames is not None:
        raise UnsupportedVideoFormatError(
            f"'video' must be a path, a URL or a list of frames, got {type(frames).__name__}"
        )
    if block.get("base64") is not None or block.get("source_type") == "base64":
        return _from_base64(block.get("base64") or block.get("data") or "", block.get("mime_type"), limits, options)
    for key in ("url", "path", "file_path"):
        if block.get(key):
            return _from_reference(str(block[key]), limits, options)
    raise UnsupportedVideoFormatError(
        "video block has no video: give 'path', 'url', 'base64' with 'mime_type', or 'video' (a path or a list "
        "of frames)"
    )


def _options(block: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key, name in _NUMBER_OPTIONS.items():
        value = block.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise InvalidArgumentError(f"a video block's '{key}' must be a number >= 0 (seconds or frames per second), got {value!r}")
        options[name] = float(value)
    if options.get("fps") == 0:
        raise InvalidArgumentError("a video block's 'fps' must be above 0")
    for key in _INT_OPTIONS:
        value = block.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(f"a video block's '{key}' must be a positive whole number, got {value!r}")
        options[key] = value
    return options


def _from_reference(ref: str, limits: VideoLimits, options: dict[str, Any]) -> VideoInput:
    if ref.startswith("data:"):
        header, _, payload = ref.partition(",")
        if ";base64" not in header:
            raise UnsupportedVideoFormatError("data URLs must be base64-encoded (data:video/mp4;base64,…)")
        return _from_base64(payload, header[5:].split(";")[0] or None, limits, options)
    parsed = urlparse(ref)
    if parsed.scheme in {"http", "https"}:
        return VideoInput(url=ref, source=ref[:200], **options)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
    elif parsed.scheme and len(parsed.scheme) > 1:
        raise UnsupportedVideoFormatError(f"unsupported video URL scheme '{parsed.scheme}' in {ref[:80]!r}")
    else:
        path = Path(ref).expanduser()
    info = probe_video(path, limits, what=str(path))
    return VideoInput(path=path, info=info, source=str(path), **options)


def _from_base64(payload: str, mime_type: str | None, limits: VideoLimits, options: dict[str, Any]) -> VideoInput:
    if len(payload) * 3 // 4 > limits.max_bytes:
        raise VideoTooLargeError(
            f"base64 video is over the {limits.max_bytes / 2**20:.0f} MiB limit (", RAISE_VIDEO_LIMIT, ")"
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VideoUnreadableError(f"video base64 data is not valid base64: {exc}") from None
    info = probe_video(data, limits, what="base64 video")
    return VideoInput(data=data, mime_type=mime_type, info=info, source="base64 video", **options)


def _from_frames(items: list[Any], limits: VideoLimits, options: dict[str, Any]) -> VideoInput:
    if not items:
        raise VideoUnreadableError("a video given as a list of frames needs at least one frame")
    if len(items) > limits.max_frames:
        raise VideoTooLargeError(
            f"a video of {len(items)} frames is over the limit of {limits.max_frames} (", RAISE_VIDEO_LIMIT, ")"
        )
    image_limits = ImageLimits(max_pixels=limits.max_pixels, allow_private_urls=limits.allow_private_urls)
    frames: list[Image.Image] = []
    for number, item in enumerate(items):
        what = f"frame {number} of a video"
        if isinstance(item, dict):
            frames.append(image_from_block(item, image_limits).to_pil(image_limits))
        elif isinstance(item, (Image.Image, str, Path)):
            frames.append(open_image(item, image_limits, what=what))
        else:
            raise UnsupportedVideoFormatError(
                f"{what} is a {type(item).__name__}; frames must be PIL images, image blocks or paths"
            )
    return VideoInput(frames=frames, source=f"{len(frames)} frames", **options)
