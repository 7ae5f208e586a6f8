"""What the commands read from the user: text arguments, image and video files, checked the same way everywhere.

* :func:`text_argument` — a prompt, question or query with nothing but whitespace in it is refused
  (exit status 2) instead of being sent to a model or a search.
* :func:`image_path` / :func:`load_image` — every image a command takes goes through vlkit's one checked
  loader (:func:`vlkit.vision.loading.open_image`): its size is read from the header and refused before
  decoding when it is over ``--max-image-pixels``; a folder or a missing file is named as such.
* :func:`check_videos` — every local video is probed from its container header (PyAV) before a model
  loads: not a video, truncated header, over the length or size limits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["text_argument", "image_path", "image_limits", "load_image", "check_images", "check_videos"]

URL_SCHEMES = ("http://", "https://", "file://", "data:")


def text_argument(what: str, example: str) -> Callable[[Any], Any]:
    """A Typer callback refusing an empty or whitespace-only ``what`` (a prompt, a question, a query)."""

    def check(value: Any) -> Any:
        from vlkit.errors import InvalidArgumentError

        if isinstance(value, str) and not value.strip():
            raise InvalidArgumentError(f"the {what} is empty; give it in words, e.g. \"{example}\"")
        return value

    return check


def image_path(value: str | Path, option: str) -> Path:
    """``value`` as an existing image *file*: a missing path or a folder is a clear error naming ``option``."""
    from vlkit.errors import ImageUnreadableError

    path = Path(value).expanduser()
    if path.is_dir():
        raise ImageUnreadableError(f"{option} {path} is a folder; give an image file (PNG, JPEG, WebP, …)")
    if not path.exists():
        raise ImageUnreadableError(f"{option} {path}: no such file")
    return path


def image_limits(max_image_pixels: int | None = None) -> Any:
    """The :class:`~vlkit.vision.limits.ImageLimits` of ``--max-image-pixels`` (default: vlkit's)."""
    from vlkit.vision.limits import ImageLimits

    return ImageLimits(max_pixels=max_image_pixels) if max_image_pixels else ImageLimits()


def load_image(value: str | Path, option: str, max_image_pixels: int | None = None) -> "Image.Image":
    """The image file ``value`` as an RGB PIL image, through the checked loader (size refused before decoding)."""
    from vlkit.vision.loading import open_image

    return open_image(image_path(value, option), image_limits(max_image_pixels))


def check_images(values: list[str] | list[Path], option: str, max_image_pixels: int | None = None) -> None:
    """Check each local image of ``values`` from its header (URLs are checked when fetched), before a model
    loads: a missing file, a folder, an unreadable or over-limit image is reported first, not after minutes."""
    from vlkit.vision.loading import image_from_block

    limits = image_limits(max_image_pixels)
    for value in values:
        if str(value).lower().startswith(URL_SCHEMES):
            continue
        image_from_block({"type": "image", "path": str(image_path(value, option))}, limits)


def check_videos(values: list[str], option: str) -> None:
    """Probe each local video of ``values`` from its container header before a model loads (URLs are checked
    when fetched): a missing file, a folder, a file that is not a video or is over the limits is reported
    first, naming ``option``."""
    from vlkit.errors import VideoUnreadableError
    from vlkit.vision.video import video_from_block

    for value in values:
        if value.lower().startswith(URL_SCHEMES):
            continue
        path = Path(value).expanduser()
        if path.is_dir():
            raise VideoUnreadableError(f"{option} {path} is a folder; give a video file (MP4, MKV, WebM, MOV, AVI)")
        if not path.exists():
            raise VideoUnreadableError(f"{option} {path}: no such file")
        video_from_block({"type": "video", "path": str(path)})
