"""What `Backend` declares — count a request before running it, context length, loaded, stream — on the
real transformers backend (tiny checkpoints), the openai backend's honest defaults, and a backend of one's own."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from PIL import Image

from tests.models.conftest import tiny
from vlkit.errors import ImageTooLargeError, UnsupportedModelError
from vlkit.models import ChatQwenVL
from vlkit.models.backends import Backend, Delta, Usage


def _png(size: tuple[int, int]) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, format="PNG")
    return {"type": "image", "base64": base64.b64encode(buffer.getvalue()).decode(), "mime_type": "image/png"}


WEATHER = {"type": "function", "function": {"name": "weather", "description": "Weather in a city.",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}  # fmt: skip


@pytest.mark.parametrize(
    "content, options",
    [
        ("Describe the sky.", {}),
        ([_png((448, 448)), "What is this?"], {}),
        ([_png((1000, 300)), _png((90, 700)), "Compare."], {"max_pixels": 300 * 28 * 28}),
        ([{**_png((640, 480)), "max_pixels": 20 * 28 * 28}, _png((100, 100)), "Two budgets."], {}),
        ("Weather in Paris?", {"tools": [WEATHER], "tool_choice": "auto"}),
    ],
    ids=["text", "one-image", "two-images-request-budget", "per-image-budget", "tools"],
)
def test_count_before_running_equals_the_prompt_that_runs(family: str, content: object, options: dict) -> None:
    llm = ChatQwenVL(model=tiny(family), max_tokens=2)
    backend = llm.backend_impl
    request = llm.generation_request([SystemMessage("Be brief."), HumanMessage(content=content)], None, **options)
    count = backend.count_tokens(request)
    prepared = backend.prepare(request)  # what stream() feeds generate()
    assert count.prompt_tokens == int(prepared.input_ids.shape[1])
    assert count.image_tokens == prepared.image_tokens
    if isinstance(content, list) and len(content) == 3 and options.get("max_pixels"):
        assert all(image.tokens <= 300 for image in count.images)
    final = list(backend.stream(request))[-1]
    assert final.usage.input_tokens == count.prompt_tokens  # the usage the run reports agrees


def test_count_refuses_an_image_over_the_limit_before_decoding_it() -> None:
    llm = ChatQwenVL(model=tiny("qwen2_vl"), max_image_pixels=100 * 100)
    with pytest.raises(ImageTooLargeError):
        llm.backend_impl.count_tokens(llm.generation_request([HumanMessage(content=[_png((300, 300)), "hi"])]))


def test_context_length_is_read_without_loading_and_load_is_explicit() -> None:
    folder = Path(tiny("qwen2_vl"))
    config = json.loads((folder / "config.json").read_text())
    expected = (config.get("text_config") or {}).get("max_position_embeddings") or config["max_position_embeddings"]
    llm = ChatQwenVL(model=str(folder), dtype="float32", attn_implementation="eager")  # its own cache entry
    backend = llm.backend_impl
    assert backend.loaded is False
    assert backend.context_length == expected
    assert backend.loaded is False  # reading the context length loaded nothing
    backend.load()
    assert backend.loaded is True and backend.context_length == expected


def test_langchain_token_count_is_the_backend_count() -> None:
    llm = ChatQwenVL(model=tiny("qwen2_vl"))
    messages = [HumanMessage(content=[_png((448, 448)), "What is this?"])]
    exact = llm.backend_impl.count_tokens(llm.generation_request(messages)).prompt_tokens
    assert llm.get_num_tokens_from_messages(messages) == exact
    assert exact > 256  # the image's 256 visual tokens (448x448 on CPU) are in it


def test_openai_backend_says_what_it_cannot_know() -> None:
    pytest.importorskip("openai")
    llm = ChatQwenVL(backend="openai", base_url="http://127.0.0.1:9/v1", model="served")
    backend = llm.backend_impl
    request = llm.generation_request([HumanMessage("hi")])
    assert backend.count_tokens(request) is None  # no tokenizer over the OpenAI API; no guessing
    assert backend.context_length is None
    assert backend.loaded is True  # the weights live in the server: nothing to load here


class Echo(Backend):
    """A backend of one's own: only ``stream`` is required."""

    def stream(self, request):
        text = request.turns[-1].text
        yield Delta(text=text.upper())
        yield Delta(usage=Usage(input_tokens=len(text.split()), output_tokens=1), finish_reason="stop")


def test_a_backend_of_ones_own_plugs_into_chatqwenvl() -> None:
    llm = ChatQwenVL(backend=Echo(), model="echo")
    reply = llm.invoke("hello there")
    assert reply.content == "HELLO THERE" and reply.usage_metadata["input_tokens"] == 2
    assert llm.backend_impl.count_tokens(llm.generation_request([HumanMessage("x")])) is None
    with pytest.raises(UnsupportedModelError, match="family"):
        llm.family_spec()
    assert ChatQwenVL(backend=Echo(), model="echo", family="qwen2_vl").family_spec().model_type == "qwen2_vl"
