"""Image inputs: every accepted form in, one checked :class:`ImageInput` out, and Qwen's smart_resize.

Accepted forms (inside a human message's content list):

* LangChain v1 standard blocks: ``{"type": "image", "url": ...}``,
  ``{"type": "image", "base64": ..., "mime_type": ...}`` (and the older ``source_type`` spelling);
* OpenAI style: ``{"type": "image_url", "image_url": {"url": "https://…" | "data:image/png;base64,…"}}``;
* local files: ``{"type": "image", "path": "page.png"}``, or a ``file://`` URI / plain path as ``url``;
* PIL images: ``{"type": "image", "image": pil_image}``.

Each block may carry ``min_pixels`` / ``max_pixels`` to override the visual-token budget for that image.
Sizes are checked from the header, before any pixel is decoded, so decompression bombs are refused cheaply.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import mimetypes
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from PIL import Image

from vlkit.errors import ImageTooLargeError, ImageUnreadableError, UnsupportedImageFormatError

__all__ = [
    "ImageInput",
    "ImageLimits",
    "image_from_block",
    "is_image_block",
    "smart_resize",
    "visual_budget",
    "resized_size",
]

SUPPORTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"}


@dataclass(frozen=True)
class ImageLimits:
    """Refuse images past these sizes before decoding them."""

    max_bytes: int = 64 * 1024 * 1024
    """Largest encoded image accepted."""
    max_pixels: int = 64_000_000
    """Largest decoded area accepted (width × height)."""


@dataclass
class ImageInput:
    """One image of a message: encoded bytes, a remote URL, or a PIL image, already checked."""

    data: bytes | None = None
    mime_type: str | None = None
    url: str | None = None
    pil: Image.Image | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    size: tuple[int, int] | None = field(default=None)
    """(width, height) from the header; None for a remote URL not fetched yet."""
    source: str = "image"
    """Where the image came from (a path, a URL, "base64 image"), for error messages."""

    @property
    def is_remote(self) -> bool:
        return self.data is None and self.pil is None and self.url is not None

    def to_pil(self, limits: ImageLimits | None = None, *, timeout: float = 30.0) -> Image.Image:
        """Decode to an RGB PIL image (fetching a remote URL first)."""
        if self.pil is not None:
            return self.pil.convert("RGB") if self.pil.mode != "RGB" else self.pil
        if self.data is None:
            self.data, self.mime_type = _fetch(self.url or "", limits or ImageLimits(), timeout)
            self.size = _probe(self.data, limits or ImageLimits(), self.url or "image")[1]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(self.data))
                image.load()
        except Exception as exc:  # PIL raises many types for broken data
            raise ImageUnreadableError(f"cannot decode {self.source}: {_reason(exc)}") from None
        return image.convert("RGB")

    def to_data_url(self) -> str:
        """A ``data:`` URL of the encoded image (PIL images are encoded as PNG)."""
        if self.data is None and self.pil is not None:
            buffer = io.BytesIO()
            self.pil.save(buffer, format="PNG")
            self.data, self.mime_type = buffer.getvalue(), "image/png"
        if self.data is None:
            raise UnsupportedImageFormatError("a remote image has no local data to encode")
        return f"data:{self.mime_type or 'image/png'};base64,{base64.b64encode(self.data).decode('ascii')}"


def is_image_block(block: Any) -> bool:
    """True for a content block that carries an image in any accepted form."""
    return isinstance(block, dict) and block.get("type") in {"image", "image_url", "input_image"}


def image_from_block(block: dict[str, Any], limits: ImageLimits | None = None) -> ImageInput:
    """Turn one content block into a checked :class:`ImageInput`.

    Raises :class:`UnsupportedImageFormatError`, :class:`ImageUnreadableError` or
    :class:`ImageTooLargeError` with a message that says what to change.
    """
    limits = limits or ImageLimits()
    budget = {"min_pixels": block.get("min_pixels"), "max_pixels": block.get("max_pixels")}
    if block.get("image") is not None:
        image = block["image"]
        if isinstance(image, Image.Image):
            _check_area(image.size, limits, "PIL image")
            return ImageInput(pil=image, size=image.size, source="PIL image", **budget)
        if isinstance(image, (str, Path)):
            return _from_reference(str(image), limits, budget)
        raise UnsupportedImageFormatError(f"'image' must be a PIL image, a path or a URL, got {type(image).__name__}")
    if block.get("type") == "image_url":
        ref = block.get("image_url")
        ref = ref.get("url") if isinstance(ref, dict) else ref
        if not isinstance(ref, str):
            raise UnsupportedImageFormatError("an 'image_url' block needs image_url.url as a string")
        return _from_reference(ref, limits, budget)
    if block.get("base64") is not None or block.get("source_type") == "base64":
        payload = block.get("base64") or block.get("data") or ""
        return _from_base64(payload, block.get("mime_type"), limits, budget)
    for key in ("url", "path", "file_path"):
        if block.get(key):
            return _from_reference(str(block[key]), limits, budget)
    raise UnsupportedImageFormatError(
        "image block has no image: give 'url', 'base64' with 'mime_type', 'path', or 'image' (a PIL image)"
    )


def _from_reference(ref: str, limits: ImageLimits, budget: dict[str, Any]) -> ImageInput:
    if ref.startswith("data:"):
        header, _, payload = ref.partition(",")
        if ";base64" not in header:
            raise UnsupportedImageFormatError("data URLs must be base64-encoded (data:image/png;base64,…)")
        return _from_base64(payload, header[5:].split(";")[0] or None, limits, budget)
    parsed = urlparse(ref)
    if parsed.scheme in {"http", "https"}:
        return ImageInput(url=ref, source=ref, **budget)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
    elif parsed.scheme and len(parsed.scheme) > 1:
        raise UnsupportedImageFormatError(f"unsupported image URL scheme '{parsed.scheme}' in {ref[:80]!r}")
    else:
        path = Path(ref).expanduser()
    return _from_file(path, limits, budget)


def _from_file(path: Path, limits: ImageLimits, budget: dict[str, Any]) -> ImageInput:
    if not path.is_file():
        raise ImageUnreadableError(f"image file not found: {path}")
    if path.stat().st_size > limits.max_bytes:
        raise ImageTooLargeError(
            f"{path} is {path.stat().st_size / 2**20:.1f} MiB; the limit is {limits.max_bytes / 2**20:.0f} MiB "
            "(downscale it first, or raise max_image_bytes)"
        )
    data = path.read_bytes()
    mime, size = _probe(data, limits, str(path))
    return ImageInput(data=data, mime_type=mime, size=size, source=str(path), **budget)


def _from_base64(payload: str, mime_type: str | None, limits: ImageLimits, budget: dict[str, Any]) -> ImageInput:
    if len(payload) * 3 // 4 > limits.max_bytes:
        raise ImageTooLargeError(f"base64 image is over the {limits.max_bytes / 2**20:.0f} MiB limit")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageUnreadableError(f"image base64 data is not valid base64: {exc}") from None
    mime, size = _probe(data, limits, "base64 image")
    return ImageInput(data=data, mime_type=mime or mime_type, size=size, source="base64 image", **budget)


def _probe(data: bytes, limits: ImageLimits, what: str) -> tuple[str, tuple[int, int]]:
    """Read format and size from the header, and check the file is complete (no pixel decoding).

    A truncated file (a half-copied JPEG) is refused here, in milliseconds and before any model loads,
    rather than when the backend decodes it.
    """
    if not data:
        raise ImageUnreadableError(f"{what} is empty (0 bytes); pass an image file with content")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt, size = image.format or "", image.size
    except Image.DecompressionBombError:
        raise ImageTooLargeError(f"{what} is a decompression bomb (too many pixels); refused before decoding") from None
    except Exception as exc:
        raise ImageUnreadableError(f"{what} is not a readable image ({_reason(exc)})") from None
    if fmt not in SUPPORTED_FORMATS:
        raise UnsupportedImageFormatError(
            f"{what} is {fmt or 'of unknown format'}; supported: {', '.join(sorted(SUPPORTED_FORMATS))}"
        )
    _check_area(size, limits, what)
    if not _complete(data, fmt):
        raise ImageUnreadableError(f"{what} is truncated (the {fmt} data ends early); copy or download it again")
    return Image.MIME.get(fmt) or mimetypes.types_map.get("." + fmt.lower(), "image/png"), size


def _check_area(size: tuple[int, int], limits: ImageLimits, what: str) -> None:
    width, height = size
    if width * height > limits.max_pixels:
        raise ImageTooLargeError(
            f"{what} is {width}x{height} = {width * height / 1e6:.0f} MP; the limit is {limits.max_pixels / 1e6:.0f} MP "
            "(refused before decoding; downscale it or raise max_image_pixels)"
        )
    if width < 1 or height < 1:
        raise ImageUnreadableError(f"{what} has no pixels ({width}x{height})")


def _reason(exc: Exception) -> str:
    """PIL's message without the ``<_io.BytesIO object at 0x…>`` it names instead of the file."""
    text = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(exc)).strip()
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def _complete(data: bytes, fmt: str) -> bool:
    """Whether the encoded image is whole: a JPEG's end-of-image marker after its first scan, a PNG's
    IEND chunk, a WebP's RIFF size. Other formats are not checked here (their decoder reports it)."""
    if fmt == "JPEG":
        position = 2  # after SOI; walk the marker segments to the main image's first scan (SOS)
        while position + 4 <= len(data) and data[position] == 0xFF:
            marker = data[position + 1]
            if marker == 0xFF:  # fill byte
                position += 1
                continue
            length = int.from_bytes(data[position + 2 : position + 4], "big")
            if marker == 0xDA:
                return b"\xff\xd9" in data[position + 2 + length :]
            position += 2 + length
        return False
    if fmt == "PNG":
        return b"IEND" in data
    if fmt == "WEBP":
        return len(data) >= 8 + int.from_bytes(data[4:8], "little")
    return True


