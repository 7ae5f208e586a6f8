"""Fixtures for the invoice tool: a generated labelled set, pages read once (OCR is the slow part),
tiny checkpoints, and a scripted chat model for control-flow tests only."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel

FAMILY_NAMES = ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"]


@functools.cache
def tiny(family: str) -> str:
    from vlkit.testing import tiny_checkpoint

    return str(tiny_checkpoint(family))


class ScriptedChatModel(BaseChatModel):
    """Answers structured-output calls with scripted JSON, in order, and records what it was asked.

    For control flow (what is re-asked, with which schema and message) — never as proof extraction works.
    """

    answers: list[Any]
    calls: list[dict[str, Any]] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=json.dumps(self.answers.pop(0))))])

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kw: Any) -> Any:
        def run(messages: list[BaseMessage]) -> Any:
            answer = self.answers.pop(0)
            self.calls.append({"messages": messages, "schema": schema})
            raw = AIMessage(content=json.dumps(answer, ensure_ascii=False))
            parsed = schema.model_validate(answer) if isinstance(schema, type) and issubclass(schema, BaseModel) else answer
            return {"raw": raw, "parsed": parsed, "parsing_error": None} if include_raw else parsed

        return RunnableLambda(run)


@pytest.fixture(scope="session")
def evalset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six generated documents: vat/invoice/receipt x PNG, then PDF; 003 is a scanned (image-only) PDF."""
    from vlkit.tools.invoice.evalset import generate

    folder = tmp_path_factory.mktemp("invoices")
    generate(folder, n=6, seed=7)
    return folder


@pytest.fixture(scope="session")
def read_once(evalset: Path) -> Any:
    """``read_once(name)`` -> pages of that evalset document, each file read (OCR'd) once per session."""
    from vlkit.tools.invoice._pages import read_pages

    cache: dict[str, Any] = {}

    def read(name: str) -> Any:
        if name not in cache:
            cache[name] = read_pages(evalset / name)
        return cache[name]

    return read


@pytest.fixture(scope="session")
def receipt_png() -> Path:
    return Path(__file__).resolve().parents[3] / "examples" / "assets" / "receipt.png"
