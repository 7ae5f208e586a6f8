"""Ranking steps (:mod:`vlkit.retrieval.search`): each one changes the page order the right way.

The searcher tests run BM25-only (``k_dense=0``) over a small in-memory stand-in for the read side
of an index (:class:`~vlkit.retrieval.protocols.SearchableIndex` is meant to be stood in for), so
each step's effect is isolated from the embedder; ``test_search.py`` covers the real hybrid index.
"""

from __future__ import annotations

import pytest
from vlkit.retrieval.bm25 import BM25Index
from vlkit.retrieval.search import HybridSearcher, RankingConfig, is_listing_page
from vlkit.retrieval.search._ranking import apply_penalty, expansion_terms, page_ranking, page_scores
from vlkit.retrieval.types import Chunk

TOC = "\n".join(
    ["Contents"]
    + [f"{n}.{i} {name} . . . . . . . . . . . . . . {10 + i}" for n, name in ((2, "Package management"), (3, "Log rotation"))
       for i in range(1, 6)]
)
INDEX = "# Index\npackages\napt, 37\napt-doc, 36, 37\napt-file, 39\nlogrotate, 42\ncron, 12, 19\nsudo, 49, 50"
BODY = ("Log rotation keeps files small: logrotate renames the file, compresses the old one and\n"
        "signals the daemon. See the table below for the options, 1 to 5.\nrotate 4\nweekly\ncompress")


def _chunk(doc: str, page: int, i: int, text: str, heading: str = "") -> Chunk:
    return Chunk(id=f"{doc}:{page}:{i}", doc_id=doc, file_name=f"{doc}.pdf", sha256="", page=page,
                 reader="text", text=text, start=0, end=len(text), heading=heading)


