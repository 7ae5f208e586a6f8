"""Helpers for the agent tests: a scripted chat model (control flow only) and test images.

``ScriptedChat`` answers from a list of replies (AIMessages, or functions of the messages it is sent)
and records every call — the messages and the bound ``tools`` / ``tool_choice`` — so tests can assert
what the agent loop sent the model. It proves control flow, never that a real model works.
"""

from __future__ import annotations

import base64
import io
import itertools
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from PIL import Image
from pydantic import Field

_ids = itertools.count(1)

Reply = AIMessage | Callable[[list[BaseMessage]], AIMessage]


def call(name: str, /, **args: Any) -> AIMessage:
    """A scripted reply that calls ``name`` with ``args``."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{next(_ids)}", "type": "tool_call"}])


def answer(text: str) -> AIMessage:
    """A scripted ``final_answer`` call."""
    return call("final_answer", answer=text)


class ScriptedChat(BaseChatModel):
    """Replies from ``script`` in order; records each call in ``calls`` and its options in ``options``."""

    script: list[Any] = Field(default_factory=list)
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    options: list[dict[str, Any]] = Field(default_factory=list)
    repeat_last: bool = False
    """Keep answering with the last reply when the script runs out (for limit tests)."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice, **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        self.calls.append(list(messages))
        self.options.append(kwargs)
        index = len(self.calls) - 1
        if index >= len(self.script):
            assert self.repeat_last, f"script exhausted after {len(self.script)} replies"
            index = len(self.script) - 1
        step = self.script[index]
        reply = step(messages) if callable(step) else step
        if self.repeat_last:  # the same reply more than once needs fresh tool-call ids
            reply = reply.model_copy(
                update={"tool_calls": [{**c, "id": f"call_{next(_ids)}"} for c in reply.tool_calls], "id": None}
            )
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def tool_names(self, i: int) -> list[str]:
        return [t["function"]["name"] for t in self.options[i].get("tools", [])]


def png_block(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> dict[str, Any]:
    """A base64 PNG image block of one colour (the colour tells images apart in assertions)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return {"type": "image", "base64": base64.b64encode(buffer.getvalue()).decode("ascii"), "mime_type": "image/png"}


def block_color(block: dict[str, Any]) -> tuple[int, int, int]:
    image = Image.open(io.BytesIO(base64.b64decode(block["base64"]))).convert("RGB")
    return image.getpixel((0, 0))


def images_in(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    return [b for m in messages if isinstance(m.content, list) for b in m.content if isinstance(b, dict) and b.get("type") == "image"]
