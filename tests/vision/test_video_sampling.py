"""The frame-sampling arithmetic: Qwen's rules where vlkit follows them (checked against values recorded from
qwen-vl-utils), the total budget as a bound where vlkit departs from them, and properties over many videos."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vlkit.errors import InvalidArgumentError
from vlkit.vision import FAMILIES
from vlkit.vision.video import VideoBudget, sample_frames, video_budget, video_tokens

QWEN2, QWEN3 = FAMILIES["qwen2_vl"], FAMILIES["qwen3_vl"]
ROOMY = VideoBudget(min_pixels=128 * 28 * 28, max_pixels=768 * 28 * 28, total_tokens=115_200)
OFFICIAL = json.loads((Path(__file__).parent / "data" / "video_official.json").read_text())


def _plan(family=QWEN2, budget=ROOMY, **kwargs):
    kwargs.setdefault("width", 640)
    kwargs.setdefault("height", 360)
    kwargs.setdefault("source_fps", 30.0)
    return sample_frames(family, budget, **kwargs)


# --------------------------------------------------------------------------- Qwen's rules, by example


def test_ten_seconds_at_two_fps_is_twenty_frames_spread_over_the_whole_video() -> None:
    plan = _plan(total_frames=300)
    assert plan.frames == 20 and plan.wanted_frames == 20 and not plan.sparser
    assert plan.indices[0] == 0 and plan.indices[-1] == 299
    assert plan.timestamps == tuple(i / 30 for i in plan.indices)
    assert plan.sampled_fps == pytest.approx(2.0)
    assert (plan.width, plan.height) == (644, 364)  # 640x360 rounded to 28 px, under 768 tokens a frame
    assert plan.tokens == 10 * (644 // 28) * (364 // 28) == video_tokens(QWEN2, 20, 364, 644)


def test_a_short_clip_gets_at_least_four_frames() -> None:
    plan = _plan(total_frames=30)  # 1 s at 30 fps asks for 2 frames at 2 fps
    assert plan.frames == 4 and plan.indices == (0, 10, 19, 29)


@pytest.mark.parametrize(("total", "indices"), [(1, (0, 0)), (2, (0, 1)), (3, (0, 2)), (5, (0, 1, 3, 4))])
def test_a_clip_of_very_few_frames_still_fills_one_temporal_patch(total: int, indices: tuple[int, ...]) -> None:
    assert _plan(total_frames=total, source_fps=10.0).indices == indices


def test_the_frame_count_is_rounded_down_to_the_temporal_patch() -> None:
    assert _plan(total_frames=330).frames == 22  # 11 s
    assert _plan(total_frames=345).frames == 22  # 11.5 s asks for 23
    assert _plan(total_frames=3000, max_frames=7).frames == 6


def test_max_frames_caps_and_768_is_the_default_cap() -> None:
    assert _plan(total_frames=30 * 3600, budget=VideoBudget(4 * 784, 16 * 784, 10**7)).frames == 768
    assert _plan(total_frames=300, fps=10).frames == 100
    assert _plan(total_frames=300, fps=10, max_frames=64).frames == 64
    assert _plan(total_frames=300, fps=100).frames == 300  # never more frames than the video has


def test_duration_stands_in_for_an_unknown_frame_count() -> None:
    assert _plan(duration=10.0).indices == _plan(total_frames=300).indices


def test_start_and_end_choose_the_frames_inside_them() -> None:
    plan = _plan(total_frames=1800, fps=4.0, start=10.0, end=20.0)
    assert plan.indices[0] == 300 and plan.indices[-1] == 600 and plan.range_frames == 301
    assert plan.frames == 40
    plan = _plan(total_frames=1800, start=12.31)
    assert plan.indices[0] == 370 and plan.timestamps[0] >= 12.31  # the first frame at or after start
    assert _plan(total_frames=1800, end=99.0).indices[-1] == 1799  # an end past the video is its end


def test_a_range_narrower_than_one_frame_gives_the_next_frame_twice() -> None:
    plan = _plan(total_frames=300, source_fps=10.0, start=1.01, end=1.05)
    assert plan.indices == (11, 11)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"start": 10.0}, "past the end"),
        ({"start": 4.0, "end": 4.0}, "after start"),
        ({"start": -1.0}, ">= 0"),
        ({"end": math.nan}, ">= 0"),
        ({"max_frames": 1}, "at least 2"),
        ({"fps": 0.0}, "positive"),
        ({"source_fps": 0.0}, "frame rate"),
    ],
)
def test_bad_sampling_options_are_refused_with_what_to_change(kwargs: dict, words: str) -> None:
    with pytest.raises(InvalidArgumentError, match=words):
        _plan(**{"total_frames": 300, **kwargs})


def test_every_frame_of_a_frame_list_is_kept_and_an_odd_count_padded() -> None:
    plan = _plan(total_frames=5, source_fps=2.0, fps=None)
    assert plan.indices == (0, 1, 2, 3, 4, 4)
    assert plan.sampled_fps == pytest.approx(2.0)  # five distinct frames over 2.5 s
    assert _plan(total_frames=9, source_fps=2.0, fps=None, max_frames=4).indices == (0, 3, 5, 8)


# --------------------------------------------------------------------------- the total budget


def test_a_long_video_shrinks_its_frames_first() -> None:
    budget = VideoBudget(min_pixels=16 * 784, max_pixels=256 * 784, total_tokens=4000)
    plan = _plan(total_frames=30 * 60, budget=budget)  # 1 minute: 120 frames of at most 256 tokens is 15360
    assert plan.frames == 120 and not plan.sparser
    assert plan.tokens <= 4000 and plan.width * plan.height < 256 * 784


def test_a_video_too_long_for_the_budget_is_sampled_more_sparsely_never_cut() -> None:
    budget = VideoBudget(min_pixels=128 * 784, max_pixels=768 * 784, total_tokens=4096)
    plan = _plan(total_frames=30 * 600, budget=budget)  # 10 minutes asks for 768 frames
    assert plan.wanted_frames == 768 and plan.sparser
    assert plan.frames == 64  # 32 pairs of 128 tokens
    assert plan.tokens <= 4096
    assert (plan.width, plan.height) == (420, 224)  # min_pixels, rounded down to whole 28 px tokens
    assert plan.indices[0] == 0 and plan.indices[-1] == 30 * 600 - 1  # still the whole video
    assert plan.sampled_fps == pytest.approx(64 / 600, rel=0.01)


def test_a_budget_that_cannot_hold_two_frames_says_what_to_change() -> None:
    with pytest.raises(InvalidArgumentError, match="raise the total budget or lower min_pixels"):
        _plan(total_frames=300, budget=VideoBudget(min_pixels=128 * 784, max_pixels=768 * 784, total_tokens=100))


def test_video_budget_defaults_follow_the_device_and_the_context() -> None:
    cpu = video_budget(QWEN2, "cpu")
    assert cpu == VideoBudget(128 * 784, 256 * 784, 115_200)
    gpu = video_budget(QWEN3, "cuda", context_tokens=32768)
    assert gpu == VideoBudget(128 * 1024, 768 * 1024, 29491)
    assert video_budget(QWEN2, max_pixels=64 * 784).min_pixels == 64 * 784  # never above the maximum
    assert video_budget(QWEN2, min_pixels=512 * 784).max_pixels == 512 * 784
    assert video_budget(QWEN2, total_tokens=1000).total_tokens == 1000
    with pytest.raises(InvalidArgumentError, match="min_pixels <= max_pixels"):
        video_budget(QWEN2, min_pixels=200 * 784, max_pixels=100 * 784)


def test_video_tokens_count_one_frame_per_temporal_patch() -> None:
    assert video_tokens(QWEN2, 8, 224, 448) == 4 * 8 * 16
    assert video_tokens(QWEN2, 7, 224, 448) == video_tokens(QWEN2, 8, 224, 448)  # an odd count is padded
    assert video_tokens(QWEN3, 2, 256, 256) == 64


# --------------------------------------------------------------------------- against qwen-vl-utils


@pytest.mark.parametrize("case", OFFICIAL["qwen_vl_utils_cases"], ids=lambda c: "-".join(str(v) for v in c["case"]))
def test_sampling_matches_qwen_vl_utils_wherever_qwen_keeps_to_the_budget(case: dict) -> None:
    total, video_fps, fps, max_frames, start, end, height, width, patch, min_tok, max_tok, context = case["case"]
    family = QWEN2 if patch == 14 else QWEN3
    area = family.factor**2
    budget = VideoBudget(min_tok * area, max_tok * area, case["total_tokens"])
    plan = sample_frames(
        family, budget, width=width, height=height, source_fps=video_fps, total_frames=total, fps=fps,
        start=start, end=end, max_frames=max_frames,
    )
    assert plan.range_frames == case["range"][2]
    if case["tokens"] <= case["total_tokens"]:
        assert plan.frames == case["nframes"]
        _assert_same_indices(plan.indices, case["indices"], *case["range"][:2])
        assert [plan.height, plan.width] == case["size"] and plan.tokens == case["tokens"]
        assert plan.sampled_fps == pytest.approx(case["sample_fps"])
    else:  # Qwen floors each frame at 1.05 x min_pixels and overflows the total; vlkit takes fewer frames
        assert plan.sparser and plan.frames < case["nframes"] and plan.tokens <= case["total_tokens"]


def _assert_same_indices(ours, theirs, first: int, last: int) -> None:
    """Equal, except where qwen-vl-utils' float32 ``torch.linspace`` rounds a value within float32 precision
    of .5 the other way (vlkit computes in float64, as transformers' Qwen3-VL sampler does)."""
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            exact = first + k * (last - first) / (len(ours) - 1)
            assert abs(a - b) == 1 and abs(exact % 1 - 0.5) < 0.01 and a == round(exact), (k, a, b, exact)


def test_the_recorded_cases_include_one_where_qwen_overflows_the_budget() -> None:
    assert any(c["tokens"] > c["total_tokens"] for c in OFFICIAL["qwen_vl_utils_cases"])


# --------------------------------------------------------------------------- properties


@st.composite
def videos(draw):
    family = draw(st.sampled_from([QWEN2, QWEN3]))
    area = family.factor**2
    low = draw(st.integers(4, 256)) * area
    high = low + draw(st.integers(0, 1024)) * area
    budget = VideoBudget(low, high, draw(st.integers(low // area * 2, 200_000)))
    source_fps = draw(st.sampled_from([1.0, 8.0, 12.5, 23.976, 25.0, 29.97, 30.0, 60.0, 120.0]))
    total = draw(st.integers(1, 200_000))
    length = total / source_fps
    options: dict = {
        "width": draw(st.integers(16, 4096)),
        "height": draw(st.integers(16, 4096)),
        "fps": draw(st.one_of(st.none(), st.floats(0.05, 60.0))),
        "max_frames": draw(st.one_of(st.none(), st.integers(2, 2000))),
    }
    if draw(st.booleans()):
        options["start"] = draw(st.floats(0, length, exclude_max=True))
    if draw(st.booleans()):
        options["end"] = draw(st.floats(options.get("start", 0.0), length * 1.5, exclude_min=True))
    return family, budget, source_fps, total, options


def _fits(plan, family, budget) -> bool:
    return plan.tokens <= budget.total_tokens and plan.tokens == plan.frames // 2 * family.tokens_for(plan.height, plan.width)


@settings(max_examples=400, deadline=None)
@given(videos())
def test_any_video_gives_an_even_ordered_sample_within_its_range_and_budget(video) -> None:
    family, budget, source_fps, total, options = video
    if max(options["width"], options["height"]) / min(options["width"], options["height"]) > 200:
        return
    try:
        plan = sample_frames(family, budget, source_fps=source_fps, total_frames=total, **options)
    except InvalidArgumentError as exc:  # only a budget too small for two frames may refuse here
        assert "cannot hold two" in str(exc)
        return
    assert plan.frames >= 2 and plan.frames % 2 == 0
    assert list(plan.indices) == sorted(plan.indices)
    assert 0 <= plan.indices[0] and plan.indices[-1] < total
    assert plan.frames <= plan.wanted_frames <= max(2, 768 if options["max_frames"] is None else options["max_frames"])
    if options["fps"] is not None:
        assert plan.wanted_frames <= max(2, plan.range_frames)
    assert _fits(plan, family, budget)
    assert plan.width % family.factor == 0 and plan.height % family.factor == 0
    assert plan.timestamps == tuple(i / source_fps for i in plan.indices)
    if "start" in options:
        # the first frame at or after start; past the last frame's time, the last frame (still showing then)
        assert plan.timestamps[0] >= min(options["start"], (total - 1) / source_fps) - 1e-6
    if "end" in options:
        assert plan.timestamps[-1] <= options["end"] + 1 / source_fps + 1e-6
    if plan.range_frames >= 2 and plan.frames >= 2:
        assert plan.indices[-1] - plan.indices[0] == plan.range_frames - 1 or plan.indices[0] == plan.indices[-1]


@settings(max_examples=200, deadline=None)
@given(videos(), st.integers(2, 10))
def test_a_larger_total_budget_never_gives_fewer_frames(video, scale: int) -> None:
    family, budget, source_fps, total, options = video
    if max(options["width"], options["height"]) / min(options["width"], options["height"]) > 200:
        return
    bigger = VideoBudget(budget.min_pixels, budget.max_pixels, budget.total_tokens * scale)
    try:
        small = sample_frames(family, budget, source_fps=source_fps, total_frames=total, **options)
    except InvalidArgumentError:
        return
    large = sample_frames(family, bigger, source_fps=source_fps, total_frames=total, **options)
    assert large.frames >= small.frames and large.wanted_frames == small.wanted_frames
    if not small.sparser:
        assert large.width * large.height >= small.width * small.height
