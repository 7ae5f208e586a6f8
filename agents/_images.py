"""What the model sees of the images in an agent's history.

* :class:`ImagePruningMiddleware` — only the newest images that fit the visual budget go to the model;
  older ones become a one-line placeholder. A video is one more such item, counted by its tokens (the
  frames its sampling takes under the video budget). The agent state keeps every image (checkpointers, UIs); only
  the prompt is pruned, so a 30-step GUI run does not grow by a screenshot per step.
* :class:`ToolImagesToUserMiddleware` — for chat models other than ChatQwenVL (which renders tool images
  natively per backend): the images of tool results move into a user message right after them, since
  OpenAI-compatible servers reject images inside tool messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage, ToolMessage

from vlkit.agents._middleware import FEEDBACK_KEY, VlmAgentState
from vlkit.errors import ImageError, InvalidArgumentError, MissingExtraError, VideoError
from vlkit.vision import FamilySpec, image_from_block, image_tokens, is_image_block
from vlkit.vision.video import is_video_block, plan_video, video_budget, video_from_block

__all__ = [
    "PLACEHOLDER",
    "VIDEO_PLACEHOLDER",
    "ImagePruningMiddleware",
    "ToolImagesToUserMiddleware",
    "count_images",
    "move_tool_images",
    "prune_images",
    "visual_token_cost",
]

# --------------------------------------------------------------------------- pruning

ImageCost = Callable[[dict[str, Any]], int]
PLACEHOLDER = "[an older image was removed here to stay within the visual budget]"
VIDEO_PLACEHOLDER = "[an older video was removed here to stay within the visual budget]"


class ImagePruningMiddleware(AgentMiddleware[VlmAgentState, Any]):
    """Send the model only the newest images that fit; older ones become a short text placeholder.

    Args:
        max_images: most images and videos in one prompt (None: no count limit).
        max_image_tokens: most visual tokens over all images and videos in one prompt (None: no token
            limit). The newest one is always kept.
        image_cost: visual tokens of one image or video block (see :func:`visual_token_cost`); needed
            with ``max_image_tokens``.
        stride: drop old images this many at a time (see :func:`prune_images`): fewer prompt-prefix
            changes, for servers with a prefix cache.
    """

    state_schema = VlmAgentState

    def __init__(
        self,
        max_images: int | None = None,
        *,
        max_image_tokens: int | None = None,
        image_cost: ImageCost | None = None,
        stride: int = 1,
    ) -> None:
        super().__init__()
        if max_images is not None and max_images < 1:
            raise InvalidArgumentError(f"max_images must be 1 or more, or None for no limit; got {max_images}")
        if stride < 1:
            raise InvalidArgumentError(f"stride must be 1 or more; got {stride}")
        self.stride = stride
        if max_image_tokens is not None and image_cost is None:
            raise InvalidArgumentError("max_image_tokens needs image_cost, the visual tokens of one image; pass both or neither")
        self.max_images = max_images
        self.max_image_tokens = max_image_tokens
        self.image_cost = image_cost

    def prune(self, messages: list[AnyMessage]) -> list[AnyMessage]:
        return prune_images(
            messages,
            max_images=self.max_images,
            max_image_tokens=self.max_image_tokens,
            image_cost=self.image_cost,
            stride=self.stride,
        )

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        return handler(request.override(messages=self.prune(request.messages)))

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> ModelResponse:
        return await handler(request.override(messages=self.prune(request.messages)))


def _is_image(block: Any) -> bool:
    """An image or a video block: what pruning weighs (the name stays from when there were only images)."""
    return is_image_block(block) or is_video_block(block)


def count_images(messages: Sequence[BaseMessage]) -> int:
    """Image and video blocks in ``messages``."""
    return sum(1 for m in messages if isinstance(m.content, list) for b in m.content if _is_image(b))


def prune_images(
    messages: Sequence[AnyMessage],
    *,
    max_images: int | None = None,
    max_image_tokens: int | None = None,
    image_cost: ImageCost | None = None,
    stride: int = 1,
) -> list[AnyMessage]:
    """``messages`` with all but the newest images and videos that fit replaced by a text placeholder.

    ``stride`` > 1 drops the oldest images ``stride`` at a time (so between ``max - stride + 1`` and
    ``max`` stay), keeping the prompt's prefix unchanged for ``stride`` steps. Messages without a pruned
    image are returned as the same objects.
    """
    total = count_images(messages)
    keep: set[tuple[int, int]] = set()
    tokens = 0
    for mi in range(len(messages) - 1, -1, -1):
        content = messages[mi].content
        if not isinstance(content, list):
            continue
        for bi in range(len(content) - 1, -1, -1):
            block = content[bi]
            if not _is_image(block):
                continue
            if max_images is not None and len(keep) >= max_images:
                continue
            cost = image_cost(block) if (image_cost is not None and max_image_tokens is not None) else 0
            if keep and max_image_tokens is not None and tokens + cost > max_image_tokens:
                continue
            keep.add((mi, bi))
            tokens += cost
    if stride > 1 and len(keep) < total:
        # Drop the oldest images in groups of ``stride``: the pruned prefix then stays the same for
        # ``stride`` steps in a row, which a server's prefix cache can reuse (bench_agent.py measures it).
        dropped = min(total - 1, -(-(total - len(keep)) // stride) * stride)
        order = [(mi, bi) for mi, m in enumerate(messages) if isinstance(m.content, list)
                 for bi, b in enumerate(m.content) if _is_image(b)]
        keep = set(order[dropped:])
    if len(keep) == total:
        return list(messages)
    # The same text every time, so a pruned prompt's prefix stays byte-identical from step to step.
    placeholders = {False: {"type": "text", "text": PLACEHOLDER}, True: {"type": "text", "text": VIDEO_PLACEHOLDER}}
    out: list[AnyMessage] = []
    for mi, message in enumerate(messages):
        content = message.content
        if not isinstance(content, list) or all((mi, bi) in keep for bi, b in enumerate(content) if _is_image(b)):
            out.append(message)
            continue
        blocks = [dict(placeholders[is_video_block(b)]) if _is_image(b) and (mi, bi) not in keep else b
                  for bi, b in enumerate(content)]  # fmt: skip
        out.append(message.model_copy(update={"content": blocks}))
    return out


def visual_token_cost(family: FamilySpec, budget: tuple[int, int]) -> ImageCost:
    """Visual tokens of an image or video block for ``family`` under ``budget`` = ``(min_pixels, max_pixels)``.

    Uses the same resize function the model does (:func:`vlkit.vision.image_tokens`); an image whose size
    cannot be read (a remote URL) counts as a full-budget image. A video costs the tokens of the frames its
    sampling takes (:func:`vlkit.vision.video.plan_video`, from the container header: each frame within
    ``budget``, all within the default total), a video whose header cannot be read (a remote URL) the
    whole total.
    """
    full = family.tokens_in_pixels(budget[1])
    frames = video_budget(family, image_max_pixels=budget[1])
    cache: dict[Any, int] = {}

    def cost(block: dict[str, Any]) -> int:
        key = _block_key(block)
        if key is None or key not in cache:
            value = _video_cost(block, family, frames) if is_video_block(block) else _image_cost(block)
            if key is None:
                return value
            cache[key] = value
        return cache[key]

    def _image_cost(block: dict[str, Any]) -> int:
        try:
            size = image_from_block(block).size
        except ImageError:
            size = None
        if size is None:
            return full
        low = block.get("min_pixels") or budget[0]
        high = block.get("max_pixels") or budget[1]
        return image_tokens(family, size[0], size[1], low, high)

    return cost


def _video_cost(block: dict[str, Any], family: FamilySpec, budget: Any) -> int:
    """A video block's tokens from its header; the whole total when the header cannot be read here (a remote
    URL is not downloaded to be weighed; an unreadable file fails at the model, not in pruning)."""
    try:
        video = video_from_block(block)
        if video.is_remote:
            return budget.total_tokens
        return plan_video(video, family, budget).tokens
    except (VideoError, MissingExtraError, InvalidArgumentError):
        return budget.total_tokens


_COST_OPTIONS = ("min_pixels", "max_pixels", "fps", "max_frames", "start", "end")
"""Block options that change what an image or a video costs: part of its cache key."""


def _block_key(block: dict[str, Any]) -> Any:
    """A cache key for an image or video block that does not decode it (None: do not cache)."""
    options = tuple(block.get(name) for name in _COST_OPTIONS)
    data = block.get("base64") or block.get("data")
    if isinstance(data, str):
        return ("b64", len(data), hash(data), options)  # str hashes are cached on the object: cheap per step
    ref = block.get("image_url") or block.get("video_url")
    ref = ref.get("url") if isinstance(ref, dict) else ref
    ref = ref or block.get("url") or block.get("path") or block.get("file_path") or block.get("video")
    if isinstance(ref, str):
        return ("ref", len(ref), hash(ref), options)
    return None


# --------------------------------------------------------------------------- tool images for other models


class ToolImagesToUserMiddleware(AgentMiddleware[VlmAgentState, Any]):
    """Images of tool results go to the model in a user message after them (see :func:`move_tool_images`)."""

    state_schema = VlmAgentState

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        return handler(request.override(messages=move_tool_images(request.messages)))

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> ModelResponse:
        return await handler(request.override(messages=move_tool_images(request.messages)))


def move_tool_images(messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    """Each run of tool messages keeps its text; their images follow in one user message.

    Tool messages must directly follow the call that asked for them, so the user message comes after the
    whole run. Messages without images are returned as the same objects.
    """
    out: list[AnyMessage] = []
    pending: list[Any] = []
    for i, message in enumerate(messages):
        if isinstance(message, ToolMessage) and isinstance(message.content, list) and any(map(_is_image, message.content)):
            images = [b for b in message.content if _is_image(b)]
            text = [b for b in message.content if not _is_image(b)] or [{"type": "text", "text": "(see the image below)"}]
            out.append(message.model_copy(update={"content": text}))
            label = f"Image(s) returned by tool '{message.name or 'tool'}' (call {message.tool_call_id}):"
            pending += [{"type": "text", "text": label}, *images]
        else:
            out.append(message)
        following = messages[i + 1] if i + 1 < len(messages) else None
        if pending and not isinstance(following, ToolMessage):
            out.append(HumanMessage(content=pending, additional_kwargs={FEEDBACK_KEY: True}))
            pending = []
    return out
