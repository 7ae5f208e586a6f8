"""Qwen's smart_resize and the token cost of an image, per family."""

from __future__ import annotations

import pytest

from vlkit.errors import UnsupportedImageFormatError
from vlkit.vision import FAMILIES, image_tokens, resized_size, smart_resize, visual_budget

@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_smart_resize_matches_qwen_rules(family: str) -> None:
    spec = FAMILIES[family]
    f = spec.factor
    # small image grows to min_pixels, large one shrinks under max_pixels, aspect ratio kept
    h, w = smart_resize(20, 30, f, spec.min_pixels, spec.cpu_max_pixels)
    assert h % f == 0 and w % f == 0 and h * w >= spec.min_pixels
    h, w = smart_resize(3000, 4000, f, spec.min_pixels, spec.cpu_max_pixels)
    assert h % f == 0 and w % f == 0 and h * w <= spec.cpu_max_pixels
    assert abs((w / h) - 4 / 3) < 0.1
    assert smart_resize(448, 448, f, spec.min_pixels, 10**9) == (round(448 / f) * f,) * 2
    with pytest.raises(UnsupportedImageFormatError, match="aspect ratio"):
        smart_resize(10, 5000, f, spec.min_pixels, spec.cpu_max_pixels)


def test_known_token_counts() -> None:
    # 448x448 → 16x16 tokens with factor 28 (Qwen2-VL), 14x14 with factor 32 (Qwen3-VL).
    assert FAMILIES["qwen2_vl"].tokens_for(*smart_resize(448, 448, 28, 3136, 10**9)) == 256
    assert FAMILIES["qwen3_vl"].tokens_for(*smart_resize(448, 448, 32, 4096, 10**9)) == 196



# (family, width, height, max tokens) -> tokens: 28-pixel tokens for Qwen2-VL / Qwen2.5-VL, 32 for Qwen3-VL
TOKEN_CASES = [
    ("qwen2_vl", 448, 448, 256, 256),       # 16 x 16 tokens of 28 px
    ("qwen2_5_vl", 448, 448, 256, 256),
    ("qwen3_vl", 448, 448, 256, 196),       # 14 x 14 tokens of 32 px
    ("qwen2_vl", 1920, 1080, 256, 252),     # shrunk into the budget: 21 x 12 of 28 px (588 x 336)
    ("qwen3_vl", 1920, 1080, 256, 252),     # 21 x 12 of 32 px (672 x 384)
    ("qwen2_vl", 10, 10, 256, 4),           # grown to the 4-token minimum
    ("qwen3_vl", 10, 10, 256, 4),
]


@pytest.mark.parametrize("family, width, height, tokens, expected", TOKEN_CASES)
def test_image_tokens_for_each_family(family: str, width: int, height: int, tokens: int, expected: int) -> None:
    spec = FAMILIES[family]
    budget = (spec.min_pixels, spec.pixels_for_tokens(tokens))
    assert image_tokens(spec, width, height, *budget) == expected <= tokens
    w, h = resized_size(spec, width, height, *budget)
    assert (w // spec.factor) * (h // spec.factor) == expected and w % spec.factor == h % spec.factor == 0


def test_tokens_and_pixels_convert_with_each_familys_own_token_side() -> None:
    assert FAMILIES["qwen2_vl"].pixels_for_tokens(768) == 768 * 28 * 28
    assert FAMILIES["qwen3_vl"].pixels_for_tokens(768) == 768 * 32 * 32
    for spec in FAMILIES.values():
        assert spec.tokens_in_pixels(spec.pixels_for_tokens(300) + spec.factor**2 - 1) == 300


def test_visual_budget_defaults_per_device_and_explicit_values_win() -> None:
    spec = FAMILIES["qwen3_vl"]
    assert visual_budget(spec, "cpu") == (4 * 32 * 32, 256 * 32 * 32)
    assert visual_budget(spec, "cuda") == (4 * 32 * 32, 1280 * 32 * 32)
    assert visual_budget(spec, "cpu", min_pixels=5000, max_pixels=4000) == (5000, 5000)  # max never under min
