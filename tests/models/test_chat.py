"""ChatQwenVL on tiny random checkpoints of each family: real transformers generation, no mocks."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from PIL import Image

from tests.models.conftest import tiny
from vlkit.errors import (
    ImageTooLargeError,
    ModelNotFoundError,
    OfflineModelError,
    ServerUnreachableError,
    UnsupportedModelError,
)
from vlkit.models import ChatQwenVL
from vlkit.vision import FAMILIES

PROMPT = "Describe the chart."


def _llm(family: str, **kwargs) -> ChatQwenVL:
    return ChatQwenVL(model=tiny(family), **{"max_tokens": 10, **kwargs})


def _forms(png: Path, server: str) -> dict[str, dict]:
    data = base64.b64encode(png.read_bytes()).decode()
    return {
        "v1-base64": {"type": "image", "base64": data, "mime_type": "image/png"},
        "v1-url": {"type": "image", "url": f"{server}/{png.name}"},
        "openai-data-url": {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
        "openai-http-url": {"type": "image_url", "image_url": {"url": f"{server}/{png.name}"}},
        "path": {"type": "image", "path": str(png)},
        "file-uri": {"type": "image", "url": png.as_uri()},
        "pil": {"type": "image", "image": Image.open(png)},
    }


def _expected_counts(family: str, messages_text: str, image: Image.Image, max_pixels: int) -> tuple[int, int]:
    """Input and image token counts computed with the checkpoint's own image processor and tokenizer."""
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    folder = tiny(family)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    processor = Qwen2VLImageProcessorPil.from_pretrained(folder)
    spec = FAMILIES[family]
    grid = processor(
        images=[image], size={"shortest_edge": spec.min_pixels, "longest_edge": max_pixels}, return_tensors="pt"
    )["image_grid_thw"][0]
    image_tokens = int(grid.prod()) // spec.merge_size**2
    conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": messages_text}]}]
    prompt = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    prompt = prompt.replace("<|image_pad|>", "<|image_pad|>" * image_tokens)
    return len(tokenizer(prompt, add_special_tokens=False)["input_ids"]), image_tokens


def test_every_input_form_gives_the_same_answer(chart_png: Path, image_server: str) -> None:
    llm = _llm("qwen2_vl", allow_private_image_urls=True)  # the image server is on loopback
    answers = {}
    for name, block in _forms(chart_png, image_server).items():
        result = llm.invoke([HumanMessage(content=[block, {"type": "text", "text": PROMPT}])])
        answers[name] = (result.content, result.usage_metadata["input_tokens"], result.response_metadata["image_tokens"])
    assert len(set(answers.values())) == 1, answers  # same pixels, same prompt, greedy → same answer
    content, _, image_tokens = answers["path"]
    assert content and image_tokens == 256  # 448x448 at factor 28


@pytest.mark.parametrize("max_pixels", [None, 224 * 224])
def test_usage_equals_processor_token_counts(family: str, chart_png: Path, max_pixels: int | None) -> None:
    llm = _llm(family, max_pixels=max_pixels)
    result = llm.invoke([HumanMessage(content=[{"type": "image", "path": str(chart_png)}, PROMPT])])
    budget = max_pixels or FAMILIES[family].cpu_max_pixels
    input_tokens, image_tokens = _expected_counts(family, PROMPT, Image.open(chart_png).convert("RGB"), budget)
    assert result.response_metadata["image_tokens"] == image_tokens
    assert result.usage_metadata["input_tokens"] == input_tokens
    assert result.usage_metadata["output_tokens"] == 10
    assert result.usage_metadata["total_tokens"] == input_tokens + 10
    assert result.response_metadata["finish_reason"] == "length"


def test_per_image_budget_overrides_model_budget(chart_png: Path) -> None:
    llm = _llm("qwen2_vl", max_tokens=2)
    small = {"type": "image", "path": str(chart_png), "max_pixels": 112 * 112}
    big = {"type": "image", "path": str(chart_png)}
    result = llm.invoke([HumanMessage(content=[small, big, "compare"])])
    assert result.response_metadata["image_tokens"] == 16 + 256


