"""What a tool asks a chat model about images: its Qwen family, its visual budget, what an image costs.

A tool takes any LangChain ``BaseChatModel``. When the model implements :class:`VisionFacts` (as
:class:`~vlkit.models.ChatQwenVL` does) the tool asks it; any other chat model needs the family given
(``family="qwen2_5_vl"``), and its budget is then the family's CPU default. :func:`vision_facts` is the one
place that decision is made, so no tool tests ``isinstance(model, ChatQwenVL)`` or pokes at attributes.

Example:
    ```python
    facts = vision_facts(llm)                               # a ChatQwenVL: read from the model
    facts = vision_facts(ChatOpenAI(...), family="qwen2_5_vl", max_pixels=512 * 28 * 28)
    facts.view_size(1920, 1080)     # (width, height) the model sees the screenshot at
    facts.image_tokens(1920, 1080)  # what that screenshot costs in the prompt
    ```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from vlkit.errors import PASS_FAMILY, UnsupportedModelError, Words
from vlkit.vision.families import SMALLEST_FACTOR, FamilySpec, family_named
from vlkit.vision.resize import image_tokens, resized_size, visual_budget

__all__ = ["VisionFacts", "ModelVisionFacts", "vision_facts", "pixels_for_tokens"]


@runtime_checkable
class VisionFacts(Protocol):
    """A chat model that can say how it sees images. Implement both methods to let vlkit's tools ask it
    instead of needing ``family=``."""

    def family_spec(self) -> FamilySpec:
        """The model's Qwen family (without loading weights); raise
        :class:`~vlkit.errors.UnsupportedModelError` saying what to pass when it cannot be told."""
        ...

    def visual_budget(self, family: FamilySpec | None = None) -> tuple[int, int]:
        """``(min_pixels, max_pixels)`` the model resizes each image to, counted in ``family``'s tokens
        (default: its own family) — the budget a caller that resizes images itself must use."""
        ...


@dataclass(frozen=True)
class ModelVisionFacts:
    """How one model sees images: its family and budget, and what follows from them."""

    family: FamilySpec
    budget: tuple[int, int]
    """``(min_pixels, max_pixels)`` each image is resized to."""

    @property
    def max_image_tokens(self) -> int:
        """Visual tokens of one image at the full budget."""
        return self.family.tokens_in_pixels(self.budget[1])

    def view_size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` the model sees a ``width`` × ``height`` image at (Qwen's smart_resize)."""
        return resized_size(self.family, width, height, *self.budget)

    def image_tokens(
        self, width: int, height: int, *, min_pixels: int | None = None, max_pixels: int | None = None
    ) -> int:
        """Visual tokens a ``width`` × ``height`` image costs; ``min_pixels`` / ``max_pixels`` override the
        budget for this image (as an image block's own ``max_pixels`` does)."""
        return image_tokens(self.family, width, height, min_pixels or self.budget[0], max_pixels or self.budget[1])

    def pixels_for_tokens(self, tokens: int) -> int:
        """A budget given in this model's visual tokens as pixels (a ``max_pixels``)."""
        return self.family.pixels_for_tokens(tokens)


def vision_facts(
    model: Any,
    family: str | None = None,
    *,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    asked_by: str | None = None,
) -> ModelVisionFacts:
    """How ``model`` sees images: asked of a :class:`VisionFacts` model, or from ``family`` for any other.

    ``family`` (a ``model_type``: ``"qwen2_vl"``, ``"qwen2_5_vl"``, ``"qwen3_vl"``) wins when given.
    ``min_pixels`` / ``max_pixels`` override the model's budget. ``asked_by`` names the caller
    (``"GUIActionPlanner"``) in the error raised when the family cannot be told.

    Raises :class:`~vlkit.errors.UnsupportedModelError` for an unknown family name, and for a model that does
    not implement :class:`VisionFacts` with no ``family`` given (the message says what to pass).
    """
    knows = isinstance(model, VisionFacts)
    if family is not None:
        spec = family_named(family)
    elif knows:
        spec = model.family_spec()
    else:
        where = f" to {asked_by}" if asked_by else ""
        # the caller's name is a Python word; elsewhere the option itself (--family) says it all
        where = Words(python=where, cli="", http="", ui="")
        raise UnsupportedModelError(
            f"cannot tell the Qwen family of a {type(model).__name__} (it does not implement "
            "vlkit.vision.VisionFacts); ", PASS_FAMILY, where,
        )
    if knows:
        low, high = model.visual_budget(spec)
        budget = visual_budget(spec, "cpu", min_pixels=min_pixels or low, max_pixels=max_pixels or high)
    else:
        budget = visual_budget(spec, "cpu", min_pixels=min_pixels, max_pixels=max_pixels)
    return ModelVisionFacts(spec, budget)


def pixels_for_tokens(model: Any, tokens: int, family: str | None = None) -> int:
    """The image area (a ``max_pixels``) that costs ``model`` at most ``tokens`` visual tokens.

    Converted with the model's own token size (28 px for Qwen2-VL / Qwen2.5-VL, 32 px for Qwen3-VL), asked
    through :class:`VisionFacts` (``family`` first). Where no family can be told — a chat model that is not
    a Qwen model, or a served ChatQwenVL without ``family`` — the smallest token size of any family is used,
    so the image still costs at most ``tokens`` tokens whatever Qwen model reads it. For callers that only
    scale images down (document pages); a caller that must know the exact size the model sees (GUI
    coordinates) calls :func:`vision_facts` and lets it raise instead.

    Example:
        ```python
        pixels_for_tokens(ChatQwenVL(model=qwen3_folder), 768)    # 768 * 32 * 32
        pixels_for_tokens(ChatOpenAI(model="gpt-4o"), 768)         # 768 * 28 * 28
        ```
    """
    if family is not None:
        return family_named(family).pixels_for_tokens(tokens)
    if isinstance(model, VisionFacts):
        try:
            return model.family_spec().pixels_for_tokens(tokens)
        except UnsupportedModelError:  # a served ChatQwenVL whose family was not given
            pass
    return tokens * SMALLEST_FACTOR * SMALLEST_FACTOR
