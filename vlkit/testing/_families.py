"""Per-family facts for the tiny test checkpoints: config sizes, image processor, template.

The sizes are tiny, but each config keeps the structure of the real checkpoint it stands in for
(M-RoPE sections summing to ``head_dim / 2``, windowed attention with full-attention blocks for
Qwen2.5-VL, DeepStack mergers and learned position embeddings for Qwen3-VL), so code paths that
branch on them are exercised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlkit.errors import UserError

__all__ = ["FamilySpec", "FAMILIES", "TINY_FAMILIES", "family_spec", "text_config"]

# Shared tiny language-model sizes: hidden 64 = 4 heads x head_dim 16, so M-RoPE sections sum to 8.
_HIDDEN = 64
_TEXT: dict[str, Any] = {
    "hidden_size": _HIDDEN,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "hidden_act": "silu",
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-6,
    "initializer_range": 0.02,
    "use_cache": True,
    "tie_word_embeddings": False,
}

_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


@dataclass(frozen=True)
class FamilySpec:
    """What differs between the Qwen-VL families when building a tiny checkpoint."""

    family: str
    """Public family name, equal to the checkpoint's ``model_type``."""
    architecture: str
    """The ``architectures`` entry a real checkpoint carries."""
    processor_class: str
    """The processor class named in ``preprocessor_config.json``."""
    template: str
    """File name of the chat template under ``vlkit/testing/templates``."""
    patch_size: int
    """Vision patch size in pixels (the image resize factor is ``patch_size * merge_size``)."""
    image_mean: tuple[float, ...]
    """Per-channel normalisation mean of the real image processor."""
    image_std: tuple[float, ...]
    """Per-channel normalisation std of the real image processor."""
    text: dict[str, Any]
    """Family-specific ``text_config`` entries (merged over the shared tiny sizes)."""
    vision: dict[str, Any]
    """The tiny ``vision_config``."""

    @property
    def merge_size(self) -> int:
        """Spatial merge size (2x2 patches become one visual token in every family)."""
        return 2

    @property
    def factor(self) -> int:
        """Image sides are resized to multiples of this many pixels."""
        return self.patch_size * self.merge_size


FAMILIES: dict[str, FamilySpec] = {
    "qwen2_vl": FamilySpec(
        family="qwen2_vl",
        architecture="Qwen2VLForConditionalGeneration",
        processor_class="Qwen2VLProcessor",
        template="qwen2_vl.jinja",
        patch_size=14,
        image_mean=tuple(_CLIP_MEAN),
        image_std=tuple(_CLIP_STD),
        text={
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
            "use_sliding_window": False,
            "max_window_layers": _TEXT["num_hidden_layers"],
        },
        vision={
            "depth": 2,
            "embed_dim": 32,
            "hidden_size": _HIDDEN,
            "hidden_act": "quick_gelu",
            "mlp_ratio": 2,
            "num_heads": 2,
            "in_channels": 3,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
    ),
    "qwen2_5_vl": FamilySpec(
        family="qwen2_5_vl",
        architecture="Qwen2_5_VLForConditionalGeneration",
        processor_class="Qwen2_5_VLProcessor",
        template="qwen2_vl.jinja",
        patch_size=14,
        image_mean=tuple(_CLIP_MEAN),
        image_std=tuple(_CLIP_STD),
        text={
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
            "use_sliding_window": False,
            "max_window_layers": _TEXT["num_hidden_layers"],
        },
        vision={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "hidden_act": "silu",
            "num_heads": 2,
            "in_channels": 3,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": _HIDDEN,
            "window_size": 112,
            "fullatt_block_indexes": [1],
            "tokens_per_second": 2,
        },
    ),
    "qwen3_vl": FamilySpec(
        family="qwen3_vl",
        architecture="Qwen3VLForConditionalGeneration",
        processor_class="Qwen3VLProcessor",
        template="qwen3_vl.jinja",
        patch_size=16,
        image_mean=(0.5, 0.5, 0.5),
        image_std=(0.5, 0.5, 0.5),
        text={
            "head_dim": 16,
            "attention_bias": False,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5000000.0,
                "mrope_section": [4, 2, 2],
                "mrope_interleaved": True,
            },
        },
        vision={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "hidden_act": "gelu_pytorch_tanh",
            "num_heads": 2,
            "in_channels": 3,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": _HIDDEN,
            "num_position_embeddings": 256,
            "deepstack_visual_indexes": [1],
        },
    ),
}

TINY_FAMILIES: list[str] = list(FAMILIES)
"""The families :func:`vlkit.testing.build_tiny_checkpoint` can build, as ``model_type`` names."""


def family_spec(family: str) -> FamilySpec:
    """Return the spec of ``family`` or raise a :class:`~vlkit.errors.UserError` naming the valid ones."""
    try:
        return FAMILIES[family]
    except KeyError:
        raise UserError(
            f"Unknown tiny checkpoint family {family!r}; choose one of: {', '.join(TINY_FAMILIES)}"
        ) from None


def text_config(spec: FamilySpec) -> dict[str, Any]:
    """The tiny ``text_config`` of ``spec`` (token ids are filled in by the builder)."""
    return {**_TEXT, **spec.text}
