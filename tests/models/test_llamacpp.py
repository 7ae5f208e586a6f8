"""The llama.cpp backend on tiny checkpoints of every family, exported in the test session by vlkit's own
export step (llama.cpp's converter, llama-cpp-python's quantiser): the same prompt, counts and contract as
the transformers backend, logits that agree with it, and the prefix and vision caches."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from PIL import Image, ImageDraw
from pydantic import BaseModel

from tests.models.conftest import tiny
from vlkit.errors import (
    ContextOverflowError,
    InvalidArgumentError,
    MaxTokensTooSmallError,
    ModelNotFoundError,
    UnsupportedContentError,
    UnsupportedModelError,
)
from vlkit.models import ChatQwenVL

llama_cpp = pytest.importorskip("llama_cpp", reason="the llamacpp extra (llama-cpp-python) is not installed")

from vlkit.models.backends.llamacpp import LlamaCppBackend  # noqa: E402
from vlkit.models.backends.transformers import TransformersBackend  # noqa: E402
from vlkit.testing import tiny_export  # noqa: E402

FAMILIES = ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"]


def picture(kind: str, size: tuple[int, int] = (300, 200), mark: int = 0) -> dict:
    """A PNG image block: a red box, a blue disc, a green bar — different pixels, the same size; ``mark``
    changes one pixel's colour (an image no other test has shown the session's caches)."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    image.putpixel((size[0] - 1, size[1] - 1), (mark % 256, mark // 256 % 256, 255))
    {"box": lambda: draw.rectangle((20, 30, 120, 150), fill="red"),
     "disc": lambda: draw.ellipse((50, 30, 220, 150), fill="blue"),
     "bar": lambda: draw.rectangle((10, 80, 290, 110), fill="green")}[kind]()  # fmt: skip
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    import base64

    return {"type": "image", "base64": base64.b64encode(buffer.getvalue()).decode(), "mime_type": "image/png"}


def chat(family: str, **kwargs) -> ChatQwenVL:
    return ChatQwenVL(**{"model": str(tiny_export(family)), "threads": 2, "max_tokens": 8, **kwargs})


def uncached(family: str, **kwargs) -> ChatQwenVL:
    return chat(family, prefix_cache_mb=0, vision_cache_mb=0, **kwargs)


@pytest.fixture(params=FAMILIES)
def family(request: pytest.FixtureRequest) -> str:
    return request.param


def first_logits(llm: ChatQwenVL, messages: list) -> np.ndarray:
    backend = llm.backend_impl
    assert isinstance(backend, LlamaCppBackend)
    return backend.next_token_logits(llm.generation_request(messages))


def transformers_logits(family: str, messages: list) -> np.ndarray:
    import torch

    llm = ChatQwenVL(model=tiny(family), dtype="float32", prefix_cache_mb=0, vision_cache_mb=0)
    backend = llm.backend_impl
    assert isinstance(backend, TransformersBackend)
    inputs = backend.prepare(llm.generation_request(messages))
    kwargs = dict(input_ids=inputs.input_ids, attention_mask=inputs.attention_mask)
    if inputs.pixel_values is not None:
        kwargs.update(pixel_values=inputs.pixel_values, image_grid_thw=inputs.image_grid_thw)
    if inputs.mm_token_type_ids is not None:
        kwargs["mm_token_type_ids"] = inputs.mm_token_type_ids
    with torch.inference_mode():
        out = backend.checkpoint.model(**kwargs)
    return out.logits[0, -1].float().numpy()


# ------------------------------------------------------------------ export and the folder


def test_an_exported_folder_runs_on_llamacpp_without_being_told(family: str) -> None:
    folder = tiny_export(family)
    manifest = json.loads((folder / "vlkit-export.json").read_text())
    assert manifest["format"] == "gguf" and manifest["family"] == family
    assert (folder / manifest["model_file"]).is_file() and (folder / manifest["mmproj_file"]).is_file()
    llm = ChatQwenVL(model=str(folder))
    assert llm.backend == "llamacpp"
    assert llm.family_spec().model_type == family
    assert ChatQwenVL(model=tiny(family)).backend == "transformers"


