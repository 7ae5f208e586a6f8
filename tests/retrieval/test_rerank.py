"""VLMReranker: control flow with a scripted chat model (LangChain's own tool-calling
``with_structured_output`` path), and one real structured-output run through ChatQwenVL on a tiny
random checkpoint (its answer is noise: only the contract is asserted).

No cross-encoder test: no installable package ships a cross-encoder's weights (see
``vlkit/retrieval/rerank.py``), so there is no ``CrossEncoderReranker``.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from vlkit.retrieval.qa import DocumentQA
from vlkit.retrieval.search import HybridSearcher, Reranker, VLMReranker
from vlkit.retrieval.search._rerank import RERANK_IMAGE_TOKENS, ranking_schema

from vlkit.errors import InvalidArgumentError

QUERY = "invoice total chlorophyll volcanoes"
"""Matches the three pages of the test manual, so a search returns all three."""


class ScriptedJudge(BaseChatModel):
    """Answers structured calls (``tools`` bound) with ``ranking`` as the ``PageRanking`` tool's
    arguments — or with ``raw`` (an AIMessage) when set — and plain calls with ``reply``.
    Records every message list it is sent, with whether it was the structured call."""

    ranking: Any = None
    raw: Any = None
    reply: str = "ok"
    calls: list = []

    @property
    def _llm_type(self) -> str:
        return "scripted-judge"

    def bind_tools(self, tools, *, tool_choice=None, **kwargs: Any):
        return self.bind(tools=tools, tool_choice=tool_choice, **kwargs)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        structured = "tools" in kwargs
        self.calls.append((structured, messages))
        if not structured:
            message = AIMessage(content=self.reply)
        elif self.raw is not None:
            message = self.raw
        else:
            message = AIMessage(content="", tool_calls=[{"name": "PageRanking", "args": self.ranking, "id": "c1"}])
        return ChatResult(generations=[ChatGeneration(message=message)])


def _fused(index) -> list:
    hits = HybridSearcher(index).search(QUERY, k=3)
    assert len(hits) == 3 and len(set(_pages(hits))) == 3
    return hits


def _pages(hits) -> list[tuple[str, int]]:
    return [(h.file_name, h.page) for h in hits]


def _searcher(index, judge, **kwargs) -> HybridSearcher:
    return HybridSearcher(index, reranker=VLMReranker(judge, **kwargs), rerank_depth=3)


def test_the_models_permutation_becomes_the_order(text_index):
    fused = _fused(text_index)
    judge = ScriptedJudge(ranking={"pages": [3, 1, 2]}, calls=[])
    hits = _searcher(text_index, judge, top_n=3, image_max_pixels=100_000).search(QUERY, k=3)
    assert _pages(hits) == _pages([fused[2], fused[0], fused[1]])
    assert [h.scores["rerank"] for h in hits] == [3.0, 2.0, 1.0]
    assert all("fused" in h.scores and "relevance" in h.scores for h in hits)  # the fused scores are kept
    # one structured call: the instructions, three numbered page images, then the question
    assert len(judge.calls) == 1 and judge.calls[0][0]
    system, human = judge.calls[0][1]
    assert "numbers of the pages" in system.content
    texts = [b["text"] for b in human.content if b["type"] == "text"]
    assert texts[:3] == ["Page 1:", "Page 2:", "Page 3:"] and texts[-1].startswith(f"Question: {QUERY}")
    assert sum(b["type"] == "image" for b in human.content) == 3


def test_pages_left_out_keep_their_fused_order_after_the_listed_ones(text_index):
    fused = _fused(text_index)
    hits = _searcher(text_index, ScriptedJudge(ranking={"pages": [3]}, calls=[]), top_n=3).search(QUERY, k=3)
    assert _pages(hits) == _pages([fused[2], fused[0], fused[1]])


def test_only_the_top_n_are_judged_and_the_rest_keep_their_place(text_index):
    fused = _fused(text_index)
    judge = ScriptedJudge(ranking={"pages": [2, 1]}, calls=[])
    hits = _searcher(text_index, judge, top_n=2).search(QUERY, k=3)
    assert _pages(hits) == _pages([fused[1], fused[0], fused[2]])
    assert sum(b["type"] == "image" for b in judge.calls[0][1][1].content) == 2


def test_invalid_out_of_range_and_repeated_numbers_are_ignored(text_index, caplog):
    fused = _fused(text_index)
    judge = ScriptedJudge(ranking={"pages": [7, 0, -3, 2, 2, 1]}, calls=[])
    with caplog.at_level(logging.INFO, logger="vlkit.retrieval.search._rerank"):
        hits = _searcher(text_index, judge, top_n=3).search(QUERY, k=3)
    assert _pages(hits) == _pages([fused[1], fused[0], fused[2]])
    assert "ignored 4 of 6 page numbers" in caplog.text


@pytest.mark.parametrize("raw", [
    AIMessage(content="Page two, I think."),  # no structured answer at all
    AIMessage(content="", tool_calls=[{"name": "PageRanking", "args": {"pages": "two"}, "id": "c1"}]),
    AIMessage(content="", tool_calls=[{"name": "PageRanking", "args": {"order": [2, 1]}, "id": "c1"}]),
], ids=["no-tool-call", "not-a-list", "wrong-field"])
def test_garbage_keeps_the_fused_order(text_index, raw, caplog):
    fused = _fused(text_index)
    with caplog.at_level(logging.WARNING, logger="vlkit.retrieval.search._rerank"):
        hits = _searcher(text_index, ScriptedJudge(raw=raw, calls=[]), top_n=3).search(QUERY, k=3)
    assert _pages(hits) == _pages(fused)
    assert [h.scores["rerank"] for h in hits] == [3.0, 2.0, 1.0]
    assert "keeping the fused order" in caplog.text


def test_text_instead_of_images_and_one_page_is_not_judged(text_index):
    judge = ScriptedJudge(ranking={"pages": [2, 1]}, calls=[])
    reranker = VLMReranker(judge, top_n=2, use_images=False, max_chars=20)
    hits = _fused(text_index)
    assert reranker.score(QUERY, hits) == [2.0, 3.0, 1.0]
    content = judge.calls[0][1][1].content
    assert all(b["type"] == "text" for b in content)
    assert content[0]["text"] == "Page 1:\n" + " ".join(hits[0].text.split())[:20] + "\n"
    assert reranker.score(QUERY, hits[:1]) == [1.0] and len(judge.calls) == 1  # nothing to reorder: no call


def test_the_schema_bounds_the_numbers_for_the_grammar_but_validation_is_lenient():
    schema = ranking_schema(4).model_json_schema()["properties"]["pages"]
    assert schema["maxItems"] == 4 and schema["items"] == {"type": "integer", "minimum": 1, "maximum": 4}
    assert ranking_schema(4).model_validate({"pages": [9, 1]}).pages == [9, 1]  # filtered later, not rejected
    assert ranking_schema(4) is ranking_schema(4)


def test_bad_settings_are_user_errors():
    for bad in ({"top_n": 0}, {"image_max_pixels": 10}, {"max_chars": 0}):
        with pytest.raises(InvalidArgumentError, match="need top_n >= 1, image_max_pixels >= 784"):
            VLMReranker(ScriptedJudge(), **bad)
    assert RERANK_IMAGE_TOKENS == 512
    # the judge's own tokens: the family given (or read from a ChatQwenVL), else the smallest (28 px)
    assert VLMReranker(ScriptedJudge(), family="qwen3_vl").image_max_pixels == 512 * 32 * 32
    assert VLMReranker(ScriptedJudge()).image_max_pixels == 512 * 28 * 28
    assert VLMReranker(ScriptedJudge(), image_max_pixels=5000).image_max_pixels == 5000


# ------------------------------------------------------------------ DocumentQA(rerank=...)


def test_document_qa_rerank_vlm_uses_its_own_model_and_answers_from_the_new_order(text_index):
    fused = HybridSearcher(text_index).search(QUERY, k=5)
    judge = ScriptedJudge(ranking={"pages": [3]}, reply="answer", calls=[])
    qa = DocumentQA(judge, text_index, k=3, max_images=1, min_relevance=0.0, rerank="vlm")
    assert isinstance(qa.searcher.reranker, VLMReranker) and qa.searcher.reranker.top_n == 5
    answer = qa.ask(QUERY)
    assert [structured for structured, _ in judge.calls] == [True, False]  # judge, then answer
    assert _pages(answer.sources) == _pages([fused[2], fused[0], fused[1]])
    answer_prompt = judge.calls[1][1][1].content
    assert answer_prompt[0]["text"].startswith(f"Source {fused[2].citation}:")


def test_document_qa_accepts_a_reranker_instance(text_index):
    class ByPage(Reranker):
        def score(self, query, hits):
            return [float(h.page) for h in hits]  # prefer later pages

    qa = DocumentQA(ScriptedJudge(calls=[]), text_index, k=3, min_relevance=0.0, rerank=ByPage())
    pages = [h.page for h in qa.retrieve(QUERY)]
    assert pages == sorted(pages, reverse=True) and qa.searcher.rerank_depth == 20


def test_document_qa_rerank_choices_are_typed_errors(text_index):
    with pytest.raises(InvalidArgumentError, match=r"rerank='colbert' is not a reranker; use None, one of 'vlm'"):
        DocumentQA(ScriptedJudge(), text_index, rerank="colbert")
    with pytest.raises(InvalidArgumentError, match="no cross-encoder is available offline"):
        DocumentQA(ScriptedJudge(), text_index, rerank="cross-encoder")
    with pytest.raises(InvalidArgumentError, match="both searcher= and rerank="):
        DocumentQA(ScriptedJudge(), text_index, searcher=HybridSearcher(text_index), rerank="vlm")
    assert DocumentQA(ScriptedJudge(), text_index).searcher.reranker is None  # default: no reranking


# ------------------------------------------------------------------ the real structured-output path


@pytest.mark.slow
def test_vlm_reranker_on_a_tiny_checkpoint_returns_a_permutation(text_index, caplog):
    from vlkit.models import ChatQwenVL

    from vlkit import testing

    chat = ChatQwenVL(model=str(testing.tiny_checkpoint("qwen2_vl")), max_tokens=24)
    reranker = VLMReranker(chat, top_n=3, image_max_pixels=64 * 28 * 28)
    fused = _fused(text_index)
    with caplog.at_level(logging.WARNING, logger="vlkit.retrieval.search._rerank"):
        listed = reranker.ask(QUERY, fused)  # decoded under the schema's grammar: always usable
        hits = HybridSearcher(text_index, reranker=reranker, rerank_depth=3).search(QUERY, k=3)
    assert "unusable" not in caplog.text and "not a list" not in caplog.text
    assert len(listed) == len(set(listed)) <= 3 and all(0 <= i < 3 for i in listed)
    assert sorted(_pages(hits)) == sorted(_pages(fused)) and len(hits) == 3
    assert sorted(h.scores["rerank"] for h in hits) == [1.0, 2.0, 3.0]
    assert [h.scores["rerank"] for h in hits] == [3.0, 2.0, 1.0]  # sorted by the recorded scores

    answer = DocumentQA(chat, text_index, k=2, max_images=1, min_relevance=0.0, rerank="vlm").ask(QUERY)
    assert len(answer.sources) == 2 and isinstance(answer.text, str)
    assert {s.page for s in answer.sources} <= {h.page for h in HybridSearcher(text_index).search(QUERY, k=5)}
