"""``KnowledgeBaseTool``: the document knowledge base as an agent tool that returns pages, not snippets.

The agent's model gets each cited page's text *and* its page image (an image content block in the
``ToolMessage``), so a VLM can read a table or a stamp the text layer missed. ``mode="search"`` returns
the best pages; ``mode="ask"`` answers with :class:`~vlkit.retrieval.DocumentQA` first (its own model
call, with ``[file p.N]`` citations) and returns the answer with the pages it cites.
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path
from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from vlkit.errors import ImageError, InvalidArgumentError
from vlkit.vision import open_image, pixels_for_tokens
from vlkit.vision.families import SMALLEST_FACTOR

__all__ = ["KnowledgeBaseTool"]

logger = logging.getLogger(__name__)


class KnowledgeBaseQuery(BaseModel):
    """Arguments of the knowledge-base tool."""

    query: str = Field(description="What to look up, in the words the documents would use.")


class KnowledgeBaseTool(BaseTool):
    """Search (or ask) a :class:`~vlkit.retrieval.DocumentIndex`; returns page texts, citations and images.

    Example:
        ```python
        from vlkit.retrieval import DocumentIndex
        kb = KnowledgeBaseTool(index=DocumentIndex("kb/"), k=3)
        agent = create_vlm_agent(llm, [kb])
        ```
    """

    name: str = "knowledge_base"
    description: str = (
        "Search the user's documents. Returns the best matching pages with their citation [file p.N], "
        "their text and page images. Cite the pages you use as [file p.N]."
    )
    args_schema: type[BaseModel] = KnowledgeBaseQuery

    index: Any
    """The :class:`~vlkit.retrieval.DocumentIndex` to search."""
    mode: Literal["search", "ask"] = "search"
    """``search``: return the pages; ``ask``: answer with DocumentQA and return the answer and its pages."""
    model: Any = None
    """The chat model DocumentQA answers with (``mode="ask"`` only)."""
    k: int = Field(default=3, ge=1, le=20)
    """Pages retrieved per query."""
    max_images: int = Field(default=2, ge=0)
    """How many of the pages (the best ones) are returned as images too."""
    image_tokens: int | None = Field(default=None, ge=1)
    """Page images are scaled down to cost at most this many visual tokens before they go into the tool
    result (default: DocumentQA's, :data:`~vlkit.retrieval.qa.PAGE_IMAGE_TOKENS`). Counted in the tokens of
    ``model`` or ``family``; without either, in the smallest Qwen tokens (28×28 pixels)."""
    image_max_pixels: int | None = Field(default=None, ge=SMALLEST_FACTOR * SMALLEST_FACTOR)
    """The same limit in pixels instead of tokens (overrides ``image_tokens``)."""
    family: Literal["qwen2_vl", "qwen2_5_vl", "qwen3_vl"] | None = None
    """The Qwen family of the model that reads the pages, when ``model`` cannot tell it."""
    max_chars: int = Field(default=1500, ge=100)
    """Text of each page, cut at this many characters."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    _searcher: Any = PrivateAttr(default=None)
    _qa: Any = PrivateAttr(default=None)

    def _run(self, query: str, run_manager: Any = None) -> list[dict[str, Any]]:
        if self.mode == "ask":
            if self.model is None:
                raise InvalidArgumentError("KnowledgeBaseTool(mode='ask') needs model=<a chat model>; or use mode='search'")
            return self._ask(query)
        return self._search(query)

    # ------------------------------------------------------------------ modes

    def _search(self, query: str) -> list[dict[str, Any]]:
        from vlkit.retrieval import HybridSearcher

        if self._searcher is None:
            self._searcher = HybridSearcher(self.index)
        hits = self._searcher.search(query, k=self.k)
        if not hits:
            return [_text(f"No page in the knowledge base matches {query!r}.")]
        head = f"{len(hits)} pages for {query!r}, best first. Cite them as shown:"
        return [_text(head), *self._pages(hits)]

    def _ask(self, query: str) -> list[dict[str, Any]]:
        from vlkit.retrieval import DocumentQA

        if self._qa is None:
            self._qa = DocumentQA(self.model, self.index, k=self.k, max_images=self.max_images,
                                  image_max_pixels=self._page_pixels(), family=self.family)  # fmt: skip
        result = self._qa.ask(query)
        if not result.found:
            return [_text(result.text)]
        pages = result.cited or result.sources
        sources = ", ".join(p.citation for p in pages)
        return [_text(f"Answer: {result.text.strip()}\nSources: {sources}"), *self._pages(pages)]

    def _pages(self, hits: list[Any]) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        for i, hit in enumerate(hits):
            text = hit.text.strip()
            if len(text) > self.max_chars:
                text = text[: self.max_chars].rstrip() + " …"
            blocks.append(_text(f"{hit.citation}\n{text}"))
            if i < self.max_images and hit.image_path:
                image = _page_image(Path(hit.image_path), self._page_pixels())
                if image is not None:
                    blocks.append(image)
        return blocks

    def _page_pixels(self) -> int:
        if self.image_max_pixels is not None:
            return self.image_max_pixels
        from vlkit.retrieval.qa import PAGE_IMAGE_TOKENS

        return pixels_for_tokens(self.model, self.image_tokens or PAGE_IMAGE_TOKENS, self.family)


def _text(text: str) -> dict[str, Any]:
    # blocks end with a newline: LangChain's ``message.text`` joins blocks without a separator
    return {"type": "text", "text": text + "\n"}


def _page_image(path: Path, max_pixels: int) -> dict[str, Any] | None:
    """The page image as a base64 PNG block (base64, so the block survives checkpointing and HTTP)."""
    from PIL import Image

    try:
        image = open_image(path)
    except (ImageError, OSError) as exc:  # a missing page image: the text still goes out
        logger.warning("page image %s unusable (%s); sending its text only", path, exc)
        return None
    w, h = image.size
    if w * h > max_pixels:
        scale = (max_pixels / (w * h)) ** 0.5
        image = image.resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"type": "image", "base64": base64.b64encode(buffer.getvalue()).decode("ascii"), "mime_type": "image/png"}
