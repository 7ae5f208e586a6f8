"""Every field the request schemas accept is honoured or refused (issue 25.3), against the real server:
one case per kind — sampling and its seed, pixel budgets (request, per image, ``detail``), streaming
options, strict tools, and the labels that by definition change no answer (``name``, ``user``,
a schema's ``description``). The knowledge-base routes' fields are in test_kb_server.py."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.serve.conftest import API_KEY, MODEL_NAME, Server, data_url, png_bytes

pytestmark = [pytest.mark.server, pytest.mark.slow]

AUTH = {"Authorization": f"Bearer {API_KEY}"}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}  # fmt: skip


def post(server: Server, **fields: object) -> httpx.Response:
    body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, **fields}
    return httpx.post(f"{server.base_url}/chat/completions", json=body, headers=AUTH, timeout=180)


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: httpx.Response, param: str) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param, error
    return error["message"]


def test_seed_makes_sampling_reproducible(server: Server) -> None:
    def answer(seed: int) -> str:
        return ok(post(server, temperature=1.5, seed=seed, max_tokens=12))["choices"][0]["message"]["content"]

    assert answer(7) == answer(7)
    assert len({answer(s) for s in (1, 2, 3)}) > 1  # the seed, not greedy decoding, fixed the first two


def _image_tokens(server: Server, image: dict, **fields: object) -> int:
    messages = [{"role": "user", "content": [image, {"type": "text", "text": "what is it?"}]}]
    return ok(post(server, messages=messages, max_tokens=1, **fields))["usage"]["prompt_tokens_details"]["image_tokens"]


def test_pixel_budgets_request_per_image_and_detail(server: Server) -> None:
    big = data_url(png_bytes((1400, 1050)))
    wide = {"mm_processor_kwargs": {"max_pixels": 1400 * 1050}}
    high = _image_tokens(server, {"type": "image_url", "image_url": {"url": big, "detail": "high"}}, **wide)
    low = _image_tokens(server, {"type": "image_url", "image_url": {"url": big, "detail": "low"}}, **wide)
    own = _image_tokens(server, {"type": "image_url", "image_url": {"url": big, "detail": "low"}, "max_pixels": 40 * 784}, **wide)
    default = _image_tokens(server, {"type": "image_url", "image_url": {"url": big}})
    low_default = _image_tokens(server, {"type": "image_url", "image_url": {"url": big, "detail": "low"}})
    assert high > 1500  # the request's budget: ~1400x1050
    assert low <= 512 * 512 // (28 * 28) < high  # "low": at most 512x512 pixels
    assert own <= 40  # an image's own max_pixels wins over detail
    assert low_default == default <= 256  # "low" never enlarges an image past the server's default budget
    message = refused(post(server, mm_processor_kwargs={"min_pixels": 9000, "max_pixels": 4000}), "mm_processor_kwargs")
    assert "min_pixels" in message and "max_pixels" in message


def test_stream_options(server: Server) -> None:
    with_usage = {"stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", f"{server.base_url}/chat/completions", headers=AUTH, timeout=60,
                      json={"model": MODEL_NAME, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3,
                            **with_usage}) as response:  # fmt: skip
        lines = [line for line in response.iter_lines() if line]
    assert '"usage":{"prompt_tokens"' in lines[-2] and lines[-1] == "data: [DONE]"
    message = refused(post(server, stream=True, stream_options={"include_usage": True, "continuous_usage_stats": True}),
                      "stream_options.continuous_usage_stats")  # fmt: skip
    assert "include_usage" in message


def test_strict_tools_are_enforced_or_refused(server: Server) -> None:
    strict = {**WEATHER, "function": {**WEATHER["function"], "strict": True}}
    message = refused(post(server, tools=[strict]), "tools")  # auto: vlkit cannot force valid arguments
    assert "get_weather" in message and "required" in message
    forced = ok(post(server, tools=[strict], tool_choice="required", max_tokens=60))
    call = forced["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call["name"] == "get_weather" and '"city"' in call["arguments"]  # the grammar kept it valid


def test_labels_change_no_answer(server: Server) -> None:
    """``name``, ``user`` and a schema's ``description`` are accepted as the labels they are: same prompt."""
    plain = ok(post(server))
    labelled = ok(post(server, user="alice", messages=[{"role": "system", "content": "Be brief.", "name": "ops"},
                                                       {"role": "user", "content": "hi", "name": "alice"}]))  # fmt: skip
    system = ok(post(server, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]))
    assert labelled["usage"]["prompt_tokens"] == system["usage"]["prompt_tokens"]
    assert labelled["choices"][0]["message"]["content"] == system["choices"][0]["message"]["content"]
    schema = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "t", "schema": schema}}
    described = {"type": "json_schema", "json_schema": {"name": "t", "schema": schema, "description": "The invoice total"}}
    assert ok(post(server, response_format=fmt, max_tokens=20))["choices"] == \
        ok(post(server, response_format=described, max_tokens=20))["choices"]  # fmt: skip
    assert plain["usage"]["prompt_tokens"] > 0


def test_user_is_written_in_the_log_of_a_cancelled_request(server: Server) -> None:
    body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "a long story"}], "max_tokens": 3000,
            "stream": True, "user": "carol-42"}  # fmt: skip
    with httpx.stream("POST", f"{server.base_url}/chat/completions", json=body, headers=AUTH, timeout=60) as response:
        lines = response.iter_lines()
        while '"content"' not in next(lines):
            pass
    deadline = time.monotonic() + 60
    while "user 'carol-42'" not in server.log.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "user 'carol-42'" in server.log.read_text(errors="replace")
