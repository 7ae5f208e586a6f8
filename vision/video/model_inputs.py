"""The model's video path per family, in numpy: ``pixel_values_videos``, ``video_grid_thw``, the text that
stands for a video in the prompt (Qwen3-VL's ``<t seconds>`` between frame groups), and M-RoPE's temporal
positions.

The same arithmetic as transformers' ``Qwen2VLVideoProcessor`` / ``Qwen3VLVideoProcessor`` (rescale and
normalise fused as ``(x - 255·mean) / (255·std)`` in float32, frames padded to the temporal patch with the
last one, then cut into ``temporal × 14² (16²)`` patches in merge-window order), so a model fed these
arrays sees what the official processor would give it for the same frames. Those processors need
torchvision; this path does not (``tests/vision/test_video_model_inputs.py`` checks the two agree).
"""

from __future__ import annotations

import numpy as np

from vlkit.errors import InvalidArgumentError
from vlkit.vision.families import FamilySpec
from vlkit.vision.video.frames import DecodedVideo
from vlkit.vision.video.sampling import TEMPORAL_PATCH, FramePlan

__all__ = [
    "NORMALISATION",
    "video_patches",
    "qwen3_timestamps",
    "video_placeholder",
    "temporal_positions",
    "VIDEO_PAD",
    "VISION_START",
    "VISION_END",
]

_CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
NORMALISATION: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "qwen2_vl": _CLIP,
    "qwen2_5_vl": _CLIP,
    "qwen3_vl": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}
"""``(mean, std)`` per family: OpenAI CLIP's for Qwen2-VL and Qwen2.5-VL, 0.5 for Qwen3-VL (the defaults of
the official video processors; a checkpoint's ``video_preprocessor_config.json`` may say otherwise)."""

VIDEO_PAD = "<|video_pad|>"
VISION_START = "<|vision_start|>"
VISION_END = "<|vision_end|>"


def video_patches(
    decoded: DecodedVideo,
    family: FamilySpec | None = None,
    *,
    mean: tuple[float, float, float] | None = None,
    std: tuple[float, float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(pixel_values_videos, video_grid_thw)`` of one video: float32 ``(t·h·w, 3·2·p·p)`` patches and an
    int64 ``(1, 3)`` grid, as the official video processor gives them for ``decoded.frames``.

    ``family`` defaults to the family the video was decoded for; ``mean`` / ``std`` to the family's.
    """
    family = family or decoded.family
    frames = decoded.frames
    p, m = family.patch_size, family.merge_size
    count, height, width, channels = frames.shape
    if height % (p * m) or width % (p * m):
        raise InvalidArgumentError(
            f"frames of {width}x{height} are not multiples of {p * m} px; decode them for {family.model_type}"
        )
    default_mean, default_std = NORMALISATION[family.model_type]
    # the processor fuses rescale (1/255) into normalisation: mean·255 and std·255 in float32
    scale = np.float32(1.0 / (1.0 / 255.0))
    mean32 = np.asarray(mean or default_mean, dtype=np.float32) * scale
    std32 = np.asarray(std or default_std, dtype=np.float32) * scale
    pixels = (frames.astype(np.float32) - mean32) / std32
    pixels = pixels.transpose(0, 3, 1, 2)  # T, C, H, W
    if pad := -count % TEMPORAL_PATCH:
        pixels = np.concatenate([pixels, np.repeat(pixels[-1:], pad, axis=0)])
        count += pad
    grid_t, grid_h, grid_w = count // TEMPORAL_PATCH, height // p, width // p
    patches = pixels.reshape(grid_t, TEMPORAL_PATCH, channels, grid_h // m, m, p, grid_w // m, m, p)
    patches = patches.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    flat = np.ascontiguousarray(patches.reshape(grid_t * grid_h * grid_w, channels * TEMPORAL_PATCH * p * p))
    return flat, np.array([[grid_t, grid_h, grid_w]], dtype=np.int64)


def qwen3_timestamps(timestamps: tuple[float, ...] | list[float]) -> list[str]:
    """Qwen3-VL's ``<t seconds>`` text for each temporal patch: the mean time of its two frames, one decimal
    (an odd count is padded with its last frame, as the processor does).

    Example:
        ```python
        qwen3_timestamps([0.0, 0.5, 1.0, 1.5])   # ['<0.2 seconds>', '<1.2 seconds>']
        ```
    """
    times = list(timestamps)
    if not times:
        return []
    times += [times[-1]] * (-len(times) % TEMPORAL_PATCH)
    return [
        f"<{(times[i] + times[i + TEMPORAL_PATCH - 1]) / 2:.1f} seconds>" for i in range(0, len(times), TEMPORAL_PATCH)
    ]


def video_placeholder(video: DecodedVideo | FramePlan, family: FamilySpec | None = None) -> str:
    """The text that replaces the chat template's ``<|vision_start|><|video_pad|><|vision_end|>`` for this
    video: one ``<|video_pad|>`` per visual token inside the vision markers (Qwen2-VL, Qwen2.5-VL), or for
    Qwen3-VL each temporal patch as ``<t seconds>`` followed by its own vision markers and tokens.

    ``video`` is the decoded video, or its :class:`~vlkit.vision.video.sampling.FramePlan` (with ``family``)
    to know the prompt before decoding — the plan's times are the frames' nominal times, which a decoded
    constant-rate video keeps."""
    if family is None:
        if not isinstance(video, DecodedVideo):
            raise InvalidArgumentError("video_placeholder of a FramePlan needs the family")
        family = video.family
    grid_t, grid_h, grid_w = video.grid_thw
    per_group = grid_h * grid_w // (family.merge_size**2)
    if family.model_type != "qwen3_vl":
        return VISION_START + VIDEO_PAD * (grid_t * per_group) + VISION_END
    return "".join(text + VISION_START + VIDEO_PAD * per_group + VISION_END for text in qwen3_timestamps(video.timestamps))


def temporal_positions(
    decoded: DecodedVideo, family: FamilySpec | None = None, *, tokens_per_second: float | None = None
) -> np.ndarray:
    """M-RoPE's temporal position of each temporal patch, counted from the video's first position.

    Qwen2-VL: 0, 1, 2, …; Qwen2.5-VL: ``int(k × second_per_grid_t × tokens_per_second)`` (the checkpoint's
    ``vision_config.tokens_per_second``, required), so positions follow seconds, not frames; Qwen3-VL: 0 for
    every patch — each is its own vision block and the ``<t seconds>`` text in front of it carries the time.
    """
    family = family or decoded.family
    steps = np.arange(decoded.grid_thw[0], dtype=np.float64)
    if family.model_type == "qwen2_5_vl":
        if tokens_per_second is None:
            raise InvalidArgumentError(
                "Qwen2.5-VL's temporal positions need tokens_per_second (the checkpoint's vision_config value)"
            )
        return (steps * (tokens_per_second * decoded.second_per_grid_t)).astype(np.int64)
    if family.model_type == "qwen3_vl":
        return np.zeros(len(steps), dtype=np.int64)
    return steps.astype(np.int64)
