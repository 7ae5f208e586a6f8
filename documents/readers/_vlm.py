"""Transcribes pages with any LangChain chat model that accepts images (e.g. ChatQwenVL).

The page goes scaled down to what the model would resize it to anyway (its visual budget, asked through
:func:`vlkit.vision.vision_facts`), so a model behind a server is not sent pixels it throws away. A VLM
gives no positions: the lines it returns have no boxes.
"""

from __future__ import annotations

import base64
import io
import re
from importlib.resources import files

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from vlkit.documents._lines import PageLines
from vlkit.documents._pages import SourcePage
from vlkit.documents.readers._base import PageReader
from vlkit.errors import UnsupportedModelError
from vlkit.vision.facts import vision_facts

__all__ = ["VLMReader", "TRANSCRIBE_PROMPT"]

TRANSCRIBE_PROMPT = files("vlkit.documents.readers").joinpath("transcribe.txt").read_text(encoding="utf-8").strip()
_FENCE = re.compile(r"^```[a-zA-Z]*\n(.*)\n```$", re.DOTALL)


class VLMReader(PageReader):
    """Sends the rendered page image with a transcription prompt; returns the model's text.

    Args:
        model: any ``BaseChatModel`` that takes image blocks.
        prompt: the transcription instruction (default: the package's ``transcribe.txt``).
        family: the model's Qwen family (``qwen2_vl``, ``qwen2_5_vl``, ``qwen3_vl``) when it cannot say
            itself; a model that neither says nor is told gets the page as rendered (its server resizes it).
        max_pixels: scale pages down to at most this many pixels instead of the model's budget.
    """

    name = "vlm"

    def __init__(self, model: BaseChatModel, prompt: str = TRANSCRIBE_PROMPT, *, family: str | None = None,
                 max_pixels: int | None = None) -> None:
        self.model, self.prompt, self.family = model, prompt, family
        self._max_pixels = max_pixels

    @property
    def max_pixels(self) -> int | None:
        """Pixels a page is scaled down to: ``max_pixels`` when given, else the model's visual budget (asked
        once); ``None`` when the model cannot tell its family and none was given."""
        if self._max_pixels is None:
            try:
                self._max_pixels = vision_facts(self.model, self.family, asked_by="VLMReader").budget[1]
            except UnsupportedModelError:
                return None
        return self._max_pixels

    def read_page(self, page: SourcePage) -> PageLines:
        url = "data:image/png;base64," + base64.b64encode(self._png(page)).decode("ascii")
        message = HumanMessage(
            content=[{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": self.prompt}]
        )
        reply = self.model.invoke([message])
        text = reply.text
        text = str(text() if callable(text) and not isinstance(text, str) else text).strip()
        fenced = _FENCE.match(text)
        page_text = (fenced.group(1) if fenced else text).strip()
        lines = PageLines.from_text(page_text, page.number).lines
        return PageLines(page.number, page_text, lines, self.name)

    def _png(self, page: SourcePage) -> bytes:
        limit = self.max_pixels
        if limit is None or page.width * page.height <= limit:
            return page.png
        from PIL import Image

        scale = (limit / (page.width * page.height)) ** 0.5
        small = page.image().resize((max(1, int(page.width * scale)), max(1, int(page.height * scale))), Image.LANCZOS)
        buf = io.BytesIO()
        small.save(buf, format="PNG")
        return buf.getvalue()
