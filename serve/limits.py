"""Bounded work: a concurrency limit, a bounded queue (then 429), and the prompt's token budget.

Admission happens *before* the request body is read, so a request turned away costs nothing and a
queued one holds at most its body (``--max-body-mb``): the server's memory is bounded by
``(max_concurrency + queue) × max_body`` plus the model, however many clients connect.
"""

from __future__ import annotations

import asyncio
import math

from vlkit.models import TokenCount
from vlkit.serve.schemas import APIError
from vlkit.vision.families import FamilySpec

from vlkit.errors import ContextOverflowError, Words

__all__ = ["Limiter", "Ticket", "check_context"]


class Limiter:
    """At most ``max_active`` generations at once and ``max_queue`` waiting; beyond that, 429."""

    def __init__(self, max_active: int, max_queue: int) -> None:
        self.max_active, self.max_queue = max_active, max_queue
        self._slots = asyncio.Semaphore(max_active)
        self.admitted = 0
        """Requests admitted and not finished (waiting or running)."""
        self.active = 0
        self._mean_seconds = 5.0

    @property
    def waiting(self) -> int:
        return self.admitted - self.active

    def admit(self) -> "Ticket":
        """A ticket for one request, or :class:`APIError` 429 with ``Retry-After`` when the queue is full."""
        if self.admitted >= self.max_active + self.max_queue:
            retry = max(1, math.ceil(self._mean_seconds * (self.waiting + 1) / self.max_active))
            raise APIError(
                429,
                f"the server is busy: {self.active} generation(s) running and {self.waiting} queued (the limits are "
                f"--max-concurrency {self.max_active} and --queue {self.max_queue}); retry after {retry} s",
                headers={"Retry-After": str(retry)},
            )
        self.admitted += 1
        return Ticket(self)

    def record_duration(self, seconds: float) -> None:
        self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * max(0.05, seconds)


class Ticket:
    """One admitted request: :meth:`acquire` waits for a generation slot; :meth:`release` (any number of
    times) when the request is done, whether or not it ran."""

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter
        self.running = False
        self.released = False

    async def acquire(self) -> None:
        await self.limiter._slots.acquire()
        self.running = True
        self.limiter.active += 1

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        if self.running:
            self.limiter.active -= 1
            self.limiter._slots.release()
        self.limiter.admitted -= 1


def check_context(count: TokenCount, max_tokens: int, context: int, family: FamilySpec | None,
                  explicit_max_tokens: bool) -> None:  # fmt: skip
    """:class:`~vlkit.errors.ContextOverflowError` when prompt + ``max_tokens`` exceed the context, saying
    what the text and each image cost and what to lower — in each surface's words (``max_tokens`` /
    ``max_pixels`` over HTTP, "Max tokens" / "Visual budget" in the web UI).

    It blames what is too large: ``max_tokens`` when the prompt alone fits; else the images, with the
    budget that fits (they share the room the text and ``max_tokens`` leave equally); the text only when
    it alone leaves no room for them."""
    answer = max_tokens if explicit_max_tokens else 1
    if count.prompt_tokens + answer <= context:
        return
    images = count.images
    fixed = count.prompt_tokens - count.image_tokens  # text, and videos, which keep their budget here
    text_tokens = fixed - count.video_tokens
    parts: list[object] = [f"this request needs {count.prompt_tokens} prompt tokens"]
    if images:
        each = ", ".join(f"{c.size[0]}x{c.size[1]} → {c.resized[0]}x{c.resized[1]} = {c.tokens}" for c in images)
        parts.append(f" ({len(images)} image(s): {each} tokens; {text_tokens} text tokens)")
    if explicit_max_tokens:
        parts += [" + ", MAX_TOKENS, f" {max_tokens}"]
    parts.append(f", more than the model's context of {context} tokens; ")
    per_image = (context - fixed - answer) // len(images) if images else 0
    shrink = images and family is not None and per_image >= 4
    if count.prompt_tokens < context:  # the prompt fits: only the answer's budget is too large
        parts += ["lower ", MAX_TOKENS, f" to {context - count.prompt_tokens} or less"]
        if shrink:
            parts += [", or ", _fit_images(per_image, family)]
    elif shrink:
        parts.append(_fit_images(per_image, family))
    elif images and context - fixed - 1 >= 4 * len(images):  # they would fit beside a shorter answer
        parts += [MAX_TOKENS, f" {max_tokens} leaves no room for the images: lower it, then the images' budget"]
    elif images:
        parts.append(f"the text alone ({text_tokens} tokens) leaves no room for the images: shorten it")
    else:
        parts.append("shorten the conversation")
    raise ContextOverflowError(*parts)


MAX_TOKENS = Words(python="max_tokens", cli="--max-tokens", http="max_tokens", ui='"Max tokens"')
"""The answer's token budget, as each surface names it."""


def _fit_images(per_image: int, family: FamilySpec) -> Words:
    """What makes the images fit at ``per_image`` tokens each, as each surface sets a visual budget."""
    pixels = family.pixels_for_tokens(per_image)
    return Words(
        python=f"give the images max_pixels={pixels} ({per_image} tokens each) to fit",
        cli=f"pass --max-pixels {pixels} ({per_image} tokens per image) to fit",
        http=f"send the images with max_pixels={pixels} ({per_image} tokens each) to fit",
        ui=f'set "Visual budget" to {per_image - per_image % 4} tokens per image or less to fit',  # its step is 4
    )
