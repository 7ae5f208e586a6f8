"""Every bad request to the real server is a 4xx with OpenAI's error object, and says what to change."""

from __future__ import annotations

import base64
import concurrent.futures
import struct
import zlib

import httpx
import pytest

from tests.serve.conftest import API_KEY, MODEL_NAME, Server, data_url, png_bytes

pytestmark = [pytest.mark.server, pytest.mark.slow]

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def post(server: Server, body: object, *, headers: dict | None = None, raw: bytes | None = None) -> httpx.Response:
    kwargs = {"content": raw} if raw is not None else {"json": body}
    return httpx.post(f"{server.base_url}/chat/completions", headers=headers if headers is not None else AUTH,
                      timeout=180, **kwargs)  # fmt: skip


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == status
    assert isinstance(error["message"], str) and error["message"]
    return error


def body(**extra: object) -> dict:
    return {"model": MODEL_NAME, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, **extra}


def bomb_png(width: int = 40_000, height: int = 40_000) -> bytes:
    """A valid PNG header claiming 1.6 gigapixels, with almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def image_body(url: str, **part: object) -> dict:
    return body(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}, **part}]}])


@pytest.mark.parametrize("extra, param, words", [
    ({"n": 2}, "n", "n=2"),
    ({"logprobs": True}, "logprobs", "logprobs"),
    ({"top_logprobs": 3}, "top_logprobs", "top_logprobs"),
    ({"frequency_penalty": 0.5}, "frequency_penalty", "frequency_penalty"),
    ({"best_of": 3}, "best_of", "unknown field 'best_of'"),
    ({"temperature": "hot"}, "temperature", "temperature"),
    ({"max_tokens": 10**12}, "max_tokens", "max_tokens"),
    ({"tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice", "not in tools"),
    ({"response_format": {"type": "json_schema"}}, "response_format", "json_schema"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": 12}}}},
     "response_format.json_schema.schema", "not a valid JSON schema"),
])  # fmt: skip
def test_unsupported_and_invalid_fields_name_the_field(server: Server, extra: dict, param: str, words: str) -> None:
    error = error_of(post(server, body(**extra)), 400)
    assert error["param"] == param and words in error["message"] and error["type"] == "BadRequestError"


def test_unknown_model_is_404(server: Server) -> None:
    error = error_of(post(server, body(model="gpt-4o")), 404)
    assert MODEL_NAME in error["message"] and error["param"] == "model"


def test_missing_and_wrong_api_key_are_401(server: Server) -> None:
    assert "--api-key" in error_of(post(server, body(), headers={}), 401)["message"]
    error_of(post(server, body(), headers={"Authorization": "Bearer wrong"}), 401)
    error_of(httpx.get(f"{server.base_url}/models", timeout=10), 401)


def test_body_over_the_limit_is_413(server: Server) -> None:
    error_of(post(server, None, raw=b'{"model": "' + b"x" * (5 * 2**20) + b'"}'), 413)


def test_bad_json_bad_base64_and_image_bomb_are_400(server: Server) -> None:
    assert "not valid JSON" in error_of(post(server, None, raw=b'{"model": '), 400)["message"]
    assert "base64" in error_of(post(server, image_body("data:image/png;base64,@@@not-base64@@@")), 400)["message"]
    message = error_of(post(server, image_body(data_url(bomb_png()))), 400)["message"]
    assert "MP" in message or "bomb" in message
    error_of(post(server, image_body(data_url(b"GIF89a broken"))), 400)


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/a.png", "http://169.254.169.254/latest/meta-data", "file:///etc/passwd",
                                 "ftp://example.com/a.png"])  # fmt: skip
def test_image_urls_are_refused_without_fetching(server: Server, url: str) -> None:
    error = error_of(post(server, image_body(url)), 400)
    assert "data URL" in error["message"] or "data:" in error["message"]


def test_prompt_over_the_context_says_each_image_cost_and_a_max_pixels_that_fits(server: Server) -> None:
    big = data_url(png_bytes((1400, 1400)))
    messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": big}, "max_pixels": 1400 * 1400},
                                             {"type": "image_url", "image_url": {"url": big}, "max_pixels": 1400 * 1400},
                                             {"type": "text", "text": "compare"}]}]  # fmt: skip
    error = error_of(post(server, body(messages=messages, max_tokens=100)), 400)
    message = error["message"]
    assert "1400x1400 → 1400x1400 = 2500" in message and "4096" in message
    fit = int(message.split("max_pixels=")[1].split(" ")[0])
    for part in messages[0]["content"][:2]:
        part["max_pixels"] = fit
    ok = post(server, body(messages=messages, max_tokens=100))
    assert ok.status_code == 200, ok.text
    assert ok.json()["usage"]["prompt_tokens"] + 100 <= 4096


def test_unknown_route_and_method_are_error_objects(server: Server) -> None:
    error_of(httpx.get(f"{server.base_url}/completions", headers=AUTH, timeout=10), 404)
    error_of(httpx.post(f"{server.base_url}/embeddings", headers=AUTH, json={"input": "x"}, timeout=10), 404)


def test_full_queue_is_429_with_retry_after(server: Server) -> None:
    """1 running + 4 queued is the limit of the session server; 10 long requests at once overflow it."""
    long = body(max_tokens=300, messages=[{"role": "user", "content": "write a lot"}])

    def send(_: int) -> httpx.Response:
        return post(server, long)

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(send, range(10)))
    busy = [r for r in responses if r.status_code == 429]
    assert busy and all(int(r.headers["Retry-After"]) >= 1 for r in busy)
    assert "--queue" in error_of(busy[0], 429)["message"]
    assert sum(r.status_code == 200 for r in responses) >= 5  # the admitted ones all ran
    assert server.metric("vlkit_queue_depth") == 0
    assert base64  # (imported for data URLs in other cases)
