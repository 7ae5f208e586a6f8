"""The OpenAI-compatible HTTP API (FastAPI): chat completions, models, health, metrics, the knowledge base.

``create_app(engine, config)`` builds the app; ``vlkit serve`` runs it with uvicorn and mounts the Gradio
UI at ``/``. Every bad request is a 4xx with ``{"error": {message, type, param, code}}``; a 500 is a bug
(it is logged with its traceback and answered in the same shape).

Example:
    ```python
    from vlkit.models import ChatQwenVL
    from vlkit.serve.app import ServeConfig, create_app
    from vlkit.serve.engine import Engine

    from vlkit.serve.server import listen, run

    engine = Engine(ChatQwenVL(model="Qwen/Qwen2-VL-2B-Instruct"), name="qwen2-vl")
    engine.load()
    app = create_app(engine, ServeConfig())
    run(app, listen("127.0.0.1", 8000), app.state.runner)   # Ctrl-C cancels running generations, exits cleanly
    ```
"""

import asyncio
import contextlib
import hmac
import logging
from typing import Any, AsyncIterator

from pydantic import BaseModel, ConfigDict, Field

from vlkit.errors import UserError
from vlkit.extras import require
from vlkit.serve import responses
from vlkit.serve.engine import Engine
from vlkit.serve.limits import Limiter
from vlkit.serve.metrics import Metrics
from vlkit.serve.runner import Runner
from vlkit.serve.schemas import APIError, ChatCompletionRequest, parse_body

__all__ = ["ServeConfig", "create_app", "read_body"]

log = logging.getLogger(__name__)


class ServeConfig(BaseModel):
    """Limits and switches of one ``vlkit serve`` process."""

    model_config = ConfigDict(extra="forbid")

    api_key: str | None = None
    """Require ``Authorization: Bearer <key>`` on /v1 routes (401 otherwise)."""
    max_concurrency: int = Field(default=1, ge=1)
    """Generations at once (the model decodes one sequence per forward pass; more overlap image prep)."""
    queue: int = Field(default=16, ge=0)
    """Requests that may wait for a slot; beyond that, 429 with Retry-After."""
    max_body_bytes: int = Field(default=32 * 2**20, ge=1024)
    """Largest request body; larger is 413."""


