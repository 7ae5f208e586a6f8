"""What a tiny test checkpoint adds to a family's facts: config sizes, image processor, template.

Patch size, merge size and the family list itself come from :mod:`vlkit.vision.families`, the one owner
of per-family facts; this module only adds what a checkpoint *builder* needs.

The sizes are tiny, but each config keeps the structure of the real checkpoint it stands in for
(M-RoPE sections summing to ``head_dim / 2``, windowed attention with full-attention blocks for
Qwen2.5-VL, DeepStack mergers and learned position embeddings for Qwen3-VL), so code paths that
branch on them are exercised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlkit.vision.families import FAMILIES as MODEL_FAMILIES
from vlkit.vision.families import family_for_model_type
from vlkit.vision.families import FamilySpec as ModelFamily

__all__ = ["TinySpec", "TINY_SPECS", "TINY_FAMILIES", "family_spec", "text_config"]

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
class TinySpec:
    """What a tiny checkpoint of one family needs beyond :class:`vlkit.vision.families.FamilySpec`."""

    model: ModelFamily
    """The family's facts (``model_type``, patch and merge size, …)."""
    architecture: str
    """The ``architectures`` entry a real checkpoint carries."""
    processor_class: str
    """The processor class named in ``preprocessor_config.json``."""
    template: str
    """File name of the chat template under ``vlkit/testing/templates``."""
    image_mean: tuple[float, ...]
    """Per-channel normalisation mean of the real image processor."""
    image_std: tuple[float, ...]
    """Per-channel normalisation std of the real image processor."""
    text: dict[str, Any]
    """Family-specific ``text_config`` entries (merged over the shared tiny sizes)."""
    vision: dict[str, Any]
    """Family-specific ``vision_config`` entries (merged over the shared tiny vision sizes)."""
    video_processor: str | None = None
    """``video_processor_type`` of the ``video_preprocessor_config.json`` the real checkpoint ships (Qwen3-VL),
    None where it ships none (Qwen2-VL and Qwen2.5-VL: their video processor reads ``preprocessor_config.json``)."""

    @property
    def family(self) -> str:
        """Public family name, equal to the checkpoint's ``model_type``."""
        return self.model.model_type

    def __getattr__(self, name: str) -> Any:
        # patch_size, merge_size, factor, …: the family's own facts, from vlkit.vision.families
        if name == "model":  # not set yet (copy, unpickling)
            raise AttributeError(name)
        return getattr(self.model, name)

    def vision_config(self) -> dict[str, Any]:
        """The tiny ``vision_config``: shared sizes, the family's patch geometry, then its own entries."""
        geometry = {
            "patch_size": self.patch_size,
            "spatial_merge_size": self.merge_size,
            "temporal_patch_size": 2,
            "in_channels": 3,
        }
        return {"depth": 2, "num_heads": 2, **geometry, **self.vision}


# Qwen2-VL and Qwen2.5-VL share their language model (Qwen2) and CLIP normalisation.
_QWEN2_TEXT: dict[str, Any] = {
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
    "use_sliding_window": False,
    "max_window_layers": _TEXT["num_hidden_layers"],
}
_CLIP = {"image_mean": tuple(_CLIP_MEAN), "image_std": tuple(_CLIP_STD)}

_EXTRAS: dict[str, dict[str, Any]] = {
    "qwen2_vl": dict(
        architecture="Qwen2VLForConditionalGeneration",
        processor_class="Qwen2VLProcessor",
        template="qwen2_vl.jinja",
        text=_QWEN2_TEXT,
        vision={"embed_dim": 32, "hidden_size": _HIDDEN, "hidden_act": "quick_gelu", "mlp_ratio": 2},
        **_CLIP,
    ),
    "qwen2_5_vl": dict(
        architecture="Qwen2_5_VLForConditionalGeneration",
        processor_class="Qwen2_5_VLProcessor",
        template="qwen2_vl.jinja",
        text=_QWEN2_TEXT,
        vision={
            "hidden_size": 32,
            "intermediate_size": 64,
            "hidden_act": "silu",
            "out_hidden_size": _HIDDEN,
            "window_size": 112,
            "fullatt_block_indexes": [1],
            "tokens_per_second": 2,
        },
        **_CLIP,
    ),
    "qwen3_vl": dict(
        architecture="Qwen3VLForConditionalGeneration",
        processor_class="Qwen3VLProcessor",
        template="qwen3_vl.jinja",
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
            "hidden_size": 32,
            "intermediate_size": 64,
            "hidden_act": "gelu_pytorch_tanh",
            "out_hidden_size": _HIDDEN,
            "num_position_embeddings": 256,
            "deepstack_visual_indexes": [1],
        },
        video_processor="Qwen3VLVideoProcessor",
    ),
}

TINY_SPECS: dict[str, TinySpec] = {name: TinySpec(model=MODEL_FAMILIES[name], **_EXTRAS[name]) for name in MODEL_FAMILIES}

TINY_FAMILIES: list[str] = list(TINY_SPECS)
"""The families :func:`vlkit.testing.build_tiny_checkpoint` can build, as ``model_type`` names
(every family of :data:`vlkit.vision.families.FAMILIES`)."""


def family_spec(family: str) -> TinySpec:
    """Return the spec of ``family``; an unknown one raises vlkit.vision.families' error naming the valid ones."""
    return TINY_SPECS[family_for_model_type(family).model_type]


def text_config(spec: TinySpec) -> dict[str, Any]:
    """The tiny ``text_config`` of ``spec`` (token ids are filled in by the builder)."""
    return {**_TEXT, **spec.text}
