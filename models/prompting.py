"""Turns → the chat-template messages of a Qwen checkpoint, with the images and videos in prompt order.

The chat template itself comes from the checkpoint (``tokenizer.apply_chat_template``); this module only
shapes the messages the way Qwen templates expect (content lists with ``{"type": "image"}`` and
``{"type": "video"}`` items).
"""

from __future__ import annotations

from typing import Any

from vlkit.vision.loading import ImageInput
from vlkit.vision.video.inputs import VideoInput
from vlkit.models.messages import Turn

__all__ = ["template_messages"]


def template_messages(turns: list[Turn]) -> tuple[list[dict[str, Any]], list[ImageInput], list[VideoInput]]:
    """Return ``(messages, images, videos)`` for ``tokenizer.apply_chat_template``.

    Tools and tool turns arrive already shaped by the backend (:meth:`Backend.prompt_turns`): natively for
    templates that render them (Qwen3-VL: ``tool`` messages whose content list may hold images), in the
    Hermes format for the others.
    """
    messages: list[dict[str, Any]] = []
    images: list[ImageInput] = []
    videos: list[VideoInput] = []
    for turn in turns:
        content: list[dict[str, Any]] = []
        for part in turn.content:
            if isinstance(part, ImageInput):
                content.append({"type": "image"})
                images.append(part)
            elif isinstance(part, VideoInput):
                content.append({"type": "video"})
                videos.append(part)
            elif part:
                content.append({"type": "text", "text": part})
        message: dict[str, Any] = {"role": turn.role}
        if turn.role in {"system", "assistant", "tool"} and not any(c["type"] in ("image", "video") for c in content):
            message["content"] = "".join(c["text"] for c in content)
        else:
            message["content"] = content
        if turn.tool_calls:
            message["tool_calls"] = [
                {"type": "function", "id": call.id, "function": {"name": call.name, "arguments": call.args}}
                for call in turn.tool_calls
            ]
        if turn.role == "tool" and turn.tool_call_id:
            message["tool_call_id"] = turn.tool_call_id
        messages.append(message)
    return messages, images, videos
