"""``invoke``, ``stream``, ``batch``, ``ainvoke`` and ``astream`` agree on tool calls, errors included.

Every answer of :mod:`tests.models.hermes_cases` is streamed by a real HTTP server on 127.0.0.1 in
small pieces (so the streaming parser sees tags and JSON split anywhere) and read back through each
entry point of ChatQwenVL; the tool calls, the invalid ones and their error texts must be the same.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.tools import tool

from tests.models.hermes_cases import CASES
from tests.models.openai_server import FakeOpenAIServer, text_stream, tool_call_stream
from vlkit.models import ChatQwenVL


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return "sunny"


@tool
def add(a: int, b: float) -> float:
    """Add two numbers."""
    return a + b


@tool
def screenshot() -> str:
    """Capture the screen."""
    return "captured"


TOOLS = [get_weather, add, screenshot]


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer() as fake:
        yield fake


def _pieces(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _summary(message: AIMessage) -> dict[str, Any]:
    return {
        "content": message.text.strip(),
        "tool_calls": [(c["name"], c["args"]) for c in message.tool_calls],
        "invalid_tool_calls": [(c["name"], c["args"], c["error"]) for c in message.invalid_tool_calls],
        "ids": [bool(c["id"]) for c in [*message.tool_calls, *message.invalid_tool_calls]],
        "finish_reason": message.response_metadata.get("finish_reason"),
    }


def _sum(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    return functools.reduce(lambda left, right: left + right, chunks)


async def _astream(llm: Any, prompt: str) -> AIMessageChunk:
    return _sum([chunk async for chunk in llm.astream(prompt)])


def _paths(llm: Any) -> dict[str, Any]:
    return {
        "invoke": lambda: llm.invoke("go"),
        "stream": lambda: _sum(list(llm.stream("go"))),
        "batch": lambda: llm.batch(["go"])[0],
        "ainvoke": lambda: asyncio.run(llm.ainvoke("go")),
        "astream": lambda: asyncio.run(_astream(llm, "go")),
    }


@pytest.mark.parametrize("native_tools", [True, False], ids=["native", "hermes-in-prompt"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_entry_point_gives_the_same_tool_calls(server: FakeOpenAIServer, case: str, native_tools: bool) -> None:
    llm = ChatQwenVL(
        backend="openai", base_url=server.base_url, model="qwen", max_retries=0, native_tools=native_tools
    ).bind_tools(TOOLS)
    results = {}
    for name, run in _paths(llm).items():
        server.queue(text_stream(_pieces(CASES[case])))
        results[name] = _summary(run())
    expected = results["invoke"]
    for name, summary in results.items():
        assert summary == expected, f"{name} differs from invoke"
    for _, _, error in expected["invalid_tool_calls"]:
        assert error, "an invalid call without an error the model can act on"
    if expected["tool_calls"] or expected["invalid_tool_calls"]:
        assert expected["finish_reason"] == "tool_calls"


def test_unknown_tool_error_names_the_available_tools_on_every_path(server: FakeOpenAIServer) -> None:
    llm = ChatQwenVL(backend="openai", base_url=server.base_url, model="qwen", max_retries=0).bind_tools([add])
    text = '<tool_call>\n{"name": "nope", "arguments": {"a": 1}}\n</tool_call>'
    for name, run in _paths(llm).items():
        server.queue(text_stream(_pieces(text, 3)))
        message = run()
        assert not message.tool_calls, name
        (bad,) = message.invalid_tool_calls
        assert bad["name"] == "nope" and bad["error"] == "Unknown tool 'nope'; available: add", name


def test_native_call_to_an_unknown_tool_or_with_bad_arguments_is_invalid(server: FakeOpenAIServer) -> None:
    llm = ChatQwenVL(backend="openai", base_url=server.base_url, model="qwen", max_retries=0).bind_tools([add])
    for name, run in _paths(llm).items():
        server.queue(tool_call_stream([("call_1", "nope", {"a": 1}), ("call_2", "add", {"a": "one", "b": 2})]))
        message = run()
        assert not message.tool_calls, name
        unknown, wrong = message.invalid_tool_calls
        assert unknown["error"] == "Unknown tool 'nope'; available: add" and unknown["id"] == "call_1", name
        assert wrong["error"] == "Invalid arguments for 'add': a: 'one' is not of type 'integer'", name


def test_tool_call_chunks_stream_name_first_then_argument_text(server: FakeOpenAIServer) -> None:
    llm = ChatQwenVL(backend="openai", base_url=server.base_url, model="qwen", max_retries=0).bind_tools(TOOLS)
    text = 'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rio de Janeiro, Brazil"}}\n</tool_call>'
    server.queue(text_stream(_pieces(text, 4)))
    pieces = [c for chunk in llm.stream("go") for c in chunk.tool_call_chunks]
    first, *rest = pieces
    assert first["name"] == "get_weather" and first["id"] and first["index"] == 0 and not first["args"]
    assert len(rest) > 3, "the arguments arrived in one piece, not as they were generated"
    assert all(p["name"] is None and p["index"] == 0 for p in rest)
    assert "".join(p["args"] for p in rest) == '{"city": "Rio de Janeiro, Brazil"}'
