"""Images a tool returns reach the next model call in the form each backend needs.

* transformers (tiny checkpoints of every family): inside the ``<tool_response>`` of the rendered
  prompt, as Qwen's own tool format does, with the image's visual tokens there;
* openai (a real HTTP server on 127.0.0.1): the tool message keeps the text and the images follow in a
  user message, because servers reject images in tool messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain.agents.middleware import wrap_model_call
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool

from tests.agents.scripted import png_block
from tests.models.openai_server import FakeOpenAIServer, tool_call_stream
from vlkit.agents import create_vlm_agent, run_summary


@tool
def screenshot() -> list[dict[str, Any]]:
    """Take a screenshot of the screen."""
    return [{"type": "text", "text": "the screen now:"}, png_block((200, 30, 30), (112, 84))]


@wrap_model_call
def screenshot_first(request: Any, handler: Any) -> Any:
    """Test middleware: the first step must take a screenshot (so the tool really runs)."""
    if not any(isinstance(m, ToolMessage) for m in request.messages):
        request = request.override(tool_choice="screenshot")
    return handler(request)


def test_tool_images_are_inside_the_tool_response_of_the_local_prompt(tiny_path, monkeypatch) -> None:
    from vlkit.models import ChatQwenVL
    from vlkit.models.backends.transformers import TransformersBackend

    prepared: list[Any] = []
    real = TransformersBackend.prepare

    def spy(self: Any, request: Any) -> Any:
        inputs = real(self, request)
        prepared.append(inputs)
        return inputs

    monkeypatch.setattr(TransformersBackend, "prepare", spy)
    llm = ChatQwenVL(model=tiny_path, max_tokens=32, seed=0)
    agent = create_vlm_agent(llm, [screenshot], middleware=[screenshot_first], max_steps=2)
    state = agent.invoke({"messages": [{"role": "user", "content": "What is on the screen?"}]})

    assert state["messages"][2].name == "screenshot"  # the tool ran
    assert len(prepared) == 2 and prepared[0].image_tokens == 0
    second = prepared[1]
    prompt = second.prompt
    response = prompt[prompt.rindex("<tool_response>") : prompt.rindex("</tool_response>")]
    assert "the screen now:" in response
    assert "<|vision_start|>" in response and "<|vision_end|>" in response
    assert response.count("<|image_pad|>") == second.image_tokens == prompt.count("<|image_pad|>") > 0


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def test_tool_images_follow_the_tool_message_in_a_user_message_over_http(server: FakeOpenAIServer) -> None:
    from vlkit.models import ChatQwenVL

    server.queue(
        tool_call_stream([("call_1", "screenshot", {})]),
        tool_call_stream([("call_2", "final_answer", {"answer": "a red screen"})]),
    )
    llm = ChatQwenVL(backend="openai", base_url=server.base_url, model="qwen-vl", max_retries=0, timeout=10)
    state = create_vlm_agent(llm, [screenshot]).invoke({"messages": [{"role": "user", "content": "What is shown?"}]})

    assert run_summary(state).answer == "a red screen"
    first, second = (r.body for r in server.requests)
    for body in (first, second):
        assert body["tool_choice"] == "required"
        assert {t["function"]["name"] for t in body["tools"]} == {"screenshot", "final_answer"}
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "user"]
    tool_message, images_message = second["messages"][3], second["messages"][4]
    assert tool_message["tool_call_id"] == "call_1" and "the screen now:" in str(tool_message["content"])
    assert "image" not in str(tool_message["content"])
    urls = [p["image_url"]["url"] for p in images_message["content"] if p.get("type") == "image_url"]
    assert len(urls) == 1 and urls[0].startswith("data:image/png;base64,")