def test_stream_is_token_by_token_and_matches_invoke(family: str, chart_png: Path) -> None:
    llm = _llm(family, max_tokens=12)
    messages = [HumanMessage(content=[{"type": "image", "path": str(chart_png)}, PROMPT])]
    chunks = list(llm.stream(messages))
    text_chunks = [c for c in chunks if c.content]
    assert len(text_chunks) >= 3
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert chunks[-1].chunk_position == "last" and chunks[-1].usage_metadata["output_tokens"] == 12
    assert "".join(c.content for c in chunks) == llm.invoke(messages).content


def test_multi_turn_with_images_in_earlier_turns(family: str, chart_png: Path) -> None:
    llm = _llm(family, max_tokens=4)
    history = [
        SystemMessage(content="You are terse."),
        HumanMessage(content=[{"type": "image", "path": str(chart_png)}, "What is this?"]),
        AIMessage(content="A bar chart."),
        HumanMessage(content=[{"type": "image", "path": str(chart_png), "max_pixels": 112 * 112}, "And this one?"]),
    ]
    result = llm.invoke(history)
    per_image = {"qwen2_vl": 256, "qwen2_5_vl": 256, "qwen3_vl": 196}[family]
    small = {"qwen2_vl": 16, "qwen2_5_vl": 16, "qwen3_vl": 9}[family]
    assert result.response_metadata["image_tokens"] == per_image + small
    assert result.content


def test_stop_sequence_cuts_the_answer(chart_png: Path) -> None:
    llm = _llm("qwen2_vl", max_tokens=16)
    messages = [HumanMessage(content=PROMPT)]
    full = llm.invoke(messages).content
    stop = full[len(full) // 2 : len(full) // 2 + 2]
    assert stop.strip(), full
    cut = llm.invoke(messages, stop=[stop])
    assert cut.content == full[: full.find(stop)]
    assert cut.response_metadata["finish_reason"] == "stop"
    streamed = "".join(c.content for c in llm.stream(messages, stop=[stop]))
    assert streamed == cut.content
    assert ChatQwenVL(model=tiny("qwen2_vl"), max_tokens=16, stop=[stop]).invoke(messages).content == cut.content


def test_sampling_is_seeded() -> None:
    llm = _llm("qwen3_vl", max_tokens=12, temperature=1.5, top_p=0.99)
    runs = [llm.invoke("Tell me a story", seed=seed).content for seed in (1, 1, 2)]
    assert runs[0] == runs[1]
    greedy = _llm("qwen3_vl", max_tokens=12).invoke("Tell me a story").content
    assert {runs[0], runs[2]} != {greedy}


def test_batch_async_and_threads_agree(chart_png: Path) -> None:
    llm = _llm("qwen2_5_vl", max_tokens=6)
    prompts = [[HumanMessage(content=[{"type": "image", "path": str(chart_png)}, f"Question {i}"])] for i in range(3)]
    sequential = [llm.invoke(p).content for p in prompts]
    assert [m.content for m in llm.batch(prompts)] == sequential

    async def run_async() -> tuple[list[str], str]:
        answers = await asyncio.gather(*(llm.ainvoke(p) for p in prompts))
        streamed = "".join([c.content async for c in llm.astream(prompts[0])])
        return [a.content for a in answers], streamed

    async_answers, streamed = asyncio.run(run_async())
    assert async_answers == sequential and streamed == sequential[0]

    results: dict[int, str] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, llm.invoke(prompts[i]).content)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(3)] == sequential


def test_model_is_loaded_once_and_shared() -> None:
    a, b = _llm("qwen2_vl"), _llm("qwen2_vl", max_tokens=3)
    a.invoke("hi")
    b.invoke("hi")
    assert a.backend_impl.checkpoint is b.backend_impl.checkpoint


def test_dtype_choice() -> None:
    import torch

    from vlkit.models.backends.loading import cpu_supports_bf16, pick_dtype

    assert pick_dtype("cpu", None) == (torch.bfloat16 if cpu_supports_bf16() else torch.float32)
    assert pick_dtype("cuda", "float32") == torch.float32
    llm = _llm("qwen2_vl", dtype="float32")
    llm.invoke("hi")
    assert llm.backend_impl.checkpoint.model.dtype == torch.float32


