"""Tools and structured output over the openai backend, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from tests.models.openai_server import FakeOpenAIServer, text_stream, tool_call_stream
from vlkit.errors import OutputTruncatedError, StructuredOutputError
from vlkit.models import ChatQwenVL

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return "sunny"


class Answer(BaseModel):
    city: str
    unit: Literal["c", "f"]


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


def _llm(server: FakeOpenAIServer, **kwargs) -> ChatQwenVL:
    return ChatQwenVL(backend="openai", base_url=server.base_url, model="qwen", max_retries=0, **kwargs)


def _image_message(text: str) -> HumanMessage:
    return HumanMessage(content=[{"type": "image", "base64": PNG, "mime_type": "image/png"}, {"type": "text", "text": text}])


def test_native_tools_and_tool_choice_go_out_and_calls_come_back(server: FakeOpenAIServer) -> None:
    server.queue(tool_call_stream([("call_1", "get_weather", {"city": "Paris"}), ("call_2", "get_weather", {"city": "Rome"})]))
    result = _llm(server).bind_tools([get_weather], tool_choice="any").invoke([_image_message("weather?")])
    body = server.requests[0].body
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tools"][0]["function"]["parameters"]["properties"] == {"city": {"type": "string"}}
    assert body["tool_choice"] == "required"
    assert body["messages"][0]["content"][0]["type"] == "image_url"
    assert [(c["id"], c["args"]) for c in result.tool_calls] == [("call_1", {"city": "Paris"}), ("call_2", {"city": "Rome"})]


def test_named_tool_choice_is_sent_as_a_function_object(server: FakeOpenAIServer) -> None:
    server.queue(tool_call_stream([("call_1", "get_weather", {"city": "Oslo"})]))
    _llm(server).bind_tools([get_weather], tool_choice="get_weather").invoke("weather?")
    assert server.requests[0].body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_tool_message_history_goes_back_to_the_server(server: FakeOpenAIServer) -> None:
    server.queue(text_stream(["It is sunny."]))
    history = [
        _image_message("weather?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_9"}]),
        ToolMessage("sunny", tool_call_id="call_9"),
    ]
    result = _llm(server).bind_tools([get_weather]).invoke(history)
    messages = server.requests[0].body["messages"]
    assert messages[1]["tool_calls"][0]["id"] == "call_9"
    assert json.loads(messages[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Oslo"}
    assert messages[2]["role"] == "tool" and messages[2]["tool_call_id"] == "call_9"
    assert result.content == "It is sunny." and not result.tool_calls


def test_hermes_text_from_a_server_without_a_tool_parser_is_parsed(server: FakeOpenAIServer) -> None:
    text = 'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lima"}}\n</tool_call>'
    server.queue(text_stream([text[:20], text[20:45], text[45:]]))
    result = _llm(server).bind_tools([get_weather]).invoke("weather?")
    assert result.content == "Checking.\n" or result.content.strip() == "Checking."
    assert [(c["name"], c["args"]) for c in result.tool_calls] == [("get_weather", {"city": "Lima"})]


def test_native_tools_off_renders_hermes_into_the_prompt(server: FakeOpenAIServer) -> None:
    server.queue(text_stream(['<tool_call>\n{"name": "nope", "arguments": {}}\n</tool_call>']))
    history = [
        HumanMessage("weather?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "c1"}]),
        ToolMessage("sunny", tool_call_id="c1"),
    ]
    result = _llm(server, native_tools=False).bind_tools([get_weather], tool_choice="auto").invoke(history)
    body = server.requests[0].body
    assert "tools" not in body and "tool_choice" not in body
    system = body["messages"][0]
    assert system["role"] == "system"
    system_text = system["content"] if isinstance(system["content"], str) else system["content"][0]["text"]
    assert "<tools>\n" in system_text and '"name": "get_weather"' in system_text
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert not result.tool_calls
    (bad,) = result.invalid_tool_calls
    assert bad["name"] == "nope" and "available: get_weather" in bad["error"]


def test_structured_output_sends_response_format_and_validates(server: FakeOpenAIServer) -> None:
    server.queue(text_stream(['{"city": "Pa', 'ris", "unit": "c"}']))
    result = _llm(server).with_structured_output(Answer).invoke([_image_message("where?")])
    assert result == Answer(city="Paris", unit="c")
    fmt = server.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Answer"
    assert fmt["json_schema"]["schema"]["required"] == ["city", "unit"]


def test_structured_output_repairs_once_then_raises(server: FakeOpenAIServer) -> None:
    server.queue(text_stream(['{"city": "Paris", "unit": "kelvin"}']), text_stream(['{"city": "Paris", "unit": "f"}']))
    assert _llm(server).with_structured_output(Answer).invoke("where?") == Answer(city="Paris", unit="f")
    repair = server.requests[1].body["messages"]
    assert repair[-2]["role"] == "assistant" and "kelvin" in str(repair[-2]["content"])
    assert "does not match the schema" in str(repair[-1]["content"])

    server.queue(text_stream(["not json"]), text_stream(["still not json"]))
    with pytest.raises(StructuredOutputError) as info:
        _llm(server).with_structured_output(Answer).invoke("where?")
    assert info.value.raw == "still not json"


def test_truncated_structured_output_raises_or_is_flagged(server: FakeOpenAIServer) -> None:
    server.queue(text_stream(['{"city": "Par'], finish_reason="length"))
    with pytest.raises(OutputTruncatedError):
        _llm(server).with_structured_output(Answer).invoke("where?")
    assert len(server.requests) == 1  # no repair round for a cut-off answer
    server.queue(text_stream(['{"city": "Par'], finish_reason="length"))
    out = _llm(server).with_structured_output(Answer, include_raw=True).invoke("where?")
    assert out["parsed"] is None and isinstance(out["parsing_error"], OutputTruncatedError)


def test_json_schema_dict_and_typeddict_are_validated(server: FakeOpenAIServer) -> None:
    schema = {"title": "T", "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    server.queue(text_stream(['{"n": 3}']))
    assert _llm(server).with_structured_output(schema).invoke("n?") == {"n": 3}
    server.queue(text_stream(['{"n": "x"}']), text_stream(['{"n": 4}']))
    assert _llm(server).with_structured_output(schema).invoke("n?") == {"n": 4}


def test_tool_message_images_move_into_a_user_message_after_the_tool_results(server: FakeOpenAIServer) -> None:
    """Servers reject images in tool messages: the text stays in the tool message, the images follow."""
    server.queue(text_stream(["Two screenshots."]))
    shot = {"type": "image", "base64": PNG, "mime_type": "image/png"}
    history = [
        HumanMessage("Screenshot both windows."),
        AIMessage(
            "",
            tool_calls=[
                {"name": "get_weather", "args": {"city": "a"}, "id": "call_1"},
                {"name": "get_weather", "args": {"city": "b"}, "id": "call_2"},
            ],
        ),
        ToolMessage(content=[shot, {"type": "text", "text": "window a"}], tool_call_id="call_1", name="get_weather"),
        ToolMessage(content=[shot], tool_call_id="call_2", name="get_weather"),
    ]
    _llm(server).bind_tools([get_weather]).invoke(history)
    sent = server.requests[0].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool", "user"]
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "window a"}
    assert sent[3]["role"] == "tool" and isinstance(sent[3]["content"], str) and sent[3]["content"]
    parts = sent[4]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url"]
    assert "call_1" in parts[0]["text"] and "call_2" in parts[2]["text"]
    assert all(p["image_url"]["url"].startswith("data:image/png;base64,") for p in parts[1::2])
