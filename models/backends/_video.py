"""Videos for the local transformers backend: what a video costs before it runs, and the model's inputs.

The chat template writes one ``<|vision_start|><|video_pad|><|vision_end|>`` per video; that slot becomes
:func:`~vlkit.vision.video.video_placeholder` (Qwen3-VL: a ``<t seconds>`` text and its own vision markers per
temporal patch). Frames are sampled and decoded by :mod:`vlkit.vision.video` (PyAV) under the video budget —
per frame at most the image budget's ``max_pixels``, in all at most 0.9 × the model's context — and turned
into ``pixel_values_videos`` by the checkpoint's own video processor where torchvision imports (what the
official processors need), else by vlkit's numpy path, which computes the same values.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from vlkit.errors import UnsupportedModelError
from vlkit.models.backends.base import VideoCount
from vlkit.vision.families import FamilySpec
from vlkit.vision.video import (
    VideoBudget,
    VideoInput,
    VideoLimits,
    decode_video,
    plan_video,
    video_patches,
    video_placeholder,
)
from vlkit.vision.video.model_inputs import VIDEO_PAD, VISION_END, VISION_START

__all__ = ["VIDEO_SLOT", "VideoInputs", "count_video", "prepare_videos", "expand_video_slots"]

log = logging.getLogger(__name__)

VIDEO_SLOT = VISION_START + VIDEO_PAD + VISION_END
"""What a Qwen chat template writes for each ``{"type": "video"}`` item."""

_PADS = re.compile(f"(?:{re.escape(VIDEO_PAD)})+")


def count_video(
    video: VideoInput, family: FamilySpec, budget: VideoBudget, limits: VideoLimits | None
) -> tuple[VideoCount, str]:
    """What ``video`` costs, from its header (nothing decoded), and its prompt text with one
    ``<|video_pad|>`` per run of pads (the text to tokenise; :attr:`VideoCount.tokens` says how many pads)."""
    plan = plan_video(video, family, budget, limits=limits)
    source = (video.info.width, video.info.height) if video.info is not None else (plan.width, plan.height)
    if video.frames is not None:
        source = video.frames[0].size
    count = VideoCount(
        size=(int(source[0]), int(source[1])), resized=(plan.width, plan.height), frames=plan.frames,
        sampled_fps=plan.sampled_fps, sparser=plan.sparser, tokens=plan.tokens,
    )  # fmt: skip
    return count, _PADS.sub(VIDEO_PAD, video_placeholder(plan, family))


def expand_video_slots(prompt: str, placeholders: list[str]) -> str:
    """Each video's slot in the rendered template, in order, replaced by its placeholder text."""
    pieces = prompt.split(VIDEO_SLOT)
    if len(pieces) - 1 != len(placeholders):
        raise UnsupportedModelError(
            f"the chat template placed {len(pieces) - 1} video slots for {len(placeholders)} videos; the "
            "checkpoint's template does not look like a Qwen-VL template"
        )
    out = [pieces[0]]
    for text, piece in zip(placeholders, pieces[1:]):
        out += [text, piece]
    return "".join(out)


@dataclass
class VideoInputs:
    """The model inputs of a request's videos, in prompt order."""

    pixel_values_videos: Any
    """``(patches, 3·2·p·p)`` in the model's dtype, on its device."""
    video_grid_thw: Any
    """``(videos, 3)`` int64."""
    second_per_grid_ts: Any
    """``(videos,)`` seconds per temporal patch (what Qwen2.5-VL's M-RoPE reads)."""
    placeholders: list[str]
    """Each video's prompt text."""
    tokens: list[int]
    """Each video's visual tokens."""
    metadata: list[dict[str, Any]] = field(default_factory=list)
    """Each video's sampling (timestamps used, fps, whether the budget made it sparser)."""


def prepare_videos(lm: Any, videos: list[VideoInput], budgets: list[VideoBudget], limits: VideoLimits | None) -> VideoInputs:
    """Decode ``videos`` (each under its budget) and build their tensors for the loaded checkpoint ``lm``."""
    import numpy as np
    import torch

    family: FamilySpec = lm.family
    decoded = [decode_video(video, family, budget, limits=limits) for video, budget in zip(videos, budgets)]
    processor = _official_processor(lm)
    pieces, grids = [], []
    for item in decoded:
        if processor is not None:
            pixels, grid = _official_patches(processor, item)
        else:
            mean, std = _normalisation(lm)
            pixels, grid = video_patches(item, mean=mean, std=std)
        pieces.append(torch.from_numpy(np.asarray(pixels)))
        grids.append(torch.from_numpy(np.asarray(grid, dtype=np.int64)))
    return VideoInputs(
        pixel_values_videos=torch.cat(pieces).to(lm.device, lm.dtype),
        video_grid_thw=torch.cat(grids).to(lm.device),
        second_per_grid_ts=torch.tensor([item.second_per_grid_t for item in decoded], device=lm.device),
        placeholders=[video_placeholder(item) for item in decoded],
        tokens=[item.tokens for item in decoded],
        metadata=[item.metadata() for item in decoded],
    )


def _official_processor(lm: Any) -> Any:
    """The checkpoint's video processor (``AutoVideoProcessor``) where torchvision imports, else None."""
    if lm.video_processor is None and importlib.util.find_spec("torchvision") is not None:
        try:
            from transformers import AutoVideoProcessor

            lm.video_processor = AutoVideoProcessor.from_pretrained(lm.folder)
        except Exception as exc:  # torchvision broken, or no processor config: vlkit's path computes the same
            log.info("no official video processor for %s (%s); using vlkit's", lm.folder, exc)
            lm.video_processor = False
    return lm.video_processor or None


def _official_patches(processor: Any, decoded: Any) -> tuple[Any, Any]:
    """``pixel_values_videos`` / ``video_grid_thw`` from the official processor for frames vlkit already
    sampled and resized: sampling off, the size pinned to the frames' own (Qwen3-VL's processor bounds a
    whole video, Qwen2-VL's one frame)."""
    import numpy as np

    count, height, width = decoded.frames.shape[:3]
    pixels = height * width * (count if type(processor).__name__.startswith("Qwen3VL") else 1)
    out = processor(
        videos=[np.array(decoded.frames)], size={"shortest_edge": pixels, "longest_edge": pixels},
        do_sample_frames=False, cap_pixels_per_frame=False, return_tensors="np",
    )  # fmt: skip
    return out["pixel_values_videos"], out["video_grid_thw"]


def _normalisation(lm: Any) -> tuple[Any, Any]:
    """The checkpoint's ``(mean, std)`` for video: ``video_preprocessor_config.json``, else its image
    processor's (Qwen2-VL checkpoints ship one config for both), else None (the family's defaults)."""
    path = lm.folder / "video_preprocessor_config.json"
    if path.is_file():
        config = json.loads(path.read_text(encoding="utf-8"))
        if config.get("image_mean") and config.get("image_std"):
            return tuple(config["image_mean"]), tuple(config["image_std"])
    mean, std = getattr(lm.image_processor, "image_mean", None), getattr(lm.image_processor, "image_std", None)
    if mean is not None and std is not None:
        return tuple(mean), tuple(std)
    return None, None
