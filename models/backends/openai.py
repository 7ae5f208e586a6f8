"""Any OpenAI-compatible chat server (vLLM, SGLang, LMDeploy, Ollama) as a vlkit :class:`Backend`.

The backend always streams: each content piece becomes a :class:`Delta` with ``text``, each native
tool-call piece a :class:`Delta` with ``tool_call_chunks``, and a last :class:`Delta` carries
``usage`` and ``finish_reason``. Server and network failures become :class:`ServerUnreachableError`
or :class:`ServerResponseError` with a message that says what to do.

Example::

    backend = OpenAIBackend("Qwen/Qwen2.5-VL-3B-Instruct", "http://localhost:8000/v1")
    request = GenerationRequest(turns=to_turns([HumanMessage("Describe the sky in one word.")]))
    print("".join(delta.text for delta in backend.stream(request)))

Image budgets: request-level ``min_pixels`` / ``max_pixels`` go to the server as
``extra_body={"mm_processor_kwargs": {...}}``, which vLLM applies to every image of the request.
A per-image budget is sent as extra ``min_pixels`` / ``max_pixels`` fields on that image's content
part (the qwen-vl-utils spelling); servers that do not read them ignore them.

Videos go out as ``{"type": "video_url", "video_url": {"url": …}}`` parts (what vLLM and ``vlkit serve``
accept): a remote video as its URL (the server fetches it), a local file or bytes as a ``data:video/…``
URL, with the block's ``fps`` / ``max_frames`` / ``start`` / ``end`` / pixel budget as extra fields.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import os
from typing import TYPE_CHECKING, Any, Iterator

from vlkit.errors import (
    RAISE_VIDEO_LIMIT,
    ServerResponseError,
    ServerUnreachableError,
    UnsupportedContentError,
    UserError,
    VideoTooLargeError,
    VideoUnreadableError,
    VlkitError,
)
from vlkit.extras import require
from vlkit.models.backends.base import Backend, Delta, GenerationRequest, Usage
from vlkit.vision.loading import ImageInput
from vlkit.vision.video.inputs import VideoInput
from vlkit.vision.video.limits import MAX_VIDEO_BYTES
from vlkit.models.messages import Part, Turn

if TYPE_CHECKING:
    import openai

__all__ = ["OpenAIBackend", "env_api_key", "resolve_api_key", "to_openai_messages"]

logger = logging.getLogger(__name__)

PLACEHOLDER_API_KEY = "EMPTY"
"""What vLLM, SGLang, LMDeploy and Ollama accept when they were started without an API key."""

_TOOL_CHOICE_MODES = {"auto", "none", "required"}
_FINISH_REASONS = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls"}


class OpenAIBackend(Backend):
    """Generate with a model served behind an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    Args:
        model: the model name the server serves (``GET {base_url}/models`` lists them).
        base_url: the API root, usually ending in ``/v1`` (``http://localhost:8000/v1`` for vLLM,
            ``http://localhost:11434/v1`` for Ollama).
        api_key: the server's key; when None, ``VLKIT_API_KEY``, then ``OPENAI_API_KEY``, then the
            placeholder ``"EMPTY"`` that key-less local servers accept.
        timeout: seconds to wait for the connection and for each read of the answer.
        max_retries: how often the openai client retries 408/409/429/5xx answers and dropped connections.
        native_tools: send ``tools`` / ``tool_choice`` in the request. Pass False for servers that
            were started without a tool-call parser; the chat model then renders tools into the prompt.
    """

    native_tools: bool = True  # set per instance; shadows Backend.native_tools

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        max_retries: int = 2,
        native_tools: bool = True,
    ) -> None:
        openai = require("openai", "openai", "OpenAI-compatible servers (vLLM, SGLang, LMDeploy, Ollama)")
        if not base_url.startswith(("http://", "https://")):
            raise UserError(
                f"base_url {base_url!r} must start with http:// or https:// (for example http://localhost:8000/v1)"
            )
        from openai.types.chat.chat_completion_chunk import Choice

        self._openai = openai
        self._choice_type = Choice
        self.model_name = model
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.native_tools = native_tools
        self._client = openai.OpenAI(
            api_key=resolve_api_key(api_key),
            base_url=self.base_url,
            timeout=timeout,
            max_retries=max_retries,
        )

    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        """Send ``request`` as one streamed chat completion and yield its pieces.

        Raises:
            ServerUnreachableError: connection refused, DNS failure or timeout.
            ServerResponseError: an HTTP error status, an error event in the stream, or a malformed stream.
        """
        params = self._params(request)
        logger.debug(
            "POST %s/chat/completions model=%s messages=%d tools=%d",
            self.base_url,
            self.model_name,
            len(params["messages"]),
            len(params.get("tools", [])),
        )
        started = False
        try:
            chunks = self._client.chat.completions.create(**params)
            started = True
            with chunks:
                yield from self._read(chunks)
        except self._openai.APIError as exc:
            raise self._translate(exc, started=started) from exc
        except json.JSONDecodeError as exc:
            raise ServerResponseError(
                f"the server at {self.base_url} sent a malformed stream (an event is not JSON: {exc}); "
                "check that base_url points at an OpenAI-compatible API"
            ) from exc

    def close(self) -> None:
        """Release the HTTP connections (the backend cannot be used afterwards)."""
        self._client.close()

    # ``loaded`` stays True and ``load`` a no-op (Backend's defaults): the weights live in the server.

    @property
    def supports_video(self) -> bool:
        """True: videos go to the server as ``video_url`` parts (vLLM and ``vlkit serve`` take them)."""
        return True

    @property
    def context_length(self) -> int | None:
        """None: the OpenAI API does not report a model's context length (vLLM's ``max_model_len`` in
        ``/models`` is an extension), so vlkit does not guess one; the server refuses what does not fit."""
        return None

    def count_tokens(self, request: GenerationRequest) -> None:
        """None: the OpenAI API cannot tokenize a prompt without running it, and an estimate (characters/4,
        images from a guessed family and budget) would refuse prompts that fit or admit ones that do not.
        The server answers HTTP 400 for a prompt over its context, which :meth:`stream` raises as
        :class:`ServerResponseError`; the exact count arrives in the last delta's ``usage``."""
        return None

    # ------------------------------------------------------------------------------------ request

    def _params(self, request: GenerationRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model_name,
            "messages": to_openai_messages(self.prompt_turns(request)[0]),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.top_p is not None:
            params["top_p"] = request.top_p
        if request.seed is not None:
            params["seed"] = request.seed
        if request.stop:
            params["stop"] = list(request.stop)
        if request.tools and self.native_tools:
            params["tools"] = request.tools
            if request.tool_choice is not None:
                params["tool_choice"] = _tool_choice(request.tool_choice)
        if request.response_schema is not None:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.response_schema_name,
                    "schema": request.response_schema,
                    "strict": True,
                },
            }
        budget = {
            key: value
            for key, value in (("min_pixels", request.min_pixels), ("max_pixels", request.max_pixels))
            if value is not None
        }
        if budget:
            params["extra_body"] = {"mm_processor_kwargs": budget}
        return params

    # ------------------------------------------------------------------------------------ answer

    def _read(self, chunks: Iterator[Any]) -> Iterator[Delta]:
        finish_reason: str | None = None
        usage: Usage | None = None
        for chunk in chunks:
            text, calls, reason, chunk_usage = self._unpack(chunk)
            if text or calls:
                yield Delta(text=text, tool_call_chunks=calls)
            finish_reason = reason or finish_reason
            usage = chunk_usage or usage
        if finish_reason is None:
            raise ServerResponseError(
                f"the stream from {self.base_url} ended without a finish_reason (the answer is incomplete); "
                "check the server log for a crash or an out-of-memory error"
            )
        # "stop" after tool calls (older vLLM tool parsers, Ollama) is set right by the chat model's
        # ToolCallStream, which also sees calls written as Hermes text.
        finish_reason = _FINISH_REASONS.get(finish_reason, finish_reason)
        if usage is None:
            logger.debug("the server at %s reported no token usage", self.base_url)
        yield Delta(usage=usage, finish_reason=finish_reason)

    def _unpack(self, chunk: Any) -> tuple[str, list[dict[str, Any]], str | None, Usage | None]:
        """One chunk → (text, tool-call chunks, finish_reason, usage); refuses chunks of the wrong shape."""
        try:
            usage = _usage(chunk.usage) if getattr(chunk, "usage", None) is not None else None
            text, calls, reason = "", [], None
            choices = chunk.choices or []
            if not isinstance(choices, list) or not all(isinstance(c, self._choice_type) for c in choices):
                raise TypeError("'choices' must be a list of choice objects")
            for choice in choices:
                if choice.index not in (0, None):
                    continue
                delta = choice.delta
                if delta is not None:
                    text += delta.content or ""
                    calls += [_tool_call_chunk(call) for call in delta.tool_calls or []]
                reason = choice.finish_reason or reason
            if not isinstance(text, str) or (reason is not None and not isinstance(reason, str)):
                raise TypeError("content and finish_reason must be strings")
        except (AttributeError, TypeError, ValueError) as exc:
            raise ServerResponseError(
                f"the server at {self.base_url} sent a malformed stream chunk ({exc}): {_preview(chunk)}"
            ) from None
        return text, calls, reason, usage

    # ------------------------------------------------------------------------------------ errors

    def _translate(self, exc: Exception, *, started: bool) -> VlkitError:
        openai = self._openai
        if isinstance(exc, openai.APITimeoutError):
            return ServerUnreachableError(
                f"the server at {self.base_url} did not answer within {self.timeout:g} s; it may still be loading "
                "the model or be overloaded: wait, raise the timeout, or check the server log"
            )
        if isinstance(exc, openai.APIConnectionError):
            detail = f"{exc.__cause__}" if exc.__cause__ is not None else exc.message
            if started:
                return ServerResponseError(f"the connection to {self.base_url} broke mid-answer: {detail}")
            return ServerUnreachableError(
                f"cannot reach the server at {self.base_url}: {detail}; is vLLM/Ollama running? "
                "start it or pass --base-url"
            )
        if isinstance(exc, openai.APIStatusError):
            message = _error_message(exc.body) or exc.message
            hint = self._hint(exc.status_code)
            return ServerResponseError(
                f"the server at {self.base_url} answered HTTP {exc.status_code}: {message}{hint}",
                status_code=exc.status_code,
                body=_response_text(exc),
            )
        # An error event inside the stream (vLLM sends {"error": {...}} when generation fails).
        message = _error_message(exc.body) or str(exc)
        return ServerResponseError(
            f"the server at {self.base_url} reported an error mid-stream: {message}",
            body=json.dumps(exc.body) if exc.body is not None else None,
        )

    def _hint(self, status: int) -> str:
        if status in (401, 403):
            return "; pass api_key or set VLKIT_API_KEY to the server's key"
        if status == 404:
            return (
                f"; check that the server serves model '{self.model_name}' (GET {self.base_url}/models) "
                "and that base_url ends in /v1"
            )
        return ""


