"""Video for the Qwen-VL models: checked inputs, frame sampling under a visual budget, PyAV decoding, and the
model's video inputs — without torchvision.

transformers' Qwen video processors and qwen-vl-utils need torchvision; vlkit decodes with PyAV (the
``video`` extra: ``pip install 'vlkit[video]'``) and builds ``pixel_values_videos`` / ``video_grid_thw``
itself, on the same facts as images (:mod:`vlkit.vision.resize`): a video frame's size and token cost are
an image's, a temporal patch of two frames costs one frame's tokens.

Example:
    ```python
    from vlkit.vision import FAMILIES
    from vlkit.vision.video import decode_video, video_from_block, video_patches

    video = video_from_block({"type": "video", "path": "clip.mp4", "fps": 2, "end": 60})   # header checked
    decoded = decode_video(video, FAMILIES["qwen3_vl"], context_tokens=32768)
    decoded.timestamps, decoded.tokens, decoded.metadata()["sparser"]
    pixel_values_videos, video_grid_thw = video_patches(decoded)
    ```
"""

from __future__ import annotations

from vlkit.vision.video.decode import SUPPORTED_CONTAINERS, VideoInfo, decode_frames, probe_video
from vlkit.vision.video.frames import DecodedVideo, decode_video, plan_video
from vlkit.vision.video.inputs import VideoInput, is_video_block, video_from_block
from vlkit.vision.video.limits import (
    MAX_VIDEO_BYTES,
    MAX_VIDEO_FILE_BYTES,
    MAX_VIDEO_FRAMES,
    MAX_VIDEO_SECONDS,
    VideoLimits,
)
from vlkit.vision.video.model_inputs import (
    NORMALISATION,
    qwen3_timestamps,
    temporal_positions,
    video_patches,
    video_placeholder,
)
from vlkit.vision.video.sampling import (
    TEMPORAL_PATCH,
    VIDEO_FPS,
    FramePlan,
    VideoBudget,
    sample_frames,
    video_budget,
    video_tokens,
)

__all__ = [
    "DecodedVideo",
    "FramePlan",
    "MAX_VIDEO_BYTES",
    "MAX_VIDEO_FILE_BYTES",
    "MAX_VIDEO_FRAMES",
    "MAX_VIDEO_SECONDS",
    "NORMALISATION",
    "SUPPORTED_CONTAINERS",
    "TEMPORAL_PATCH",
    "VIDEO_FPS",
    "VideoBudget",
    "VideoInfo",
    "VideoInput",
    "VideoLimits",
    "decode_frames",
    "decode_video",
    "is_video_block",
    "plan_video",
    "probe_video",
    "qwen3_timestamps",
    "sample_frames",
    "temporal_positions",
    "video_budget",
    "video_from_block",
    "video_patches",
    "video_placeholder",
    "video_tokens",
]