def test_export_refuses_bad_arguments(tmp_path: Path) -> None:
    from vlkit.models.export import export_model

    with pytest.raises(InvalidArgumentError, match="Q4_K_M"):
        export_model(tiny("qwen2_vl"), tmp_path / "a", quant="Q3_X")
    with pytest.raises(InvalidArgumentError, match="openvino|gguf"):
        export_model(tiny("qwen2_vl"), tmp_path / "b", to="onnx")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("mine")
    with pytest.raises(InvalidArgumentError, match="overwrite"):
        export_model(tiny("qwen2_vl"), tmp_path / "c")
    assert (tmp_path / "c" / "keep.txt").read_text() == "mine"
    with pytest.raises(ModelNotFoundError):
        export_model(tmp_path / "nowhere", tmp_path / "d")


def test_export_refuses_a_family_it_cannot_convert(tmp_path: Path) -> None:
    from vlkit.models.export import export_model

    fake = tmp_path / "llava"
    fake.mkdir()
    (fake / "config.json").write_text(json.dumps({"model_type": "llava"}))
    with pytest.raises(UnsupportedModelError):
        export_model(fake, tmp_path / "out")


def test_a_damaged_export_is_a_clear_error(tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_export("qwen2_vl"), broken)
    manifest = json.loads((broken / "vlkit-export.json").read_text())
    (broken / manifest["mmproj_file"]).unlink()
    with pytest.raises(ModelNotFoundError, match="export the model again"):
        ChatQwenVL(model=str(broken), max_tokens=2).invoke("hi")


@pytest.mark.slow
def test_q4_k_m_export_quantises_and_runs(tmp_path: Path) -> None:
    from vlkit.models.export import export_model

    stages: list[str] = []
    manifest = export_model(tiny("qwen3_vl"), tmp_path / "q4", quant="Q4_K_M", mmproj_quant="Q8_0",
                            progress=lambda stage, done, total: stages.append(stage))  # fmt: skip
    assert manifest.quant == "Q4_K_M" and manifest.mmproj_quant == "Q8_0"
    f16 = tiny_export("qwen3_vl")
    assert (tmp_path / "q4" / manifest.model_file).stat().st_size < (f16 / "model-F16.gguf").stat().st_size
    assert any("quantising" in stage for stage in stages) and any("vision" in stage for stage in stages)
    answer = ChatQwenVL(model=str(tmp_path / "q4"), max_tokens=4).invoke([HumanMessage(content=[picture("box"), "Hi"])])
    assert answer.usage_metadata["output_tokens"] == 4


# ------------------------------------------------------------------ the same prompt as transformers


def test_prompt_and_image_tokens_are_counted_as_transformers_counts_them(family: str) -> None:
    messages = [SystemMessage("Be brief."), HumanMessage(content=[picture("box"), "What is this?", picture("bar", (200, 120))])]
    llm = chat(family)
    reference = TransformersBackend(tiny(family)).count_tokens(llm.generation_request(messages))
    assert llm.backend_impl.count_tokens(llm.generation_request(messages)) == reference
    answer = llm.invoke(messages)
    assert answer.usage_metadata["input_tokens"] == reference.prompt_tokens
    assert answer.usage_metadata["input_token_details"]["image"] == reference.image_tokens
    assert answer.response_metadata["finish_reason"] == "length"
    assert answer.usage_metadata["output_tokens"] == 8


def test_first_token_logits_agree_with_transformers(family: str) -> None:
    """F16 weights and an F32 vision encoder against transformers in float32: the same argmax and logits
    within f16 rounding — positions (M-RoPE), the image's embedding and its placement all agree."""
    messages = [HumanMessage(content=[picture("disc"), "Describe the picture."])]
    ours = first_logits(uncached(family), messages)
    reference = transformers_logits(family, messages)
    assert ours.shape[0] >= reference.shape[0]
    ours = ours[: reference.shape[0]]
    assert int(np.argmax(ours)) == int(np.argmax(reference))
    scale = float(np.abs(reference).max())
    assert float(np.abs(ours - reference).max()) < 0.02 * scale
    # and a wrong image would not pass: the logits depend on the picture
    other = first_logits(uncached(family), [HumanMessage(content=[picture("box"), "Describe the picture."])])[: reference.shape[0]]
    assert float(np.abs(other - reference).max()) > float(np.abs(ours - reference).max())


