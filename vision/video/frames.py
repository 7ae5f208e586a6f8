"""A checked video in, the frames the model sees out: :func:`decode_video` and its :class:`DecodedVideo`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from vlkit.vision.families import FamilySpec
from vlkit.vision.video.decode import VideoInfo, decode_frames, probe_video
from vlkit.vision.video.inputs import VideoInput
from vlkit.vision.video.limits import VideoLimits
from vlkit.vision.video.sampling import (
    TEMPORAL_PATCH,
    VIDEO_FPS,
    FramePlan,
    VideoBudget,
    sample_frames,
    video_budget,
)

__all__ = ["DecodedVideo", "decode_video", "plan_video", "FRAMES_FPS"]

FRAMES_FPS = 2.0
"""The rate a list of frames given as a video is taken to have been sampled at, unless its block says."""


@dataclass(frozen=True)
class DecodedVideo:
    """The frames of one video as the model sees them, and where in the video they came from."""

    frames: np.ndarray
    """``T × H × W × 3`` uint8 RGB, already resized; ``T`` is even."""
    timestamps: tuple[float, ...]
    """Seconds from the video's start of each frame used (the decoded frame's own time)."""
    plan: FramePlan
    """The sampling decision: source indices, size, the frames asked for before the budget."""
    family: FamilySpec
    info: VideoInfo | None
    """The source's header facts; None for a list of frames."""
    source: str

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def grid_thw(self) -> tuple[int, int, int]:
        """``video_grid_thw`` of this video (temporal patches, patch rows, patch columns)."""
        return self.plan.grid_thw

    @property
    def tokens(self) -> int:
        """Visual tokens this video costs (timestamp text of Qwen3-VL not included)."""
        return self.plan.tokens

    @property
    def sampled_fps(self) -> float:
        """Frames per second of video actually sampled (below the asked ``fps`` when :attr:`sparser`)."""
        return self.plan.sampled_fps

    @property
    def sparser(self) -> bool:
        """True when the total budget made the sampling sparser than asked."""
        return self.plan.sparser

    @property
    def second_per_grid_t(self) -> float:
        """Seconds one temporal patch spans (Qwen2.5-VL's ``second_per_grid_ts`` entry)."""
        return TEMPORAL_PATCH / self.plan.sampled_fps

    def metadata(self) -> dict[str, Any]:
        """What a caller should be told about the sampling: which timestamps were used and why so few."""
        return {
            "source": self.source,
            "frames": len(self.timestamps),
            "timestamps": [round(t, 3) for t in self.timestamps],
            "sampled_fps": round(self.sampled_fps, 4),
            "source_fps": round(self.plan.source_fps, 4),
            "duration": round(self.info.duration, 3) if self.info else round(self.plan.range_frames / self.plan.source_fps, 3),
            "size": [self.width, self.height],
            "tokens": self.tokens,
            "frames_asked": self.plan.wanted_frames,
            "sparser": self.sparser,
        }


def plan_video(
    video: VideoInput,
    family: FamilySpec,
    budget: VideoBudget | None = None,
    *,
    device: str = "cpu",
    context_tokens: int | None = None,
    limits: VideoLimits | None = None,
) -> FramePlan:
    """The frames :func:`decode_video` will take from ``video`` and their size — from the container header
    alone, nothing decoded: what a video costs (``plan.tokens``, ``plan.grid_thw``) before a request runs.

    Same arguments as :func:`decode_video`; a remote video is downloaded first (its header is in the bytes).

    Example:
        ```python
        plan = plan_video(video_from_block({"type": "video", "path": "clip.mp4"}), FAMILIES["qwen2_vl"])
        plan.tokens, plan.frames, (plan.width, plan.height)
        ```
    """
    budget = _with_block_budget(budget or video_budget(family, device, context_tokens=context_tokens), video)
    if video.frames is not None:
        width, height = video.frames[0].size
        return sample_frames(
            family, budget, width=width, height=height, source_fps=video.fps or FRAMES_FPS,
            total_frames=len(video.frames), fps=None, start=video.start, end=video.end, max_frames=video.max_frames,
        )
    video.fetch(limits)
    info = video.info
    if info is None:  # a VideoInput built by hand from a path or bytes
        info = probe_video(video.path if video.path is not None else video.data or b"", limits, what=video.source)
        video.info = info
    return sample_frames(
        family, budget, width=info.width, height=info.height, source_fps=info.fps, total_frames=info.frames,
        fps=video.fps or VIDEO_FPS, start=video.start, end=video.end, max_frames=video.max_frames,
    )


def decode_video(
    video: VideoInput,
    family: FamilySpec,
    budget: VideoBudget | None = None,
    *,
    device: str = "cpu",
    context_tokens: int | None = None,
    limits: VideoLimits | None = None,
) -> DecodedVideo:
    """Sample, decode and resize ``video`` for ``family`` under ``budget``.

    ``budget`` defaults to :func:`~vlkit.vision.video.sampling.video_budget` for ``device`` and
    ``context_tokens``; the block's own ``min_pixels`` / ``max_pixels`` override its per-frame part. A remote
    video is downloaded first (under ``limits``). The frames are the ones :func:`plan_video` names. Raises
    the typed errors of :func:`video_from_block`, and :class:`~vlkit.errors.VideoUnreadableError` when
    frames the header promised cannot be decoded.

    Example:
        ```python
        decoded = decode_video(video_from_block({"type": "video", "path": "clip.mp4"}), FAMILIES["qwen3_vl"])
        decoded.frames.shape, decoded.timestamps, decoded.tokens
        ```
    """
    plan = plan_video(video, family, budget, device=device, context_tokens=context_tokens, limits=limits)
    if video.frames is not None:
        return _from_frames(video, family, plan)
    source = video.path if video.path is not None else video.data or b""
    frames, used = decode_frames(
        source, plan.timestamps, (plan.width, plan.height), source_fps=plan.source_fps, what=video.source
    )
    frames.flags.writeable = False
    return DecodedVideo(frames, used, plan, family, video.info, video.source)


def _with_block_budget(budget: VideoBudget, video: VideoInput) -> VideoBudget:
    if video.min_pixels is None and video.max_pixels is None:
        return budget
    high = video.max_pixels or max(budget.max_pixels, video.min_pixels or 0)
    low = video.min_pixels or min(budget.min_pixels, high)
    return VideoBudget(low, high, budget.total_tokens)


def _from_frames(video: VideoInput, family: FamilySpec, plan: FramePlan) -> DecodedVideo:
    """A list of images as a video: every frame (an odd count padded with the last), unless the budget or
    ``max_frames`` asks for fewer; all resized to the size the first frame's shape gives."""
    images = video.frames or []
    frames = np.empty((plan.frames, plan.height, plan.width, 3), dtype=np.uint8)
    for slot, index in enumerate(plan.indices):
        image = images[index].convert("RGB")
        if image.size != (plan.width, plan.height):
            image = image.resize((plan.width, plan.height), Image.Resampling.BICUBIC)
        frames[slot] = np.asarray(image)
    frames.flags.writeable = False
    return DecodedVideo(frames, plan.timestamps, plan, family, None, video.source)
