"""OpenAI's response shapes: ``chat.completion`` and the ``chat.completion.chunk`` stream (vLLM's layout).

The stream: a first chunk with ``delta.role``, content / tool-call deltas, a chunk with ``finish_reason``,
then — with ``stream_options.include_usage`` — a chunk with empty ``choices`` and the usage, and
``data: [DONE]``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Answer", "ToolCalls", "chunk", "completion", "sse", "usage"]

_CALL_OPEN = "<tool_call>"


def sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


def usage(prompt: int, completion: int, images: int, videos: int = 0) -> dict[str, Any]:
    """OpenAI's usage object; ``prompt_tokens_details`` splits out the visual tokens of images and videos."""
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "image_tokens": images, "video_tokens": videos}}  # fmt: skip


class ToolCalls:
    """Tool-call chunks from the model (Hermes, parsed by ChatQwenVL) → OpenAI ``tool_calls`` entries.

    A call the parser could not use arrives with its raw ``<tool_call>`` text as ``args``; like vLLM's
    hermes parser, that text is returned as content rather than as a broken call.
    """

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._by_key: dict[Any, int] = {}

    def add(self, chunks: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
        """New deltas for these chunks (OpenAI ``delta.tool_calls`` entries) and any text to emit instead."""
        deltas, text = [], ""
        for piece in chunks:
            args = piece.get("args") or ""
            if args.startswith(_CALL_OPEN):
                text += args
                continue
            key = piece.get("index") if piece.get("index") is not None else piece.get("id")
            if key in self._by_key and not piece.get("name"):
                index = self._by_key[key]
                self.calls[index]["function"]["arguments"] += args
                deltas.append({"index": index, "function": {"arguments": args}})
                continue
            index = len(self.calls)
            self._by_key[key if key is not None else index] = index
            call = {"id": piece.get("id") or f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                    "function": {"name": piece.get("name") or "", "arguments": args}}  # fmt: skip
            self.calls.append(call)
            deltas.append({"index": index, **json.loads(json.dumps(call))})
        return deltas, text


@dataclass
class Answer:
    """A completion being assembled (non-streaming) or streamed."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))
    text: str = ""
    tools: ToolCalls = field(default_factory=ToolCalls)
    finish_reason: str | None = None


def chunk(answer: Answer, delta: dict[str, Any] | None, finish_reason: str | None = None,
          *, with_usage_field: bool = False) -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {
        "id": answer.id, "object": "chat.completion.chunk", "created": answer.created, "model": answer.model,
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }  # fmt: skip
    if with_usage_field:
        body["usage"] = None
    return body


def completion(answer: Answer, usage_: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text or (None if answer.tools.calls else "")}
    if answer.tools.calls:
        message["tool_calls"] = answer.tools.calls
    return {
        "id": answer.id, "object": "chat.completion", "created": answer.created, "model": answer.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish_reason}],
        "usage": usage_,
    }  # fmt: skip
