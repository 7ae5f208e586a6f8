"""Transcribes pages with any LangChain chat model that accepts images (e.g. ChatQwenVL)."""

from __future__ import annotations

import base64
import re
from importlib.resources import files

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from vlkit.retrieval.pages import SourcePage
from vlkit.retrieval.readers.base import PageReader

__all__ = ["VLMReader", "TRANSCRIBE_PROMPT"]

TRANSCRIBE_PROMPT = files("vlkit.retrieval.readers").joinpath("transcribe.txt").read_text(encoding="utf-8").strip()
_FENCE = re.compile(r"^```[a-zA-Z]*\n(.*)\n```$", re.DOTALL)


class VLMReader(PageReader):
    """Sends the rendered page image with a transcription prompt; returns the model's text."""

    name = "vlm"

    def __init__(self, model: BaseChatModel, prompt: str = TRANSCRIBE_PROMPT) -> None:
        self.model = model
        self.prompt = prompt

    def read(self, page: SourcePage) -> str:
        url = "data:image/png;base64," + base64.b64encode(page.png).decode("ascii")
        message = HumanMessage(
            content=[{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": self.prompt}]
        )
        reply = self.model.invoke([message])
        text = reply.text
        text = str(text() if callable(text) and not isinstance(text, str) else text).strip()
        fenced = _FENCE.match(text)
        return (fenced.group(1) if fenced else text).strip()