# ------------------------------------------------------------------ the chat-model contract


def test_streaming_stop_and_seeded_sampling() -> None:
    llm = chat("qwen2_vl", max_tokens=12)
    chunks = list(llm.stream([HumanMessage(content=[picture("box"), "Hi"])]))
    text = "".join(c.content for c in chunks if isinstance(c.content, str))
    assert len([c for c in chunks if c.content]) > 1
    assert chunks[-1].usage_metadata["output_tokens"] == 12
    cut = text[2:5]
    stopped = llm.invoke([HumanMessage(content=[picture("box"), "Hi"])], stop=[cut])
    assert stopped.content == text[: text.index(cut)]
    assert stopped.response_metadata["finish_reason"] == "stop"
    sampled = [llm.invoke("Tell me a story", temperature=1.0, seed=s).content for s in (1, 1, 2)]
    assert sampled[0] == sampled[1]
    assert sampled[0] != sampled[2]


def test_forced_tool_call_and_structured_output_are_decoded_under_a_grammar(family: str) -> None:
    def get_weather(city: str, days: int) -> str:
        """Weather forecast for a city."""
        return ""

    llm = chat(family, max_tokens=64)
    call = llm.bind_tools([get_weather], tool_choice="any").invoke([HumanMessage(content=[picture("bar"), "Weather?"])])
    assert call.tool_calls and call.tool_calls[0]["name"] == "get_weather"
    assert set(call.tool_calls[0]["args"]) == {"city", "days"} and isinstance(call.tool_calls[0]["args"]["days"], int)

    class Reading(BaseModel):
        label: str
        value: float

    reading = llm.with_structured_output(Reading).invoke("Read the gauge.")
    assert isinstance(reading, Reading)
    with pytest.raises(MaxTokensTooSmallError):
        llm.with_structured_output(Reading).invoke("Read the gauge.", max_tokens=3)


def test_limits_and_refusals(tmp_path: Path) -> None:
    from vlkit.testing.clips import make_clip

    clip = make_clip(tmp_path / "clip.mp4", seconds=1.0, fps=4.0)
    llm = ChatQwenVL(model=str(tiny_export("qwen2_vl")), max_tokens=2, prefix_cache_mb=0)
    with pytest.raises(UnsupportedContentError, match="transformers"):
        llm.invoke([HumanMessage(content=[{"type": "video", "path": str(clip)}, "What happens?"])])
    small = LlamaCppBackend(str(tiny_export("qwen2_vl")), n_ctx=64)
    with pytest.raises(ContextOverflowError, match="context"):
        ChatQwenVL(model=str(tiny_export("qwen2_vl")), backend=small, family="qwen2_vl").invoke(
            [HumanMessage(content=[picture("box"), "What is this?"])]
        )
    assert small.context_length == 64


# ------------------------------------------------------------------ caches


def _conversation(first: dict, second: dict | None) -> tuple[list, list]:
    turn1 = [SystemMessage("You describe pictures."), HumanMessage(content=[first, "What is this?"])]
    reply = AIMessage("A picture of shapes.")
    follow = HumanMessage(content=[second, "And this one?"] if second else ["Say more about it."])
    return turn1, [*turn1, reply, follow]


@pytest.mark.parametrize("image_after_cut", [False, True], ids=["image-before-cut", "image-after-cut"])
def test_a_cached_prefix_gives_the_same_logits_and_answer(family: str, image_after_cut: bool) -> None:
    turn1, turn2 = _conversation(picture("box"), picture("disc") if image_after_cut else None)
    cold = uncached(family)
    warm = chat(family)
    warm.invoke(turn1)  # fills the context and the caches
    answer = warm.invoke(turn2)
    assert answer.usage_metadata["input_token_details"]["cache_read"] > 20
    assert answer.content == cold.invoke(turn2).content
    assert "cache_read" not in cold.invoke(turn2).usage_metadata.get("input_token_details", {})
    np.testing.assert_allclose(first_logits(warm, turn2), first_logits(cold, turn2), rtol=0, atol=1e-3)


