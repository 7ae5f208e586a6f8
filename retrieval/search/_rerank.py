"""Rerankers for :class:`~vlkit.retrieval.search.HybridSearcher`: the VLM itself as a listwise judge.

:class:`VLMReranker` shows the chat model the best few fused pages, numbered (each as its page image,
or its text when it has none), with the question, and asks — under ``with_structured_output``, which
ChatQwenVL decodes under a grammar so the answer always parses — for the numbers of the pages that
answer it, best first. Numbers that are not on the list are ignored; pages the model leaves out keep
their fused order after the ones it listed; an answer that cannot be read at all keeps the fused
order. It is optional because it costs one more model call per question (a prefill of ``top_n``
page images), and it is what the answer's page images are chosen by when it is on.

Why no cross-encoder: a cross-encoder is only usable here if a package ships its weights (nothing
is downloaded at run time), and the reranking packages checked (flashrank, rerankers, mxbai-rerank,
sentence-transformers' ``CrossEncoder`` and others) all fetch their models from a hub on first use. A
:class:`Reranker` subclass over a local cross-encoder folder is a few lines for whoever has the weights.

Example::

    llm = ChatQwenVL()
    qa = DocumentQA(llm, index, rerank="vlm")            # the QA's own model judges the top pages
    searcher = HybridSearcher(index, reranker=VLMReranker(llm, top_n=5), rerank_depth=5)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field, create_model

from vlkit.errors import InvalidArgumentError, ModelOutputError
from vlkit.retrieval._page_blocks import MIN_IMAGE_PIXELS, PageImageBudget
from vlkit.retrieval.search._hybrid import Reranker
from vlkit.retrieval.types import PageHit

__all__ = ["VLMReranker", "RERANK_IMAGE_TOKENS", "ranking_schema"]

logger = logging.getLogger(__name__)

RERANK_IMAGE_TOKENS = 512
"""Visual tokens per candidate page, in the judging model's own tokens: five pages cost about as much as
three answer images at :data:`~vlkit.retrieval.qa.PAGE_IMAGE_TOKENS`, and a manual page's headings and
body text are still legible at that size. On CPU, ChatQwenVL's own visual budget scales pages further down."""


@lru_cache(maxsize=32)
def ranking_schema(n: int) -> type[BaseModel]:
    """The answer's schema for ``n`` candidate pages: a list of page numbers, best first.

    The JSON schema says ``1 <= number <= n`` and at most ``n`` of them, which the local grammar
    enforces; validation itself accepts any integers, so a model decoded without a grammar (another
    provider, a server without guided decoding) loses only its bad numbers, not the whole answer.
    """
    number = Annotated[int, Field(json_schema_extra={"minimum": 1, "maximum": n})]
    return create_model(
        "PageRanking",
        __doc__="The candidate pages that help answer the question, most useful first.",
        pages=(list[number], Field(description=f"page numbers between 1 and {n}, most useful page first",
                                   json_schema_extra={"maxItems": n})),
    )


def _prompt() -> str:
    return resources.files("vlkit.retrieval.search").joinpath("rerank_vlm.txt").read_text(encoding="utf-8")