def env_api_key() -> str | None:
    """``VLKIT_API_KEY``, else ``OPENAI_API_KEY``, else None: the one place vlkit reads a key from the environment."""
    return os.environ.get("VLKIT_API_KEY") or os.environ.get("OPENAI_API_KEY") or None


def resolve_api_key(api_key: str | None) -> str:
    """The explicit key, else :func:`env_api_key`, else ``"EMPTY"`` (what key-less local servers accept)."""
    return api_key or env_api_key() or PLACEHOLDER_API_KEY


# ---------------------------------------------------------------------------------------- messages


def to_openai_messages(turns: list[Turn]) -> list[dict[str, Any]]:
    """vlkit turns → OpenAI chat messages (images and videos as data URLs or their remote http(s) URL)."""
    messages: list[dict[str, Any]] = []
    tool_images: list[dict[str, Any]] = []
    for position, turn in enumerate(turns):
        if turn.role == "tool":
            # Servers reject images in tool messages: the tool message keeps the text, and the images of a
            # run of tool results follow in one user message (tool messages must directly follow the call).
            media = [part for part in turn.content if not isinstance(part, str)]
            text = turn.text or ("(the result is the image below)" if media else "")
            messages.append({"role": "tool", "tool_call_id": turn.tool_call_id or "", "content": text})
            if media:
                label = f"Image(s) returned by tool '{turn.name or 'tool'}' (call {turn.tool_call_id or '?'}):"
                tool_images += [{"type": "text", "text": label}, *(_media_part(part) for part in media)]
            following = turns[position + 1].role if position + 1 < len(turns) else None
            if tool_images and following != "tool":
                messages.append({"role": "user", "content": tool_images})
                tool_images = []
        elif turn.role == "user":
            messages.append({"role": "user", "content": _content_parts(turn)})
        elif turn.role == "assistant":
            message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
            if turn.tool_calls:
                message["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.args, ensure_ascii=False)},
                    }
                    for call in turn.tool_calls
                ]
            elif message["content"] is None:
                message["content"] = ""
            if turn.images or turn.videos:
                logger.warning("images and videos in an assistant message are not sent to the server")
            messages.append(message)
        else:
            if turn.images or turn.videos:
                logger.warning("images and videos in a system message are not sent to the server")
            messages.append({"role": turn.role, "content": turn.text})
    return messages


