"""From a validated request to a running generation: messages, the pre-run token count, a worker thread.

The model is one :class:`~vlkit.models.ChatQwenVL` (transformers backend), used through its public API:
``stream(messages, stop=…, max_tokens=…, tools=…, tool_choice=…, response_schema=…)``. Each generation runs
on its own thread and hands its chunks to the event loop; setting the job's ``cancel`` flag closes the
model's stream, which stops ``generate`` at the next token (its stopping criterion reads the same flag).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from vlkit.errors import UserError
from vlkit.models.backends.base import GenerationRequest
from vlkit.models.images import ImageLimits
from vlkit.models.messages import to_turns
from vlkit.serve.fetch import UrlFetcher
from vlkit.serve.limits import check_context, image_costs
from vlkit.serve.schemas import APIError, ChatCompletionRequest, ImagePart, Message

__all__ = ["Engine", "Job", "Event"]

log = logging.getLogger(__name__)


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
    stop: list[str]
    prompt_tokens: int = 0
    image_tokens: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None
    chunks: int = 0
    """Content-carrying chunks received so far (the token count of a cancelled generation)."""


class Engine:
    """The served model: loads it, counts prompts before running them, runs generations on threads."""

    def __init__(self, llm: Any, *, name: str, max_model_len: int | None = None,
                 fetcher: UrlFetcher | None = None) -> None:  # fmt: skip
        if llm.backend != "transformers":
            raise UserError("vlkit serve runs a local model (backend='transformers'); to put an API in front of a "
                            "remote server, point clients at that server directly")
        self.llm = llm
        self.name = name
        self.fetcher = fetcher
        self.limits = ImageLimits(max_bytes=llm.max_image_bytes, max_pixels=llm.max_image_pixels)
        self._max_model_len = max_model_len
        self.family = llm.family_spec()

    def load(self) -> None:
        """Load the weights now (not on the first request)."""
        loaded = self.llm.backend_impl.loaded
        self.device = loaded.device
        config = loaded.model.config
        text = getattr(config, "text_config", None) or config
        native = int(getattr(text, "max_position_embeddings", None) or getattr(config, "max_position_embeddings", 32768))
        self.context = min(native, self._max_model_len) if self._max_model_len else native

    # ------------------------------------------------------------------ request → job

    async def job(self, req: ChatCompletionRequest) -> Job:
        """Messages and options of ``req``, images fetched and counted; 400 if the prompt cannot fit."""
        messages = [await self._message(i, m) for i, m in enumerate(req.messages)]
        options: dict[str, Any] = {}
        if req.temperature is not None:
            options["temperature"] = req.temperature
        if req.top_p is not None:
            options["top_p"] = req.top_p
        if req.seed is not None:
            options["seed"] = req.seed
        budget = req.mm_processor_kwargs
        if budget is not None:
            options.update({k: v for k, v in budget.model_dump().items() if v is not None})
        choice = req.tool_choice
        if req.tools and choice != "none":
            options["tools"] = [t.model_dump(exclude_none=True) for t in req.tools]
            options["tool_choice"] = choice.function.name if hasattr(choice, "function") else (choice or "auto")
            if req.parallel_tool_calls is not None:
                options["parallel_tool_calls"] = req.parallel_tool_calls
        fmt = req.response_format
        if fmt is not None and fmt.type == "json_object":
            options["response_schema"] = {"type": "object"}
        elif fmt is not None and fmt.type == "json_schema" and fmt.json_schema is not None:
            options["response_schema"] = fmt.json_schema.schema_
            options["response_schema_name"] = fmt.json_schema.name
        job = Job(messages=messages, options=options, stop=req.stops)
        await asyncio.to_thread(self._count, job, req.requested_max_tokens)
        return job

    async def _message(self, i: int, message: Message) -> BaseMessage:
        content = message.content
        if message.role in ("system", "developer"):
            return SystemMessage(content=_text(content))
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
            return AIMessage(content=_text(content), tool_calls=calls)
        if message.role == "tool":
            if isinstance(content, list) and any(isinstance(p, ImagePart) for p in content):
                raise APIError(400, "tool messages take text; send images in a user message", param=f"messages.{i}.content")
            return ToolMessage(content=_text(content), tool_call_id=message.tool_call_id or "")
        if isinstance(content, str):
            return HumanMessage(content=content)
        blocks: list[Any] = []
        for j, part in enumerate(content or []):
            if isinstance(part, ImagePart):
                blocks.append(await self._image_block(part, f"messages.{i}.content.{j}.image_url.url"))
            else:
                blocks.append({"type": "text", "text": part.text})
        return HumanMessage(content=blocks)

    async def _image_block(self, part: ImagePart, param: str) -> dict[str, Any]:
        url = part.image_url.url
        budget = {"min_pixels": part.min_pixels or part.image_url.min_pixels,
                  "max_pixels": part.max_pixels or part.image_url.max_pixels}  # fmt: skip
        if budget["min_pixels"] and budget["max_pixels"] and budget["min_pixels"] > budget["max_pixels"]:
            raise APIError(400, "min_pixels is larger than max_pixels", param=param.rsplit(".", 2)[0])
        if url.startswith("data:"):
            return {"type": "image_url", "image_url": {"url": url}, **budget}
        if url.startswith(("http://", "https://")):
            if self.fetcher is None:
                raise APIError(400, "this server does not fetch image URLs; send the image as a data URL "
                               "(data:image/png;base64,…) or start the server with --allow-url-fetch", param=param)  # fmt: skip
            data = await self.fetcher.fetch(url)
            return {"type": "image", "base64": base64.b64encode(data).decode("ascii"), **budget}
        raise APIError(400, "image_url.url must be a data: URL (or an http(s) URL with --allow-url-fetch)", param=param)

    def _count(self, job: Job, max_tokens: int | None) -> None:
        """The pre-run token count: images from their header sizes first (cheap), then the exact prompt."""
        try:
            turns = to_turns(job.messages, self.limits)
        except UserError as exc:
            raise APIError(400, str(exc), param="messages") from None
        images = [image for turn in turns for image in turn.images]
        options = job.options
        costs = image_costs(images, self.family, self.device, options.get("min_pixels"), options.get("max_pixels"))
        explicit = max_tokens is not None
        wanted = max_tokens or self.llm.max_tokens
        request = GenerationRequest(
            turns=turns, tools=options.get("tools"), tool_choice=options.get("tool_choice"),
            min_pixels=options.get("min_pixels"), max_pixels=options.get("max_pixels"),
        )  # fmt: skip
        visual = sum(c.tokens for c in costs)
        if visual + (wanted if explicit else 1) > self.context:
            # the images alone are too many: say so before any pixel is decoded (text counted without them,
            # plus the two vision start/end tokens around each image)
            text_only = [replace(t, content=[p for p in t.content if isinstance(p, str)]) for t in turns]
            text_tokens = int(self.llm.backend_impl.prepare(replace(request, turns=text_only)).input_ids.shape[1])
            check_context(text_tokens + 2 * len(costs) + visual, costs, wanted, self.context, self.family, explicit)
        try:
            prepared = self.llm.backend_impl.prepare(request)
        except UserError as exc:
            raise APIError(400, str(exc), param="messages") from None
        job.prompt_tokens = int(prepared.input_ids.shape[1])
        job.image_tokens = int(prepared.image_tokens)
        del prepared
        check_context(job.prompt_tokens, costs, wanted, self.context, self.family, explicit)
        options["max_tokens"] = wanted if explicit else max(1, min(wanted, self.context - job.prompt_tokens))

    # ------------------------------------------------------------------ running

    def start(self, job: Job, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[Event]:
        """Run ``job`` on a thread; its events arrive on the returned queue (the last is ``end`` or ``error``)."""
        events: asyncio.Queue[Event] = asyncio.Queue()

        def put(event: Event) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        threading.Thread(target=self._run, args=(job, put), name="vlkit-serve-generate", daemon=True).start()
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
                put(Event("chunk", chunk))
            else:
                put(Event("end"))
                return
            log.info("generation cancelled after %d token(s): the client disconnected", job.chunks)
            put(Event("end"))
        except BaseException as exc:  # handed to the event loop, which answers with an error object
            put(Event("error", error=exc))
        finally:
            stream.close()  # stops generate() at its next step if it is still running


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(getattr(part, "text", "") for part in content)
