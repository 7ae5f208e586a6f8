"""Tool calling and structured output through ChatQwenVL on the tiny random checkpoints of all three families,
on both local backends: transformers, and llama.cpp on the same checkpoints exported by `vlkit export`.

Random weights cannot choose sensible arguments, so these tests assert what the grammar guarantees:
the shape of every call and every structured answer, with images in the same call and tool results
(some with images) fed back over several steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from tests.models.conftest import tiny
from vlkit.errors import MaxTokensTooSmallError
from vlkit.models import ChatQwenVL
from vlkit.models.hermes import render_tools_system

pytestmark = pytest.mark.slow


@tool
def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Current weather in a city."""
    return f"22 degrees {unit} in {city}"


@tool
def take_screenshot() -> str:
    """Capture the screen."""
    return "captured"


@tool
def add(a: int, b: float) -> float:
    """Add two numbers."""
    return a + b


TOOLS = [get_weather, take_screenshot, add]
NAMES = {t.name for t in TOOLS}


class Box(BaseModel):
    label: str
    kind: Literal["text", "figure", "table"]
    corners: list[int] = Field(max_length=4)
    score: Optional[float] = None


class Layout(TypedDict):
    title: str
    columns: int


_RUNTIME = {"name": "transformers"}


@pytest.fixture(params=["transformers", "llamacpp"], autouse=True)
def runtime(request: pytest.FixtureRequest) -> str:
    """Every test here runs on both local backends."""
    if request.param == "llamacpp":
        pytest.importorskip("llama_cpp", reason="the llamacpp extra (llama-cpp-python) is not installed")
    _RUNTIME["name"] = request.param
    return request.param


def _transformers_only() -> None:
    """For the tests that read the transformers backend's prepared inputs (prompt text and pixel tensors); the
    llama.cpp backend renders the same prompt through the same code (``LocalBackend._render``)."""
    if _RUNTIME["name"] != "transformers":
        pytest.skip("reads TransformersBackend.prepare(); the llama.cpp backend shares its prompt rendering")


def _model(family: str, **kwargs) -> ChatQwenVL:
    if _RUNTIME["name"] == "llamacpp":
        from vlkit.testing import tiny_export

        folder = str(tiny_export(family))
    else:
        folder = tiny(family)
    return ChatQwenVL(model=folder, max_tokens=kwargs.pop("max_tokens", 96), **kwargs)


def _image_message(chart_png: Path, text: str) -> HumanMessage:
    return HumanMessage(content=[{"type": "image", "path": str(chart_png)}, {"type": "text", "text": text}])


def _check_call(call: dict) -> None:
    assert call["name"] in NAMES and call["id"]
    if call["name"] == "get_weather":
        assert isinstance(call["args"]["city"], str) and call["args"].get("unit", "c") in {"c", "f"}
    elif call["name"] == "add":
        assert isinstance(call["args"]["a"], int) and isinstance(call["args"]["b"], (int, float))
    else:
        assert call["args"] == {}


def test_required_tool_calls_with_an_image(family: str, chart_png: Path) -> None:
    llm = _model(family).bind_tools(TOOLS, tool_choice="any")
    result = llm.invoke([_image_message(chart_png, "What is the weather where this chart was made?")])
    assert isinstance(result, AIMessage)
    assert result.tool_calls and not result.invalid_tool_calls
    for call in result.tool_calls:
        _check_call(call)
    assert result.response_metadata["finish_reason"] == "tool_calls"
    assert result.response_metadata["image_tokens"] > 0


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen3_vl"])
def test_named_tool_choice_streams_tool_call_chunks(family: str, chart_png: Path) -> None:
    llm = _model(family).bind_tools(TOOLS, tool_choice="take_screenshot")
    chunks = list(llm.stream([_image_message(chart_png, "Take a screenshot.")]))
    with_calls = [c for c in chunks if c.tool_call_chunks]
    assert with_calls and with_calls[0].tool_call_chunks[0]["name"] == "take_screenshot"
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    assert isinstance(full, AIMessageChunk)
    assert [c["name"] for c in full.tool_calls] == ["take_screenshot"] and full.tool_calls[0]["args"] == {}


def test_agent_loop_round_trips_tool_messages_with_images(family: str, chart_png: Path) -> None:
    llm = _model(family).bind_tools(TOOLS, tool_choice="required")
    messages = [SystemMessage("You are a careful assistant."), _image_message(chart_png, "Describe, then add numbers.")]
    for step in range(3):
        answer = llm.invoke(messages)
        assert answer.tool_calls, f"step {step}: no call"
        messages.append(answer)
        for call in answer.tool_calls:
            _check_call(call)
            result = str({t.name: t for t in TOOLS}[call["name"]].invoke(call["args"]))
            if call["name"] == "take_screenshot" or step == 0:  # a result that is an image, as a screenshot tool returns
                content: list = [{"type": "image", "path": str(chart_png)}, {"type": "text", "text": result}]
                messages.append(ToolMessage(content=content, tool_call_id=call["id"], name=call["name"]))
            else:
                messages.append(ToolMessage(result, tool_call_id=call["id"], name=call["name"]))
    final = _model(family).bind_tools(TOOLS, tool_choice="none").invoke(messages, max_tokens=8)
    assert isinstance(final, AIMessage) and not final.tool_calls
    images_in_prompt = final.response_metadata["image_tokens"]
    first = _model(family).invoke(messages[:2], max_tokens=1).response_metadata["image_tokens"]
    assert images_in_prompt > first  # the tool results' images reached the model


