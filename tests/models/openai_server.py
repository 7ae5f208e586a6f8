"""A scripted OpenAI-compatible chat server on 127.0.0.1, standard library only.

It records every request (path, headers, JSON body) and answers from a queue of :class:`Reply`
objects: SSE chat-completion streams, error statuses, garbled bodies, slow answers.

Example::

    with FakeOpenAIServer() as server:
        server.queue(text_stream(["Hel", "lo"], usage=(12, 2)))
        backend = OpenAIBackend("m", server.base_url, timeout=2, max_retries=0)
        ...
        assert server.requests[0].body["stream"] is True
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "FakeOpenAIServer",
    "RecordedRequest",
    "Reply",
    "chunk",
    "error_reply",
    "sse_reply",
    "text_stream",
    "tool_call_stream",
    "usage_chunk",
]


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None


@dataclass
class Reply:
    """One scripted answer. A list ``body`` is written piece by piece, flushed after each (SSE)."""

    status: int = 200
    body: bytes | list[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering (for timeout tests)."""


class FakeOpenAIServer:
    """A threaded HTTP server on an ephemeral loopback port; use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval keeps shutdown (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order."""
        with self._lock:
            self._replies.extend(replies)

    def next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._replies:
                return self._replies.popleft()
        return error_reply(500, f"no scripted reply left for {request.method} {request.path}", retry=False)

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, and a streamed body simply ends when the socket closes.
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def _answer(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
            reply = server.next_reply(request)
            if reply.delay:
                time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                streamed = isinstance(reply.body, list)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if not streamed:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                for piece in reply.body if streamed else [reply.body]:
                    self.wfile.write(piece)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first (timeout tests)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


# ---------------------------------------------------------------------------------------- builders


def chunk(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
    role: str | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with a single choice."""
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def usage_chunk(prompt_tokens: int, completion_tokens: int, image_tokens: int | None = None) -> dict[str, Any]:
    """The last chunk a server sends when asked ``stream_options={"include_usage": True}``."""
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if image_tokens is not None:
        usage["prompt_tokens_details"] = {"image_tokens": image_tokens}
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "test-model",
        "choices": [],
        "usage": usage,
    }


def sse_reply(*events: dict[str, Any] | str | bytes, done: bool = True) -> Reply:
    """An SSE stream: dicts become ``data: {json}``, str/bytes are sent verbatim; ends with ``[DONE]``."""
    pieces: list[bytes] = []
    for event in events:
        if isinstance(event, dict):
            pieces.append(f"data: {json.dumps(event)}\n\n".encode())
        else:
            pieces.append(event.encode() if isinstance(event, str) else event)
    if done:
        pieces.append(b"data: [DONE]\n\n")
    return Reply(200, pieces, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})


def text_stream(
    pieces: list[str], *, finish_reason: str = "stop", usage: tuple[int, int] | None = (10, 2)
) -> Reply:
    """A plain text answer streamed in ``pieces``, then the finish chunk and the usage chunk."""
    events = [chunk("", role="assistant")] + [chunk(p) for p in pieces] + [chunk(finish_reason=finish_reason)]
    if usage is not None:
        events.append(usage_chunk(*usage))
    return sse_reply(*events)


def tool_call_stream(
    calls: list[tuple[str, str, dict[str, Any]]],
    *,
    usage: tuple[int, int] = (30, 12),
    finish_reason: str = "tool_calls",
) -> Reply:
    """Native tool calls ``(id, name, args)`` streamed the way vLLM does: name first, then the
    arguments JSON split in two pieces."""
    events: list[dict[str, Any]] = [chunk(role="assistant")]
    for index, (call_id, name, args) in enumerate(calls):
        arguments = json.dumps(args)
        half = len(arguments) // 2
        events.append(
            chunk(
                tool_calls=[
                    {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
                ]
            )
        )
        for piece in (arguments[:half], arguments[half:]):
            events.append(chunk(tool_calls=[{"index": index, "function": {"arguments": piece}}]))
    events += [chunk(finish_reason=finish_reason), usage_chunk(*usage)]
    return sse_reply(*events)


def error_reply(status: int, message: str, *, style: str = "openai", retry: bool | None = None) -> Reply:
    """An error answer. ``style``: ``"openai"`` → ``{"error": {"message", "type", "code"}}``,
    ``"vllm"`` → vLLM's flat ``{"object": "error", "message", ...}``, ``"ollama"`` → ``{"error": "..."}``.
    ``retry`` sets ``x-should-retry`` so the openai client's retry decision is explicit."""
    if style == "openai":
        payload: dict[str, Any] = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    elif style == "vllm":
        payload = {"object": "error", "message": message, "type": "BadRequestError", "param": None, "code": status}
    else:
        payload = {"error": message}
    headers = {"Content-Type": "application/json", "retry-after-ms": "10"}
    if retry is not None:
        headers["x-should-retry"] = "true" if retry else "false"
    return Reply(status, json.dumps(payload).encode(), headers)
