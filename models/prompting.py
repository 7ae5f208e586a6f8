"""Turns → the chat-template messages of a Qwen checkpoint, with the images in prompt order.

The chat template itself comes from the checkpoint (``tokenizer.apply_chat_template``); this module only
shapes the messages the way Qwen templates expect (content lists with ``{"type": "image"}`` items).
"""

from __future__ import annotations

import json
from typing import Any

from vlkit.models.families import FamilySpec
from vlkit.models.images import ImageInput
from vlkit.models.messages import Turn

__all__ = ["template_messages"]


def template_messages(
    turns: list[Turn], family: FamilySpec, tools: list[dict[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], list[ImageInput], list[dict[str, Any]] | None]:
    """Return ``(messages, images, tools_for_template)`` for ``tokenizer.apply_chat_template``.

    ``tools_for_template`` is what to pass as the template's ``tools`` argument: the tools themselves when
    the checkpoint's template renders them (Qwen3-VL), else ``None`` with the tools already rendered into
    the system message in the Hermes format (Qwen2-VL and Qwen2.5-VL templates drop ``tools``).
    """
    # Tools, earlier calls and tool results: the checkpoint's template renders them where it can (Qwen3-VL);
    # for the others vlkit.models.tool_calls writes them in the Hermes format (also with no tools bound).
    template_tools = None
    if tools or any(turn.role == "tool" or turn.tool_calls for turn in turns):
        from vlkit.models import tool_calls

        turns, template_tools = tool_calls.prepare_turns_for_template(turns, tools, family)
    messages: list[dict[str, Any]] = []
    images: list[ImageInput] = []
    for turn in turns:
        content: list[dict[str, Any]] = []
        for part in turn.content:
            if isinstance(part, ImageInput):
                content.append({"type": "image"})
                images.append(part)
            elif part:
                content.append({"type": "text", "text": part})
        message: dict[str, Any] = {"role": turn.role}
        if turn.role in {"system", "assistant", "tool"} and not any(c["type"] == "image" for c in content):
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
    return messages, images, template_tools


def dumps(value: Any) -> str:
    """JSON as Qwen templates write it (non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False)
