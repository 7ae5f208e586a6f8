"""What every VLM tool shares: the chat model, its Qwen family, and the visual budget.

Tools depend on LangChain's ``BaseChatModel`` only. When the model is a :class:`~vlkit.models.ChatQwenVL`
the family and the budget are read from it (the same function its backend resizes with); any other chat
model needs ``family=`` given, and the budget defaults to the family's CPU budget.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from vlkit.errors import UnsupportedModelError
from vlkit.models.families import FAMILIES, FamilySpec
from vlkit.models.images import resized_size, visual_budget

__all__ = ["resolve_family", "resolve_budget", "model_view_size"]


def resolve_family(model: BaseChatModel, family: str | None = None) -> FamilySpec:
    """The Qwen family: ``family`` when given, else read from a ChatQwenVL (without loading weights)."""
    if family is not None:
        try:
            return FAMILIES[family]
        except KeyError:
            raise UnsupportedModelError(
                f"family '{family}' is not one of {', '.join(sorted(FAMILIES))}"
            ) from None
    family_spec = getattr(model, "family_spec", None)
    if callable(family_spec):
        return family_spec()
    raise UnsupportedModelError(
        f"cannot tell the Qwen family of a {type(model).__name__}; pass family='qwen2_vl', 'qwen2_5_vl' or 'qwen3_vl'"
    )


def resolve_budget(
    model: BaseChatModel, family: FamilySpec, *, min_pixels: int | None = None, max_pixels: int | None = None
) -> tuple[int, int]:
    """``(min_pixels, max_pixels)`` the model resizes images to; explicit values win."""
    budget = getattr(model, "visual_budget", None)
    if callable(budget) and min_pixels is None and max_pixels is None:
        return budget()
    if callable(budget):
        low, high = budget()
        return visual_budget(family, "cpu", min_pixels=min_pixels or low, max_pixels=max_pixels or high)
    return visual_budget(family, "cpu", min_pixels=min_pixels, max_pixels=max_pixels)


def model_view_size(family: FamilySpec, size: tuple[int, int], budget: tuple[int, int]) -> tuple[int, int]:
    """``(width, height)`` the model sees for an image of ``size`` (width, height) under ``budget``."""
    return resized_size(family, size[0], size[1], budget[0], budget[1])
