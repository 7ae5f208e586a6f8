"""The one path from admission to the last chunk, shared by the HTTP API, ``/v1/kb/ask`` and the web UI.

``admit()`` turns a request away (429, or 503 while shutting down) before its body is read;
``run(ticket, job)`` waits for a generation slot, counts the prompt, starts the generation and yields its
chunks; whatever ends the iteration — the last chunk, an error, the client leaving (the consumer's task is
cancelled), the UI's Stop (the consumer is closed) or the server shutting down — stops the generation,
records it in the metrics and releases the slot. Nothing else in ``vlkit.serve`` runs the model.

Example:
    ```python
    ticket = runner.admit()
    try:
        async with contextlib.aclosing(runner.run(ticket, await engine.job(req))) as chunks:
            async for chunk in chunks:
                ...
    finally:
        ticket.release()
    ```
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, AsyncIterator

from vlkit.errors import UserError, said_on
from vlkit.serve.engine import Engine, Job
from vlkit.serve.limits import Limiter, Ticket
from vlkit.serve.metrics import Metrics
from vlkit.serve.schemas import APIError

__all__ = ["Runner"]

log = logging.getLogger(__name__)


class Runner:
    """Admission and the lifecycle of every generation of one server."""

    def __init__(self, engine: Engine, limiter: Limiter, metrics: Metrics) -> None:
        self.engine, self.limiter, self.metrics = engine, limiter, metrics
        self.closing = False

    def admit(self) -> Ticket:
        """A ticket, or :class:`APIError` 429 (queue full, with ``Retry-After``) or 503 (shutting down)."""
        if self.closing:
            raise _shutting_down()
        try:
            return self.limiter.admit()
        except APIError:
            self.metrics.reject("queue_full")
            raise

    def close(self) -> int:
        """Shutting down: refuse new and queued requests, stop the running generations at their next token.
        Safe to call from a signal handler (it only sets flags). How many generations were running."""
        self.closing = True
        return self.engine.cancel_all()

    async def run(self, ticket: Ticket, job: Job) -> AsyncIterator[Any]:
        """Wait for a slot, count, generate: the model's chunks (``AIMessageChunk``), the last with usage.

        Raises :class:`APIError`: 400 for a prompt that does not fit or input the model cannot take, 503
        when the server shuts down (also mid-answer), 500 for a failure of the model."""
        running = finished = failed = False
        try:
            await ticket.acquire()
            if self.closing:
                raise _shutting_down()
            job.started = time.monotonic()
            await asyncio.to_thread(self.engine.count, job)
            if self.closing:
                raise _shutting_down()
            events = self.engine.start(job, asyncio.get_running_loop())
            running = True
            while True:
                event = await events.get()
                if event.kind == "error":
                    failed = True
                    raise _as_api_error(event.error, job)
                if event.kind == "end":
                    break
                yield event.chunk
            if job.cancel.is_set() and self.closing:
                raise _shutting_down(f": the answer was cut off after {job.completion_tokens} token(s)")
            finished = True
        finally:
            if not finished:
                job.cancel.set()
            if running:
                self._record(job, cancelled=not (finished or failed))
            ticket.release()

    def _record(self, job: Job, *, cancelled: bool) -> None:
        seconds = (job.finished or time.monotonic()) - job.started
        ttft = job.first_token - job.started if job.first_token is not None else None
        self.metrics.generation(prompt=job.prompt_tokens, completion=job.completion_tokens, images=job.image_tokens,
                                videos=job.video_tokens, ttft=ttft, seconds=seconds, cancelled=cancelled)  # fmt: skip
        if cancelled:
            why = "the server is shutting down" if self.closing else "the client disconnected or stopped it"
            log.info("generation cancelled after %d token(s): %s%s", job.chunks, why,
                     f" (user {job.user!r})" if job.user else "")  # fmt: skip
        else:
            self.limiter.record_duration(seconds)


def _shutting_down(detail: str = "") -> APIError:
    return APIError(503, f"the server is shutting down{detail}; retry against another replica or once it is back",
                    headers={"Retry-After": "5"})  # fmt: skip


def _as_api_error(exc: BaseException | None, job: Job) -> APIError:
    """An exception from the generation thread as an API error: user-fixable → 400, else logged 500."""
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, UserError):
        error = APIError(400, said_on(exc, "http"))
        error.__cause__ = exc  # the UI shows the cause in its own words
        return error
    if job.constrained and isinstance(exc, (ValueError, TypeError, RuntimeError)):
        return APIError(400, f"the {job.constrained} schema cannot be enforced: {exc}", param=job.constrained)
    log.error("generation failed%s", f" (user {job.user!r})" if job.user else "", exc_info=exc)
    return APIError(500, f"internal error during generation ({type(exc).__name__}); see the server log")
