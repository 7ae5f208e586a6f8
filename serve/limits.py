"""Bounded work: a concurrency limit, a bounded queue (then 429), and the prompt's token budget.

Admission happens *before* the request body is read, so a request turned away costs nothing and a
queued one holds at most its body (``--max-body-mb``): the server's memory is bounded by
``(max_concurrency + queue) × max_body`` plus the model, however many clients connect.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any

from vlkit.models.images import resized_size, visual_budget
from vlkit.serve.schemas import APIError

__all__ = ["Limiter", "Ticket", "ImageCost", "image_costs", "check_context"]


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
    """One admitted request: ``async with ticket.slot():`` runs it; :meth:`release` when it is done."""

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


@dataclass
class ImageCost:
    """What one image costs in visual tokens at the budget it will be resized to."""

    size: tuple[int, int]
    resized: tuple[int, int]
    tokens: int


def image_costs(images: list[Any], family: Any, device: str, min_pixels: int | None, max_pixels: int | None) -> list[ImageCost]:
    """Visual tokens per image, from header sizes only (no pixel decoded), with the backend's resize rule."""
    costs = []
    for image in images:
        low, high = visual_budget(family, device, min_pixels=image.min_pixels or min_pixels,
                                  max_pixels=image.max_pixels or max_pixels)  # fmt: skip
        width, height = image.size
        w, h = resized_size(family, width, height, low, high)
        costs.append(ImageCost((width, height), (w, h), family.tokens_for(h, w)))
    return costs


def check_context(prompt_tokens: int, costs: list[ImageCost], max_tokens: int, context: int, family: Any,
                  explicit_max_tokens: bool) -> None:  # fmt: skip
    """A 400 when prompt + ``max_tokens`` exceed the context, saying what each image costs and which
    ``max_pixels`` would fit (images share the room left by the text and ``max_tokens`` equally)."""
    needed = prompt_tokens + (max_tokens if explicit_max_tokens else 1)
    if needed <= context:
        return
    image_tokens = sum(c.tokens for c in costs)
    text_tokens = prompt_tokens - image_tokens
    parts = [f"this request needs {prompt_tokens} prompt tokens"]
    if costs:
        each = ", ".join(f"{c.size[0]}x{c.size[1]} → {c.resized[0]}x{c.resized[1]} = {c.tokens}" for c in costs)
        parts.append(f" ({len(costs)} image(s): {each} tokens; {text_tokens} text tokens)")
    if explicit_max_tokens:
        parts.append(f" + max_tokens {max_tokens}")
    parts.append(f", more than the model's context of {context} tokens")
    room = context - text_tokens - (max_tokens if explicit_max_tokens else 1)
    if costs and room >= 4 * len(costs):
        per_image = room // len(costs)
        pixels = per_image * family.factor * family.factor
        parts.append(f"; send the images with max_pixels={pixels} ({per_image} tokens each) to fit")
    elif costs:
        parts.append("; the text alone leaves no room for the images: shorten it or lower max_tokens")
    else:
        parts.append("; shorten the conversation or lower max_tokens")
    raise APIError(400, "".join(parts), param="messages")