# ---------------------------------------------------------------------------- errors a user can act on


def test_missing_folder() -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        ChatQwenVL(model="./no/such/folder").invoke("hi")


def test_folder_without_config(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="config.json"):
        ChatQwenVL(model=str(tmp_path)).invoke("hi")


def test_uncached_hub_id_offline_says_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(OfflineModelError, match="--model"):
        ChatQwenVL(model="Qwen/Qwen2-VL-2B-Instruct").invoke("hi")


def test_unsupported_model_type(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llava"}))
    with pytest.raises(UnsupportedModelError, match="qwen2_vl"):
        ChatQwenVL(model=str(tmp_path)).invoke("hi")


def test_image_too_large_is_refused_before_the_model_runs(chart_png: Path) -> None:
    llm = ChatQwenVL(model=tiny("qwen2_vl"), max_image_pixels=1000)
    with pytest.raises(ImageTooLargeError, match="448x448"):
        llm.invoke([HumanMessage(content=[{"type": "image", "path": str(chart_png)}, "hi"])])


def test_unreachable_server() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    llm = ChatQwenVL(backend="openai", base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=0, timeout=2)
    with pytest.raises(ServerUnreachableError, match="base-url"):
        llm.invoke("hi")


def test_typo_in_call_option_is_an_error() -> None:
    with pytest.raises(TypeError, match="max_token"):
        _llm("qwen2_vl").invoke("hi", max_token=3)
    with pytest.raises(Exception, match="extra"):
        ChatQwenVL(model="x", max_token=3)


def test_openai_backend_through_chat_model(chart_png: Path) -> None:
    from tests.models.openai_server import FakeOpenAIServer, error_reply, text_stream
    from vlkit.errors import ServerResponseError

    with FakeOpenAIServer() as server:
        server.queue(text_stream(["Four ", "bars."], usage=(321, 2)))
        llm = ChatQwenVL(backend="openai", base_url=server.base_url, model="qwen2-vl", max_retries=0, timeout=5)
        chunks = list(llm.stream([HumanMessage(content=[{"type": "image", "path": str(chart_png)}, PROMPT])]))
        assert "".join(c.content for c in chunks) == "Four bars."
        assert chunks[-1].usage_metadata == {"input_tokens": 321, "output_tokens": 2, "total_tokens": 323}
        body = server.requests[0].body
        assert body["model"] == "qwen2-vl" and body["stream"] is True and body["max_tokens"] == 512
        image_part = body["messages"][0]["content"][0]
        assert base64.b64decode(image_part["image_url"]["url"].split(",", 1)[1]) == chart_png.read_bytes()

        server.queue(error_reply(400, "image too large for this deployment"))
        with pytest.raises(ServerResponseError, match="image too large"):
            llm.invoke("hi")


def test_image_tokens_get_multimodal_rope_positions(family: str, chart_png: Path) -> None:
    """M-RoPE gives an HxW image grid max(H, W) positions, not H*W: rope_deltas shows it was computed."""
    llm = _llm(family, max_tokens=2)
    result = llm.invoke([HumanMessage(content=[{"type": "image", "path": str(chart_png)}, "hi"])])
    tokens = result.response_metadata["image_tokens"]
    side = int(tokens**0.5)
    assert int(llm.backend_impl.checkpoint.model.model.rope_deltas) == -(tokens - side)


def test_qwen_vl_utils_is_used_where_it_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control flow only: a stand-in qwen_vl_utils module records the call (the real one needs torchvision)."""
    import sys
    import types

    from vlkit.models.backends.transformers import resize_for

    calls = []

    def fetch_image(element: dict, image_patch_size: int = 14) -> Image.Image:
        calls.append((element["max_pixels"], image_patch_size))
        return element["image"].resize((56, 56))

    image = Image.new("RGB", (300, 200))
    assert resize_for(FAMILIES["qwen3_vl"], image, 4096, 65536).size == (288, 192)  # own smart_resize
    monkeypatch.setitem(sys.modules, "qwen_vl_utils", types.SimpleNamespace(fetch_image=fetch_image))
    assert resize_for(FAMILIES["qwen3_vl"], image, 4096, 65536).size == (56, 56)
    assert calls == [(65536, 16)]