def create_app(engine: Engine, config: ServeConfig, *, kb: Any = None) -> Any:
    """The FastAPI app serving ``engine`` under ``config``; ``kb`` adds /v1/kb routes (see :mod:`.kb`)."""
    fastapi = require("fastapi", "serve", "vlkit serve")
    from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = fastapi.FastAPI(title="vlkit serve", docs_url=None, redoc_url=None, openapi_url=None)
    limiter = Limiter(config.max_concurrency, config.queue)
    metrics = Metrics(gauges={
        "queue_depth": lambda: limiter.waiting, "active_generations": lambda: limiter.active,
        "context_tokens": lambda: engine.context or 0,
    })  # fmt: skip
    runner = Runner(engine, limiter, metrics)
    app.state.engine, app.state.runner, app.state.metrics, app.state.config = engine, runner, metrics, config

    def error_response(exc: APIError, route: str) -> Any:
        metrics.request(route, exc.status)
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(APIError)
    async def _api_error(request: Any, exc: APIError) -> Any:
        return error_response(exc, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Any, exc: Any) -> Any:
        message = "not found: the API is under /v1 (POST /v1/chat/completions, GET /v1/models)" if exc.status_code == 404 \
            else str(exc.detail)  # fmt: skip
        return error_response(APIError(exc.status_code, message), "other")

    @app.exception_handler(UserError)
    async def _user_error(request: Any, exc: UserError) -> Any:  # a bad image, document or option: the client's to fix
        return error_response(APIError(400, str(exc)), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Any, exc: Any) -> Any:
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return error_response(APIError(400, f"{param or 'request'}: {first.get('msg', 'invalid')}", param=param), "other")

    @app.exception_handler(Exception)
    async def _bug(request: Any, exc: Exception) -> Any:
        log.exception("internal error on %s", request.url.path)
        return error_response(APIError(500, f"internal error ({exc.__class__.__name__}); see the server log"), request.url.path)

    def authorize(request: Any) -> None:
        if config.api_key is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), config.api_key.encode()):
            raise APIError(401, "missing or wrong API key: send 'Authorization: Bearer <key>' with the key the "
                           "server was started with (--api-key)", headers={"WWW-Authenticate": "Bearer"})  # fmt: skip

    @app.get("/health")
    async def health() -> Any:
        return {"status": "ok", "model": engine.name}

    @app.get("/metrics")
    async def prometheus() -> Any:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/v1/models")
    async def models(request: Request) -> Any:
        authorize(request)
        return {"object": "list", "data": [{"id": engine.name, "object": "model", "created": 0, "owned_by": "vlkit",
                                            "max_model_len": engine.context}]}  # fmt: skip

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        route = "/v1/chat/completions"
        authorize(request)
        ticket = runner.admit()
        handed_over = False
        try:
            raw = await read_body(request, config.max_body_bytes)
            req = parse_body(raw, ChatCompletionRequest)
            if req.model != engine.name:
                raise APIError(404, f"The model `{req.model}` does not exist; this server serves `{engine.name}` "
                               "(GET /v1/models)", param="model")  # fmt: skip
            job = await _unless_gone(request, engine.job(req))
            if job is _GONE:
                return _client_gone(metrics)
            chunks = runner.run(ticket, job)  # the one path: slot, count, generation, metrics, release
            try:
                first = await _unless_gone(request, anext(chunks, None))
                if first is _GONE:  # the run was cancelled where it waited: slot released, generation stopped
                    return _client_gone(metrics)
                answer = responses.Answer(model=engine.name)
                if req.stream:
                    handed_over = True  # the body generator closes the run
                    body = _stream(req, answer, first, chunks, job)
                    metrics.request(route, 200)
                    return StreamingResponse(body, media_type="text/event-stream",
                                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})  # fmt: skip
                usage = None
                chunk = first
                while chunk is not None:
                    usage = _apply(chunk, answer, job) or usage
                    chunk = await _unless_gone(request, anext(chunks, None))
                    if chunk is _GONE:
                        return _client_gone(metrics)
            finally:
                if not handed_over:
                    await chunks.aclose()
            metrics.request(route, 200)
            return JSONResponse(responses.completion(answer, usage or responses.usage(job.prompt_tokens, 0, 0)))
        finally:
            if not handed_over:
                ticket.release()

    if kb is not None:
        from vlkit.serve.kb import add_kb_routes

        add_kb_routes(app, kb, runner, authorize=authorize, read=lambda r: read_body(r, config.max_body_bytes))

    @app.api_route("/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(path: str) -> Any:  # before the UI's mount at "/", which would answer in its own shape
        kb_routes = ", POST /v1/kb/search, POST /v1/kb/ask" if kb is not None else ""
        routes = f"POST /v1/chat/completions, GET /v1/models{kb_routes}"
        hint = "" if kb is not None or not path.startswith("kb/") else " (the knowledge base needs a document index)"
        raise APIError(404, f"no route /v1/{path[:200]}: this server has {routes}{hint}")

    return app


# ---------------------------------------------------------------------------------------------- helpers


async def read_body(request: Any, limit: int) -> bytes:
    """The body, or 413 as soon as it passes ``limit`` bytes (declared or actual)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise APIError(413, f"the request body is {int(declared)} bytes; the limit is {limit} (--max-body-mb)")
    chunks, total = [], 0
    async for piece in request.stream():
        total += len(piece)
        if total > limit:
            raise APIError(413, f"the request body is over the {limit}-byte limit (--max-body-mb)")
        chunks.append(piece)
    return b"".join(chunks)


_GONE: Any = object()
"""What :func:`_unless_gone` returns when the client disconnected first."""


async def _wait_disconnect(request: Any) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def _unless_gone(request: Any, awaitable: Any) -> Any:
    """The result of ``awaitable``, or :data:`_GONE` (and ``awaitable`` cancelled) if the client disconnects first."""
    task = asyncio.ensure_future(awaitable)
    watcher = asyncio.ensure_future(_wait_disconnect(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.wait({task})  # the cancelled run unwinds (stops its generation, releases its slot) first
    return _GONE


def _apply(chunk: Any, answer: responses.Answer, job: Any) -> dict[str, Any] | None:
    """Fold one model chunk into ``answer``; the usage dict when this chunk carries it."""
    text = chunk.content if isinstance(chunk.content, str) else ""
    deltas, extra = answer.tools.add(list(chunk.tool_call_chunks or []))
    answer.text += text + extra
    if chunk.response_metadata.get("finish_reason"):
        answer.finish_reason = chunk.response_metadata["finish_reason"]
    if chunk.usage_metadata:
        meta = chunk.usage_metadata
        return responses.usage(meta["input_tokens"], meta["output_tokens"], job.image_tokens, job.video_tokens)
    return None


async def _stream(req: ChatCompletionRequest, answer: responses.Answer, first: Any, chunks: AsyncIterator[Any],
                  job: Any) -> AsyncIterator[bytes]:  # fmt: skip
    """The SSE body. The run ends with it: closing this generator (the client left) closes ``chunks``."""
    include_usage = bool(req.stream_options and req.stream_options.include_usage)
    usage = None
    async with contextlib.aclosing(chunks):
        yield responses.sse(responses.chunk(answer, {"role": "assistant", "content": ""}, with_usage_field=include_usage))
        chunk = first
        try:
            while chunk is not None:
                deltas, extra = answer.tools.add(list(chunk.tool_call_chunks or []))
                text = (chunk.content if isinstance(chunk.content, str) else "") + extra
                answer.text += text
                if text or deltas:
                    delta: dict[str, Any] = {}
                    if text:
                        delta["content"] = text
                    if deltas:
                        delta["tool_calls"] = deltas
                    yield responses.sse(responses.chunk(answer, delta, with_usage_field=include_usage))
                if chunk.response_metadata.get("finish_reason"):
                    answer.finish_reason = chunk.response_metadata["finish_reason"]
                if chunk.usage_metadata:
                    usage = responses.usage(chunk.usage_metadata["input_tokens"], chunk.usage_metadata["output_tokens"],
                                            job.image_tokens, job.video_tokens)  # fmt: skip
                chunk = await anext(chunks, None)
        except APIError as exc:  # mid-answer: the status is sent, so the error is an event (as vLLM does)
            yield responses.sse(exc.body())
        else:
            yield responses.sse(responses.chunk(answer, {}, answer.finish_reason or "stop", with_usage_field=include_usage))
            if include_usage and usage is not None:
                yield responses.sse({**responses.chunk(answer, None), "usage": usage})
        yield responses.sse("[DONE]")


def _client_gone(metrics: Metrics) -> Any:
    from fastapi.responses import Response

    metrics.request("/v1/chat/completions", 499)
    return Response(status_code=499)
