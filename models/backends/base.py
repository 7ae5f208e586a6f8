"""The backend interface: a :class:`GenerationRequest` in, a stream of :class:`Delta` out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterator

from vlkit.models.messages import Turn

__all__ = ["Backend", "Delta", "GenerationRequest", "Usage"]


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
    output_tokens: int
    image_tokens: int = 0


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


class Backend(ABC):
    """Runs a model. Implement :meth:`stream`; everything else in vlkit builds on it."""

    model_name: str = ""

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
