"""Which frames of a video the model sees, and at what size: the sampling arithmetic as pure functions.

Qwen's rules (``qwen_vl_utils.smart_nframes`` and ``fetch_video``), kept where vlkit has no reason to differ:

* frames are sampled at ``fps`` (default 2) over the chosen range, at least 4 and at most 768, never more
  than the range holds, and rounded down to the temporal patch (2 frames make one temporal token row);
* frame ``k`` of ``n`` is source frame ``round(linspace(first, last, n)[k])``, so the first and last frames
  of the range are always among them (in float64, as transformers' Qwen3-VL sampler computes it;
  qwen-vl-utils' float32 ``torch.linspace`` rounds a handful of exact halves of long videos the other way);
* each frame is resized with :func:`~vlkit.vision.resize.smart_resize` under a per-frame budget
  ``[min_pixels, max_pixels]`` that is further capped by an even share of the total budget
  (``2 × total / n`` pixels per frame: one frame pair costs one frame's tokens).

Where vlkit differs, it is to keep the total budget a bound: Qwen floors the per-frame cap at
``1.05 × min_pixels``, so a long video can cost more than the total; vlkit instead samples such a video
more sparsely (frames shrink to ``min_pixels`` first, then their count drops), and
:attr:`FramePlan.sparser` says so. A range with a single frame gives that frame twice (Qwen raises);
``fps=None`` takes every frame (a list of images given as a video), up to 768, padding an odd count with
its last frame as the model's processor does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vlkit.errors import InvalidArgumentError
from vlkit.vision.families import FamilySpec
from vlkit.vision.resize import smart_resize, visual_budget

__all__ = [
    "VIDEO_FPS",
    "TEMPORAL_PATCH",
    "MIN_FRAMES",
    "MAX_FRAMES",
    "VIDEO_MIN_TOKENS",
    "VIDEO_MAX_TOKENS",
    "CONTEXT_TOKENS",
    "TOTAL_SHARE",
    "VideoBudget",
    "FramePlan",
    "video_budget",
    "sample_frames",
    "video_tokens",
]

VIDEO_FPS = 2.0
"""Frames sampled per second of video by default (Qwen's ``FPS``)."""
TEMPORAL_PATCH = 2
"""Frames per temporal patch in every Qwen-VL family (Qwen's ``FRAME_FACTOR``)."""
MIN_FRAMES = 4
"""Fewest frames sampled at ``fps`` when the range holds them (Qwen's ``FPS_MIN_FRAMES``)."""
MAX_FRAMES = 768
"""Most frames sampled by default (Qwen's ``FPS_MAX_FRAMES``)."""
VIDEO_MIN_TOKENS = 128
"""Default smallest frame, in visual tokens (Qwen's ``VIDEO_MIN_TOKEN_NUM``)."""
VIDEO_MAX_TOKENS = 768
"""Largest frame by default, in visual tokens (Qwen's ``VIDEO_MAX_TOKEN_NUM``)."""
CONTEXT_TOKENS = 128_000
"""Context assumed when none is given (Qwen's ``MODEL_SEQ_LEN``)."""
TOTAL_SHARE = 0.9
"""Share of the context one video may fill by default."""


@dataclass(frozen=True)
class VideoBudget:
    """How many pixels a video may cost: per frame, and for all its frames together."""

    min_pixels: int
    """Smallest frame area after resize (small videos are scaled up to it)."""
    max_pixels: int
    """Largest frame area after resize."""
    total_tokens: int
    """Visual tokens all frames together may cost; a longer video is sampled more sparsely to fit."""

    def __post_init__(self) -> None:
        if self.min_pixels < 1 or self.max_pixels < self.min_pixels:
            raise InvalidArgumentError(
                f"a video budget needs 0 < min_pixels <= max_pixels, got min_pixels={self.min_pixels}, "
                f"max_pixels={self.max_pixels}"
            )
        if self.total_tokens < 1:
            raise InvalidArgumentError(f"a video's total_tokens must be positive, got {self.total_tokens}")


def video_budget(
    family: FamilySpec,
    device: str = "cpu",
    *,
    context_tokens: int | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    total_tokens: int | None = None,
    image_max_pixels: int | None = None,
) -> VideoBudget:
    """The :class:`VideoBudget` for ``family`` on ``device``: explicit values first, else the defaults.

    Per frame: at most the image budget — ``image_max_pixels`` (a chat model's own ``max_pixels``), else the
    family's default for ``device`` — and never over 768 tokens (Qwen's video cap), at least 128 tokens (or
    the maximum, if that is smaller); an explicit ``max_pixels`` replaces all of that. In total:
    ``total_tokens``, else 0.9 × ``context_tokens`` (the model's context; 128,000 when not given) — the
    bound on the memory a video takes.

    Example:
        ```python
        video_budget(FAMILIES["qwen2_vl"], "cpu", context_tokens=32768)
        # VideoBudget(min_pixels=100352, max_pixels=200704, total_tokens=29491)
        ```
    """
    area = family.factor * family.factor
    default_max = min(image_max_pixels or visual_budget(family, device)[1], VIDEO_MAX_TOKENS * area)
    high = max_pixels or max(default_max, min_pixels or 0)
    low = min_pixels or min(VIDEO_MIN_TOKENS * area, high)
    total = total_tokens or int(TOTAL_SHARE * (context_tokens or CONTEXT_TOKENS))
    return VideoBudget(low, high, total)


@dataclass(frozen=True)
class FramePlan:
    """The frames chosen from a video and the size the model sees them at."""

    indices: tuple[int, ...]
    """Source frame numbers, in order (a number repeats when the range holds fewer frames than sampled)."""
    timestamps: tuple[float, ...]
    """Seconds from the start of the video of each chosen frame (``index / source_fps``)."""
    width: int
    """Frame width after resize (a multiple of the family's factor)."""
    height: int
    """Frame height after resize."""
    source_fps: float
    """The video's frame rate."""
    range_frames: int
    """Source frames between ``start`` and ``end``."""
    wanted_frames: int
    """Frames the ``fps`` / ``max_frames`` rules asked for, before the total budget."""
    tokens: int
    """Visual tokens of the whole video."""
    patch_size: int
    """The family's patch side in pixels (14 or 16)."""

    @property
    def frames(self) -> int:
        """Frames sampled (even)."""
        return len(self.indices)

    @property
    def sparser(self) -> bool:
        """True when the total budget took frames away: the video is sampled below the asked ``fps``."""
        return self.frames < self.wanted_frames

    @property
    def sampled_fps(self) -> float:
        """Distinct frames per second of source video over the range (Qwen's ``sample_fps``)."""
        return min(self.frames, self.range_frames) / self.range_frames * self.source_fps

    @property
    def grid_thw(self) -> tuple[int, int, int]:
        """``(temporal, height, width)`` patches, as ``video_grid_thw`` holds them (before merging)."""
        return self.frames // TEMPORAL_PATCH, self.height // self.patch_size, self.width // self.patch_size


def sample_frames(
    family: FamilySpec,
    budget: VideoBudget,
    *,
    width: int,
    height: int,
    source_fps: float,
    total_frames: int | None = None,
    duration: float | None = None,
    fps: float | None = VIDEO_FPS,
    start: float | None = None,
    end: float | None = None,
    max_frames: int | None = None,
    min_frames: int = MIN_FRAMES,
) -> FramePlan:
    """Choose the frames of a ``width`` × ``height`` video at ``source_fps`` and their size for ``family``.

    The video is ``total_frames`` long (or ``duration`` seconds, when the frame count is not known).
    ``start`` / ``end`` (seconds) narrow the range; ``fps`` is the sampling rate (``None``: every frame);
    ``max_frames`` caps the count. The frames then fit ``budget``: each at most ``budget.max_pixels`` and
    at least ``budget.min_pixels``, all together at most ``budget.total_tokens`` — by shrinking frames
    first, then by taking fewer of them. Raises :class:`~vlkit.errors.InvalidArgumentError` for an empty
    range or a budget that cannot hold two frames.

    Example:
        ```python
        budget = video_budget(FAMILIES["qwen2_vl"], "cpu")      # 128..256 tokens a frame, 115,200 in all
        plan = sample_frames(FAMILIES["qwen2_vl"], budget, width=640, height=360, source_fps=30,
                             total_frames=300)                  # 10 s
        plan.frames, plan.timestamps[:3], (plan.width, plan.height)   # 20, (0.0, 0.533, 1.033), (588, 336)
        ```
    """
    if not source_fps or source_fps <= 0 or not math.isfinite(source_fps):
        raise InvalidArgumentError(f"a video's frame rate must be positive, got {source_fps}")
    if total_frames is None:
        if duration is None:
            raise InvalidArgumentError("sample_frames needs total_frames or duration")
        total_frames = max(1, round(duration * source_fps))
    if total_frames < 1:
        raise InvalidArgumentError(f"the video has no frames (total_frames={total_frames})")
    if fps is not None and not (fps > 0 and math.isfinite(fps)):
        raise InvalidArgumentError(f"fps must be a positive number of frames per second, got {fps}")
    if max_frames is not None and max_frames < TEMPORAL_PATCH:
        raise InvalidArgumentError(f"max_frames must be at least {TEMPORAL_PATCH}, got {max_frames}")
    first, last = _frame_range(total_frames, source_fps, start, end)
    span = last - first + 1
    wanted = _wanted_frames(span, source_fps, fps, max_frames, min_frames)
    frames, (resized_h, resized_w) = _fit(family, budget, wanted, width, height)
    if frames >= span:  # every frame, the last repeated to fill the temporal patch (as the processor pads)
        indices = tuple(range(first, last + 1)) + (last,) * (frames - span)
    else:
        indices = tuple(int(i) for i in np.linspace(first, last, frames).round().astype(np.int64))
    grid = (resized_h // family.factor) * (resized_w // family.factor)
    return FramePlan(
        indices=indices,
        timestamps=tuple(i / source_fps for i in indices),
        width=resized_w,
        height=resized_h,
        source_fps=float(source_fps),
        range_frames=span,
        wanted_frames=wanted,
        tokens=frames // TEMPORAL_PATCH * grid,
        patch_size=family.patch_size,
    )


def video_tokens(family: FamilySpec, frames: int, height: int, width: int) -> int:
    """Visual tokens ``frames`` frames of ``height`` × ``width`` (already resized) cost ``family``: one frame's
    tokens per temporal patch of 2 frames, an odd count padded with its last frame.

    Example:
        ```python
        video_tokens(FAMILIES["qwen2_vl"], 8, 224, 448)   # 4 pairs x 8 x 16 tokens = 512
        ```
    """
    return -(-frames // TEMPORAL_PATCH) * family.tokens_for(height, width)


# --------------------------------------------------------------------------- the steps


def _floor2(n: float) -> int:
    return int(math.floor(n / TEMPORAL_PATCH)) * TEMPORAL_PATCH


def _ceil2(n: float) -> int:
    return int(math.ceil(n / TEMPORAL_PATCH)) * TEMPORAL_PATCH


def _frame_range(total: int, source_fps: float, start: float | None, end: float | None) -> tuple[int, int]:
    """First and last source frame of ``[start, end]`` seconds (``calculate_video_frame_range``): the first
    frame at or after ``start``, the last at or before ``end``."""
    length = total / source_fps
    for name, value in (("start", start), ("end", end)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise InvalidArgumentError(f"{name} must be a number of seconds >= 0, got {value}")
    if start is not None and start >= length:
        raise InvalidArgumentError(f"start={start:g} s is at or past the end of the {length:.2f} s video")
    if start is not None and end is not None and end <= start:
        raise InvalidArgumentError(f"end={end:g} s must be after start={start:g} s")
    first = min(math.ceil(start * source_fps - 1e-6), total - 1) if start else 0
    last = min(math.floor(min(end, length) * source_fps + 1e-6), total - 1) if end is not None else total - 1
    return first, max(first, last)  # a range between two frames keeps the first one after start


def _wanted_frames(span: int, source_fps: float, fps: float | None, max_frames: int | None, min_frames: int) -> int:
    """Frames the rate asks for (``smart_nframes``): at ``fps``, within [min_frames, max_frames] and the
    range, rounded down to the temporal patch; never under one patch."""
    if fps is None:
        wanted = min(_ceil2(span), _floor2(max_frames if max_frames is not None else MAX_FRAMES))
    else:
        low = _ceil2(min_frames)
        high = _floor2(max_frames if max_frames is not None else min(MAX_FRAMES, span))
        wanted = _floor2(min(max(span / source_fps * fps, low), high, span))
    return max(wanted, TEMPORAL_PATCH)


def _fit(family: FamilySpec, budget: VideoBudget, wanted: int, width: int, height: int) -> tuple[int, tuple[int, int]]:
    """The most frames (at most ``wanted``) whose resized size keeps the whole video within the total budget,
    and that size. Frames shrink to ``min_pixels`` first; past that, fewer frames are taken."""
    area = family.factor * family.factor
    total_pixels = budget.total_tokens * area
    # past this many frames even min_pixels frames overflow the total: start the search there
    frames = min(wanted, max(TEMPORAL_PATCH, _floor2(TEMPORAL_PATCH * total_pixels / budget.min_pixels)))
    while frames >= TEMPORAL_PATCH:
        cap = min(budget.max_pixels, total_pixels / frames * TEMPORAL_PATCH)
        if cap >= budget.min_pixels:
            size = smart_resize(height, width, family.factor, budget.min_pixels, cap)
            if frames // TEMPORAL_PATCH * (size[0] // family.factor) * (size[1] // family.factor) <= budget.total_tokens:
                return frames, size
        frames -= TEMPORAL_PATCH
    raise InvalidArgumentError(
        f"a total video budget of {budget.total_tokens} visual tokens cannot hold two {width}x{height} frames "
        f"of at least {budget.min_pixels} pixels; raise the total budget or lower min_pixels"
    )
