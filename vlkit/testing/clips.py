"""Generated video clips for tests: moving shapes, and each frame's number burnt in so it can be read back.

``make_clip`` writes a real encoded file with PyAV (the ``video`` extra). Frame ``i`` shows ``i`` twice: as a
row of black/white cells across the top quarter (binary, most significant bit first — cells survive
compression, chroma subsampling and downscaling to a few pixels each) and as digits for a person looking at
it. ``read_counter`` reads the cells of a decoded, possibly resized frame, so a test can tell exactly which
source frames a sampler picked::

    from vlkit.testing.clips import make_clip, read_counter

    path = make_clip(tmp_path / "clip.mp4", seconds=3, fps=30, size=(160, 120))
    decoded = decode_video(video_from_block({"type": "video", "path": str(path)}), FAMILIES["qwen2_vl"])
    [read_counter(frame) for frame in decoded.frames]   # the source frame numbers, e.g. [0, 6, 12, …]
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vlkit.extras import require

__all__ = ["COUNTER_BITS", "CODECS", "make_clip", "clip_frame", "read_counter"]

COUNTER_BITS = 12
"""Cells in the counter row: frame numbers up to 4095."""

CODECS = {
    "h264": ("libx264", {"preset": "ultrafast", "crf": "16"}),
    "mpeg4": ("mpeg4", {"qscale": "3"}),
    "vp9": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "crf": "20", "b": "0"}),
    "mjpeg": ("mjpeg", {"qscale": "3"}),
    "gif": ("gif", {}),
}
"""Codec names ``make_clip`` takes, with the FFmpeg encoder and options used for each."""

_BAND = 4  # the counter row is the top 1/_BAND of the frame


def clip_frame(index: int, size: tuple[int, int]) -> np.ndarray:
    """The picture of frame ``index`` of a ``size`` = ``(width, height)`` clip, as ``H × W × 3`` uint8."""
    width, height = size
    if index >= 2**COUNTER_BITS:
        raise ValueError(f"frame {index} does not fit {COUNTER_BITS} counter cells")
    image = Image.new("RGB", size, (90, 110, 90))
    draw = ImageDraw.Draw(image)
    band = height // _BAND
    for bit in range(COUNTER_BITS):
        on = (index >> (COUNTER_BITS - 1 - bit)) & 1
        left, right = bit * width // COUNTER_BITS, (bit + 1) * width // COUNTER_BITS
        draw.rectangle([left, 0, right - 1, band - 1], fill=(255, 255, 255) if on else (0, 0, 0))
    # moving shapes below the counter: a circle sliding right, a square sliding down
    radius = max(3, height // 10)
    x = radius + (index * 3) % max(1, width - 2 * radius)
    draw.ellipse([x - radius, height - 3 * radius, x + radius, height - radius], fill=(220, 40, 40))
    side = max(4, height // 8)
    y = band + 2 + (index * 2) % max(1, height - band - side - 4)
    draw.rectangle([width - side - 4, y, width - 5, y + side], fill=(40, 60, 220))
    draw.text((4, band + 4), str(index), fill=(255, 255, 0))
    return np.asarray(image)


def read_counter(frame: np.ndarray) -> int:
    """The frame number burnt into ``frame`` (``H × W × 3``, any size the clip was resized to)."""
    height, width = frame.shape[:2]
    band = max(1, height // _BAND)
    luma = frame[: max(1, band * 3 // 4), :, :].astype(np.float32).mean(axis=2)
    value = 0
    for bit in range(COUNTER_BITS):
        left, right = bit * width / COUNTER_BITS, (bit + 1) * width / COUNTER_BITS
        inner = luma[:, int(left + (right - left) * 0.3) : max(int(left + (right - left) * 0.3) + 1, int(right - (right - left) * 0.3))]
        value = value * 2 + int(inner.mean() > 127)
    return value


def make_clip(
    path: str | Path,
    *,
    seconds: float = 2.0,
    fps: float = 10.0,
    size: tuple[int, int] = (160, 120),
    codec: str = "h264",
    faststart: bool = True,
) -> Path:
    """Write a ``seconds`` long clip at ``fps`` of ``size`` = ``(width, height)`` to ``path`` (the container
    from its suffix: .mp4, .mkv, .webm, .avi, .mov, .gif) with ``codec`` (a key of :data:`CODECS`).

    ``round(seconds × fps)`` frames, frame ``i`` at ``i / fps`` seconds. ``faststart`` puts an MP4's index
    first (what a truncated-download test needs to open at all).
    """
    av = require("av", "video", "writing test clips")
    path = Path(path)
    encoder, options = CODECS[codec]
    width, height = size
    if codec != "gif" and (width % 2 or height % 2):
        raise ValueError(f"{codec} in yuv420p needs even sides, got {width}x{height}")
    rate = Fraction(fps).limit_denominator(1001)
    count = max(1, round(seconds * fps))
    container_options = {"movflags": "faststart"} if faststart and path.suffix in {".mp4", ".mov"} else {}
    with av.open(str(path), mode="w", options=container_options) as container:
        stream = container.add_stream(encoder, rate=rate, options=options)
        stream.width, stream.height = width, height
        stream.pix_fmt = "rgb8" if codec == "gif" else ("yuvj420p" if codec == "mjpeg" else "yuv420p")
        for index in range(count):
            frame = av.VideoFrame.from_ndarray(clip_frame(index, size), format="rgb24")
            frame.pts = index
            frame.time_base = 1 / rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
