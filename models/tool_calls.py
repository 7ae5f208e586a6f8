"""Tools bound to :class:`~vlkit.models.ChatQwenVL`: binding, checking the calls, and streaming them.

* :func:`bind_tools` converts tools to OpenAI-format schemas and binds them as the ``tools`` /
  ``tool_choice`` call options (``"auto"``, ``"none"``, ``"any"`` / ``"required"`` / ``True``, a name).
* :func:`validate_tool_call` is the one check of a call against the bound tools: an unknown name or
  arguments that do not fit the tool's schema give a :class:`~vlkit.errors.ToolCallError` whose text
  names what is valid — what an agent loop feeds back to the model.
* :class:`ToolCallStream` turns a backend's deltas into LangChain chunks: Hermes ``<tool_call>`` text
  (every local model; servers without a tool parser) and native tool-call pieces alike become
  ``tool_call_chunks``, the name first, then the argument text as it is generated. When the stream
  ends it checks every call and puts the verdicts on the last chunk; :class:`CheckedAIMessageChunk`
  applies them when chunks are added up, so ``stream()``, ``invoke()``, ``batch()`` and the async
  forms all give the same ``tool_calls`` / ``invalid_tool_calls`` with the same error texts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import jsonschema
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.tool import InvalidToolCall, ToolCall, invalid_tool_call, tool_call
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import model_validator
from typing_extensions import Self

from vlkit.errors import InvalidArgumentError, ToolCallError
from vlkit.models import hermes
from vlkit.models.backends.base import Delta, GenerationRequest

if TYPE_CHECKING:
    from vlkit.models._chat import ChatQwenVL

__all__ = [
    "CHECKS_KEY",
    "CheckedAIMessageChunk",
    "ToolCallStream",
    "bind_tools",
    "normalize_tool_choice",
    "tool_name",
    "tool_parameters",
    "validate_tool_call",
]

CHECKS_KEY = "tool_call_checks"
"""``response_metadata`` key of the last chunk: ``{index: {"args": …, "error": str | None}}`` per call."""


def tool_name(tool: dict[str, Any]) -> str:
    """The name of an OpenAI-format tool (``{"type": "function", "function": {"name": …}}``)."""
    return str(tool.get("function", tool).get("name", ""))


def tool_parameters(tool: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of an OpenAI-format tool's arguments (an empty object schema when it has none)."""
    return dict(tool.get("function", tool).get("parameters") or {"type": "object", "properties": {}})


def normalize_tool_choice(tool_choice: Any, tools: list[dict[str, Any]]) -> str | None:
    """LangChain's spellings of ``tool_choice`` → ``None``, ``"auto"``, ``"none"``, ``"required"`` or a name."""
    names = [tool_name(t) for t in tools]
    if tool_choice is None:
        return None
    if tool_choice is True or tool_choice == "any":
        return "required"
    if tool_choice is False:
        return "none"
    if isinstance(tool_choice, dict):
        tool_choice = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
    if tool_choice in {"auto", "none", "required"}:
        return str(tool_choice)
    if isinstance(tool_choice, str) and tool_choice in names:
        return tool_choice
    raise InvalidArgumentError(
        f"tool_choice {tool_choice!r} is not one of 'auto', 'none', 'any', 'required' or a bound tool "
        f"({', '.join(names) or 'no tools bound'})"
    )


def bind_tools(
    model: "ChatQwenVL", tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
) -> Runnable[Any, AIMessage]:
    """Bind ``tools`` (LangChain tools, pydantic models, functions or OpenAI dicts) to ``model``."""
    formatted = [convert_to_openai_tool(t) for t in tools]
    return model.bind(tools=formatted, tool_choice=normalize_tool_choice(tool_choice, formatted), **kwargs)


def validate_tool_call(call: ToolCall | dict[str, Any], tools: Sequence[dict[str, Any]]) -> ToolCallError | None:
    """Check one parsed call (``name``, ``args``) against OpenAI-format ``tools``; None when it is usable.

    Example:
        ```python
        error = validate_tool_call({"name": "nope", "args": {}}, [convert_to_openai_tool(add)])
        str(error)  # "Unknown tool 'nope'; available: add"
        ```
    """
    names = [tool_name(t) for t in tools]
    name = call.get("name")
    if name not in names:
        return ToolCallError.unknown_tool(name, names)
    args = call.get("args")
    if not isinstance(args, dict):
        return ToolCallError.invalid_arguments(name, "the arguments must be a JSON object")
    schema = tool_parameters(tools[names.index(name)])
    errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(args), key=lambda e: list(e.path))
    if errors:
        return ToolCallError.invalid_arguments(
            name, "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:3])
        )
    return None


# --------------------------------------------------------------------------- streaming


@dataclass
class _Call:
    index: int
    id: str
    name: str | None = None
    args: str = ""
    """The argument text streamed for this call."""
    parsed: ToolCall | InvalidToolCall | None = None
    """The Hermes parser's reading of the whole call (None for native calls)."""


