"""Per-family facts of the Qwen vision-language models, chosen by ``config.json``'s ``model_type``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vlkit.errors import UnsupportedModelError

__all__ = ["FamilySpec", "FAMILIES", "SMALLEST_FACTOR", "family_for_model_type", "family_named", "family_of_folder"]

CoordinateConvention = Literal["relative_1000", "absolute"]


@dataclass(frozen=True)
class FamilySpec:
    """What differs between Qwen2-VL, Qwen2.5-VL and Qwen3-VL for vlkit."""

    model_type: str
    """``config.json`` ``model_type``."""
    patch_size: int
    """Vision patch side in pixels (14 or 16)."""
    merge_size: int
    """Patches merged per side into one visual token (2)."""
    template_supports_tools: bool
    """Whether the checkpoint's own chat template renders ``tools`` (Qwen3-VL) or drops them."""
    coordinates: CoordinateConvention
    """How the model writes screen points: 0..1000 relative (Qwen2-VL, Qwen3-VL) or pixels of the resized image."""
    cpu_max_pixels: int
    """Default visual budget per image on CPU (pixels after resize)."""
    gpu_max_pixels: int
    """Default visual budget per image on GPU."""

    @property
    def factor(self) -> int:
        """Image sides are resized to multiples of this (28 or 32)."""
        return self.patch_size * self.merge_size

    @property
    def min_pixels(self) -> int:
        """Smallest image area after resize (4 visual tokens)."""
        return 4 * self.factor * self.factor

    def tokens_for(self, height: int, width: int) -> int:
        """Visual tokens one resized ``height`` × ``width`` image costs."""
        return (height // self.factor) * (width // self.factor)

    def pixels_for_tokens(self, tokens: int) -> int:
        """The image area (pixels after resize) that costs ``tokens`` visual tokens: a token budget as a
        ``max_pixels``."""
        return tokens * self.factor * self.factor

    def tokens_in_pixels(self, pixels: int) -> int:
        """Whole visual tokens in ``pixels`` of resized image: a ``max_pixels`` as a token budget."""
        return pixels // (self.factor * self.factor)


# Budgets: on CPU, ~256 visual tokens keep the vision encoder near a second per image on 2 cores
# and still read a 448x448 screenshot; on GPU the model-card default (1280 tokens) is affordable.
FAMILIES: dict[str, FamilySpec] = {
    "qwen2_vl": FamilySpec("qwen2_vl", 14, 2, False, "relative_1000", 256 * 28 * 28, 1280 * 28 * 28),
    "qwen2_5_vl": FamilySpec("qwen2_5_vl", 14, 2, False, "absolute", 256 * 28 * 28, 1280 * 28 * 28),
    "qwen3_vl": FamilySpec("qwen3_vl", 16, 2, True, "relative_1000", 256 * 32 * 32, 1280 * 32 * 32),
}


SMALLEST_FACTOR = min(spec.factor for spec in FAMILIES.values())
"""The side of the smallest visual token of any family (28 px). A budget counted in tokens of this size
costs at most that many tokens whatever the family, which is what code that cannot ask its model uses."""


def family_named(name: str, *, option: str = "family=") -> FamilySpec:
    """The :class:`FamilySpec` a user named (``family="qwen2_5_vl"``); an unknown name raises
    :class:`UnsupportedModelError` listing the valid ones, in the words of ``option`` (``--family`` on the CLI).
    """
    try:
        return FAMILIES[name]
    except KeyError:
        raise UnsupportedModelError(
            f"{option.rstrip('=')} '{name}' is not a Qwen family vlkit runs; use one of {', '.join(FAMILIES)}"
        ) from None


def family_for_model_type(model_type: str) -> FamilySpec:
    """The :class:`FamilySpec` for a ``model_type``, or :class:`UnsupportedModelError`."""
    try:
        return FAMILIES[model_type]
    except KeyError:
        raise UnsupportedModelError(
            f"model_type '{model_type}' is not supported; vlkit runs {', '.join(FAMILIES)} "
            "checkpoints (Qwen2-VL, Qwen2.5-VL, Qwen3-VL)"
        ) from None


def family_of_folder(folder: str | Path) -> FamilySpec:
    """Read ``config.json`` in ``folder`` and return its family."""
    path = Path(folder) / "config.json"
    try:
        model_type = json.loads(path.read_text(encoding="utf-8"))["model_type"]
    except FileNotFoundError:
        raise UnsupportedModelError(f"{folder} has no config.json; is it a transformers checkpoint folder?") from None
    except (KeyError, json.JSONDecodeError) as exc:
        raise UnsupportedModelError(f"{path} has no readable 'model_type': {exc}") from None
    return family_for_model_type(model_type)
