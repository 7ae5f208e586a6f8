"""Cited question answering over a document index with a vision-language chat model.

``DocumentQA`` retrieves the best pages (:class:`~vlkit.retrieval.search.HybridSearcher`), shows
the chat model the page **images** (at most ``max_images``, each scaled to at most
``image_tokens`` visual tokens of the answering model's own family, asked through
:func:`vlkit.vision.pixels_for_tokens`) together with every retrieved page's text, and asks for an
answer that cites ``[file p.N]``. The prompt is package data (``prompts/qa_en.txt``,
``prompts/qa_zh.txt``), picked by the question's script.

When nothing relevant is retrieved the model is **not called**: the answer says the documents do
not contain it. "Relevant" means a page's ``scores["relevance"]`` — the larger of its best dense
cosine similarity and its lexical coverage of the question — reaches ``min_relevance``. The default
separates answerable from off-topic questions on the bundled eval set with the multilingual USE
embedder (the scores are in ``benchmarks/README.md``); an English-only embedder cannot read Chinese
questions, and no threshold separates them there: use a multilingual embedder.

``rerank="vlm"`` lets the same chat model reorder the best pages first
(:class:`~vlkit.retrieval.search.VLMReranker`): the page images the answer sees are then the ones
the model judged most useful, not just the search's first two — at the price of one more model call.

Example::

    qa = DocumentQA(ChatQwenVL(), DocumentIndex(".vlkit/kb"))
    answer = qa.ask("How do I rotate the TLS certificate?")
    print(answer.text)                      # "... send SIGHUP ... [fluxdb-admin-guide.pdf p.12]"
    print([s.citation for s in answer.sources])
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from vlkit.documents.script import is_chinese
from vlkit.errors import InvalidArgumentError
from vlkit.retrieval._page_blocks import MIN_IMAGE_PIXELS, PageImageBudget
from vlkit.retrieval.protocols import SearchableIndex
from vlkit.retrieval.search import HybridSearcher, Reranker
from vlkit.retrieval.types import PageHit

__all__ = ["Answer", "DocumentQA", "NOT_FOUND", "PAGE_IMAGE_TOKENS", "RERANK_CHOICES", "is_chinese"]

logger = logging.getLogger(__name__)

NOT_FOUND = {
    "en": "I cannot find the answer in the indexed documents.",
    "zh": "在已索引的文档中找不到这个问题的答案。",
}
"""What :meth:`DocumentQA.ask` answers, without calling the model, when no page is relevant."""

PAGE_IMAGE_TOKENS = 768
"""Default visual tokens per page image sent to the model, in the answering model's own tokens."""

_CITATION = re.compile(r"\[([^\[\]]+?) p\.(\d+)\]")


@dataclass
class Answer:
    """An answer and the pages it was based on (empty when nothing relevant was found)."""

    text: str
    sources: list[PageHit] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.sources)

    @property
    def cited(self) -> list[PageHit]:
        """The sources the answer text actually cites."""
        refs = {(f, int(p)) for f, p in _CITATION.findall(self.text)}
        return [s for s in self.sources if (s.file_name, s.page) in refs]


def _prompt(lang: str) -> str:
    return resources.files("vlkit.retrieval").joinpath("prompts", f"qa_{lang}.txt").read_text(encoding="utf-8")