@dataclass
class ToolCallStream:
    """Backend deltas → deltas whose tool calls are ``tool_call_chunks``, and the verdict on each call.

    One instance serves one generation. ``tools`` are the bound OpenAI-format tools; with none bound (or
    ``tool_choice="none"``) the deltas pass through untouched.
    """

    tools: list[dict[str, Any]] | None
    calls: dict[int, _Call] = field(default_factory=dict)
    _started: bool = False

    def __post_init__(self) -> None:
        self._parser = hermes.StreamingToolCallParser([tool_name(t) for t in self.tools or []])

    @classmethod
    def for_request(cls, request: GenerationRequest) -> "ToolCallStream":
        return cls(request.tools if request.tools and request.tool_choice != "none" else None)

    def run(self, deltas: Iterator[Delta]) -> Iterator[Delta]:
        if not self.tools:
            yield from deltas
            return
        for delta in deltas:
            if delta.text:
                yield from self._events(self._parser.feed(delta.text))
            if delta.tool_call_chunks:
                yield Delta(tool_call_chunks=[self._native(piece) for piece in delta.tool_call_chunks])
            if delta.usage is not None or delta.finish_reason is not None:
                yield from self._events(self._parser.finish())
                yield self._last(delta)

    def _events(self, events: list[hermes.StreamEvent]) -> Iterator[Delta]:
        for event in events:
            if isinstance(event, hermes.TextPiece):
                text = event.text if self._started else event.text.lstrip()
                if self.calls and not text.strip():
                    continue  # the newline between two calls
                if text:
                    self._started = True
                    yield Delta(text=text)
            elif isinstance(event, hermes.CallStart):
                call = self.calls[event.index] = _Call(event.index, hermes.new_call_id(), event.name)
                yield Delta(tool_call_chunks=[_chunk(call.index, call.id, call.name, "")])
            elif isinstance(event, hermes.ArgumentsPiece):
                self.calls[event.index].args += event.text
                yield Delta(tool_call_chunks=[_chunk(event.index, None, None, event.text)])
            else:
                yield from self._ended(event)

    def _ended(self, event: hermes.CallEnd) -> Iterator[Delta]:
        call = self.calls.get(event.index)
        if call is None:  # not written in the canonical spelling: nothing streamed yet, send it whole
            name = event.call.get("name")
            args = event.call["args"]
            text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
            call = self.calls[event.index] = _Call(event.index, hermes.new_call_id(), name, text)
            yield Delta(tool_call_chunks=[_chunk(call.index, call.id, name, text)])
        call.parsed = event.call

    def _native(self, piece: dict[str, Any]) -> dict[str, Any]:
        index = piece.get("index")
        index = int(index) if index is not None else len(self.calls)
        call = self.calls.setdefault(index, _Call(index, ""))
        call.id += piece.get("id") or ""
        call.name = (call.name or "") + (piece.get("name") or "") or None
        call.args += piece.get("args") or ""
        return _chunk(index, piece.get("id"), piece.get("name"), piece.get("args") or "")

    def _last(self, delta: Delta) -> Delta:
        checks = {str(call.index): self._check(call) for call in self.calls.values()}
        finish = delta.finish_reason
        if checks and finish == "stop":
            finish = "tool_calls"  # the model wrote calls; some servers (and every local model) say "stop"
        metadata = {**delta.metadata, CHECKS_KEY: checks} if checks else delta.metadata
        return Delta(usage=delta.usage, finish_reason=finish, metadata=metadata)

    def _check(self, call: _Call) -> dict[str, Any]:
        """The call as the message will hold it: ``{"args": dict | raw text, "error": str | None}``."""
        parsed = call.parsed
        if parsed is None:  # a native call: its argument text is JSON, from the server
            value = hermes.loads_lenient(call.args) if call.args.strip() else {}
            parsed = tool_call(name=call.name or "", args=value, id=call.id) if isinstance(value, dict) else None
            if parsed is None:
                error = ToolCallError.invalid_arguments(call.name, "the arguments are not a JSON object")
                return {"args": call.args, "error": str(error)}
        if parsed.get("type") == "invalid_tool_call":
            return {"args": parsed.get("args"), "error": parsed.get("error")}
        error = validate_tool_call(parsed, self.tools or [])
        if error is not None:
            return {"args": json.dumps(parsed["args"], ensure_ascii=False), "error": str(error)}
        return {"args": parsed["args"], "error": None}


def _chunk(index: int, call_id: str | None, name: str | None, args: str) -> dict[str, Any]:
    return {"type": "tool_call_chunk", "index": index, "id": call_id, "name": name, "args": args}


class CheckedAIMessageChunk(AIMessageChunk):
    """An ``AIMessageChunk`` that applies the tool-call verdicts of :class:`ToolCallStream`.

    LangChain rebuilds ``tool_calls`` from the argument text of the chunks whenever chunks are added,
    which cannot say that a call names an unknown tool or why it is invalid. The last chunk of a
    ChatQwenVL stream carries the verdicts (``response_metadata["tool_call_checks"]``); adding chunks
    up from the first one keeps this class, so the sum holds the same calls and errors as ``invoke()``.
    """

    @model_validator(mode="after")
    def _apply_tool_call_checks(self) -> Self:
        checks = (self.response_metadata or {}).get(CHECKS_KEY)
        if not checks or not self.tool_call_chunks:
            return self
        streamed = {str(c.get("index")): c for c in self.tool_call_chunks}
        calls: list[ToolCall] = []
        invalid: list[InvalidToolCall] = []
        for index, check in checks.items():
            chunk = streamed.get(index) or {}
            if check.get("error"):
                invalid.append(
                    invalid_tool_call(name=chunk.get("name"), args=check["args"], id=chunk.get("id"), error=check["error"])
                )
            else:
                calls.append(tool_call(name=chunk.get("name") or "", args=check["args"], id=chunk.get("id")))
        self.tool_calls, self.invalid_tool_calls = calls, invalid
        return self
