"""ChatQwenVL with video: tiny random checkpoints of each family, real clips (PyAV), real generation.

The counts are checked against what the model actually read (the usage of the run) and against the frames
vlkit's video path picked; M-RoPE's temporal positions are read back from the model's own ``get_rope_index``.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from tests.models.conftest import tiny
from vlkit.errors import MissingExtraError, UnsupportedContentError, UnsupportedVideoFormatError, VideoUnreadableError
from vlkit.models import ChatQwenVL
from vlkit.models.backends.base import Backend, Delta, Usage
from vlkit.testing.clips import make_clip, read_counter
from vlkit.vision.video import decode_video, temporal_positions, video_from_block

pytest.importorskip("av")

PROMPT = "What happens in the video?"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s at 10 fps, 160x120: six frames at the default 2 fps."""
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=3, fps=10, size=(160, 120))


def _llm(family: str, **kwargs) -> ChatQwenVL:
    return ChatQwenVL(model=tiny(family), **{"max_tokens": 6, **kwargs})


def _ask(*blocks: dict) -> list[HumanMessage]:
    return [HumanMessage(content=[*blocks, {"type": "text", "text": PROMPT}])]


def test_invoke_and_stream_agree_and_usage_equals_the_count(family: str, clip: Path) -> None:
    llm = _llm(family)
    messages = _ask({"type": "video", "path": str(clip)})
    count = llm.backend_impl.count_tokens(llm.generation_request(messages))
    (video,) = count.videos
    assert video.frames == 6 and video.size == (160, 120) and not video.sparser
    assert video.tokens == count.video_tokens > 0 and count.image_tokens == 0

    result = llm.invoke(messages)
    chunks = list(llm.stream(messages))
    streamed = "".join(c.content for c in chunks)
    assert result.content and streamed == result.content  # greedy: the same answer both ways
    usage = result.usage_metadata
    assert usage["input_tokens"] == count.prompt_tokens  # what the model read is what was counted before
    assert usage["input_token_details"] == {"image": 0, "video": count.video_tokens}
    assert chunks[-1].usage_metadata == usage
    sampling = result.response_metadata["videos"][0]
    assert result.response_metadata["video_tokens"] == count.video_tokens == sampling["tokens"]
    assert sampling["frames"] == 6 and sampling["timestamps"] == pytest.approx([0.0, 0.6, 1.2, 1.7, 2.3, 2.9], abs=0.01)


def test_the_model_sees_the_planned_frames_and_their_times(clip: Path) -> None:
    """Qwen2.5-VL: the frames decoded are the planned source frames, and the model's own M-RoPE puts each
    temporal patch at ``second_per_grid_t × tokens_per_second`` (it reads second_per_grid_ts and the video
    token type vlkit passes)."""
    import torch

    llm = _llm("qwen2_5_vl")
    backend = llm.backend_impl
    request = llm.generation_request(_ask({"type": "video", "path": str(clip)}))
    inputs = backend.prepare(request)
    lm = backend.checkpoint
    decoded = decode_video(video_from_block({"type": "video", "path": str(clip)}), lm.family, backend._video_budget(request))
    assert [read_counter(frame) for frame in decoded.frames] == [0, 6, 12, 17, 23, 29]
    assert inputs.videos.video_grid_thw.tolist() == [list(decoded.grid_thw)]
    assert inputs.videos.pixel_values_videos.dtype == lm.model.dtype

    with torch.no_grad():
        positions, _ = lm.model.model.get_rope_index(
            inputs.input_ids, inputs.mm_token_type_ids, video_grid_thw=inputs.videos.video_grid_thw,
            second_per_grid_ts=inputs.videos.second_per_grid_ts, attention_mask=inputs.attention_mask,
        )  # fmt: skip
    video = inputs.mm_token_type_ids[0] == 2
    assert int(video.sum()) == inputs.video_tokens == decoded.tokens
    times = positions[0, 0, video].tolist()  # the temporal axis of each video token
    starts = sorted(set(times))
    tokens_per_second = lm.model.config.vision_config.tokens_per_second
    expected = temporal_positions(decoded, tokens_per_second=tokens_per_second)
    assert [t - starts[0] for t in starts] == expected.tolist()


