"""Reading video with PyAV: the container header's facts, and the chosen frames decoded and resized.

PyAV (the ``video`` extra) opens a file by path, or bytes through a ``BytesIO``, and reads as it decodes:
the length, frame rate and size come from the header, never from reading the file whole. Decoding walks
forward through the stream and seeks to the keyframe before a frame that is far ahead, so a sparse sample
of a long video does not decode every frame; only the chosen frames, already resized, are kept.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vlkit.errors import RAISE_VIDEO_LIMIT, UnsupportedVideoFormatError, VideoTooLargeError, VideoUnreadableError
from vlkit.extras import require
from vlkit.vision.video.limits import VideoLimits

__all__ = ["VideoInfo", "SUPPORTED_CONTAINERS", "probe_video", "decode_frames"]

SUPPORTED_CONTAINERS = frozenset({"mov", "mp4", "matroska", "webm", "avi", "mpegts", "mpeg", "flv", "gif", "ogg", "asf"})
"""FFmpeg demuxer names accepted (MP4/MOV, MKV/WebM, AVI, MPEG-TS/PS, FLV, GIF, Ogg, WMV). Others —
single images, audio, raw elementary streams without timing — are refused before decoding."""

SEEK_GAP = 3.0
"""Seconds ahead of the last decoded frame past which the decoder seeks instead of decoding through."""

@dataclass(frozen=True)
class VideoInfo:
    """What the container header says about a video's first video stream."""

    width: int
    height: int
    fps: float
    """Average frame rate."""
    frames: int
    """Frames in the stream (declared, or duration × fps where the container does not count them)."""
    duration: float
    """Seconds (``frames / fps`` when the header counts frames)."""
    codec: str
    container: str
    """The FFmpeg demuxer's name (``mov,mp4,m4a,3gp,3g2,mj2``, ``matroska,webm``, …)."""


def _av() -> Any:
    return require("av", "video", "reading video")


@contextmanager
def _opened(source: str | Path | bytes, what: str) -> Iterator[Any]:
    """The PyAV container of ``source``, its errors turned into vlkit's."""
    av = _av()
    target: Any = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        container = av.open(target, mode="r")
    except FileNotFoundError:
        raise VideoUnreadableError(f"cannot read video {what}: file not found") from None
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoUnreadableError(
            f"{what} is not a readable video ({_reason(exc)}); check the file is complete and a video "
            "(MP4, MKV, WebM, AVI, MOV, GIF)"
        ) from None
    try:
        yield container
    finally:
        container.close()


def _reason(exc: BaseException) -> str:
    """FFmpeg's words for the failure, without the errno and the file name it repeats."""
    text = str(getattr(exc, "strerror", None) or exc).strip()
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def probe_video(source: str | Path | bytes, limits: VideoLimits | None = None, *, what: str | None = None) -> VideoInfo:
    """The :class:`VideoInfo` of a video file or bytes, read from the header and refused when over ``limits``.

    Raises :class:`~vlkit.errors.VideoUnreadableError` (not a video, corrupt, no video stream),
    :class:`~vlkit.errors.UnsupportedVideoFormatError` (a container that is not a video format) or
    :class:`~vlkit.errors.VideoTooLargeError` (bytes — ``limits.max_bytes`` for data in memory,
    ``limits.max_file_bytes`` for a file —, resolution, duration or frames over the limits).
    """
    limits = limits or VideoLimits()
    in_memory = isinstance(source, (bytes, bytearray))
    name = what or ("video data" if in_memory else str(source))
    size = len(source) if in_memory else _file_size(Path(source), name)
    limit = limits.max_bytes if in_memory else limits.max_file_bytes
    if size == 0:
        raise VideoUnreadableError(f"{name} is empty (0 bytes); pass a video file with content")
    if size > limit:
        raise VideoTooLargeError(
            f"{name} is {size / 2**20:.1f} MiB; the limit is {limit / 2**20:.0f} MiB (", RAISE_VIDEO_LIMIT, ")"
        )
    with _opened(source, name) as container:
        info = _header(container, name)
    _check(info, limits, name)
    return info


def _file_size(path: Path, what: str) -> int:
    try:
        if not path.is_file():
            raise VideoUnreadableError(f"cannot read video {what}: file not found")
        return path.stat().st_size
    except OSError as exc:
        raise VideoUnreadableError(f"cannot read video {what}: {exc.strerror or exc}") from None


def _header(container: Any, what: str) -> VideoInfo:
    names = set(container.format.name.split(","))
    if not names & SUPPORTED_CONTAINERS:
        raise UnsupportedVideoFormatError(
            f"{what} is {container.format.long_name or container.format.name}, not a video container; "
            "supported: MP4/MOV, MKV/WebM, AVI, MPEG-TS, FLV, GIF, Ogg, WMV"
        )
    if not container.streams.video:
        raise VideoUnreadableError(f"{what} has no video stream (audio only?); pass a file with video")
    stream = container.streams.video[0]
    context = stream.codec_context
    width, height = int(context.width or 0), int(context.height or 0)
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / 1_000_000  # AV_TIME_BASE
    else:
        duration = 0.0
    frames = int(stream.frames or 0)
    if not frames and duration and fps:
        frames = max(1, round(duration * fps))
    if not (frames and fps):
        frames, duration, fps = _scan(container, stream, what)
    elif stream.frames:
        duration = frames / fps
    if width < 1 or height < 1:
        raise VideoUnreadableError(f"{what} declares no frame size ({width}x{height}); the file may be corrupt")
    return VideoInfo(width, height, fps, frames, duration, context.name or "?", container.format.name)


