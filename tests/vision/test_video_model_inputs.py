"""The model's video path equals the official processors': against values recorded from transformers' Qwen2-VL
and Qwen3-VL video processors (tests/vision/data/record_video_fixture.py says how), and against the official
processors themselves where torchvision is installed; prompt text and M-RoPE positions against transformers."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from vlkit.errors import InvalidArgumentError
from vlkit.testing.clips import read_counter
from vlkit.vision import FAMILIES
from vlkit.vision.video import (
    DecodedVideo,
    VideoBudget,
    decode_video,
    qwen3_timestamps,
    temporal_positions,
    video_from_block,
    video_patches,
    video_placeholder,
    video_tokens,
)

pytest.importorskip("av")

DATA = Path(__file__).parent / "data"
OFFICIAL = json.loads((DATA / "video_official.json").read_text())
FRAMES = np.load(DATA / "video_frames.npz")
NAMES = sorted(OFFICIAL["families"])
HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


def _decoded(name: str) -> DecodedVideo:
    """The committed clip decoded as the fixture was, with the committed frames (the ones the official
    processors were run on) in place of this machine's decode."""
    family = FAMILIES[name]
    area = family.factor**2
    decoded = decode_video(
        video_from_block({"type": "video", "path": str(DATA / "counter_clip.mp4")}),
        family,
        VideoBudget(4 * area, 12 * area, 10_000),
    )
    return dataclasses.replace(decoded, frames=FRAMES[name])


@pytest.mark.parametrize("name", NAMES)
def test_this_machine_decodes_the_committed_clip_to_the_committed_frames(name: str) -> None:
    family = FAMILIES[name]
    area = family.factor**2
    decoded = decode_video(
        video_from_block({"type": "video", "path": str(DATA / "counter_clip.mp4")}), family,
        VideoBudget(4 * area, 12 * area, 10_000),
    )
    assert decoded.frames.shape == FRAMES[name].shape
    assert [read_counter(frame) for frame in decoded.frames] == list(decoded.plan.indices) == [0, 7, 14, 21, 28, 35]
    assert np.abs(decoded.frames.astype(np.int16) - FRAMES[name]).mean() < 1.0


@pytest.mark.parametrize("name", NAMES)
def test_pixel_values_and_grid_equal_the_recorded_official_ones(name: str) -> None:
    recorded = OFFICIAL["families"][name]
    decoded = _decoded(name)
    pixels, grid = video_patches(decoded)
    summary = recorded["pixel_values_videos"]
    assert pixels.dtype == np.float32 and list(pixels.shape) == summary["shape"]
    assert grid.tolist() == recorded["video_grid_thw"] == [list(decoded.grid_thw)]
    # float32 arithmetic in the same order as the processor's: the sampled values are equal, not just close
    assert pixels.reshape(-1)[:: summary["sample_step"]].astype(np.float64).tolist() == summary["sample"]
    np.testing.assert_allclose(pixels.astype(np.float64).sum(axis=1), summary["row_sums"], rtol=1e-6, atol=1e-3)
    assert float((pixels.astype(np.float64) ** 2).sum()) == pytest.approx(summary["sum_squares"], rel=1e-9)
    family = FAMILIES[name]
    assert pixels.shape[0] // family.merge_size**2 == decoded.tokens == video_tokens(family, *decoded.frames.shape[:3])


@pytest.mark.parametrize("name", NAMES)
def test_the_official_resize_of_the_source_frames_chooses_vlkits_size(name: str) -> None:
    assert OFFICIAL["families"][name]["raw_video_grid_thw"] == [list(_decoded(name).grid_thw)]


def test_qwen3_prompt_text_equals_the_recorded_official_one() -> None:
    assert video_placeholder(_decoded("qwen3_vl")) == OFFICIAL["families"]["qwen3_vl"]["placeholder"]


def test_the_fixture_names_what_recorded_it() -> None:
    versions = OFFICIAL["versions"]
    assert versions["torch"].startswith("2.13.0") and versions["torchvision"].startswith("0.28.0")
    assert versions["transformers"] and versions["qwen_vl_utils"]


@pytest.mark.skipif(not HAS_TORCHVISION, reason="the official video processors need torchvision")
@pytest.mark.parametrize("name", NAMES)
def test_pixel_values_equal_the_official_processors_output(name: str) -> None:
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    decoded = _decoded(name)
    count, height, width = decoded.frames.shape[:3]
    processor = Qwen3VLVideoProcessor() if name == "qwen3_vl" else Qwen2VLVideoProcessor()
    pixels = height * width * (count if name == "qwen3_vl" else 1)
    official = processor(
        videos=[np.asarray(decoded.frames)], size={"shortest_edge": pixels, "longest_edge": pixels},
        do_sample_frames=False, cap_pixels_per_frame=False, return_tensors="np",
    )
    ours, grid = video_patches(decoded)
    np.testing.assert_array_equal(ours, official["pixel_values_videos"])
    assert grid.tolist() == np.asarray(official["video_grid_thw"]).tolist()