class DocumentQA:
    """Answers questions from an index with a LangChain chat model that takes image blocks.

    Args:
        model: any ``BaseChatModel`` accepting LangChain v1 image blocks (``ChatQwenVL``).
        index: a :class:`~vlkit.retrieval.index.DocumentIndex`.
        k: pages retrieved and given to the model as text.
        max_images: how many of those pages (the best ones) are also shown as images.
        image_tokens: page images are scaled down to cost at most this many visual tokens of
            ``model`` (its family read from it, or ``family``; a model whose family cannot be told
            is budgeted in the smallest tokens, 28×28 pixels). Scaled images go as base64, smaller ones
            as ``file://`` URLs.
        image_max_pixels: the same limit in pixels instead of tokens (overrides ``image_tokens``).
        family: ``qwen2_vl`` / ``qwen2_5_vl`` / ``qwen3_vl`` when ``model`` cannot tell its own
            (a model on a server that is not a ChatQwenVL with ``family=``).
        min_relevance: below this best ``scores["relevance"]`` the model is not called.
        searcher: a configured :class:`HybridSearcher` (default: one over ``index``).
        rerank: reorder the retrieved pages before answering: ``None`` (default, the fused order),
            ``"vlm"`` (:class:`~vlkit.retrieval.search.VLMReranker` with this ``model``: one more
            model call per question, over the best ``max(k, 5)`` pages), or any
            :class:`~vlkit.retrieval.search.Reranker`. With your own ``searcher``, give it the reranker instead.
    """

    def __init__(
        self,
        model: BaseChatModel,
        index: SearchableIndex,
        *,
        k: int = 4,
        max_images: int = 2,
        image_tokens: int = PAGE_IMAGE_TOKENS,
        image_max_pixels: int | None = None,
        family: str | None = None,
        min_relevance: float = 0.2,
        searcher: HybridSearcher | None = None,
        rerank: str | Reranker | None = None,
    ) -> None:
        pixels = MIN_IMAGE_PIXELS if image_max_pixels is None else image_max_pixels
        if k < 1 or max_images < 0 or pixels < MIN_IMAGE_PIXELS or image_tokens < 1:
            raise InvalidArgumentError(
                f"k={k}, max_images={max_images}, image_max_pixels={image_max_pixels}, image_tokens={image_tokens}: "
                f"need k >= 1, max_images >= 0 and image_max_pixels >= {MIN_IMAGE_PIXELS} (one visual token), "
                "image_tokens >= 1"
            )
        self.model, self.index = model, index
        self.k, self.max_images, self.image_tokens, self.family = k, max_images, image_tokens, family
        self._images = PageImageBudget(model, image_tokens, image_max_pixels, family)
        self.min_relevance = min_relevance
        reranker, depth = _reranker(rerank, model, k, family)
        if searcher is not None and reranker is not None:
            raise InvalidArgumentError(
                "DocumentQA got both searcher= and rerank=; pass the reranker to your searcher "
                "(HybridSearcher(index, reranker=..., rerank_depth=...)) or drop searcher="
            )
        self.searcher = searcher or HybridSearcher(index, reranker=reranker, rerank_depth=depth)

    # ------------------------------------------------------------------ public
    @property
    def image_max_pixels(self) -> int:
        """Pixels each page image is scaled down to: ``image_max_pixels`` when given, else ``image_tokens``
        of the answering model's tokens (asked of the model on first use)."""
        return self._images.max_pixels

    def retrieve(self, question: str) -> list[PageHit]:
        """The pages an answer would use: top ``k`` that clear ``min_relevance`` (maybe none)."""
        hits = self.searcher.search(question, k=self.k)
        relevant = [h for h in hits if h.scores.get("relevance", 0.0) >= self.min_relevance]
        if not relevant:
            best = max((h.scores.get("relevance", 0.0) for h in hits), default=0.0)
            logger.info("no page reaches relevance %.2f (best %.2f) for %r", self.min_relevance, best, question)
        return relevant

    def messages(self, question: str, pages: list[PageHit]) -> list[Any]:
        """The messages sent to the chat model (system prompt, then pages and question)."""
        lang = "zh" if is_chinese(question) else "en"
        content: list[dict[str, Any]] = []
        for i, hit in enumerate(pages):
            content.append({"type": "text", "text": f"Source {hit.citation}:\n{hit.text.strip()}\n"})
            if i < self.max_images and hit.image_path:
                block = self._images.block(Path(hit.image_path))
                if block is not None:
                    content.append(block)
        label = "问题" if lang == "zh" else "Question"
        content.append({"type": "text", "text": f"{label}: {question}"})
        return [SystemMessage(content=_prompt(lang)), HumanMessage(content=content)]

    def ask(self, question: str) -> Answer:
        """Answer with citations; without calling the model when nothing relevant is found."""
        pages = self.retrieve(question)
        if not pages:
            return Answer(NOT_FOUND["zh" if is_chinese(question) else "en"], [])
        reply = self.model.invoke(self.messages(question, pages))
        return Answer(_text_of(reply.content), pages)

    def stream(self, question: str) -> Iterator[str | list[PageHit]]:
        """Yield the answer as text pieces, then (last) the list of source pages.

        Example::

            for piece in qa.stream("..."):
                if isinstance(piece, str):
                    print(piece, end="")
                else:
                    sources = piece
        """
        pages = self.retrieve(question)
        if not pages:
            yield NOT_FOUND["zh" if is_chinese(question) else "en"]
            yield []
            return
        for chunk in self.model.stream(self.messages(question, pages)):
            text = _text_of(chunk.content)
            if text:
                yield text
        yield pages


RERANK_CHOICES = ("vlm",)
"""The names ``DocumentQA(rerank=...)`` accepts besides ``None`` and a :class:`Reranker` instance."""


def _reranker(
    rerank: str | Reranker | None, model: BaseChatModel, k: int, family: str | None = None
) -> tuple[Reranker | None, int]:
    """The reranker ``rerank`` names and how many fused pages it should see."""
    if rerank is None:
        return None, k
    if isinstance(rerank, Reranker):
        return rerank, max(k, 20)
    if rerank == "vlm":
        from vlkit.retrieval.search import VLMReranker

        top_n = max(k, 5)
        return VLMReranker(model, top_n=top_n, family=family), top_n
    hint = (" (no cross-encoder is available offline: no installable package ships one's weights)"
            if rerank == "cross-encoder" else "")
    raise InvalidArgumentError(
        f"rerank={rerank!r} is not a reranker{hint}; use None, one of {', '.join(map(repr, RERANK_CHOICES))}, "
        "or a vlkit.retrieval.Reranker instance"
    )


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)
