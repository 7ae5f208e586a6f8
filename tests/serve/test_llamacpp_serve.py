"""`vlkit serve --model DIR` on a folder made by `vlkit export`: the llama.cpp backend behind the same API,
driven by the official openai client (images, streaming, usage with image tokens, a forced tool call)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.serve.conftest import data_url, png_bytes, start_server, stop_server

pytest.importorskip("llama_cpp", reason="the llamacpp extra (llama-cpp-python) is not installed")
pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_an_exported_folder_is_served_on_llamacpp(tmp_path: Path) -> None:
    from openai import OpenAI

    from vlkit.testing import tiny_export

    folder = tiny_export("qwen2_vl")
    server = start_server(tmp_path, "--no-ui", "--max-tokens", "6", model=str(folder))
    try:
        client = OpenAI(base_url=server.base_url, api_key="unused")
        [served] = client.models.list().data
        image = {"type": "image_url", "image_url": {"url": data_url(png_bytes((224, 168), "red"))}}
        messages = [{"role": "user", "content": [image, {"type": "text", "text": "What colour is it?"}]}]
        answer = client.chat.completions.create(model=served.id, messages=messages)
        assert answer.usage.completion_tokens == 6 and answer.choices[0].finish_reason == "length"
        assert answer.usage.prompt_tokens > 48  # 224x168 is 48 visual tokens on Qwen2-VL, plus the text
        pieces = [c.choices[0].delta.content for c in client.chat.completions.create(
            model=served.id, messages=messages, stream=True) if c.choices and c.choices[0].delta.content]
        assert "".join(pieces) == answer.choices[0].message.content
        tool = {"type": "function", "function": {"name": "get_colour", "description": "Name the colour.",
                "parameters": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}}
        called = client.chat.completions.create(model=served.id, messages=messages, tools=[tool], tool_choice="required",
                                                max_tokens=48)  # fmt: skip
        [call] = called.choices[0].message.tool_calls
        assert call.function.name == "get_colour" and set(json.loads(call.function.arguments)) == {"name"}
        log = server.log.read_text(errors="replace")
        assert "llama" in log.lower() or served.id
    finally:
        stop_server(server)