def test_where_torchvision_imports_the_official_processor_gives_the_same_inputs(family: str, clip: Path) -> None:
    pytest.importorskip("torchvision")
    import torch

    llm = _llm(family)
    backend = llm.backend_impl
    request = llm.generation_request(_ask({"type": "video", "path": str(clip)}))
    official = backend.prepare(request)
    lm = backend.checkpoint
    assert type(lm.video_processor).__name__.endswith("VideoProcessor")  # the checkpoint's own, loaded
    processor, lm.video_processor = lm.video_processor, False  # vlkit's numpy path
    try:
        ours = backend.prepare(request)
    finally:
        lm.video_processor = processor
    assert torch.equal(official.videos.pixel_values_videos, ours.videos.pixel_values_videos)
    assert official.videos.video_grid_thw.tolist() == ours.videos.video_grid_thw.tolist()


def test_qwen3_prompt_carries_each_patch_time(clip: Path) -> None:
    llm = _llm("qwen3_vl")
    inputs = llm.backend_impl.prepare(llm.generation_request(_ask({"type": "video", "path": str(clip)})))
    assert "<0.3 seconds><|vision_start|><|video_pad|>" in inputs.prompt
    assert inputs.prompt.count("seconds><|vision_start|>") == 3  # one per temporal patch of two frames


def test_a_video_and_an_image_in_one_message(family: str, clip: Path, chart_png: Path) -> None:
    llm = _llm(family)
    messages = _ask({"type": "image", "path": str(chart_png)}, {"type": "video_url", "video_url": {"url": str(clip)}})
    count = llm.backend_impl.count_tokens(llm.generation_request(messages))
    assert count.image_tokens > 0 and count.video_tokens > 0
    result = llm.invoke(messages)
    assert result.content
    assert result.usage_metadata["input_tokens"] == count.prompt_tokens
    assert result.usage_metadata["input_token_details"] == {"image": count.image_tokens, "video": count.video_tokens}
    inputs = llm.backend_impl.prepare(llm.generation_request(messages))
    assert set(inputs.mm_token_type_ids.unique().tolist()) == {0, 1, 2}


def test_every_video_form_gives_the_same_answer(clip: Path) -> None:
    data = base64.b64encode(clip.read_bytes()).decode()
    forms = {
        "path": {"type": "video", "path": str(clip)},
        "file-uri": {"type": "video", "url": clip.as_uri()},
        "qwen": {"type": "video", "video": str(clip)},
        "base64": {"type": "video", "base64": data, "mime_type": "video/mp4"},
        "video_url-data": {"type": "video_url", "video_url": {"url": f"data:video/mp4;base64,{data}"}},
    }
    llm = _llm("qwen2_vl")
    answers = {name: llm.invoke(_ask(block)) for name, block in forms.items()}
    assert len({(a.content, a.usage_metadata["input_tokens"]) for a in answers.values()}) == 1, answers


def test_block_options_change_the_sampling(clip: Path) -> None:
    llm = _llm("qwen2_vl")
    full = llm.backend_impl.count_tokens(llm.generation_request(_ask({"type": "video", "path": str(clip)})))
    fewer = llm.backend_impl.count_tokens(
        llm.generation_request(_ask({"type": "video", "path": str(clip), "fps": 1, "end": 2}))
    )
    assert fewer.videos[0].frames == 4 < full.videos[0].frames
    result = llm.invoke(_ask({"type": "video", "path": str(clip), "max_frames": 2}))
    assert result.response_metadata["videos"][0]["frames"] == 2


def test_a_list_of_frames_is_a_video(family: str, chart_png: Path) -> None:
    from PIL import Image

    frames = [Image.open(chart_png).rotate(angle) for angle in (0, 10, 20, 30)]
    llm = _llm(family)
    result = llm.invoke(_ask({"type": "video", "video": frames}))
    assert result.content and result.response_metadata["videos"][0]["frames"] == 4
    assert result.response_metadata["video_tokens"] == result.usage_metadata["input_token_details"]["video"] > 0