def _content_parts(turn: Turn) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in turn.content:
        parts.append({"type": "text", "text": part} if isinstance(part, str) else _media_part(part))
    return parts


def _media_part(part: Part) -> dict[str, Any]:
    return _video_part(part) if isinstance(part, VideoInput) else _image_part(part)  # type: ignore[arg-type]


def _image_part(image: ImageInput) -> dict[str, Any]:
    url = image.url if image.is_remote else image.to_data_url()
    part: dict[str, Any] = {"type": "image_url", "image_url": {"url": url}}
    if image.min_pixels is not None:
        part["min_pixels"] = image.min_pixels
    if image.max_pixels is not None:
        part["max_pixels"] = image.max_pixels
    return part


def _video_part(video: VideoInput) -> dict[str, Any]:
    """A ``video_url`` part: the remote URL as given (the server fetches it), else the bytes as a data URL."""
    if video.is_remote:
        url = video.url or ""
    elif video.frames is not None:
        raise UnsupportedContentError(
            f"a video given as a list of frames ({video.source}) cannot be sent to an OpenAI-compatible server, "
            "whose video_url takes a video file; send the video file, or the frames as images"
        )
    else:
        url = f"data:{_video_mime(video)};base64,{base64.b64encode(_video_bytes(video)).decode('ascii')}"
    part: dict[str, Any] = {"type": "video_url", "video_url": {"url": url}}
    for key in ("fps", "max_frames", "min_pixels", "max_pixels", "start", "end"):
        value = getattr(video, key)
        if value is not None:
            part[key] = value
    return part