def test_the_prompt_of_templates_without_tools_support_matches_qwen3_vl(chart_png: Path) -> None:
    """Qwen2-VL gets the tools block the Qwen3-VL template would write, calls and results included."""
    _transformers_only()
    history = [
        _image_message(chart_png, "weather?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "c1"}]),
        ToolMessage("cold", tool_call_id="c1"),
    ]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    prompts = {}
    for family in ("qwen2_vl", "qwen3_vl"):
        llm = _model(family)
        request = llm.generation_request(history, None, tools=tools, tool_choice="auto")
        prompts[family] = llm.backend_impl.prepare(request).prompt
    assert render_tools_system(tools, "You are a helpful assistant.") in prompts["qwen2_vl"]
    tail = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call><|im_end|>\n'
    tail += "<|im_start|>user\n<tool_response>\ncold\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
    assert prompts["qwen2_vl"].endswith(tail) and prompts["qwen3_vl"].endswith(tail)


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_structured_output_pydantic_with_image(family: str, method: str, chart_png: Path) -> None:
    result = _model(family).with_structured_output(Box, method=method).invoke(
        [_image_message(chart_png, "Give the main box.")]
    )
    assert isinstance(result, Box) and len(result.corners) <= 4


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen3_vl"])
def test_structured_output_typeddict_and_json_schema(family: str) -> None:
    llm = _model(family)
    layout = llm.with_structured_output(Layout).invoke("Describe the page layout.")
    assert set(layout) == {"title", "columns"} and isinstance(layout["columns"], int)
    schema = {
        "title": "Tag",
        "type": "object",
        "properties": {"name": {"type": "string"}, "weight": {"type": "number"}},
        "required": ["name", "weight"],
    }
    tag = llm.with_structured_output(schema, include_raw=True).invoke("One tag, please.")
    assert tag["parsing_error"] is None and set(tag["parsed"]) == {"name", "weight"}
    assert isinstance(tag["raw"], AIMessage)


def test_structured_output_that_cannot_fit_max_tokens_is_refused_not_half_parsed() -> None:
    llm = _model("qwen2_vl", max_tokens=3)
    for include_raw in (False, True):
        with pytest.raises(MaxTokensTooSmallError) as info:
            llm.with_structured_output(Box, include_raw=include_raw).invoke("box?")
        assert info.value.max_tokens == 3 and info.value.needed > 3


def test_auto_tool_choice_never_raises_on_random_text() -> None:
    result = _model("qwen2_5_vl", max_tokens=24).bind_tools(TOOLS).invoke("hello")
    assert isinstance(result, AIMessage)
    for call in result.tool_calls:
        assert call["name"] in NAMES
    for bad in result.invalid_tool_calls:
        assert bad["error"]


def test_tool_history_without_bound_tools_is_still_rendered_in_hermes_format() -> None:
    _transformers_only()
    history = [
        HumanMessage("weather?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "c1"}]),
        ToolMessage("cold", tool_call_id="c1"),
    ]
    llm = _model("qwen2_vl")
    prompt = llm.backend_impl.prepare(llm.generation_request(history, None)).prompt
    assert "<|im_start|>tool" not in prompt and "# Tools" not in prompt
    assert "<|im_start|>user\n<tool_response>\ncold\n</tool_response><|im_end|>" in prompt
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>' in prompt


def test_tool_message_images_render_inside_the_tool_response(family: str, chart_png: Path) -> None:
    """A tool that returns a screenshot: Qwen's tool format puts the image inside <tool_response>."""
    _transformers_only()
    history = [
        HumanMessage("Take a screenshot, then tell me what you see."),
        AIMessage("", tool_calls=[{"name": "take_screenshot", "args": {}, "id": "c1"}]),
        ToolMessage(
            content=[{"type": "image", "path": str(chart_png)}, {"type": "text", "text": "captured"}],
            tool_call_id="c1",
            name="take_screenshot",
        ),
    ]
    llm = _model(family)
    tools = [{"type": "function", "function": {"name": "take_screenshot", "parameters": {"type": "object"}}}]
    prepared = llm.backend_impl.prepare(llm.generation_request(history, None, tools=tools, tool_choice="auto"))
    pads = "<|image_pad|>" * prepared.image_tokens
    tail = (
        "<|im_start|>user\n<tool_response>\n<|vision_start|>" + pads + "<|vision_end|>captured\n</tool_response>"
        "<|im_end|>\n<|im_start|>assistant\n"
    )
    assert prepared.prompt.endswith(tail)
    assert prepared.image_tokens > 0 and prepared.pixel_values is not None
    assert "<|im_start|>tool" not in prepared.prompt