# --------------------------------------------------------------------------- bad input, typed errors


def test_bad_files_are_typed_errors(tmp_path: Path, clip: Path) -> None:
    llm = _llm("qwen2_vl")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 50)
    with pytest.raises(VideoUnreadableError, match="not a readable video"):
        llm.invoke(_ask({"type": "video", "path": str(text)}))
    with pytest.raises(VideoUnreadableError, match="file not found"):
        llm.invoke(_ask({"type": "video", "path": str(tmp_path / "missing.mp4")}))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoUnreadableError, match="empty"):
        llm.invoke(_ask({"type": "video", "path": str(empty)}))
    png = tmp_path / "still.png"
    from PIL import Image

    Image.new("RGB", (64, 48), "red").save(png)
    with pytest.raises(UnsupportedVideoFormatError, match="not a video container"):
        llm.invoke(_ask({"type": "video", "path": str(png)}))
    with pytest.raises(UnsupportedVideoFormatError, match="scheme"):
        llm.invoke(_ask({"type": "video_url", "video_url": {"url": "ftp://example.com/a.mp4"}}))


def test_a_truncated_file_fails_when_decoded_not_silently(tmp_path: Path) -> None:
    whole = make_clip(tmp_path / "long.mp4", seconds=6, fps=10, size=(160, 120))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # index first (faststart): header intact
    llm = _llm("qwen2_vl")
    with pytest.raises(VideoUnreadableError, match="truncated|corrupt"):
        llm.invoke(_ask({"type": "video", "path": str(cut)}))


def test_missing_pyav_names_the_video_extra(monkeypatch: pytest.MonkeyPatch, clip: Path) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # import av fails as if PyAV were not installed
    with pytest.raises(MissingExtraError, match=r"vlkit\[video\]"):
        _llm("qwen2_vl").invoke(_ask({"type": "video", "path": str(clip)}))


def test_a_backend_without_video_says_which_backends_take_it(clip: Path) -> None:
    class TextOnly(Backend):
        def stream(self, request):
            yield Delta(usage=Usage(input_tokens=1, output_tokens=0), finish_reason="stop")

    llm = ChatQwenVL(backend=TextOnly())
    with pytest.raises(UnsupportedContentError, match="transformers and openai") as caught:
        llm.invoke(_ask({"type": "video", "path": str(clip)}))
    assert "--backend transformers" in caught.value.on("cli")
    assert llm.invoke("no video here").content == ""  # text alone still goes through


# --------------------------------------------------------------------------- the openai backend


def test_openai_backend_sends_video_url(clip: Path) -> None:
    from tests.models.openai_server import FakeOpenAIServer, text_stream

    with FakeOpenAIServer() as server:
        server.queue(text_stream(["A ", "circle."], usage=(900, 2)), text_stream(["ok"], usage=(10, 1)))
        llm = ChatQwenVL(backend="openai", base_url=server.base_url, model="qwen", max_retries=0, timeout=5)
        answer = llm.invoke(_ask({"type": "video", "path": str(clip), "fps": 1, "max_frames": 8}))
        assert answer.content == "A circle."
        part = server.requests[0].body["messages"][0]["content"][0]
        assert part["type"] == "video_url" and part["fps"] == 1 and part["max_frames"] == 8
        header, payload = part["video_url"]["url"].split(",", 1)
        assert header == "data:video/mp4;base64" and base64.b64decode(payload) == clip.read_bytes()

        remote = "https://videos.example.com/clip.mp4"
        llm.invoke(_ask({"type": "video_url", "video_url": {"url": remote}}))
        part = server.requests[1].body["messages"][0]["content"][0]
        assert part == {"type": "video_url", "video_url": {"url": remote}}  # the server fetches it, not vlkit


def test_openai_backend_refuses_a_list_of_frames(chart_png: Path) -> None:
    from PIL import Image

    llm = ChatQwenVL(backend="openai", base_url="http://127.0.0.1:9/v1", model="qwen", max_retries=0, timeout=1)
    with pytest.raises(UnsupportedContentError, match="frames as images"):
        llm.invoke(_ask({"type": "video", "video": [Image.open(chart_png)] * 2}))