def _video_bytes(video: VideoInput) -> bytes:
    """The encoded video, refused over :data:`MAX_VIDEO_BYTES` (it travels base64-encoded in one request)."""
    if video.data is not None:
        return video.data
    path = video.path
    try:
        size = path.stat().st_size if path is not None else 0
        if size > MAX_VIDEO_BYTES:
            raise VideoTooLargeError(
                f"{video.source} is {size / 2**20:.0f} MiB; a video sent to a server travels in the request, up to "
                f"{MAX_VIDEO_BYTES / 2**20:.0f} MiB (", RAISE_VIDEO_LIMIT, ", or put it at an http(s) URL the server "
                "can fetch)",
            )
        return path.read_bytes() if path is not None else b""
    except OSError as exc:
        raise VideoUnreadableError(f"cannot read video {video.source}: {exc.strerror or exc}") from None


def _video_mime(video: VideoInput) -> str:
    if video.mime_type:
        return video.mime_type
    guessed = mimetypes.guess_type(str(video.path))[0] if video.path is not None else None
    return guessed if guessed and guessed.startswith("video/") else "video/mp4"


def _tool_choice(choice: str) -> str | dict[str, Any]:
    if choice in _TOOL_CHOICE_MODES:
        return choice
    return {"type": "function", "function": {"name": choice}}


# ---------------------------------------------------------------------------------------- answer parts


def _tool_call_chunk(call: Any) -> dict[str, Any]:
    function = call.function
    return {
        "index": call.index,
        "id": call.id,
        "name": function.name if function is not None else None,
        "args": function.arguments if function is not None else None,
    }


def _usage(usage: Any) -> Usage:
    details = getattr(usage, "prompt_tokens_details", None)
    image_tokens = getattr(details, "image_tokens", None) if details is not None else None
    video_tokens = getattr(details, "video_tokens", None) if details is not None else None  # vlkit serve's
    return Usage(
        input_tokens=int(usage.prompt_tokens or 0),
        output_tokens=int(usage.completion_tokens or 0),
        image_tokens=int(image_tokens or 0),
        video_tokens=int(video_tokens or 0),
    )


def _error_message(body: object) -> str | None:
    """The human part of an error body: OpenAI ``{"message"}``, vLLM's flat form, or Ollama's string."""
    if isinstance(body, str):
        return body.strip() or None
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, str):
            return inner
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(body.get("detail"), str):  # FastAPI's default error shape
            return body["detail"]
    return None


def _response_text(exc: openai.APIStatusError) -> str | None:
    try:
        return exc.response.text
    except Exception:  # a streamed body that cannot be read again
        return None


def _preview(chunk: Any, limit: int = 200) -> str:
    try:
        text = json.dumps(chunk.model_dump(warnings=False) if hasattr(chunk, "model_dump") else chunk, default=str)
    except Exception:
        text = repr(chunk)
    return text if len(text) <= limit else text[:limit] + "…"
