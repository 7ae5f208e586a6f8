"""Real clients against a real `vlkit serve --tiny qwen2_vl` process: openai (sync, async, streaming with
usage, tools, response_format), LangChain's ChatOpenAI, and vlkit's own openai backend."""

from __future__ import annotations

import json

import openai
import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel

from tests.serve.conftest import API_KEY, MODEL_NAME, Server

pytestmark = [pytest.mark.server, pytest.mark.slow]

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def client(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=60)


def test_models_lists_the_served_model(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list().data] == [MODEL_NAME]


def test_sync_completion_with_an_image_reports_image_tokens(client: openai.OpenAI, image_url: str) -> None:
    reply = client.chat.completions.create(
        model=MODEL_NAME, max_tokens=5,
        messages=[{"role": "user", "content": [{"type": "text", "text": "What is the total?"},
                                               {"type": "image_url", "image_url": {"url": image_url}}]}],
    )  # fmt: skip
    choice = reply.choices[0]
    assert reply.object == "chat.completion" and choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length") and isinstance(choice.message.content, str)
    assert reply.usage.completion_tokens <= 5
    # 224x168 → 224x168 at 28 px per token = 8x6 = 48 visual tokens, counted in the prompt
    assert reply.usage.prompt_tokens_details.image_tokens == 48
    assert reply.usage.prompt_tokens > 48


def test_per_image_max_pixels_changes_the_cost(client: openai.OpenAI, image_url: str) -> None:
    def tokens(extra: dict) -> int:
        part = {"type": "image_url", "image_url": {"url": image_url}, **extra}
        reply = client.chat.completions.create(model=MODEL_NAME, max_tokens=1, messages=[{"role": "user", "content": [part]}])
        return reply.usage.prompt_tokens_details.image_tokens

    assert tokens({"max_pixels": 12 * 28 * 28}) <= 12 < tokens({})


def test_streaming_chunks_role_first_finish_reason_and_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model=MODEL_NAME, messages=[{"role": "user", "content": "Say hi"}], max_tokens=6, stream=True,
        stream_options={"include_usage": True}, seed=3, temperature=0.7, top_p=0.9,
    ))  # fmt: skip
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["length"] or finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens <= 6
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage.completion_tokens >= 1 and text


def test_stop_sequence_and_max_completion_tokens(client: openai.OpenAI) -> None:
    free = client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": "x"}], max_completion_tokens=12)
    text = free.choices[0].message.content
    assert free.usage.completion_tokens <= 12
    if len(text) > 3:  # stop at the answer's 3rd character: the answer must end right before it
        stopped = client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": "x"}],
                                                 max_completion_tokens=12, stop=[text[2:4]])  # fmt: skip
        assert stopped.choices[0].finish_reason == "stop"
        assert text[2:4] not in stopped.choices[0].message.content


async def test_async_client_streams(server: Server) -> None:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
    stream = await client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": "hi"}],
                                                  max_tokens=4, stream=True)  # fmt: skip
    pieces = [c async for c in stream]
    assert pieces[0].choices[0].delta.role == "assistant" and any(c.choices[0].finish_reason for c in pieces if c.choices)
    await client.close()


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
def test_forced_tool_call_is_grammar_valid(client: openai.OpenAI, choice: object) -> None:
    reply = client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": "Weather in Paris?"}],
                                           tools=[WEATHER], tool_choice=choice, max_tokens=48)  # fmt: skip
    calls = reply.choices[0].message.tool_calls
    assert reply.choices[0].finish_reason == "tool_calls" and calls[0].function.name == "get_weather"
    assert isinstance(json.loads(calls[0].function.arguments)["city"], str)


def test_tool_choice_none_answers_in_text(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": "hi"}],
                                           tools=[WEATHER], tool_choice="none", max_tokens=4)  # fmt: skip
    assert reply.choices[0].message.tool_calls is None and reply.choices[0].finish_reason != "tool_calls"


def test_streamed_tool_call_deltas(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": "Weather?"}],
                                                 tools=[WEATHER], tool_choice="required", max_tokens=48, stream=True))  # fmt: skip
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert deltas[0].function.name == "get_weather" and deltas[0].id
    args = "".join(d.function.arguments or "" for d in deltas)
    assert "city" in json.loads(args)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("fmt", [
    {"type": "json_object"},
    {"type": "json_schema", "json_schema": {"name": "total", "schema": {
        "type": "object", "properties": {"total": {"type": "number"}, "currency": {"enum": ["EUR", "USD"]}},
        "required": ["total", "currency"], "additionalProperties": False}}},
])  # fmt: skip
def test_response_format_is_enforced(client: openai.OpenAI, fmt: dict) -> None:
    reply = client.chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": "Total?"}],
                                           response_format=fmt, max_tokens=64)  # fmt: skip
    value = json.loads(reply.choices[0].message.content)
    assert isinstance(value, dict)
    if fmt["type"] == "json_schema":
        assert set(value) == {"total", "currency"} and value["currency"] in ("EUR", "USD")


def test_langchain_chat_openai(server: Server, image_url: str) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=MODEL_NAME, base_url=server.base_url, api_key=API_KEY, max_tokens=6, max_retries=0,
                     stream_usage=True)  # fmt: skip
    msg = HumanMessage(content=[{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": image_url}}])
    reply = llm.invoke([msg])
    assert reply.usage_metadata["output_tokens"] <= 6 and reply.usage_metadata["input_tokens"] > 48
    streamed = list(llm.stream([msg]))
    assert sum(1 for c in streamed if c.content) >= 1
    call = llm.bind_tools([WEATHER], tool_choice="get_weather").invoke("Weather in Rome?", max_tokens=48)
    assert call.tool_calls[0]["name"] == "get_weather" and "city" in call.tool_calls[0]["args"]


class Total(BaseModel):
    total: float
    currency: str


def test_vlkit_openai_backend_round_trip(server: Server, image_url: str) -> None:
    from vlkit.models import ChatQwenVL

    llm = ChatQwenVL(backend="openai", base_url=server.base_url, api_key=API_KEY, model=MODEL_NAME, max_tokens=8,
                     max_retries=0, family="qwen2_vl")  # fmt: skip
    msg = HumanMessage(content=[{"type": "image_url", "image_url": {"url": image_url}, "max_pixels": 20 * 28 * 28},
                                "What is the total?"])  # fmt: skip
    reply = llm.invoke([msg])
    assert reply.response_metadata["finish_reason"] in ("stop", "length")
    assert reply.usage_metadata["output_tokens"] <= 8 and reply.response_metadata["image_tokens"] <= 20
    assert sum(1 for c in llm.stream([msg]) if c.content) >= 1
    calls = llm.bind_tools([WEATHER], tool_choice="any").invoke("Weather?", max_tokens=48).tool_calls
    assert calls and calls[0]["name"] == "get_weather"
    parsed = llm.with_structured_output(Total).invoke("Total?", max_tokens=64)
    assert isinstance(parsed, Total)