class _Pages:
    """The read side of an index, in memory: chunks per page; no vectors (searches run BM25-only)."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self._chunks = sorted(chunks, key=lambda c: (c.doc_id, c.page, int(c.id.rsplit(":", 1)[1])))
        self.version = 1

    def chunks(self, doc_id=None):
        return iter([c for c in self._chunks if doc_id is None or c.doc_id == doc_id])

    def document_stamps(self):
        return {c.doc_id: "1" for c in self._chunks}

    def dense_search(self, query, k=10):
        return []

    def pages(self, keys, images=True):
        out = {}
        for key in keys:
            texts = [c.text for c in self._chunks if (c.doc_id, c.page) == key]
            if texts:
                out[key] = ("\n".join(texts), None)
        return out


def _order(chunks: list[Chunk], query: str, fusion: str = "score", **ranking) -> list[int]:
    s = HybridSearcher(_Pages(chunks), k_dense=0, fusion=fusion, ranking=RankingConfig(**ranking))
    return [h.page for h in s.search(query, k=5)]


def test_listing_pages_are_detected():
    assert is_listing_page(TOC) and is_listing_page(INDEX)
    assert not is_listing_page(BODY)
    assert not is_listing_page("Chapter 1, 2\n" + BODY)  # one numbered line is not an index


def test_listing_demotion_puts_the_answer_above_the_table_of_contents():
    chunks = [_chunk("m", 3, 0, TOC), _chunk("m", 40, 0, BODY)]
    query = "log rotation package management"
    assert _order(chunks, query, listing_penalty=1.0)[0] == 3  # the TOC holds every word
    assert _order(chunks, query)[0] == 40  # the default demotion (the TOC scores ~7x the answer here)
    assert _order(chunks, query, listing_penalty=0.3, fusion="rrf")[0] == 40  # ranks only: a mild factor is enough


def test_section_path_field_weight_prefers_the_section_about_the_query():
    chunks = [
        _chunk("g", 1, 0, "Use logrotate to keep files small; it runs daily from cron and compresses old files.",
               heading="Admin Guide > 4 Logs > 4.2 Log rotation"),
        _chunk("g", 2, 0, "rotation of log files: see log rotation", heading="Admin Guide > 7 Miscellaneous notes"),
    ]
    assert _order(chunks, "log rotation", heading_weight=1.0)[0] == 2
    assert _order(chunks, "log rotation", heading_weight=4.0)[0] == 1


def test_page_level_bm25_prefers_the_page_that_covers_the_whole_question():
    chunks = [
        _chunk("d", 1, 0, "alpha beta filler words"),
        _chunk("d", 2, 0, "alpha more words"), _chunk("d", 2, 1, "beta more words"),
        _chunk("d", 2, 2, "gamma more words"), _chunk("d", 3, 0, "gamma " + "unrelated text " * 20),
    ]
    assert _order(chunks, "alpha beta gamma", page_bm25=0.0)[0] == 1  # one chunk holds two of the three terms
    assert _order(chunks, "alpha beta gamma", page_bm25=3.0)[0] == 2  # the page holds all three
    assert _order(chunks, "alpha beta gamma", page_bm25=1.5, fusion="rrf")[0] == 2


def test_second_chunk_bonus_and_no_reward_for_many_weak_chunks():
    best = [(_chunk("d", 1, 0, "a"), 5.0), (_chunk("d", 2, 0, "b"), 4.8), (_chunk("d", 2, 1, "c"), 4.5)]
    best += [(_chunk("d", 3, i, "w"), 1.0) for i in range(10)]
    assert page_ranking(best) == [("d", 1), ("d", 2), ("d", 3)]
    assert page_ranking(best, second=0.3) == [("d", 2), ("d", 1), ("d", 3)]
    # ten weak chunks: best + 0.3 x second = 1.3, never above a page with one strong chunk
    assert page_ranking(best, second=0.3)[-1] == ("d", 3)
    # the scores that score fusion divides by the query's best
    assert page_scores(best) == [(("d", 1), 5.0), (("d", 2), 4.8), (("d", 3), 1.0)]
    assert dict(page_scores(best, second=0.3)) == pytest.approx({("d", 1): 5.0, ("d", 2): 4.8 + 0.3 * 4.5, ("d", 3): 1.3})


def test_rm3_expansion_finds_a_page_without_the_query_word():
    chunks = [
        _chunk("r", 1, 0, "tomato sauce: simmer tomato with basil and garlic"),
        _chunk("r", 2, 0, "simmer the tomato with basil and garlic for forty minutes"),
        _chunk("r", 3, 0, "bake the bread at two hundred degrees"),
        _chunk("r", 4, 0, "tomato sauce tomato basil garlic simmer"),
    ]
    assert 2 not in _order(chunks, "sauce")
    assert 2 in _order(chunks, "sauce", prf_terms=4, prf_docs=2)
    bm25 = BM25Index([c.text for c in chunks])
    terms = expansion_terms(bm25, "sauce", [(chunks[0].text, 2.0), (chunks[3].text, 1.5)], 3)
    assert "sauce" not in terms and "tomato" in terms and abs(sum(terms.values()) - 1.0) < 1e-6


def test_apply_penalty_is_stable_and_a_no_op_at_one():
    fused = [(("d", 1), 0.5), (("d", 2), 0.4), (("d", 3), 0.3)]
    assert apply_penalty(fused, {("d", 1)}, 1.0) is fused
    assert [k for k, _ in apply_penalty(fused, {("d", 1)}, 0.5)] == [("d", 2), ("d", 3), ("d", 1)]


class _Scored(_Pages):
    """:class:`_Pages` with fixed dense cosines per page (the embedding's verdict, scripted)."""

    def __init__(self, chunks: list[Chunk], cosines: dict[int, float]) -> None:
        super().__init__(chunks)
        self.cosines = cosines

    def dense_search(self, query, k=10):
        first = {c.page: c for c in reversed(self._chunks)}
        return [(first[p], s) for p, s in sorted(self.cosines.items(), key=lambda kv: -kv[1])][:k]


def test_score_fusion_keeps_the_embeddings_clear_win_over_a_narrow_bm25_preference():
    chunks = [
        _chunk("m", 1, 0, "To rotate compressed logs weekly, set weekly and compress in /etc/logrotate.conf."),
        _chunk("m", 2, 0, "Logs rotate weekly. Rotated logs are compressed logs; old logs rotate out."),
        _chunk("m", 3, 0, "Unrelated page about printers and paper sizes."),
    ]
    index = _Scored(chunks, {1: 0.62, 2: 0.40, 3: 0.10})
    query = "rotate compressed logs weekly"
    by_score = HybridSearcher(index).search(query, k=3)
    by_rank = HybridSearcher(index, fusion="rrf").search(query, k=3)
    bm25 = {h.page: h.scores["bm25"] for h in by_score if "bm25" in h.scores}
    assert bm25[2] > bm25[1] > 0.9 * bm25[2]  # BM25 prefers page 2, narrowly (repeated words)
    assert [h.page for h in by_rank] == [2, 1, 3]  # ranks alone: BM25's two lists outvote the embedding
    assert [h.page for h in by_score] == [1, 2, 3]  # the embedding's 0.62 vs 0.40 keeps page 1 first
    assert by_score[0].scores["fused"] == by_score[0].score