def test_a_repeated_image_is_not_encoded_again_and_a_different_one_of_the_same_size_is(family: str) -> None:
    llm = chat(family)
    box, disc = picture("box", mark=101), picture("disc", mark=101)
    llm.invoke([SystemMessage("First conversation."), HumanMessage(content=[box, "What is this?"])])
    again = llm.invoke([SystemMessage("Another conversation entirely."), HumanMessage(content=[box, "What is this?"])])
    assert again.response_metadata["vision_cache_hits"] == 1
    other = [SystemMessage("A third conversation."), HumanMessage(content=[disc, "What is this?"])]
    fresh = llm.invoke(other)
    assert fresh.response_metadata["vision_cache_hits"] == 0  # same size, different pixels: its own entry
    np.testing.assert_allclose(first_logits(llm, other), first_logits(uncached(family), other), rtol=0, atol=1e-3)


def test_the_prefix_store_brings_back_an_earlier_conversation() -> None:
    llm = chat("qwen2_5_vl")
    store = llm.backend_impl.checkpoint.prefix
    llm.backend_impl.clear_caches()
    a, _ = _conversation(picture("box"), None)
    b = [SystemMessage("Something else first, long enough to matter here."), HumanMessage(content=[picture("bar"), "Hi"])]
    llm.invoke(a)
    llm.invoke([*a, AIMessage("ok"), HumanMessage("Go on.")])
    assert store.stats.entries == 0  # a conversation that goes on copies no state
    llm.invoke(b)  # the context now holds b; a's state was saved before b replaced it
    assert store.stats.entries == 1
    back = llm.invoke([*a, AIMessage("ok"), HumanMessage("More?")])
    assert back.usage_metadata["input_token_details"]["cache_read"] >= 20
    llm.invoke(b)  # a's new branch ("More?") saved in turn; the "Go on." branch stays: neither extends the other
    assert store.stats.entries == 3
    llm.invoke([*b, AIMessage("ok"), HumanMessage("And?")])  # b goes on from the saved state: nothing copied
    assert store.stats.entries == 3


def test_caches_are_bounded_by_bytes_and_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from vlkit.models.backends._cache import CacheConfig

    monkeypatch.setenv("VLKIT_PROMPT_CACHE", "0")
    assert CacheConfig.from_env() == CacheConfig(prefix_bytes=0, vision_bytes=0)
    monkeypatch.delenv("VLKIT_PROMPT_CACHE")
    off = uncached("qwen3_vl")
    turn1, turn2 = _conversation(picture("box"), None)
    off.invoke(turn1)
    repeat = off.invoke(turn2)
    assert "cache_read" not in repeat.usage_metadata.get("input_token_details", {})
    assert repeat.response_metadata["vision_cache_hits"] == 0
    warm = chat("qwen3_vl")
    warm.invoke(turn1)
    assert warm.invoke(turn1).usage_metadata["input_token_details"]["cache_read"] > 0
    lm = warm.backend_impl.checkpoint
    for entry in (lm.vision, lm.prefix):
        assert 0 < entry.stats.bytes <= entry.max_bytes
    warm.backend_impl.clear_caches()
    cold = warm.invoke(turn1)
    assert "cache_read" not in cold.usage_metadata.get("input_token_details", {})
    assert cold.response_metadata["vision_cache_hits"] == 0


def test_the_converter_comes_from_the_installed_llama_cpp_or_a_given_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vlkit.models.export import llama_cpp_source

    found = llama_cpp_source()  # fetched once from llama-cpp-python's sdist (the session's exports did it)
    assert (found / "convert_hf_to_gguf.py").is_file() and (found / "gguf-py").is_dir()
    assert found.name == f"llama.cpp-{llama_cpp.__version__}"
    monkeypatch.setenv("VLKIT_LLAMA_CPP_DIR", str(found))
    assert llama_cpp_source() == found
    monkeypatch.setenv("VLKIT_LLAMA_CPP_DIR", str(tmp_path))
    with pytest.raises(InvalidArgumentError, match="convert_hf_to_gguf.py"):
        llama_cpp_source()
