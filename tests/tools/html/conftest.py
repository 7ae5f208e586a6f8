"""Fixtures for the screenshot → HTML tests: the built-in pages and their real Chromium screenshots,
graded edits of the landing page, and a scripted chat model that records what it was shown."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from PIL import Image

SIZE = (1280, 800)


@pytest.fixture(scope="session")
def pages() -> dict[str, str]:
    from vlkit.tools.html.evalset import evalset_pages

    return evalset_pages()


@pytest.fixture(scope="session")
def shots(pages: dict[str, str], chromium) -> dict[str, Image.Image]:
    """Every built-in page rendered at 1280×800 by the shared browser."""
    from vlkit.tools.render import render_html

    return {name: render_html(html, *SIZE) for name, html in pages.items()}


def _landing_edits(landing: str) -> list[tuple[str, str]]:
    """The graded series: each step keeps the previous damage and adds more."""
    colour = landing.replace("color: #3366cc", "color: #cc3333")
    moved = colour.replace("padding: 30px 48px; }", "padding: 190px 48px 30px; }")
    deleted = moved.replace(
        "<p>Ship your apps to a global edge network in minutes, with zero configuration and automatic scaling.</p>", ""
    ).replace("<span>Docs</span><span>Blog</span>", "")
    assert colour != landing and moved != colour and deleted != moved
    return [("colour", colour), ("move", moved), ("delete", deleted), ("blank", "<!DOCTYPE html><html><body></body></html>")]


@pytest.fixture(scope="session")
def edits(pages: dict[str, str]) -> list[tuple[str, str]]:
    """(name, html) of the landing page after colour → move → delete-text → blank edits."""
    return _landing_edits(pages["landing"])


@pytest.fixture(scope="session")
def landing_png(tmp_path_factory: pytest.TempPathFactory, shots: dict[str, Image.Image]) -> Path:
    """The landing page's screenshot as a PNG file."""
    path = tmp_path_factory.mktemp("shots") / "landing.png"
    shots["landing"].save(path)
    return path


class ScriptedChatModel(FakeMessagesListChatModel):
    """langchain_core's list-of-answers fake, recording every prompt and refusing to cycle past the script."""

    calls: list[list[BaseMessage]] = []

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        if len(self.calls) >= len(self.responses):
            raise AssertionError(f"the loop asked for answer {len(self.calls) + 1}; only {len(self.responses)} scripted")
        self.calls.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


@pytest.fixture
def scripted() -> Callable[[list[str]], ScriptedChatModel]:
    """``scripted(["answer 1", "answer 2"])`` → a chat model giving those answers in order."""
    return lambda answers: ScriptedChatModel(responses=[AIMessage(a) for a in answers])


def _prompt_text(messages: list[BaseMessage]) -> str:
    content = messages[-1].content
    if isinstance(content, str):
        return content
    return "\n".join(b["text"] for b in content if isinstance(b, dict) and b.get("type") == "text")


def _prompt_images(messages: list[BaseMessage]) -> int:
    content = messages[-1].content
    return 0 if isinstance(content, str) else sum(1 for b in content if isinstance(b, dict) and b.get("type") == "image")


@pytest.fixture
def prompt_text() -> Callable[[list[BaseMessage]], str]:
    """All text of the last human message of a prompt (what the model was told that round)."""
    return _prompt_text


@pytest.fixture
def prompt_images() -> Callable[[list[BaseMessage]], int]:
    """How many pictures the last human message of a prompt carries."""
    return _prompt_images


@dataclass
class CliRun:
    code: int
    out: str
    err: str


@pytest.fixture
def vlkit_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliRun]:
    """Run ``vlkit ARGS`` in-process through ``vlkit.cli.main`` (typed errors → exit 2) and capture it."""
    from vlkit.cli import main

    def run(*args: str | os.PathLike[str]) -> CliRun:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["vlkit", *map(os.fspath, args)])
        monkeypatch.setenv("COLUMNS", "200")
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run