# --------------------------------------------------------------------------- prompt text and positions


def test_qwen3_timestamps_are_the_mean_of_each_frame_pair() -> None:
    assert qwen3_timestamps([0.0, 0.5, 1.0, 1.5]) == ["<0.2 seconds>", "<1.2 seconds>"]
    assert qwen3_timestamps([0.0, 0.5, 1.0]) == ["<0.2 seconds>", "<1.0 seconds>"]  # odd: the last frame doubled
    assert qwen3_timestamps([]) == []


def test_qwen3_timestamps_and_text_equal_transformers_processor() -> None:
    processing = pytest.importorskip("transformers.models.qwen3_vl.processing_qwen3_vl")
    from transformers.video_utils import VideoMetadata

    decoded = _decoded("qwen3_vl")
    fps = decoded.plan.source_fps
    official = processing.Qwen3VLProcessor._calculate_timestamps(None, list(decoded.plan.indices), fps, 2)
    assert qwen3_timestamps(decoded.timestamps) == [f"<{t:.1f} seconds>" for t in official]

    class Stub:  # replace_video_token reads only these attributes of the processor
        vision_start_token, vision_end_token, video_token = "<|vision_start|>", "<|vision_end|>", "<|video_pad|>"
        video_processor = types.SimpleNamespace(merge_size=2, temporal_patch_size=2)
        _calculate_timestamps = processing.Qwen3VLProcessor._calculate_timestamps

    metadata = VideoMetadata(total_num_frames=decoded.info.frames, fps=fps, frames_indices=list(decoded.plan.indices))
    inputs = {"video_grid_thw": np.array([decoded.grid_thw]), "video_metadata": [metadata]}
    assert video_placeholder(decoded) == processing.Qwen3VLProcessor.replace_video_token(Stub(), inputs, 0)


@pytest.mark.parametrize("name", ["qwen2_vl", "qwen2_5_vl"])
def test_qwen2_prompt_text_is_one_pad_per_visual_token(name: str) -> None:
    processing = pytest.importorskip("transformers.models.qwen2_5_vl.processing_qwen2_5_vl")
    decoded = _decoded(name)
    stub = types.SimpleNamespace(video_processor=types.SimpleNamespace(merge_size=2), video_token="<|video_pad|>")
    pads = processing.Qwen2_5_VLProcessor.replace_video_token(stub, {"video_grid_thw": np.array([decoded.grid_thw])}, 0)
    assert video_placeholder(decoded) == "<|vision_start|>" + pads + "<|vision_end|>"
    assert pads.count("<|video_pad|>") == decoded.tokens


@pytest.mark.parametrize(("name", "tokens_per_second"), [("qwen2_vl", None), ("qwen2_5_vl", 2), ("qwen2_5_vl", 25)])
def test_temporal_positions_equal_transformers_mrope(name: str, tokens_per_second) -> None:
    torch = pytest.importorskip("torch")
    modeling = pytest.importorskip("transformers.models.qwen2_5_vl.modeling_qwen2_5_vl")
    decoded = _decoded(name)
    interval = 1.0 if tokens_per_second is None else tokens_per_second * torch.tensor(decoded.second_per_grid_t)
    ids = modeling.Qwen2_5_VLModel.get_vision_position_ids(
        None, 0, torch.tensor(decoded.grid_thw), 1, 2, interval
    )
    _, grid_h, grid_w = decoded.grid_thw
    official = ids[0].reshape(decoded.grid_thw[0], grid_h * grid_w // 4)[:, 0].tolist()
    ours = temporal_positions(decoded, tokens_per_second=tokens_per_second)
    assert ours.tolist() == official


def test_qwen2_5_positions_follow_seconds_and_qwen3_leaves_time_to_the_text() -> None:
    decoded = _decoded("qwen2_5_vl")
    assert decoded.second_per_grid_t == pytest.approx(2 / (6 / 36 * 12))  # six of 36 frames at 12 fps: 2 fps
    assert temporal_positions(decoded, tokens_per_second=2).tolist() == [0, 2, 4]
    with pytest.raises(InvalidArgumentError, match="tokens_per_second"):
        temporal_positions(decoded)
    assert temporal_positions(_decoded("qwen3_vl")).tolist() == [0, 0, 0]


def test_frames_not_cut_for_the_family_are_refused() -> None:
    decoded = _decoded("qwen2_vl")  # 28 px multiples, not 32
    with pytest.raises(InvalidArgumentError, match="multiples of 32"):
        video_patches(decoded, FAMILIES["qwen3_vl"])
