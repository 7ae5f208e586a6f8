"""Qwen's smart_resize and what an image costs: the size the model sees and its visual tokens.

The transformers backend resizes with these functions, and every tool that must know the size the model
saw (GUI coordinates, the HTML tool's view, an agent's image pruning, the server's context check) calls
the same ones, so the two never disagree.
"""

from __future__ import annotations

import math

from vlkit.errors import UnsupportedImageFormatError
from vlkit.vision.families import FamilySpec

__all__ = ["smart_resize", "visual_budget", "resized_size", "image_tokens"]


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
    family: FamilySpec, device: str, *, min_pixels: int | None = None, max_pixels: int | None = None
) -> tuple[int, int]:
    """The ``(min_pixels, max_pixels)`` an image is resized to: explicit values first, else the family's
    default for ``device`` (256 visual tokens on CPU, 1280 on GPU).
    """
    default_max = family.cpu_max_pixels if device == "cpu" else family.gpu_max_pixels
    low = min_pixels or family.min_pixels
    return low, max(max_pixels or default_max, low)


def resized_size(family: FamilySpec, width: int, height: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """``(width, height)`` of a ``width`` × ``height`` image after Qwen's smart_resize for ``family``."""
    h, w = smart_resize(height, width, family.factor, min_pixels, max_pixels)
    return w, h


def image_tokens(family: FamilySpec, width: int, height: int, min_pixels: int, max_pixels: int) -> int:
    """Visual tokens a ``width`` × ``height`` image costs ``family`` under the budget ``(min_pixels, max_pixels)``.

    Example:
        ```python
        image_tokens(FAMILIES["qwen2_vl"], 448, 448, 3136, 256 * 28 * 28)   # 256 (16 x 16 tokens of 28 px)
        image_tokens(FAMILIES["qwen3_vl"], 448, 448, 4096, 256 * 32 * 32)   # 196 (14 x 14 tokens of 32 px)
        ```
    """
    w, h = resized_size(family, width, height, min_pixels, max_pixels)
    return family.tokens_for(h, w)