def _scan(container: Any, stream: Any, what: str) -> tuple[int, float, float]:
    """Count packets and read their timestamps where the header says neither length nor rate (no frame
    is decoded; the file is read as a stream, not into memory)."""
    count, last = 0, None
    base = stream.start_time or 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            count += 1
            if packet.pts is not None and packet.time_base is not None:
                end = (packet.pts - base + (packet.duration or 0)) * packet.time_base
                last = end if last is None else max(last, end)
    except _av().FFmpegError as exc:
        raise VideoUnreadableError(f"{what} cannot be read to its end ({_reason(exc)}); the file may be corrupt") from None
    if not count:
        raise VideoUnreadableError(f"{what} holds no video frames")
    duration = float(last) if last else 0.0
    if duration <= 0:
        raise VideoUnreadableError(f"{what} has no timing (frame rate or timestamps); re-encode it as MP4")
    return count, duration, count / duration


def _check(info: VideoInfo, limits: VideoLimits, what: str) -> None:
    area = info.width * info.height
    if area > limits.max_pixels:
        raise VideoTooLargeError(
            f"{what} is {info.width}x{info.height} = {area / 1e6:.0f} MP a frame; the limit is "
            f"{limits.max_pixels / 1e6:.0f} MP (refused before decoding; ", RAISE_VIDEO_LIMIT, ")"
        )
    if info.duration > limits.max_seconds:
        raise VideoTooLargeError(
            f"{what} is {info.duration:.0f} s long; the limit is {limits.max_seconds:.0f} s (", RAISE_VIDEO_LIMIT, ")"
        )
    if info.frames > limits.max_frames:
        raise VideoTooLargeError(
            f"{what} has {info.frames} frames; the limit is {limits.max_frames} (", RAISE_VIDEO_LIMIT, ")"
        )
    if max(info.width, info.height) / min(info.width, info.height) > 200:
        raise UnsupportedVideoFormatError(
            f"{what} is {info.width}x{info.height}; the aspect ratio must be under 200 (crop it)"
        )


def decode_frames(
    source: str | Path | bytes,
    timestamps: tuple[float, ...],
    size: tuple[int, int],
    *,
    source_fps: float,
    what: str = "video",
) -> tuple[np.ndarray, tuple[float, ...]]:
    """The frames of ``source`` nearest to ``timestamps`` (seconds from the stream's start, ascending),
    each resized to ``size`` = ``(width, height)`` (bicubic): a ``T × H × W × 3`` uint8 array and the time
    of each frame used.

    Raises :class:`~vlkit.errors.VideoUnreadableError` when a frame cannot be decoded, or when the stream
    ends before a requested time (a truncated file): frames are never silently dropped.
    """
    av = _av()
    width, height = size
    out = np.empty((len(timestamps), height, width, 3), dtype=np.uint8)
    used: list[float] = [0.0] * len(timestamps)
    tolerance = 1.5 / source_fps + 0.05
    with _opened(source, what) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        base = float((stream.start_time or 0) * stream.time_base) if stream.time_base else 0.0
        walker = _Walker(container, stream, base, source_fps)
        try:
            for i, target in enumerate(timestamps):
                time, frame = walker.nearest(target)
                if frame is None or abs(time - target) > tolerance:
                    raise VideoUnreadableError(
                        f"{what} ends at {walker.position:.2f} s, before {target:.2f} s that its header promises; "
                        "the file is truncated or corrupt — copy or download it again"
                    )
                used[i] = time
                image = frame.to_image()
                if image.size != (width, height):
                    image = image.resize((width, height), Image.Resampling.BICUBIC)
                out[i] = np.asarray(image.convert("RGB"))
        except av.FFmpegError as exc:
            raise VideoUnreadableError(f"{what} cannot be decoded ({_reason(exc)}); the file may be corrupt") from None
    return out, tuple(used)


class _Walker:
    """Walk a stream forward and answer "the decoded frame nearest to time t" for ascending t, seeking to
    the keyframe before t when t is far ahead."""

    def __init__(self, container: Any, stream: Any, base: float, fps: float) -> None:
        self.container, self.stream, self.base, self.fps = container, stream, base, fps
        self.frames: Iterator[Any] | None = None
        self.count = 0  # frames decoded since the start, for streams without timestamps
        self.can_seek = True
        self.prev: tuple[float, Any] | None = None  # last decoded frame at or before the last target
        self.next: tuple[float, Any] | None = None  # first decoded frame after it
        self.position = 0.0
        self.sought = -math.inf

    def _time(self, frame: Any) -> float:
        if frame.pts is None or frame.time is None:
            self.can_seek = False
            return self.count / self.fps
        return float(frame.time) - self.base

    def _pull(self) -> tuple[float, Any] | None:
        if self.frames is None:
            self.frames = iter(self.container.decode(self.stream))
        frame = next(self.frames, None)
        if frame is None:
            return None
        self.count += 1
        time = self._time(frame)
        self.position = max(self.position, time)
        return time, frame

    def _seek(self, target: float) -> None:
        offset = int((target + self.base) / self.stream.time_base)
        self.container.seek(offset, stream=self.stream, backward=True, any_frame=False)
        self.frames, self.prev, self.next, self.sought = None, None, None, target

    def nearest(self, target: float) -> tuple[float, Any]:
        ahead = self.next or self.prev
        if self.can_seek and target - (ahead[0] if ahead else 0.0) > SEEK_GAP and target > self.sought + SEEK_GAP:
            self._seek(target)
        while self.next is None or self.next[0] < target:
            if self.next is not None:
                self.prev = self.next
            self.next = self._pull()
            if self.next is None:  # end of stream: the last frame is the nearest there is
                if self.prev is None:
                    return math.inf, None
                return self.prev
        if self.prev is not None and target - self.prev[0] <= self.next[0] - target:
            return self.prev
        return self.next