def _fetch(url: str, limits: ImageLimits, timeout: float) -> tuple[bytes, str | None]:
    import httpx

    from vlkit.errors import ServerUnreachableError

    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            response.raise_for_status()
            chunks, total = [], 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limits.max_bytes:
                    raise ImageTooLargeError(f"{url} is over the {limits.max_bytes / 2**20:.0f} MiB limit")
                chunks.append(chunk)
            return b"".join(chunks), response.headers.get("content-type")
    except httpx.HTTPStatusError as exc:
        raise ImageUnreadableError(f"cannot fetch image {url}: HTTP {exc.response.status_code}") from None
    except httpx.HTTPError as exc:
        raise ServerUnreachableError(f"cannot fetch image {url}: {exc}; download it and pass a local path") from None


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Qwen's smart_resize: sides become multiples of ``factor``, area within [min_pixels, max_pixels],
    aspect ratio kept as closely as possible. Returns ``(height, width)``.
    """
    if max(height, width) / max(1, min(height, width)) > 200:
        raise UnsupportedImageFormatError(
            f"image aspect ratio must be under 200, got {max(height, width) / min(height, width):.0f} ({width}x{height})"
        )
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def visual_budget(
    family: Any, device: str, *, min_pixels: int | None = None, max_pixels: int | None = None
) -> tuple[int, int]:
    """The ``(min_pixels, max_pixels)`` an image is resized to: explicit values first, else the family's
    default for ``device`` (256 visual tokens on CPU, 1280 on GPU). ChatQwenVL's transformers backend and
    every tool that must know the size the model saw (the GUI planner's coordinates) call this one function.
    """
    default_max = family.cpu_max_pixels if device == "cpu" else family.gpu_max_pixels
    low = min_pixels or family.min_pixels
    return low, max(max_pixels or default_max, low)


def resized_size(family: Any, width: int, height: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """``(width, height)`` of a ``width`` × ``height`` image after Qwen's smart_resize for ``family``."""
    h, w = smart_resize(height, width, family.factor, min_pixels, max_pixels)
    return w, h
