"""Decoding real clips (PyAV writes them: moving shapes, each frame's number burnt in) of several containers,
codecs, lengths, sizes and frame rates: the frames vlkit hands the model are the source frames it planned."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vlkit.testing.clips import clip_frame, make_clip, read_counter
from vlkit.vision import FAMILIES
from vlkit.vision.video import VideoBudget, decode_video, probe_video, video_from_block

pytest.importorskip("av")

QWEN2, QWEN3 = FAMILIES["qwen2_vl"], FAMILIES["qwen3_vl"]
ROOMY = VideoBudget(min_pixels=4 * 28 * 28, max_pixels=64 * 28 * 28, total_tokens=100_000)

CLIPS = [
    pytest.param(".mp4", "h264", 3.0, 30.0, (160, 120), id="mp4-h264-3s-30fps"),
    pytest.param(".mkv", "mpeg4", 2.0, 25.0, (128, 96), id="mkv-mpeg4-2s-25fps"),
    pytest.param(".webm", "vp9", 2.0, 12.0, (96, 64), id="webm-vp9-2s-12fps"),
    pytest.param(".avi", "mjpeg", 1.5, 10.0, (100, 80), id="avi-mjpeg-1.5s-10fps"),
    pytest.param(".gif", "gif", 2.0, 10.0, (80, 60), id="gif-2s-10fps"),
    pytest.param(".mov", "h264", 4.0, 30000 / 1001, (176, 144), id="mov-h264-4s-29.97fps"),
    pytest.param(".mp4", "h264", 0.1, 30.0, (64, 48), id="mp4-3-frames"),
    pytest.param(".mp4", "h264", 8.0, 60.0, (320, 180), id="mp4-h264-8s-60fps-wide"),
]


@pytest.mark.parametrize(("suffix", "codec", "seconds", "fps", "size"), CLIPS)
def test_decoded_frames_are_the_planned_source_frames(tmp_path: Path, suffix, codec, seconds, fps, size) -> None:
    path = make_clip(tmp_path / f"clip{suffix}", seconds=seconds, fps=fps, size=size, codec=codec)
    video = video_from_block({"type": "video", "path": str(path)})
    count = round(seconds * fps)
    assert (video.info.width, video.info.height) == size and video.info.frames == count
    assert video.info.fps == pytest.approx(fps, rel=1e-3) and video.info.duration == pytest.approx(seconds, abs=0.05)

    decoded = decode_video(video, QWEN2, ROOMY)
    plan = decoded.plan
    assert decoded.frames.shape == (plan.frames, plan.height, plan.width, 3) and decoded.frames.dtype == np.uint8
    assert [read_counter(frame) for frame in decoded.frames] == list(plan.indices)
    assert plan.indices[0] == 0 and plan.indices[-1] == count - 1
    assert plan.frames == max(2, min(count - count % 2, max(4, int(seconds * 2) // 2 * 2)))
    assert decoded.timestamps == pytest.approx([i / fps for i in plan.indices], abs=2e-3)


def test_frames_keep_their_picture_after_resize(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "clip.mp4", seconds=1, fps=10, size=(112, 84))
    decoded = decode_video(video_from_block({"type": "video", "path": str(path)}), QWEN2, ROOMY)
    assert (decoded.width, decoded.height) == (112, 84)  # already a multiple of 28: no resize
    for frame, index in zip(decoded.frames, decoded.plan.indices):
        drawn = clip_frame(index, (112, 84)).astype(np.int16)
        assert np.abs(frame.astype(np.int16) - drawn).mean() < 6  # h264 at crf 16: close to what was drawn


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("long") / "long.mp4", seconds=40, fps=30, size=(64, 48))


@pytest.mark.parametrize("fps", [0.2, 0.5, 2.0])
def test_a_long_clip_sampled_sparsely_is_decoded_by_seeking_to_the_right_frames(long_clip: Path, fps: float) -> None:
    decoded = decode_video(video_from_block({"type": "video", "path": str(long_clip), "fps": fps}), QWEN3, ROOMY)
    assert decoded.plan.frames == max(4, int(40 * fps) // 2 * 2)
    assert [read_counter(frame) for frame in decoded.frames] == list(decoded.plan.indices)


def test_start_and_end_pick_frames_inside_the_range(long_clip: Path) -> None:
    block = {"type": "video", "path": str(long_clip), "start": 20.5, "end": 30}
    decoded = decode_video(video_from_block(block), QWEN3, ROOMY)
    counters = [read_counter(frame) for frame in decoded.frames]
    assert counters == list(decoded.plan.indices) and counters[0] == 615 and counters[-1] == 900
    assert decoded.plan.frames == 18  # 9.5 s at 2 fps, rounded down to the temporal patch
    assert decoded.timestamps[0] == pytest.approx(20.5) and decoded.timestamps[-1] == pytest.approx(30.0)
    qwen_spelling = decode_video(video_from_block({**block, "start": None, "video_start": 20.5}), QWEN3, ROOMY)
    assert qwen_spelling.plan.indices == decoded.plan.indices


def test_a_video_over_the_total_budget_is_sampled_sparser_and_says_so(long_clip: Path) -> None:
    budget = VideoBudget(min_pixels=4 * 32 * 32, max_pixels=16 * 32 * 32, total_tokens=60)
    decoded = decode_video(video_from_block({"type": "video", "path": str(long_clip)}), QWEN3, budget)
    meta = decoded.metadata()
    assert meta["sparser"] and meta["frames_asked"] == 80 and meta["frames"] == decoded.plan.frames < 80
    assert decoded.tokens <= 60 and meta["tokens"] == decoded.tokens
    assert meta["timestamps"][0] == 0.0 and meta["timestamps"][-1] == pytest.approx(1199 / 30, abs=1e-3)
    assert [read_counter(frame) for frame in decoded.frames] == list(decoded.plan.indices)
    assert meta["sampled_fps"] < 2.0 and meta["duration"] == pytest.approx(40.0)


def test_the_blocks_own_pixel_budget_sizes_its_frames(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "clip.mp4", seconds=1, fps=10, size=(320, 240))
    small = decode_video(video_from_block({"type": "video", "path": str(path), "max_pixels": 8 * 784}), QWEN2, ROOMY)
    assert small.width * small.height <= 8 * 784
    tiny = make_clip(tmp_path / "tiny.mp4", seconds=1, fps=10, size=(64, 48))
    large = decode_video(video_from_block({"type": "video", "path": str(tiny), "min_pixels": 96 * 784}), QWEN2, ROOMY)
    assert large.width * large.height >= 96 * 784  # a small video is scaled up to the block's minimum
    assert [read_counter(frame) for frame in large.frames] == list(large.plan.indices)


# --------------------------------------------------------------------------- frames given as a video


def test_a_list_of_images_is_a_video_of_every_frame(tmp_path: Path) -> None:
    images = [Image.fromarray(clip_frame(i, (96, 72))) for i in range(5)]
    (tmp_path / "f3.png").write_bytes(b"")
    images[3].save(tmp_path / "f3.png")
    items = [images[0], {"type": "image", "image": images[1]}, images[2], str(tmp_path / "f3.png"), images[4]]
    decoded = decode_video(video_from_block({"type": "video", "video": items, "fps": 1}), QWEN2, ROOMY)
    assert [read_counter(frame) for frame in decoded.frames] == [0, 1, 2, 3, 4, 4]  # padded with the last
    assert decoded.timestamps == (0.0, 1.0, 2.0, 3.0, 4.0, 4.0) and decoded.info is None
    assert decoded.sampled_fps == pytest.approx(1.0)


def test_frames_of_other_sizes_are_resized_to_the_first_frames_size() -> None:
    frames = [Image.fromarray(clip_frame(0, (96, 72))), Image.fromarray(clip_frame(1, (200, 100)))]
    decoded = decode_video(video_from_block({"type": "video", "frames": frames}), QWEN2, ROOMY)
    assert decoded.frames.shape[1:3] == (decoded.plan.height, decoded.plan.width)
    assert [read_counter(frame) for frame in decoded.frames] == [0, 1]


# --------------------------------------------------------------------------- header and memory


def test_the_header_is_read_without_reading_the_file(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "clip.mp4", seconds=1, fps=10, size=(64, 48))
    with path.open("r+b") as handle:  # 200 MB of trailing (sparse) data after the movie
        handle.seek(200 * 2**20)
        handle.write(b"\0")
    tracemalloc.start()
    try:
        info = probe_video(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.frames == 10 and peak < 8 * 2**20


def test_without_pyav_the_video_floor_imports_and_decoding_names_the_extra(tmp_path: Path) -> None:
    import subprocess
    import sys
    import textwrap

    path = make_clip(tmp_path / "clip.mp4", seconds=1, fps=10, size=(64, 48))
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "av":
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, Block())
        from vlkit.errors import MissingExtraError
        from vlkit.vision.video import video_from_block
        try:
            video_from_block({{"type": "video", "path": {str(path)!r}}})
        except MissingExtraError as exc:
            print(exc)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "pip install 'vlkit[video]'" in result.stdout and "reading video" in result.stdout
