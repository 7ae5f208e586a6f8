"""Every accepted video block form, the limits checked from the header, and each bad file's typed error."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vlkit.errors import (
    InvalidArgumentError,
    UnsupportedVideoFormatError,
    UrlRefusedError,
    VideoError,
    VideoTooLargeError,
    VideoUnreadableError,
)
from vlkit.testing.clips import make_clip, read_counter
from vlkit.vision import FAMILIES
from vlkit.vision.video import VideoBudget, VideoLimits, decode_video, is_video_block, video_from_block

av = pytest.importorskip("av")

QWEN2 = FAMILIES["qwen2_vl"]
BUDGET = VideoBudget(min_pixels=4 * 784, max_pixels=32 * 784, total_tokens=10_000)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=2, fps=10, size=(96, 64))


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


FORMS = [
    pytest.param(lambda p: {"type": "video", "path": str(p)}, id="path"),
    pytest.param(lambda p: {"type": "video", "url": p.as_uri()}, id="file-uri"),
    pytest.param(lambda p: {"type": "video", "url": str(p)}, id="plain-path-as-url"),
    pytest.param(lambda p: {"type": "video", "video": str(p)}, id="qwen-video-path"),
    pytest.param(lambda p: {"type": "video", "base64": _b64(p), "mime_type": "video/mp4"}, id="v1-base64"),
    pytest.param(
        lambda p: {"type": "video", "source_type": "base64", "data": _b64(p), "mime_type": "video/mp4"}, id="v0-base64"
    ),
    pytest.param(lambda p: {"type": "video", "url": f"data:video/mp4;base64,{_b64(p)}"}, id="data-url"),
    pytest.param(lambda p: {"type": "video_url", "video_url": {"url": f"data:video/mp4;base64,{_b64(p)}"}}, id="openai-data-url"),
    pytest.param(lambda p: {"type": "video_url", "video_url": {"url": p.as_uri()}}, id="openai-file-uri"),
    pytest.param(lambda p: {"type": "video_url", "video_url": str(p)}, id="openai-bare-string"),
]


@pytest.mark.parametrize("make_block", FORMS)
def test_every_block_form_gives_the_same_checked_video(clip: Path, make_block) -> None:
    block = make_block(clip)
    assert is_video_block(block)
    video = video_from_block({**block, "fps": 4, "max_frames": 6})
    assert (video.info.width, video.info.height, video.info.frames) == (96, 64, 20)
    assert video.fps == 4.0 and video.max_frames == 6
    decoded = decode_video(video, QWEN2, BUDGET)
    assert [read_counter(frame) for frame in decoded.frames] == list(decoded.plan.indices) == [0, 4, 8, 11, 15, 19]


def test_image_blocks_are_not_video_blocks() -> None:
    assert not is_video_block({"type": "image", "url": "x.png"}) and not is_video_block("video")


# --------------------------------------------------------------------------- remote videos


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def served(clip: Path) -> Iterator[str]:
    handler = lambda *a, **k: _Quiet(*a, directory=str(clip.parent), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{clip.name}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_http_video_is_fetched_when_decoded_under_the_ssrf_guard(served: str) -> None:
    video = video_from_block({"type": "video_url", "video_url": {"url": served}})
    assert video.is_remote and video.info is None
    with pytest.raises(UrlRefusedError, match="non-public address"):
        decode_video(video, QWEN2, BUDGET)
    local = VideoLimits(allow_private_urls=True)
    decoded = decode_video(video_from_block({"type": "video", "url": served}), QWEN2, BUDGET, limits=local)
    assert decoded.info.frames == 20 and [read_counter(f) for f in decoded.frames] == list(decoded.plan.indices)
    with pytest.raises(VideoTooLargeError, match="larger than the 0 MiB limit"):
        decode_video(video_from_block({"type": "video", "url": served}), QWEN2, BUDGET,
                     limits=VideoLimits(allow_private_urls=True, max_bytes=1000))


# --------------------------------------------------------------------------- limits, before decoding


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        (VideoLimits(max_file_bytes=1000), "MiB; the limit is 0 MiB"),
        (VideoLimits(max_seconds=1.5), "2 s long; the limit is 2 s"),
        (VideoLimits(max_frames=10), "has 20 frames; the limit is 10"),
        (VideoLimits(max_pixels=96 * 63), "96x64 = 0 MP a frame"),
    ],
)
def test_a_video_over_a_limit_is_refused_from_its_header(clip: Path, limits: VideoLimits, words: str) -> None:
    with pytest.raises(VideoTooLargeError, match=words) as caught:
        video_from_block({"type": "video", "path": str(clip)}, limits)
    assert "VideoLimits" in str(caught.value) and "VideoLimits" not in caught.value.on("cli")
    assert "the limit is the server's" in caught.value.on("http")


def test_base64_over_the_byte_limit_is_refused_before_decoding_it(clip: Path) -> None:
    with pytest.raises(VideoTooLargeError, match="base64 video is over the 1 MiB limit"):
        video_from_block({"type": "video", "base64": "A" * (2 * 2**20), "mime_type": "video/mp4"}, VideoLimits(max_bytes=2**20))
    # the file limit is for files read from disk; data held in memory has its own
    in_memory = VideoLimits(max_bytes=1000, max_file_bytes=2**30)
    video_from_block({"type": "video", "path": str(clip)}, in_memory)
    with pytest.raises(VideoTooLargeError, match="base64 video is"):
        video_from_block({"type": "video", "url": f"data:video/mp4;base64,{_b64(clip)}"}, in_memory)


def test_a_frame_list_over_the_frame_limit_is_refused() -> None:
    frames = [Image.new("RGB", (32, 32))] * 5
    with pytest.raises(VideoTooLargeError, match="5 frames is over the limit of 4"):
        video_from_block({"type": "video", "video": frames}, VideoLimits(max_frames=4))


# --------------------------------------------------------------------------- bad files


def _audio(path: Path, codec: str) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=16000)
        for index in range(4):
            samples = np.zeros((1, 1024), np.float32 if codec == "aac" else np.int16)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp" if codec == "aac" else "s16", layout="mono")
            frame.sample_rate, frame.pts = 16000, index * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _truncated(path: Path, faststart: bool) -> Path:
    whole = make_clip(path.with_name("whole-" + path.name), seconds=3, fps=10, size=(64, 48), faststart=faststart)
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])
    return path


BAD = [
    pytest.param(lambda d: d / "missing.mp4", VideoUnreadableError, "file not found", id="missing"),
    pytest.param(lambda d: _write(d / "empty.mp4", b""), VideoUnreadableError, "empty", id="empty"),
    pytest.param(lambda d: _write(d / "noise.mp4", bytes(range(256)) * 40), VideoUnreadableError, "not a readable video", id="noise"),
    pytest.param(
        lambda d: Image.new("RGB", (8, 8)).save(d / "still.png") or d / "still.png",
        UnsupportedVideoFormatError, "not a video container", id="png-image",
    ),
    pytest.param(lambda d: _audio(d / "sound.wav", "pcm_s16le"), UnsupportedVideoFormatError, "WAV", id="wav-audio"),
    pytest.param(lambda d: _audio(d / "sound.mp4", "aac"), VideoUnreadableError, "no video stream", id="mp4-audio-only"),
    pytest.param(lambda d: _truncated(d / "cut.mp4", False), VideoUnreadableError, "not a readable video", id="truncated-index"),
]


@pytest.mark.parametrize(("make", "error", "words"), BAD)
def test_a_bad_file_is_refused_with_a_typed_error(tmp_path: Path, make, error, words: str) -> None:
    path = make(tmp_path)
    with pytest.raises(error, match=words) as caught:
        video_from_block({"type": "video", "path": str(path)})
    assert isinstance(caught.value, VideoError)


def test_a_file_cut_short_is_refused_when_its_frames_run_out_never_silently_shortened(tmp_path: Path) -> None:
    video = video_from_block({"type": "video", "path": str(_truncated(tmp_path / "cut.mp4", True))})
    assert video.info.frames == 30  # the index at the front still promises 3 s
    with pytest.raises(VideoUnreadableError, match="truncated"):
        decode_video(video, QWEN2, BUDGET)


def test_bad_base64_is_unreadable() -> None:
    with pytest.raises(VideoUnreadableError, match="not valid base64"):
        video_from_block({"type": "video", "base64": "not base64!", "mime_type": "video/mp4"})


@pytest.mark.parametrize(
    ("block", "error", "words"),
    [
        ({"type": "video"}, UnsupportedVideoFormatError, "has no video"),
        ({"type": "video", "url": "ftp://host/clip.mp4"}, UnsupportedVideoFormatError, "scheme 'ftp'"),
        ({"type": "video", "url": "data:video/mp4,plain"}, UnsupportedVideoFormatError, "base64-encoded"),
        ({"type": "video_url", "video_url": {"url": 3}}, UnsupportedVideoFormatError, "video_url.url"),
        ({"type": "video", "video": 3}, UnsupportedVideoFormatError, "list of frames"),
        ({"type": "video", "video": []}, VideoUnreadableError, "at least one frame"),
        ({"type": "video", "video": [3]}, UnsupportedVideoFormatError, "frame 0 of a video is a int"),
        ({"type": "video", "path": "x.mp4", "fps": "2"}, InvalidArgumentError, "'fps' must be a number"),
        ({"type": "video", "path": "x.mp4", "fps": 0}, InvalidArgumentError, "above 0"),
        ({"type": "video", "path": "x.mp4", "max_frames": 2.5}, InvalidArgumentError, "whole number"),
        ({"type": "video", "path": "x.mp4", "start": -1}, InvalidArgumentError, ">= 0"),
    ],
)
def test_a_block_without_a_usable_video_says_what_to_give(block: dict, error, words: str) -> None:
    with pytest.raises(error, match=words):
        video_from_block(block)
