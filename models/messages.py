"""LangChain messages → vlkit's backend-neutral :class:`Turn` list.

A turn's content is its parts in order: text, images (:class:`~vlkit.vision.loading.ImageInput`) and videos
(:class:`~vlkit.vision.video.VideoInput`), each checked from its header here and decoded by the backend.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, HumanMessage, SystemMessage, ToolMessage

from vlkit.errors import UnsupportedContentError, Words
from vlkit.vision.limits import ImageLimits
from vlkit.vision.loading import ImageInput, image_from_block, is_image_block
from vlkit.vision.video.inputs import VideoInput, is_video_block, video_from_block
from vlkit.vision.video.limits import VideoLimits

__all__ = ["Part", "Turn", "ToolCallRecord", "describe_bad_content", "to_turns"]

Role = Literal["system", "user", "assistant", "tool"]
Part = str | ImageInput | VideoInput
"""One piece of a turn's content, in prompt order."""


@dataclass
class ToolCallRecord:
    """A tool call the assistant made earlier in the conversation."""

    id: str
    name: str
    args: dict[str, Any]


@dataclass
class Turn:
    """One message: a role and an ordered mix of text, images and videos."""

    role: Role
    content: list[Part] = field(default_factory=list)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    @property
    def text(self) -> str:
        return "".join(part for part in self.content if isinstance(part, str))

    @property
    def images(self) -> list[ImageInput]:
        return [part for part in self.content if isinstance(part, ImageInput)]

    @property
    def videos(self) -> list[VideoInput]:
        return [part for part in self.content if isinstance(part, VideoInput)]


_ROLES: dict[type, Role] = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant", ToolMessage: "tool"}


def to_turns(
    messages: Sequence[BaseMessage], limits: ImageLimits | None = None, video_limits: VideoLimits | None = None
) -> list[Turn]:
    """Convert LangChain messages, checking every image (see :mod:`vlkit.vision.loading`) and every video
    from its container header (see :mod:`vlkit.vision.video.inputs`; PyAV, the ``video`` extra, reads it)."""
    turns: list[Turn] = []
    for position, message in enumerate(messages):
        role = _role_of(message)
        turn = Turn(role=role, content=_content_parts(message.content, limits, video_limits))
        if role == "user" and not turn.images and not turn.videos and not turn.text:
            raise UnsupportedContentError(Words(
                python=f"message {position} ({type(message).__name__}) is empty; give it text or an image block, "
                'e.g. HumanMessage("Describe the image") or [{"type": "image", "path": "x.png"}, "Describe it"]',
                cli="the prompt is empty; give it text (and images with --image)",
                http=f"messages[{position}] is empty; give it a text or an image_url part",
                ui="the message is empty; type a question or add an image",
            ))
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


def _content_parts(content: str | list[Any], limits: ImageLimits | None, video_limits: VideoLimits | None) -> list[Part]:
    if isinstance(content, str):
        return [content] if content else []
    parts: list[Part] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif is_image_block(block):
            parts.append(image_from_block(block, limits))
        elif is_video_block(block):
            parts.append(video_from_block(block, video_limits))
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
        '{"type": "text", "text": …}, image blocks ({"type": "image", "path" | "url" | "base64": …}) and video '
        'blocks ({"type": "video", "path" | "url" | "base64": …} or {"type": "video_url", "video_url": {"url": …}})'
    )
