"""LangChain messages → vlkit's backend-neutral :class:`Turn` list."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, HumanMessage, SystemMessage, ToolMessage

from vlkit.errors import UnsupportedContentError
from vlkit.models.images import ImageInput, ImageLimits, image_from_block, is_image_block

__all__ = ["Turn", "ToolCallRecord", "describe_bad_content", "to_turns"]

Role = Literal["system", "user", "assistant", "tool"]


@dataclass
class ToolCallRecord:
    """A tool call the assistant made earlier in the conversation."""

    id: str
    name: str
    args: dict[str, Any]


@dataclass
class Turn:
    """One message: a role and an ordered mix of text and images."""

    role: Role
    content: list[str | ImageInput] = field(default_factory=list)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    @property
    def text(self) -> str:
        return "".join(part for part in self.content if isinstance(part, str))

    @property
    def images(self) -> list[ImageInput]:
        return [part for part in self.content if isinstance(part, ImageInput)]


_ROLES: dict[type, Role] = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant", ToolMessage: "tool"}


def to_turns(messages: Sequence[BaseMessage], limits: ImageLimits | None = None) -> list[Turn]:
    """Convert LangChain messages, loading and checking every image (see :mod:`vlkit.models.images`)."""
    turns: list[Turn] = []
    for position, message in enumerate(messages):
        role = _role_of(message)
        turn = Turn(role=role, content=_content_parts(message.content, limits))
        if role == "user" and not turn.images and not turn.text:
            raise UnsupportedContentError(
                f"message {position} ({type(message).__name__}) is empty; give it text or an image block, "
                'e.g. HumanMessage("Describe the image") or [{"type": "image", "path": "x.png"}, "Describe it"]'
            )
        if isinstance(message, AIMessage):
            turn.tool_calls = [
                ToolCallRecord(id=call.get("id") or f"call_{i}", name=call["name"], args=dict(call.get("args") or {}))
                for i, call in enumerate(message.tool_calls)
            ]
        if isinstance(message, ToolMessage):
            turn.tool_call_id = message.tool_call_id
            turn.name = message.name
        turns.append(turn)
    return _merge_system(turns)


def _role_of(message: BaseMessage) -> Role:
    for cls, role in _ROLES.items():
        if isinstance(message, cls):
            return role
    if isinstance(message, ChatMessage) and message.role in {"system", "user", "assistant", "tool"}:
        return message.role  # type: ignore[return-value]
    if isinstance(message, ChatMessage) and message.role in {"human", "ai"}:
        return "user" if message.role == "human" else "assistant"
    raise UnsupportedContentError(f"unsupported message type {type(message).__name__}")


def _content_parts(content: str | list[Any], limits: ImageLimits | None) -> list[str | ImageInput]:
    if isinstance(content, str):
        return [content] if content else []
    parts: list[str | ImageInput] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif is_image_block(block):
            parts.append(image_from_block(block, limits))
        elif isinstance(block, dict) and block.get("type") == "text":
            if not isinstance(block.get("text"), str):
                raise UnsupportedContentError(
                    f"a text block needs 'text' as a string, got {block.get('text')!r}: "
                    'write {"type": "text", "text": "…"}'
                )
            parts.append(block["text"])
        elif isinstance(block, dict) and block.get("type") in {"tool_use", "tool_call", "reasoning", "thinking"}:
            continue  # carried by AIMessage.tool_calls / not replayed to the model
        elif isinstance(block, dict) and block.get("type") == "json":
            parts.append(json.dumps(block.get("json"), ensure_ascii=False))
        else:
            raise UnsupportedContentError(describe_bad_content(block))
    return parts


def _merge_system(turns: list[Turn]) -> list[Turn]:
    """Qwen templates take one leading system message; fold several into it."""
    systems = [t for t in turns if t.role == "system"]
    if len(systems) <= 1 and (not systems or turns[0] is systems[0]):
        return turns
    merged = Turn(role="system", content=["\n\n".join(t.text for t in systems)])
    return [merged] + [t for t in turns if t.role != "system"]


def describe_bad_content(block: Any) -> str:
    """The message for content vlkit cannot use: what it got, and what it accepts."""
    kind = f"block of type '{block.get('type')}'" if isinstance(block, dict) else f"{type(block).__name__} {block!r:.40}"
    return (
        f"unsupported message content: {kind}; content is a string or a list of strings, "
        '{"type": "text", "text": …} and image blocks ({"type": "image", "path" | "url" | "base64": …})'
    )
