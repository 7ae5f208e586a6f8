"""Image inputs: every accepted form in, one checked :class:`ImageInput` out; and :func:`open_image`, the one
checked way to open an image file or bytes a user gave.

Accepted forms (inside a human message's content list):

* LangChain v1 standard blocks: ``{"type": "image", "url": ...}``,
  ``{"type": "image", "base64": ..., "mime_type": ...}`` (and the older ``source_type`` spelling);
* OpenAI style: ``{"type": "image_url", "image_url": {"url": "https://…" | "data:image/png;base64,…"}}``;
* local files: ``{"type": "image", "path": "page.png"}``, or a ``file://`` URI / plain path as ``url``;
* PIL images: ``{"type": "image", "image": pil_image}``.

Each block may carry ``min_pixels`` / ``max_pixels`` to override the visual-token budget for that image.
Sizes are checked from the header, before any pixel is decoded, so decompression bombs are refused cheaply.
Remote http(s) images are fetched with :func:`vlkit.vision.fetch.fetch` (public addresses only unless
``ImageLimits.allow_private_urls``).
"""

from __future__ import annotations

import base64
import binascii
import io
import mimetypes
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union
from urllib.parse import unquote, urlparse

from PIL import Image

from vlkit.errors import ImageTooLargeError, ImageUnreadableError, UnsupportedImageFormatError
from vlkit.vision.limits import ImageLimits

__all__ = ["ImageInput", "ImageSource", "image_from_block", "is_image_block", "open_image", "image_size"]

SUPPORTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"}

ImageSource = Union[str, Path, bytes, Image.Image]
"""What :func:`open_image` takes: a file path, encoded bytes (PNG, JPEG, …) or a PIL image."""


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

    def to_pil(self, limits: ImageLimits | None = None, *, timeout: float | None = None) -> Image.Image:
        """Decode to an RGB PIL image (fetching a remote URL first, under ``limits``: public addresses only
        unless ``limits.allow_private_urls``; ``timeout`` defaults to ``limits.fetch_timeout``)."""
        if self.pil is not None:
            return self.pil.convert("RGB") if self.pil.mode != "RGB" else self.pil
        if self.data is None:
            limits = limits or ImageLimits()
            data = _fetch(self.url or "", limits, timeout)
            self.mime_type, self.size = _probe(data, limits, self.url or "image")
            self.data = data
        return _decode(self.data, self.source)

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
    data = _read_file(path, limits, str(path))
    mime, size = _probe(data, limits, str(path))
    return ImageInput(data=data, mime_type=mime, size=size, source=str(path), **budget)


def _read_file(path: Path, limits: ImageLimits, what: str) -> bytes:
    if not path.is_file():
        raise ImageUnreadableError(f"cannot read image {what}: file not found")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise ImageTooLargeError.file_size(what, size, limits.max_bytes)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageUnreadableError(f"cannot read {what}: {exc.strerror or exc}") from None


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
        raise ImageTooLargeError.pixels(what, width, height, limits.max_pixels)
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


def _fetch(url: str, limits: ImageLimits, timeout: float | None) -> bytes:
    from vlkit.vision.fetch import any_address, fetch, is_public_address

    return fetch(
        url,
        max_bytes=limits.max_bytes,
        timeout=timeout if timeout is not None else limits.fetch_timeout,
        allow_address=any_address if limits.allow_private_urls else is_public_address,
    ).data


def _decode(data: bytes, what: str) -> Image.Image:
    """Decode checked bytes to RGB; a decompression bomb that slipped past the header check fails here too."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except Exception as exc:  # PIL raises many types for broken data
        raise ImageUnreadableError(f"cannot decode {what}: {_reason(exc)}") from None
    return image.convert("RGB")


# --------------------------------------------------------------------------- files and bytes a user gave


def open_image(source: ImageSource, limits: ImageLimits | None = None, *, what: str | None = None) -> Image.Image:
    """An image file, encoded bytes or a PIL image as an RGB PIL image, checked before decoding.

    The byte size, the format (PNG, JPEG, WebP, GIF, BMP, TIFF), the pixel area (from the header) and
    completeness are checked first, so a decompression bomb or a half-copied JPEG is refused in
    milliseconds with :class:`~vlkit.errors.ImageTooLargeError` / :class:`~vlkit.errors.ImageUnreadableError`
    / :class:`~vlkit.errors.UnsupportedImageFormatError`. ``what`` names the image in those messages.

    Example:
        ```python
        screenshot = open_image("screen.png")                       # RGB, at most 64 MP
        page = open_image(png_bytes, ImageLimits(max_pixels=10_000_000), what="page 3")
        ```
    """
    limits = limits or ImageLimits()
    if isinstance(source, Image.Image):
        _check_area(source.size, limits, what or "PIL image")
        return source if source.mode == "RGB" else source.convert("RGB")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), what or "image data"
        if len(data) > limits.max_bytes:
            raise ImageTooLargeError.file_size(name, len(data), limits.max_bytes)
    else:
        path = Path(source).expanduser()
        name = what or str(path)
        data = _read_file(path, limits, name)
    _probe(data, limits, name)
    return _decode(data, name)


def image_size(source: str | Path | bytes, limits: ImageLimits | None = None, *, what: str | None = None) -> tuple[int, int]:
    """``(width, height)`` of an image file or bytes from its header alone (nothing decoded, the file not
    read past its header), refused like :func:`open_image` when over ``limits.max_pixels`` or not an image.
    """
    limits = limits or ImageLimits()
    name = what or (str(source) if not isinstance(source, bytes) else "image data")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else Path(source).expanduser()) as image:
                size = image.size
    except FileNotFoundError:
        raise ImageUnreadableError(f"cannot read image {name}: file not found") from None
    except Image.DecompressionBombError:
        raise ImageTooLargeError(f"{name} is a decompression bomb (too many pixels); refused before decoding") from None
    except Exception as exc:
        raise ImageUnreadableError(f"{name} is not a readable image ({_reason(exc)})") from None
    _check_area(size, limits, name)
    return size
