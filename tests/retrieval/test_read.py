"""The read side (:mod:`vlkit.retrieval.store`): fast paths give what the slow ones gave, and never
show what is not complete.

Dense search asks Chroma without a ``where`` filter and drops hidden chunks afterwards (these
tests open the index with ``search_snapshot=False`` so Chroma answers; the snapshot's own tests are in
test_vectors.py); BM25 is updated per document; pages are read by primary key.
"""

from __future__ import annotations


import numpy as np
import pytest
from vlkit.retrieval.chunking import with_heading
from vlkit.retrieval.bm25 import LexicalCorpus
from vlkit.retrieval.store import DocRow, PageRow
from vlkit.retrieval.search import HybridSearcher
from vlkit.retrieval.types import Chunk

pytest.importorskip("pymupdf")

# ---------------------------------------------------------------------------------------- index


def _hidden_doc(index, embedder, name: str, texts: list[str], state: str) -> str:
    """A document whose vectors and rows are in but which is not complete: an ingest still running
    (or killed) — ``pending`` — or a removal not finished — ``removing``."""
    doc_id = f"{name}0000000000"[:16]
    chunks = [Chunk(id=f"{doc_id}:1:{i}", doc_id=doc_id, file_name=f"{name}.pdf", sha256="0" * 64, page=1,
                    reader="text", text=t, start=0, end=len(t)) for i, t in enumerate(texts)]
    index.manifest.start_doc(DocRow(doc_id, f"{name}.pdf", f"/nowhere/{name}.pdf", "0" * 64, 1, "pending", None))
    index.store.upsert(chunks, embedder.embed(texts))
    index.manifest.commit_pages([PageRow(doc_id, 1, "text", "\n".join(texts), None, "")], chunks)
    if state == "removing":
        index.manifest.mark_removing(doc_id)
    return doc_id



def _filtered(index, query: str, k: int) -> list[tuple[str, float]]:
    """What dense search returned before: Chroma filtered to the complete documents."""
    return index.store.query(index.embedder.embed([query])[0], k, index.manifest.complete_ids())


def test_dense_search_without_filter_equals_filtered_search(make_index, text_pdf, chinese_pdf, monkeypatch, spy_queries):
    index = make_index(search_snapshot=False)
    index.add([text_pdf, chinese_pdf])
    calls = spy_queries(index)
    for query in ("invoice total", "volcano magma", "人工智能", "office hours"):
        got = [(c.id, s) for c, s in index.dense_search(query, 4)]
        assert calls.pop() is None  # every document is complete: no filter
        want = _filtered(index, query, 4)
        assert [i for i, _ in got] == [i for i, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-6)


@pytest.mark.parametrize("state", ["pending", "removing"])
@pytest.mark.parametrize("crowd", [2, 60])
def test_hidden_documents_never_surface(make_index, embedder, text_pdf, chinese_pdf, monkeypatch, state, crowd, spy_queries):
    """Hidden chunks that are the best matches by far — a few (made up for by fetching more) or
    so many that they fill every fetched slot (then the filtered query is the fallback)."""
    index = make_index(search_snapshot=False)
    index.add([text_pdf, chinese_pdf])
    query = "invoice total 4821 dollars"
    hidden = _hidden_doc(index, embedder, "ghost", [f"{query} {i}" for i in range(crowd)], state)
    calls = spy_queries(index)
    hits = index.dense_search(query, 3)
    filtered = [doc_ids is not None for doc_ids in calls]
    assert filtered == ([False, True] if crowd > 2 * 3 + 10 else [False])  # the fallback only when crowded out
    assert len(hits) == 3 and all(c.doc_id != hidden for c, _ in hits)
    assert [c.id for c, _ in hits] == [i for i, _ in _filtered(index, query, 3)]

    searcher = HybridSearcher(index)
    assert all(c.doc_id != hidden for c, _ in searcher.lexical_search(query, 50))
    pages = searcher.search(query, 5)
    assert pages and all(h.doc_id != hidden for h in pages)
    assert pages[0].file_name == "report.pdf" and pages[0].page == 1


def test_only_hidden_vectors_give_no_hits(make_index, embedder, monkeypatch):
    index = make_index()
    _hidden_doc(index, embedder, "ghost", ["invoice total"] * 3, "pending")
    assert index.dense_search("invoice total", 5) == []


def test_bm25_is_updated_per_document(make_index, text_pdf, chinese_pdf, mixed_pdf):
    index = make_index(reader="text")
    index.add([text_pdf, mixed_pdf])
    tokenised: list[str] = []

    def text_of(chunk: Chunk) -> str:
        tokenised.append(chunk.doc_id)
        return with_heading(chunk)

    corpus = LexicalCorpus(index, text_of)

    def same_as_fresh_build() -> None:
        bm25, chunks = corpus.get()
        fresh, fresh_chunks = LexicalCorpus(index, with_heading).get()
        assert [c.id for c in chunks] == [c.id for c in fresh_chunks] == [c.id for c in index.chunks()]
        for q in ("人工智能", "invoice total", "glacier meteorite", "nothing"):
            assert np.array_equal(bm25.scores(q), fresh.scores(q))

    same_as_fresh_build()
    docs = {d.file_name: d.doc_id for d in index.documents()}
    assert set(tokenised) == set(docs.values())

    tokenised.clear()
    index.add(chinese_pdf)
    same_as_fresh_build()
    chinese = next(d.doc_id for d in index.documents() if d.file_name == "chinese.pdf")
    assert set(tokenised) == {chinese}  # the others were not read again
    assert [c.id for c in index.chunks(chinese)] == [c.id for c in index.chunks() if c.doc_id == chinese]

    tokenised.clear()
    index.remove("report.pdf")
    same_as_fresh_build()
    assert tokenised == []

    stamp = index.document_stamps()[chinese]
    index.remove("chinese.pdf")
    index.add(chinese_pdf)  # same doc id, written again: must be read again
    assert index.document_stamps()[chinese] != stamp
    tokenised.clear()
    same_as_fresh_build()
    assert set(tokenised) == {chinese}


def test_pages_by_key_batches(make_index, text_pdf):
    index = make_index()
    index.add(text_pdf)
    doc_id = index.documents()[0].doc_id
    keys = [(doc_id, p) for p in range(1, 4)] + [("nope", p) for p in range(250)] + [(doc_id, 1)]
    got = index.pages(keys)
    assert sorted(got) == [(doc_id, 1), (doc_id, 2), (doc_id, 3)]
    assert "4821" in got[(doc_id, 1)][0] and got[(doc_id, 2)][1] is not None


