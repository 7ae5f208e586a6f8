"""The backend interface: a :class:`GenerationRequest` in, a stream of :class:`Delta` out.

:class:`Backend` declares everything a caller needs from a runtime — count a request's tokens before
running it, the context length, whether the weights are loaded, and :meth:`Backend.stream` — so nobody
(``vlkit serve`` included) reaches past it. Only ``stream`` is abstract; the others have honest defaults
("unknown", "nothing to load") that a local runtime overrides.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterator

from vlkit.models.messages import Turn

__all__ = ["Backend", "Delta", "GenerationRequest", "ImageCount", "TokenCount", "Usage", "VideoCount", "VIDEO_BACKENDS"]

VIDEO_BACKENDS = ("transformers", "openai")
"""The backends vlkit ships that take video, named in the error a backend without video gives."""


@dataclass
class GenerationRequest:
    """Everything one generation needs, independent of the backend."""

    turns: list[Turn]
    max_tokens: int = 512
    temperature: float = 0.0
    """0 means greedy decoding."""
    top_p: float | None = None
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    min_pixels: int | None = None
    max_pixels: int | None = None
    tools: list[dict[str, Any]] | None = None
    """OpenAI-format tool schemas: ``{"type": "function", "function": {name, description, parameters}}``."""
    tool_choice: str | None = None
    """``"auto"``, ``"none"``, ``"required"`` or a tool's name."""
    parallel_tool_calls: bool | None = None
    """Whether a forced tool choice may produce several calls (None: one locally, the server's default)."""
    response_schema: dict[str, Any] | None = None
    """JSON schema the answer must follow (structured output)."""
    response_schema_name: str = "response"

    @property
    def bound_tools(self) -> list[dict[str, Any]] | None:
        """The tools the model may call in this answer (None with ``tool_choice="none"``)."""
        return self.tools if self.tools and self.tool_choice != "none" else None

    @property
    def forces_tool_call(self) -> bool:
        """Whether the answer must be a tool call (``"required"`` or a name) — what a grammar enforces locally."""
        return bool(self.tools) and self.tool_choice not in (None, "auto", "none")


@dataclass
class Usage:
    input_tokens: int
    """Prompt tokens, image and video tokens included."""
    output_tokens: int
    image_tokens: int = 0
    """Of ``input_tokens``, the images' visual tokens."""
    video_tokens: int = 0
    """Of ``input_tokens``, the videos' visual tokens (Qwen3-VL's timestamp text not included)."""
    cached_tokens: int = 0
    """Of ``input_tokens``, those read from the prefix cache rather than prefilled."""


@dataclass
class Delta:
    """A piece of the answer. The last delta of a stream carries ``usage`` and ``finish_reason``."""

    text: str = ""
    tool_call_chunks: list[dict[str, Any]] = field(default_factory=list)
    """Native tool-call pieces (openai backend): ``{"index", "id", "name", "args"}``."""
    usage: Usage | None = None
    finish_reason: str | None = None
    """``"stop"``, ``"length"`` or ``"tool_calls"``."""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageCount:
    """What one image of a request costs, known before any pixel is decoded."""

    size: tuple[int, int]
    """``(width, height)`` as given."""
    resized: tuple[int, int]
    """``(width, height)`` the model sees, after the visual budget."""
    tokens: int
    """Visual tokens in the prompt."""


@dataclass(frozen=True)
class VideoCount:
    """What one video of a request costs, known from its container header before any frame is decoded."""

    size: tuple[int, int]
    """``(width, height)`` of the source."""
    resized: tuple[int, int]
    """``(width, height)`` each frame is seen at, after the visual budget."""
    frames: int
    """Frames sampled (even: two make one temporal patch)."""
    sampled_fps: float
    """Frames per second of video sampled (below the asked ``fps`` when ``sparser``)."""
    sparser: bool
    """True when the video's total budget made the sampling sparser than asked."""
    tokens: int
    """Visual tokens in the prompt (Qwen3-VL's ``<t seconds>`` text counted with the text)."""


@dataclass(frozen=True)
class TokenCount:
    """The prompt tokens of a request, counted before it runs."""

    prompt_tokens: int
    """Every token the model reads, image and video tokens included."""
    images: tuple[ImageCount, ...] = ()
    """Per image, in prompt order."""
    videos: tuple[VideoCount, ...] = ()
    """Per video, in prompt order."""

    @property
    def image_tokens(self) -> int:
        return sum(image.tokens for image in self.images)

    @property
    def video_tokens(self) -> int:
        return sum(video.tokens for video in self.videos)


class Backend(ABC):
    """Runs a model. Implement :meth:`stream`; override the others where the runtime knows better.

    Example — a backend that answers from a script (what a test uses to drive the chat model)::

        class Scripted(Backend):
            def stream(self, request):
                yield Delta(text="hello")
                yield Delta(usage=Usage(input_tokens=3, output_tokens=1), finish_reason="stop")
    """

    model_name: str = ""

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory, so the next request pays no load. True by default: a backend
        with nothing to load in this process (a remote server) is always ready."""
        return True

    def load(self) -> None:
        """Load the weights now rather than on the first request (nothing to do by default)."""

    @property
    def context_length(self) -> int | None:
        """Most tokens a prompt and its answer may hold together; None when the backend cannot know it."""
        return None

    def count_tokens(self, request: GenerationRequest) -> TokenCount | None:
        """The prompt tokens of ``request``, images included, without running it; None when the backend
        cannot count exactly (a caller then lets the runtime refuse a prompt that does not fit).

        Raises the :class:`~vlkit.errors.UserError` that running the request would raise for input the
        backend cannot take (an image too large, an unsupported template), so a caller can refuse it early.
        """
        return None

    @property
    def supports_video(self) -> bool:
        """Whether the backend takes video content (:class:`~vlkit.vision.video.VideoInput` parts of a turn).
        False by default: a chat model refuses a video for such a backend, naming the ones that take it."""
        return False

    @property
    def native_tools(self) -> bool:
        """Whether the backend hands ``tools``, tool calls and tool results to the model natively.

        When False, :meth:`prompt_turns` writes them into the turns in the Hermes format. The answer is
        parsed for Hermes calls either way (by the chat model, :mod:`vlkit.models.tool_calls`).
        """
        return True

    def prompt_turns(self, request: GenerationRequest) -> tuple[list[Turn], list[dict[str, Any]] | None]:
        """``(turns, tools)`` to give the model: as they are when :attr:`native_tools`, else in Hermes text."""
        has_tool_turns = any(turn.role == "tool" or turn.tool_calls for turn in request.turns)
        if self.native_tools or not (request.bound_tools or has_tool_turns):
            return request.turns, request.bound_tools
        from vlkit.models.hermes import render_turns

        return render_turns(request.turns, request.bound_tools), None

    @abstractmethod
    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        """Yield the answer piece by piece; the final delta carries usage and finish_reason."""
