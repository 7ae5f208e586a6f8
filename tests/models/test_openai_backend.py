"""OpenAIBackend against a real HTTP server on 127.0.0.1 (tests/models/openai_server.py).

Each test checks what the server received (the request body the openai client built from our
turns) and what the backend made of the server's answer; no part of the openai client is mocked.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from PIL import Image

from tests.models.openai_server import (
    FakeOpenAIServer,
    Reply,
    chunk,
    error_reply,
    sse_reply,
    text_stream,
    tool_call_stream,
    usage_chunk,
)
from vlkit.errors import MissingExtraError, ServerResponseError, ServerUnreachableError, UserError
from vlkit.models.backends.base import Delta, GenerationRequest
from vlkit.models.backends.openai import OpenAIBackend
from vlkit.models.messages import to_turns

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VLKIT_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def make_backend(base_url: str, **kwargs: Any) -> OpenAIBackend:
    kwargs.setdefault("timeout", 2.0)
    kwargs.setdefault("max_retries", 0)
    return OpenAIBackend("qwen-vl-test", base_url, **kwargs)


def ask(text: str = "Hi", **kwargs: Any) -> GenerationRequest:
    return GenerationRequest(turns=to_turns([HumanMessage(text)]), **kwargs)


def png_bytes(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(buffer, format="PNG")
    return buffer.getvalue()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# ---------------------------------------------------------------------------------------- streaming


@pytest.mark.server
def test_text_answer_streams_deltas_in_order_then_usage(server: FakeOpenAIServer) -> None:
    server.queue(text_stream(["Hel", "lo", " world"], usage=(17, 3)))

    deltas = list(make_backend(server.base_url).stream(ask("Say hello")))

    assert [d.text for d in deltas[:-1]] == ["Hel", "lo", " world"]
    last = deltas[-1]
    assert last.text == "" and last.finish_reason == "stop"
    assert (last.usage.input_tokens, last.usage.output_tokens, last.usage.image_tokens) == (17, 3, 0)
    assert all(d.finish_reason is None and d.usage is None for d in deltas[:-1])

    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer EMPTY"
    body = request.body
    assert body["model"] == "qwen-vl-test"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Say hello"}]}]
    assert body["max_tokens"] == 512 and body["temperature"] == 0
    for absent in ("tools", "tool_choice", "response_format", "top_p", "seed", "stop", "mm_processor_kwargs"):
        assert absent not in body


@pytest.mark.server
def test_length_finish_and_server_reported_image_tokens(server: FakeOpenAIServer) -> None:
    server.queue(sse_reply(chunk("a b c"), chunk(finish_reason="length"), usage_chunk(300, 3, image_tokens=256)))

    last = list(make_backend(server.base_url).stream(ask()))[-1]

    assert last.finish_reason == "length"
    assert (last.usage.input_tokens, last.usage.output_tokens, last.usage.image_tokens) == (300, 3, 256)


@pytest.mark.server
def test_usage_in_the_finish_chunk_and_no_usage_at_all(server: FakeOpenAIServer) -> None:
    combined = chunk(finish_reason="stop") | {"usage": usage_chunk(5, 1)["usage"]}
    server.queue(sse_reply(chunk("ok"), combined), text_stream(["ok"], usage=None))
    backend = make_backend(server.base_url)

    first = list(backend.stream(ask()))
    second = list(backend.stream(ask()))

    assert (first[-1].usage.input_tokens, first[-1].usage.output_tokens) == (5, 1)
    assert second[-1].usage is None and second[-1].finish_reason == "stop"
    assert "".join(d.text for d in second) == "ok"


@pytest.mark.server
def test_native_tool_call_deltas(server: FakeOpenAIServer) -> None:
    server.queue(
        tool_call_stream(
            [("call_a", "get_weather", {"city": "Paris"}), ("call_b", "get_weather", {"city": "Lyon"})],
            usage=(40, 20),
        )
    )

    deltas = list(make_backend(server.base_url).stream(ask("Weather?", tools=[WEATHER_TOOL])))

    pieces = [c for d in deltas for c in d.tool_call_chunks]
    assert [(c["index"], c["id"], c["name"]) for c in pieces if c["id"]] == [
        (0, "call_a", "get_weather"),
        (1, "call_b", "get_weather"),
    ]
    for index, city in ((0, "Paris"), (1, "Lyon")):
        args = "".join(c["args"] or "" for c in pieces if c["index"] == index)
        assert json.loads(args) == {"city": city}
    assert all(d.text == "" for d in deltas)
    assert deltas[-1].finish_reason == "tool_calls"
    assert (deltas[-1].usage.input_tokens, deltas[-1].usage.output_tokens) == (40, 20)


@pytest.mark.server
def test_tool_calls_reported_with_stop_finish_become_tool_calls(server: FakeOpenAIServer) -> None:
    # The backend passes the server's word on; the chat model's ToolCallStream (the one place that sees
    # native and Hermes-text calls alike) sets it right.
    server.queue(tool_call_stream([("call_1", "get_weather", {"city": "Oslo"})], finish_reason="stop"))
    assert list(make_backend(server.base_url).stream(ask(tools=[WEATHER_TOOL])))[-1].finish_reason == "stop"

    from vlkit.models import ChatQwenVL

    server.queue(tool_call_stream([("call_1", "get_weather", {"city": "Oslo"})], finish_reason="stop"))
    llm = ChatQwenVL(backend="openai", base_url=server.base_url, model="m", max_retries=0)
    message = llm.bind_tools([WEATHER_TOOL]).invoke("Weather?")
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert [c["name"] for c in message.tool_calls] == ["get_weather"]


# ---------------------------------------------------------------------------------------- request body


@pytest.mark.server
def test_local_png_goes_as_data_url_and_remote_url_unchanged(server: FakeOpenAIServer) -> None:
    png = png_bytes()
    message = HumanMessage(
        content=[
            {"type": "text", "text": "Compare"},
            {"type": "image", "base64": base64.b64encode(png).decode(), "mime_type": "image/png"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "text", "text": "briefly."},
        ]
    )
    server.queue(text_stream(["ok"]))

    list(make_backend(server.base_url).stream(GenerationRequest(turns=to_turns([message]))))

    parts = server.requests[0].body["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "image_url", "text"]
    assert parts[0]["text"] == "Compare" and parts[3]["text"] == "briefly."
    header, _, payload = parts[1]["image_url"]["url"].partition(",")
    assert header == "data:image/png;base64"
    assert base64.b64decode(payload) == png
    assert parts[2]["image_url"] == {"url": "https://example.com/cat.png"}
    assert "min_pixels" not in parts[1]


@pytest.mark.server
def test_sampling_parameters_are_sent(server: FakeOpenAIServer) -> None:
    server.queue(text_stream(["ok"]))

    request = ask(max_tokens=64, temperature=0.7, top_p=0.9, seed=7, stop=["END", "\n\n"])
    list(make_backend(server.base_url).stream(request))

    body = server.requests[0].body
    assert (body["max_tokens"], body["temperature"], body["top_p"], body["seed"]) == (64, 0.7, 0.9, 7)
    assert body["stop"] == ["END", "\n\n"]


@pytest.mark.server
def test_pixel_budgets_request_level_and_per_image(server: FakeOpenAIServer) -> None:
    block = {
        "type": "image",
        "base64": base64.b64encode(png_bytes()).decode(),
        "mime_type": "image/png",
        "max_pixels": 200_704,
    }
    server.queue(text_stream(["ok"]))

    request = GenerationRequest(turns=to_turns([HumanMessage(content=[block])]), min_pixels=3136, max_pixels=401_408)
    list(make_backend(server.base_url).stream(request))

    body = server.requests[0].body
    assert body["mm_processor_kwargs"] == {"min_pixels": 3136, "max_pixels": 401_408}
    (part,) = body["messages"][0]["content"]
    assert part["max_pixels"] == 200_704 and "min_pixels" not in part


@pytest.mark.server
def test_conversation_with_tool_calls_and_results(server: FakeOpenAIServer) -> None:
    messages = [
        SystemMessage("You are terse."),
        HumanMessage("Weather in Paris?"),
        AIMessage("", tool_calls=[{"id": "call_7", "name": "get_weather", "args": {"city": "Paris"}}]),
        ToolMessage("18 °C, sunny", tool_call_id="call_7", name="get_weather"),
    ]
    server.queue(text_stream(["Sunny."]))

    list(make_backend(server.base_url).stream(GenerationRequest(turns=to_turns(messages))))

    system, user, assistant, tool = server.requests[0].body["messages"]
    assert system == {"role": "system", "content": "You are terse."}
    assert user["role"] == "user" and user["content"][0]["text"] == "Weather in Paris?"
    assert assistant["role"] == "assistant" and not assistant["content"]
    (call,) = assistant["tool_calls"]
    assert (call["id"], call["type"], call["function"]["name"]) == ("call_7", "function", "get_weather")
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert tool == {"role": "tool", "tool_call_id": "call_7", "content": "18 °C, sunny"}


@pytest.mark.server
def test_tool_result_images_move_into_a_user_message_after_the_tool_message(server: FakeOpenAIServer) -> None:
    # OpenAI-compatible servers reject images in tool messages (issue 13): the text stays, the image follows.
    png = png_bytes((0, 0, 255))
    messages = [
        HumanMessage("Take a screenshot."),
        AIMessage("", tool_calls=[{"id": "call_1", "name": "screenshot", "args": {}}]),
        ToolMessage(
            content=[{"type": "text", "text": "done"}, {"type": "image", "base64": base64.b64encode(png).decode()}],
            tool_call_id="call_1",
        ),
    ]
    server.queue(text_stream(["ok"]))

    list(make_backend(server.base_url).stream(GenerationRequest(turns=to_turns(messages))))

    sent = server.requests[0].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "done"}
    label, image = sent[3]["content"]
    assert label["type"] == "text" and "call_1" in label["text"]
    assert base64.b64decode(image["image_url"]["url"].partition(",")[2]) == png


@pytest.mark.server
@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        (None, None),
        ("auto", "auto"),
        ("required", "required"),
        ("none", "none"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tools_and_tool_choice_are_sent(server: FakeOpenAIServer, tool_choice: str | None, expected: Any) -> None:
    server.queue(text_stream(["ok"]))

    list(make_backend(server.base_url).stream(ask(tools=[WEATHER_TOOL], tool_choice=tool_choice)))

    body = server.requests[0].body
    assert body["tools"] == [WEATHER_TOOL]
    assert body.get("tool_choice") == expected


@pytest.mark.server
def test_native_tools_off_sends_no_tool_fields(server: FakeOpenAIServer) -> None:
    server.queue(text_stream(["ok"]))

    list(make_backend(server.base_url, native_tools=False).stream(ask(tools=[WEATHER_TOOL], tool_choice="required")))

    body = server.requests[0].body
    assert "tools" not in body and "tool_choice" not in body


@pytest.mark.server
def test_response_schema_becomes_strict_json_schema_format(server: FakeOpenAIServer) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    server.queue(text_stream(['{"answer": ', '"yes"}']))

    deltas = list(make_backend(server.base_url).stream(ask(response_schema=schema, response_schema_name="Verdict")))

    assert server.requests[0].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Verdict", "schema": schema, "strict": True},
    }
    assert json.loads("".join(d.text for d in deltas)) == {"answer": "yes"}


@pytest.mark.server
@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        ("sk-explicit", {"VLKIT_API_KEY": "vk", "OPENAI_API_KEY": "ok"}, "sk-explicit"),
        (None, {"VLKIT_API_KEY": "vk", "OPENAI_API_KEY": "ok"}, "vk"),
        (None, {"OPENAI_API_KEY": "ok"}, "ok"),
    ],
)
def test_api_key_precedence(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, explicit: str | None, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server.queue(text_stream(["ok"]))

    list(make_backend(server.base_url, api_key=explicit).stream(ask()))

    assert server.requests[0].headers["authorization"] == f"Bearer {expected}"


# ---------------------------------------------------------------------------------------- errors


@pytest.mark.server
def test_closed_port_is_unreachable_with_a_hint() -> None:
    url = closed_port_url()

    with pytest.raises(ServerUnreachableError) as info:
        list(make_backend(url).stream(ask()))

    message = str(info.value)
    assert url in message and "--base-url" in message and "running" in message


@pytest.mark.server
def test_timeout_is_unreachable(server: FakeOpenAIServer) -> None:
    server.queue(Reply(delay=1.5, body=b"{}"))

    with pytest.raises(ServerUnreachableError, match="did not answer within 0.3 s"):
        list(make_backend(server.base_url, timeout=0.3).stream(ask()))


@pytest.mark.server
@pytest.mark.parametrize("style", ["openai", "vllm", "ollama"])
def test_http_400_carries_status_and_the_servers_message(server: FakeOpenAIServer, style: str) -> None:
    text = "This model's maximum context length is 4096 tokens."
    server.queue(error_reply(400, text, style=style))

    with pytest.raises(ServerResponseError) as info:
        list(make_backend(server.base_url).stream(ask()))

    assert info.value.status_code == 400
    assert f"HTTP 400: {text}" in str(info.value)
    assert text in (info.value.body or "")


@pytest.mark.server
def test_http_404_names_the_model_and_the_v1_hint(server: FakeOpenAIServer) -> None:
    server.queue(error_reply(404, "The model `qwen-vl-test` does not exist.", style="vllm"))

    with pytest.raises(ServerResponseError, match=r"serves model 'qwen-vl-test'.*ends in /v1") as info:
        list(make_backend(server.base_url).stream(ask()))

    assert info.value.status_code == 404


@pytest.mark.server
def test_http_500_without_retries(server: FakeOpenAIServer) -> None:
    server.queue(error_reply(500, "CUDA out of memory"))

    with pytest.raises(ServerResponseError, match="HTTP 500: CUDA out of memory") as info:
        list(make_backend(server.base_url).stream(ask()))

    assert info.value.status_code == 500
    assert len(server.requests) == 1


@pytest.mark.server
def test_http_500_is_retried_by_the_client(server: FakeOpenAIServer) -> None:
    server.queue(error_reply(500, "warming up", retry=True), text_stream(["fine"]))

    deltas = list(make_backend(server.base_url, max_retries=1).stream(ask()))

    assert "".join(d.text for d in deltas) == "fine"
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body


@pytest.mark.server
def test_garbled_stream_is_a_response_error(server: FakeOpenAIServer) -> None:
    server.queue(sse_reply(chunk("partial"), "data: {this is not json\n\n"))

    deltas: list[Delta] = []
    with pytest.raises(ServerResponseError, match="malformed stream"):
        for delta in make_backend(server.base_url).stream(ask()):
            deltas.append(delta)

    assert [d.text for d in deltas] == ["partial"]


@pytest.mark.server
def test_chunk_of_the_wrong_shape_is_a_response_error(server: FakeOpenAIServer) -> None:
    server.queue(sse_reply({"choices": "oops"}))

    with pytest.raises(ServerResponseError, match="malformed stream chunk"):
        list(make_backend(server.base_url).stream(ask()))


@pytest.mark.server
def test_stream_cut_before_finish_is_a_response_error(server: FakeOpenAIServer) -> None:
    server.queue(sse_reply(chunk("Hel"), chunk("lo"), done=False))

    with pytest.raises(ServerResponseError, match="without a finish_reason"):
        list(make_backend(server.base_url).stream(ask()))


@pytest.mark.server
def test_plain_json_answer_to_a_stream_request_is_a_response_error(server: FakeOpenAIServer) -> None:
    server.queue(Reply(200, b'{"choices": []}', {"Content-Type": "application/json"}))

    with pytest.raises(ServerResponseError, match="without a finish_reason"):
        list(make_backend(server.base_url).stream(ask()))


@pytest.mark.server
def test_error_event_mid_stream_carries_its_message(server: FakeOpenAIServer) -> None:
    server.queue(sse_reply(chunk("Hi"), {"error": {"message": "engine died", "type": "InternalServerError"}}))

    with pytest.raises(ServerResponseError, match="mid-stream: engine died"):
        list(make_backend(server.base_url).stream(ask()))


# ---------------------------------------------------------------------------------------- construction


def test_base_url_without_scheme_is_refused() -> None:
    with pytest.raises(UserError, match="http://"):
        OpenAIBackend("m", "localhost:8000/v1")


def test_missing_openai_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)  # makes `import openai` raise ImportError

    with pytest.raises(MissingExtraError, match=r"vlkit\[openai\]"):
        OpenAIBackend("m", "http://127.0.0.1:1/v1")


def test_model_name_is_exposed() -> None:
    assert OpenAIBackend("qwen-vl-test", "http://127.0.0.1:1/v1/").model_name == "qwen-vl-test"
