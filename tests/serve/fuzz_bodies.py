"""A seeded generator of malformed and hostile request bodies (shared by the fuzz tests)."""

from __future__ import annotations

import base64
import json
import random
import struct
import zlib
from typing import Any, Iterator

MODEL = "vlkit-tiny-qwen2_vl"

_STRINGS = ["", "\x00", "\ud800", "🙂" * 50, "\u202e", "a" * 5000, "<tool_call>", "{{}}", "<|im_end|>", "<|image_pad|>" * 20,
            "\\", "\n" * 100, "你好", "null"]  # fmt: skip
_NUMBERS = [0, -1, 1, 2**31, 2**63, 10**100, -(10**100), 1e308, -1e-308, 0.5, True, False]
_SSRF = ["http://127.0.0.1:1/x.png", "http://localhost/x.png", "http://[::1]/x.png", "http://169.254.169.254/",
         "http://10.0.0.1/a.png", "http://192.168.1.1/a.png", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/",
         "http://2130706433/", "file:///etc/passwd", "gopher://127.0.0.1/", "http://user@127.0.0.1:80@evil/",
         "https://example.invalid/a.png", "data:text/html,<script>", "data:image/png,notbase64",
         "data:image/png;base64,===="]  # fmt: skip


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 32)) + chunk(b"IEND", b""))  # fmt: skip


def _images(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return "data:image/png;base64," + base64.b64encode(_png(rng.choice([1, 65535, 100000]), rng.choice([1, 70000]))).decode()
    if kind == 1:
        return "data:image/png;base64," + base64.b64encode(rng.randbytes(rng.randrange(1, 300))).decode()
    if kind == 2:
        return "data:image/jpeg;base64," + "".join(rng.choice("AB/+=*&") for _ in range(rng.randrange(1, 80)))
    if kind == 3:
        return "data:image/png;base64," + base64.b64encode(_png(3, 1000)).decode()  # extreme aspect ratio / corrupt
    return rng.choice(_SSRF)


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.choice(_STRINGS)
    if kind == 1:
        return rng.choice(_NUMBERS)
    if kind == 2:
        return None
    if kind == 3:
        return rng.choice([[], {}, "x"])
    if kind == 4:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {rng.choice(["type", "text", "url", "role", "content", "x"]): _value(rng, depth + 1) for _ in range(rng.randrange(3))}


def _valid(rng: random.Random) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}


def _mutate(rng: random.Random) -> dict[str, Any]:
    body = _valid(rng)
    field = rng.choice(["model", "messages", "max_tokens", "temperature", "top_p", "seed", "stop", "tools",
                        "tool_choice", "response_format", "stream", "n", "stream_options", "mm_processor_kwargs",
                        "max_completion_tokens", "unknown_" + str(rng.randrange(9))])  # fmt: skip
    body[field] = _value(rng)
    return body


def _hostile_message(rng: random.Random) -> dict[str, Any]:
    body = _valid(rng)
    part = rng.choice([
        {"type": "image_url", "image_url": {"url": _images(rng)}},
        {"type": "image_url", "image_url": {"url": _images(rng)}, "max_pixels": rng.choice(_NUMBERS)},
        {"type": "image_url", "image_url": _value(rng)},
        {"type": "text", "text": rng.choice(_STRINGS)},
        {"type": rng.choice(["audio", "video", "input_image", "file"]), "x": 1},
    ])  # fmt: skip
    body["messages"] = [{"role": rng.choice(["user", "user", "system", "assistant", "tool", "root"]), "content": [part]}]
    return body


def _hostile_tools(rng: random.Random) -> dict[str, Any]:
    body = _valid(rng)
    schema: Any = {"type": "object", "properties": {"a": {"type": "string"}}}
    for _ in range(rng.randrange(1, 80)):
        schema = {"type": "object", "properties": {"n": schema}}
    params = rng.choice([schema, {"type": "nonsense"}, {"$ref": "#/nowhere"}, {"enum": []}, _value(rng)])
    body["tools"] = [{"type": "function", "function": {"name": rng.choice(["f", "", "a b", "x" * 100]), "parameters": params}}]
    body["tool_choice"] = rng.choice(["required", "auto", "none", {"type": "function", "function": {"name": "f"}}, "bogus"])
    body["max_tokens"] = 4
    return body


def _deep(rng: random.Random) -> bytes:
    depth = rng.choice([70, 1000, 100_000])
    return ('{"model": "m", "messages": ' + "[" * depth + "]" * depth + "}").encode()


def _raw(rng: random.Random) -> bytes:
    return rng.choice([
        rng.randbytes(rng.randrange(1, 200)), b"", b"null", b"[]", b'"str"', b"1e999999", b'{"model":', b"\xff\xfe{}",
        json.dumps(_valid(rng)).encode()[: rng.randrange(1, 60)], b'{"model": "x", "model": "y"}', b"NaN",
        json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": float("inf")}).encode(),
    ])  # fmt: skip


def bodies(seed: int, count: int) -> Iterator[bytes]:
    """``count`` request bodies, reproducible from ``seed``."""
    rng = random.Random(seed)
    makers = [_mutate, _mutate, _hostile_message, _hostile_message, _hostile_tools]
    for i in range(count):
        roll = rng.randrange(10)
        if roll == 0:
            yield _deep(rng)
        elif roll == 1:
            yield _raw(rng)
        else:
            yield json.dumps(rng.choice(makers)(rng), ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
