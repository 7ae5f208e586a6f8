"""From a validated request to a running generation: messages, the pre-run token count, a worker thread.

The engine uses the served :class:`~vlkit.models.ChatQwenVL` only through its public API and the
:class:`~vlkit.models.backends.Backend` interface — ``load()``, ``context_length`` and
``count_tokens(request)`` before a run, ``llm.stream(messages, stop=…, max_tokens=…, tools=…)`` for it — so
any backend that declares them can be served. Each generation runs on its own thread and hands its chunks
to the event loop; setting the job's ``cancel`` flag closes the model's stream, which stops ``generate`` at
the next token. Admission, the queue and the lifecycle of a run are :mod:`vlkit.serve.runner`'s.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from vlkit.errors import UserError, said_on
from vlkit.serve.fetch import UrlFetcher
from vlkit.serve.limits import check_context
from vlkit.serve.schemas import APIError, ChatCompletionRequest, ImagePart, Message, VideoPart

__all__ = ["Engine", "Job", "Event", "LOW_DETAIL_PIXELS", "MAX_VIDEO_BYTES"]

log = logging.getLogger(__name__)

LOW_DETAIL_PIXELS = 512 * 512
"""``image_url.detail = "low"``: the image is seen at most this large (OpenAI's low-resolution mode is 512×512)."""

MAX_VIDEO_BYTES = 16 * 2**20
"""Largest video a request may carry (a ``data:`` URL, or a download with ``--allow-url-fetch``) by default:
``vlkit serve --max-video-mb``. The request body limit (``--max-body-mb``) bounds a data URL too."""


@dataclass
class Event:
    """What a generation thread hands to the event loop: a chunk, the end, or an error."""

    kind: str  # "chunk" | "end" | "error"
    chunk: Any = None
    error: BaseException | None = None


@dataclass
class Job:
    """One generation, ready to run."""

    messages: list[BaseMessage]
    options: dict[str, Any]
    """Per-call options of ``ChatQwenVL.stream`` (``max_tokens`` is set by :meth:`Engine.count`)."""
    stop: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    """What the client asked for; None: the server's default, capped to the room the prompt leaves."""
    constrained: str | None = None
    """``"tools"`` or ``"response_format"`` when a schema constrains the answer (named in its errors)."""
    user: str | None = None
    """The client's end-user id (OpenAI's ``user``), written in this job's log lines."""
    prompt_tokens: int = 0
    image_tokens: int = 0
    video_tokens: int = 0
    output_tokens: int | None = None
    """Tokens generated, from the last chunk's usage (None until it arrives)."""
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None
    finished: float | None = None
    """When the generation thread stopped reading the model (monotonic)."""
    chunks: int = 0
    """Content-carrying chunks received so far (the token count of a cancelled generation)."""

    @property
    def completion_tokens(self) -> int:
        return self.output_tokens if self.output_tokens is not None else self.chunks

    @property
    def decode_rate(self) -> float | None:
        """Tokens/s after the first token, timed in the generation thread (what any consumer would see)."""
        if self.first_token is None or self.finished is None or self.completion_tokens < 2:
            return None
        seconds = self.finished - self.first_token
        return (self.completion_tokens - 1) / seconds if seconds > 0 else None


class Engine:
    """The served model: loads it, counts prompts before running them, runs generations on threads."""

    def __init__(self, llm: Any, *, name: str, max_model_len: int | None = None,
                 fetcher: UrlFetcher | None = None, max_video_bytes: int = MAX_VIDEO_BYTES) -> None:  # fmt: skip
        if llm.backend == "openai":
            raise UserError("vlkit serve runs a local model; to put an API in front of a remote server, point "
                            "clients at that server directly")  # fmt: skip
        self.llm = llm
        self.name = name
        self.fetcher = fetcher
        self.max_video_bytes = max_video_bytes
        """Largest video one request may carry (``--max-video-mb``); larger is a 400."""
        self.backend = llm.backend_impl
        native = self.backend.context_length
        self.context: int | None = min(x for x in (native, max_model_len) if x) if native or max_model_len else None
        """Most prompt + answer tokens per request (the model's, or ``--max-model-len``); None: unknown."""
        try:
            self.family = llm.family_spec()
        except UserError:  # a backend of one's own without family=: no max_pixels advice in errors
            self.family = None
        self._lock = threading.Lock()
        self._running: dict[threading.Thread, Job] = {}

    def load(self) -> None:
        """Load the weights now (not on the first request)."""
        self.backend.load()

    # ------------------------------------------------------------------ request → job

    async def job(self, req: ChatCompletionRequest) -> Job:
        """Messages and options of ``req``, image URLs fetched (the count happens in :meth:`count`)."""
        budget = req.mm_processor_kwargs
        low = min(LOW_DETAIL_PIXELS, budget and budget.max_pixels or self._default_max_pixels())
        messages = [await self._message(i, m, low) for i, m in enumerate(req.messages)]
        options: dict[str, Any] = {}
        if req.temperature is not None:
            options["temperature"] = req.temperature
        if req.top_p is not None:
            options["top_p"] = req.top_p
        if req.seed is not None:
            options["seed"] = req.seed
        if budget is not None:
            options.update({k: v for k, v in budget.model_dump().items() if v is not None})
        constrained = None
        choice = req.tool_choice
        if req.tools and choice != "none":
            options["tools"] = [t.model_dump(exclude_none=True) for t in req.tools]
            options["tool_choice"] = choice.function.name if hasattr(choice, "function") else (choice or "auto")
            if req.parallel_tool_calls is not None:
                options["parallel_tool_calls"] = req.parallel_tool_calls
            constrained = "tools"
        fmt = req.response_format
        if fmt is not None and fmt.type == "json_object":
            options["response_schema"] = {"type": "object"}
        elif fmt is not None and fmt.type == "json_schema" and fmt.json_schema is not None:
            options["response_schema"] = fmt.json_schema.schema_
            options["response_schema_name"] = fmt.json_schema.name
        if "response_schema" in options:
            constrained = "response_format"
        return Job(messages=messages, options=options, stop=req.stops, max_tokens=req.requested_max_tokens,
                   constrained=constrained, user=req.user)  # fmt: skip

    def job_for(self, messages: list[BaseMessage], *, max_tokens: int | None = None) -> Job:
        """A job for messages built on the server (the knowledge base's question with its pages)."""
        return Job(messages=messages, options={}, max_tokens=max_tokens)

    def _default_max_pixels(self) -> int:
        """The visual budget an image gets when the request names none (the model's, for its device)."""
        return self.llm.visual_budget()[1] if self.family is not None else LOW_DETAIL_PIXELS

    async def _message(self, i: int, message: Message, low: int) -> BaseMessage:
        content = message.content
        if message.role in ("system", "developer"):
            return SystemMessage(content=_text(content), name=message.name)
        if message.role == "assistant":
            calls = []
            for j, call in enumerate(message.tool_calls or []):
                try:
                    args = json.loads(call.function.arguments or "{}")
                except ValueError:
                    args = None
                if not isinstance(args, dict):
                    raise APIError(400, "tool call arguments must be a JSON object string",
                                   param=f"messages.{i}.tool_calls.{j}.function.arguments")  # fmt: skip
                calls.append({"id": call.id, "name": call.function.name, "args": args, "type": "tool_call"})
            return AIMessage(content=_text(content), tool_calls=calls, name=message.name)
        if message.role == "tool":
            if isinstance(content, list) and any(isinstance(p, (ImagePart, VideoPart)) for p in content):
                raise APIError(400, "tool messages take text; send images and videos in a user message",
                               param=f"messages.{i}.content")  # fmt: skip
            return ToolMessage(content=_text(content), tool_call_id=message.tool_call_id or "", name=message.name)
        if isinstance(content, str):
            return HumanMessage(content=content, name=message.name)
        blocks: list[Any] = []
        for j, part in enumerate(content or []):
            if isinstance(part, ImagePart):
                blocks.append(await self._image_block(part, f"messages.{i}.content.{j}.image_url.url", low))
            elif isinstance(part, VideoPart):
                blocks.append(await self._video_block(part, f"messages.{i}.content.{j}.video_url.url"))
            else:
                blocks.append({"type": "text", "text": part.text})
        return HumanMessage(content=blocks, name=message.name)

    async def _image_block(self, part: ImagePart, param: str, low: int) -> dict[str, Any]:
        """``low``: the budget of a ``detail: "low"`` image — :data:`LOW_DETAIL_PIXELS`, or the request's
        budget when that is smaller ("low" never enlarges an image)."""
        url = part.image_url.url
        budget = {"min_pixels": part.min_pixels or part.image_url.min_pixels,
                  "max_pixels": part.max_pixels or part.image_url.max_pixels}  # fmt: skip
        if budget["min_pixels"] and budget["max_pixels"] and budget["min_pixels"] > budget["max_pixels"]:
            raise APIError(400, "min_pixels is larger than max_pixels", param=param.rsplit(".", 2)[0])
        if part.image_url.detail == "low" and budget["max_pixels"] is None:
            budget["max_pixels"] = max(low, budget["min_pixels"] or 0)
        if url.startswith("data:"):
            return {"type": "image_url", "image_url": {"url": url}, **budget}
        if url.startswith(("http://", "https://")):
            if self.fetcher is None:
                raise APIError(400, "this server does not fetch image URLs; send the image as a data URL "
                               "(data:image/png;base64,…) or start the server with --allow-url-fetch", param=param)  # fmt: skip
            data = await self.fetcher.fetch(url)
            return {"type": "image", "base64": base64.b64encode(data).decode("ascii"), **budget}
        raise APIError(400, "image_url.url must be a data: URL (or an http(s) URL with --allow-url-fetch)", param=param)

    async def _video_block(self, part: VideoPart, param: str) -> dict[str, Any]:
        """A vlkit video block for ``part``: its data URL under :attr:`max_video_bytes`, or its http(s) URL
        downloaded under the same limit (``--allow-url-fetch``); the sampling options go along."""
        url = part.video_url.url
        options = part.model_dump(include={"fps", "max_frames", "start", "end", "min_pixels", "max_pixels"}, exclude_none=True)
        if options.get("min_pixels") and options.get("max_pixels") and options["min_pixels"] > options["max_pixels"]:
            raise APIError(400, "min_pixels is larger than max_pixels", param=param.rsplit(".", 2)[0])
        if url.startswith("data:"):
            size = (len(url) - url.find(",") - 1) * 3 // 4
            if size > self.max_video_bytes:
                raise APIError(400, f"the video is {size / 2**20:.1f} MiB; this server takes videos up to "
                               f"{self.max_video_bytes / 2**20:g} MiB (--max-video-mb): trim or downscale it",
                               param=param)  # fmt: skip
            return {"type": "video_url", "video_url": {"url": url}, **options}
        if url.startswith(("http://", "https://")):
            if self.fetcher is None:
                raise APIError(400, "this server does not fetch video URLs; send the video as a data URL "
                               "(data:video/mp4;base64,…) or start the server with --allow-url-fetch", param=param)  # fmt: skip
            data = await self.fetcher.fetch(url, max_bytes=self.max_video_bytes)
            return {"type": "video", "base64": base64.b64encode(data).decode("ascii"), **options}
        raise APIError(400, "video_url.url must be a data: URL (or an http(s) URL with --allow-url-fetch)", param=param)

    # ------------------------------------------------------------------ the pre-run count

    def prompt_count(self, job: Job) -> Any:
        """The backend's count of ``job``'s prompt (a ``TokenCount``; None when the backend cannot count),
        images from their header sizes, nothing decoded; a :class:`UserError` for input it cannot take."""
        request = self.llm.generation_request(job.messages, job.stop or None, **job.options)
        return self.backend.count_tokens(request)

    def count(self, job: Job) -> None:
        """Count the prompt with the backend; 400 when it cannot fit with ``max_tokens``; set the
        ``max_tokens`` the run gets. The 400's cause is the :class:`UserError`, whose words the UI shows."""
        wanted = job.max_tokens or self.llm.max_tokens
        try:
            count = self.prompt_count(job)
            if count is not None and self.context is not None:
                check_context(count, wanted, self.context, self.family, job.max_tokens is not None)
        except UserError as exc:
            raise APIError(400, said_on(exc, "http"), param="messages") from exc
        if count is not None:
            job.prompt_tokens, job.image_tokens = count.prompt_tokens, count.image_tokens
            job.video_tokens = count.video_tokens
            if self.context is not None:
                if job.max_tokens is None:
                    wanted = max(1, min(wanted, self.context - count.prompt_tokens))
        job.options["max_tokens"] = wanted

    # ------------------------------------------------------------------ running

    def start(self, job: Job, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[Event]:
        """Run ``job`` on a thread; its events arrive on the returned queue (the last is ``end`` or ``error``)."""
        events: asyncio.Queue[Event] = asyncio.Queue()

        def put(event: Event) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        thread = threading.Thread(target=self._run, args=(job, put), name="vlkit-serve-generate", daemon=True)
        with self._lock:
            self._running[thread] = job
        thread.start()
        return events

    def _run(self, job: Job, put: Any) -> None:
        stream = self.llm.stream(job.messages, stop=job.stop or None, **job.options)
        try:
            for chunk in stream:
                if job.cancel.is_set():
                    break
                if chunk.content or chunk.tool_call_chunks:
                    job.chunks += 1
                    if job.first_token is None:
                        job.first_token = time.monotonic()
                if chunk.usage_metadata:
                    job.output_tokens = int(chunk.usage_metadata["output_tokens"])
                put(Event("chunk", chunk))
            job.finished = time.monotonic()
            put(Event("end"))
        except BaseException as exc:  # handed to the event loop, which answers with an error object
            job.finished = time.monotonic()
            put(Event("error", error=exc))
        finally:
            stream.close()  # stops generate() at its next step if it is still running
            with self._lock:
                self._running.pop(threading.current_thread(), None)

    def cancel_all(self) -> int:
        """Ask every running generation to stop at its next token; how many were running."""
        with self._lock:
            jobs = list(self._running.values())
        for job in jobs:
            job.cancel.set()
        return len(jobs)

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the generation threads to end (before the process exits, so no thread
        is inside torch when the interpreter shuts down); False if one is still running."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._running)
            if not threads:
                return True
            threads[0].join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                with self._lock:
                    return not self._running


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(getattr(part, "text", "") for part in content)
