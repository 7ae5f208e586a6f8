"""A prompt that does not fit in the context is refused in the words of the surface the user is on, and
blames what is actually too large (issue 25.5): the web UI names its "Max tokens" and "Visual budget"
controls, the HTTP API the request fields ``max_tokens`` and ``max_pixels``."""

from __future__ import annotations

import pytest
from vlkit.models.backends import ImageCount, TokenCount
from vlkit.serve.limits import check_context
from vlkit.vision.families import FAMILIES

from vlkit.errors import said_on

QWEN2 = FAMILIES["qwen2_vl"]
CONTEXT = 4096


def refusal(count: TokenCount, max_tokens: int, *, explicit: bool = True) -> BaseException:
    with pytest.raises(Exception) as info:
        check_context(count, max_tokens, CONTEXT, QWEN2, explicit)
    return info.value


def prompt(text_tokens: int, *images: int) -> TokenCount:
    """``text_tokens`` of text and images costing the given tokens (square, 28 px a token side)."""
    counts = tuple(ImageCount(size=(t * 28, 28), resized=(t * 28, 28), tokens=t) for t in images)
    return TokenCount(prompt_tokens=text_tokens + sum(images), images=counts)


def test_a_max_tokens_as_large_as_the_context_is_blamed_not_the_images() -> None:
    """The case of the issue: 90 tokens of text, one image, "Max tokens" at the whole context."""
    error = refusal(prompt(90, 256), CONTEXT)
    ui, http = said_on(error, "ui"), said_on(error, "http")
    left = CONTEXT - 90 - 256
    assert f'lower "Max tokens" to {left}' in ui
    assert "text alone" not in ui and "max_pixels" not in ui and "max_tokens" not in ui
    assert f"lower max_tokens to {left}" in http
    assert "text alone" not in http and '"Max tokens"' not in http


def test_images_too_large_name_the_visual_budget_in_the_ui_and_max_pixels_over_http() -> None:
    error = refusal(prompt(90, 2500, 2500), 100)
    ui, http = said_on(error, "ui"), said_on(error, "http")
    per_image = (CONTEXT - 90 - 100) // 2
    assert f'"Visual budget" to {per_image - per_image % 4} tokens per image' in ui
    assert "max_pixels" not in ui and "text alone" not in ui
    assert f"max_pixels={QWEN2.pixels_for_tokens(per_image)} ({per_image} tokens each)" in http
    assert "Visual budget" not in http
    assert "2 image(s)" in ui and "90 text tokens" in ui  # what each part costs, on both surfaces
    assert "2 image(s)" in http and "90 text tokens" in http


def test_the_text_is_blamed_only_when_the_text_alone_fills_the_context() -> None:
    error = refusal(prompt(4100, 256), 1, explicit=False)
    assert "the text alone" in said_on(error, "ui") and "the text alone" in said_on(error, "http")
    fits = refusal(prompt(90, 5000), 1, explicit=False)  # the image is what is too large
    assert "the text alone" not in said_on(fits, "ui") and "Visual budget" in said_on(fits, "ui")