class VLMReranker(Reranker):
    """Listwise reranking of the best ``top_n`` pages by a vision-language chat model.

    Args:
        model: any ``BaseChatModel`` with ``with_structured_output`` that takes LangChain
            image blocks (``ChatQwenVL``; text-only models work with ``use_images=False``).
        top_n: how many of the pages it is given the model judges; the rest keep their order after them.
        image_tokens: each page image is scaled to cost at most this many visual tokens of ``model``
            (its family read from it, or ``family``; see :func:`vlkit.vision.pixels_for_tokens`).
        image_max_pixels: the same limit in pixels instead of tokens (overrides ``image_tokens``).
        family: ``qwen2_vl`` / ``qwen2_5_vl`` / ``qwen3_vl`` when ``model`` cannot tell its own.
        max_chars: page text shown when a page has no image (or ``use_images=False``) is cut here.
        use_images: show page images (True) or only page text (False: cheaper, and for text-only models).

    :meth:`score` returns rank-derived scores (``len(hits) - new_position``): higher is better, and the
    searcher records them as ``scores["rerank"]``; they are not probabilities.
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        top_n: int = 5,
        image_tokens: int = RERANK_IMAGE_TOKENS,
        image_max_pixels: int | None = None,
        family: str | None = None,
        max_chars: int = 2000,
        use_images: bool = True,
    ) -> None:
        pixels = MIN_IMAGE_PIXELS if image_max_pixels is None else image_max_pixels
        if top_n < 1 or pixels < MIN_IMAGE_PIXELS or max_chars < 1 or image_tokens < 1:
            raise InvalidArgumentError(
                f"top_n={top_n}, image_max_pixels={image_max_pixels}, image_tokens={image_tokens}, "
                f"max_chars={max_chars}: need top_n >= 1, image_max_pixels >= {MIN_IMAGE_PIXELS} (one visual "
                "token) and max_chars >= 1, image_tokens >= 1"
            )
        self.model = model
        self.top_n, self.max_chars, self.use_images = top_n, max_chars, use_images
        self.image_tokens, self.family = image_tokens, family
        self._images = PageImageBudget(model, image_tokens, image_max_pixels, family)
        # built once: a model without structured output fails here, not on the first question
        self._judge = model.with_structured_output(ranking_schema(top_n))

    @property
    def image_max_pixels(self) -> int:
        """Pixels each page image is scaled down to: ``image_max_pixels`` when given, else ``image_tokens``
        of the judging model's tokens (asked of the model on first use)."""
        return self._images.max_pixels

    # ------------------------------------------------------------------ Reranker
    def score(self, query: str, hits: Sequence[PageHit]) -> list[float]:
        """One score per hit: the model's order over the first ``top_n``, then the fused order."""
        order = self.order(query, hits)
        scores = [0.0] * len(hits)
        for position, i in enumerate(order):
            scores[i] = float(len(hits) - position)
        return scores

    def order(self, query: str, hits: Sequence[PageHit]) -> list[int]:
        """The hits' indices in their new order (a permutation of ``range(len(hits))``)."""
        head = list(hits[: self.top_n])
        if len(head) < 2:  # nothing to reorder: no model call
            return list(range(len(hits)))
        listed = self.ask(query, head)
        rest = [i for i in range(len(head)) if i not in listed]
        return listed + rest + list(range(len(head), len(hits)))

    def ask(self, query: str, pages: Sequence[PageHit]) -> list[int]:
        """The 0-based indices of ``pages`` the model lists, valid and deduplicated, best first.

        Empty when the answer cannot be read (logged): the caller keeps the fused order.
        """
        try:
            answer: Any = self._judge.invoke(self.messages(query, pages))
        except (ModelOutputError, ValueError) as exc:  # ValueError: LangChain's parsers and pydantic
            logger.warning("VLM reranker answer unusable (%s); keeping the fused order", exc)
            return []
        numbers = getattr(answer, "pages", None)
        if numbers is None and isinstance(answer, dict):
            numbers = answer.get("pages")
        if not isinstance(numbers, list):
            logger.warning("VLM reranker answered %r, not a list of page numbers; keeping the fused order", answer)
            return []
        picked: list[int] = []
        for n in numbers:
            if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= len(pages) and n - 1 not in picked:
                picked.append(n - 1)
        ignored = len(numbers) - len(picked)
        if ignored:
            logger.info("VLM reranker: ignored %d of %d page numbers (%r) for %d pages", ignored, len(numbers),
                        numbers, len(pages))
        return picked

    def messages(self, query: str, pages: Sequence[PageHit]) -> list[Any]:
        """What the model is sent: the instructions, then the numbered pages and the question."""
        content: list[dict[str, Any]] = []
        for number, hit in enumerate(pages, start=1):
            block = self._images.block(Path(hit.image_path)) if self.use_images and hit.image_path else None
            if block is not None:
                content += [{"type": "text", "text": f"Page {number}:"}, block]
            else:
                text = " ".join(hit.text.split())[: self.max_chars]
                content.append({"type": "text", "text": f"Page {number}:\n{text}\n"})
        content.append({"type": "text", "text": f"Question: {query}\nThe numbers of the pages that help, best first:"})
        return [SystemMessage(content=_prompt()), HumanMessage(content=content)]
