"""The vector snapshot (:mod:`vlkit.retrieval.store`): searches that skip Chroma give what Chroma
gives, never read a stale copy, never show what is not complete, and never import chromadb."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from vlkit.retrieval.search import HybridSearcher
from vlkit.retrieval.store import DocRow, PageRow, VectorSnapshot
from vlkit.retrieval.types import Chunk

pytest.importorskip("pymupdf")

QUERIES = ("invoice total", "volcano magma", "人工智能", "office hours")



def _chroma(index, query: str, k: int) -> list[tuple[str, float]]:
    """What Chroma answers, filtered to the complete documents."""
    return index.store.query(index.embedder.embed([query])[0], k, index.manifest.complete_ids())


def test_snapshot_answers_as_chroma_does_without_asking_it(make_index, text_pdf, chinese_pdf, monkeypatch, spy_queries):
    index = make_index()
    index.add([text_pdf, chinese_pdf])
    meta = index.snapshot.meta()
    assert meta["version"] == index.version and meta["count"] == len(list(index.chunks()))
    calls = spy_queries(index)
    for query in QUERIES:
        got = index.dense_search(query, 4)
        want = _chroma(index, query, 4)
        assert [c.id for c, _ in got] == [i for i, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)
    assert len(calls) == len(QUERIES)  # only _chroma's own calls: the searches never asked Chroma


def test_snapshot_follows_adds_and_removals(make_index, text_pdf, chinese_pdf, mixed_pdf):
    index = make_index()
    index.add([text_pdf])
    first = index.snapshot.meta()["version"]
    index.add([chinese_pdf, mixed_pdf])
    assert index.snapshot.meta()["version"] == index.version > first
    chinese = next(d.doc_id for d in index.documents() if d.file_name == "chinese.pdf")
    assert any(c.doc_id == chinese for c, _ in index.dense_search("人工智能", 3))
    index.remove("chinese.pdf")
    assert index.snapshot.meta()["version"] == index.version
    assert all(c.doc_id != chinese for c, _ in index.dense_search("人工智能", 10))
    files = sorted(p.name for p in index.snapshot.folder.iterdir())
    assert files == [f"ids-{index.version}.txt", "snapshot.json", f"vectors-{index.version}.npy"]  # old ones collected


def test_a_stale_snapshot_is_never_read(make_index, text_pdf, chinese_pdf, monkeypatch, spy_queries):
    """A commit the snapshot has not seen (a killed ``add``, another writer): Chroma answers until the
    next ``add`` refreshes it."""
    index = make_index()
    index.add([text_pdf])
    np.save(index.snapshot.folder / f"vectors-{index.version}.npy",
            np.zeros((index.snapshot.meta()["count"], 384), dtype=np.float32))  # would rank everything 0
    with index.manifest.tx() as db:
        index.manifest.bump_version(db)
    calls = spy_queries(index)
    hits = index.dense_search("invoice total", 3)
    assert calls == [None] and hits and hits[0][1] > 0.3
    index.add([text_pdf])  # nothing to ingest; the snapshot is brought up to date
    assert index.snapshot.fresh(index.version, index.manifest.get_meta("embedder"))
    again = index.dense_search("invoice total", 3)
    assert calls == [None] and [c.id for c, _ in again] == [c.id for c, _ in hits]


def test_hidden_documents_never_surface(make_index, embedder, text_pdf, monkeypatch, spy_queries):
    index = make_index()
    index.add([text_pdf])
    query = "invoice total 4821 dollars"
    doc_id = "ghost00000000000"
    texts = [f"{query} {i}" for i in range(30)]
    chunks = [Chunk(id=f"{doc_id}:1:{i}", doc_id=doc_id, file_name="ghost.pdf", sha256="0" * 64, page=1,
                    reader="text", text=t, start=0, end=len(t)) for i, t in enumerate(texts)]
    index.manifest.start_doc(DocRow(doc_id, "ghost.pdf", "/nowhere/ghost.pdf", "0" * 64, 1, "pending", None))
    index.store.upsert(chunks, embedder.embed(texts))
    index.manifest.commit_pages([PageRow(doc_id, 1, "text", "\n".join(texts), None, "")], chunks)
    calls = spy_queries(index)
    hits = index.dense_search(query, 3)
    assert calls == [] and len(hits) == 3 and all(c.doc_id != doc_id for c, _ in hits)


def test_unreadable_snapshot_falls_back_to_chroma(make_index, text_pdf, monkeypatch, caplog, spy_queries):
    index = make_index()
    index.add([text_pdf])
    (index.snapshot.folder / f"vectors-{index.version}.npy").write_bytes(b"not numpy")
    calls = spy_queries(index)
    hits = index.dense_search("invoice total", 3)
    assert calls == [None] and [c.id for c, _ in hits] == [i for i, _ in _chroma(index, "invoice total", 3)]
    assert "unreadable search snapshot" in caplog.text


def test_large_indexes_are_left_to_chroma(make_index, text_pdf, chinese_pdf, monkeypatch, spy_queries):
    monkeypatch.setattr("vlkit.retrieval.index.MAX_SNAPSHOT_CHUNKS", 1)
    index = make_index()
    index.add([text_pdf, chinese_pdf])
    assert index.snapshot.meta() is None
    calls = spy_queries(index)
    assert index.dense_search("invoice total", 3) and calls == [None]


def test_snapshot_write_gives_up_when_the_index_moves(tmp_path):
    snap = VectorSnapshot(tmp_path / "search")
    vectors = {"a": np.ones(4, dtype=np.float32) / 2, "b": np.array([1, 0, 0, 0], dtype=np.float32)}
    assert not snap.write(3, "m", ["a", "b"], lambda ids: vectors.items(), current_version=lambda: 4)
    assert snap.meta() is None
    assert not snap.write(3, "m", ["a", "b", "c"], lambda ids: vectors.items(), current_version=lambda: 3)
    assert snap.write(3, "m", ["a", "b"], lambda ids: vectors.items(), current_version=lambda: 3)
    assert [i for i, _ in snap.search(np.array([1, 0, 0, 0]), 2, 3, "m")] == ["b", "a"]
    assert snap.search(np.array([1, 0, 0, 0]), 2, 3, "other-model") is None
    assert snap.search(np.array([1, 0, 0, 0]), 2, 4, "m") is None


def test_a_search_process_never_imports_chromadb(make_index, text_pdf, chinese_pdf):
    index = make_index()
    index.add([text_pdf, chinese_pdf])
    want = [(h.file_name, h.page) for h in HybridSearcher(index).search("invoice total", k=3)]
    code = (
        "import json, sys\n"
        "from vlkit.retrieval import DocumentIndex, HybridSearcher\n"
        "kb = DocumentIndex(sys.argv[1])\n"
        "hits = HybridSearcher(kb).search('invoice total', k=3)\n"
        "print(json.dumps({'hits': [[h.file_name, h.page] for h in hits],\n"
        "                  'chromadb': any(m.split('.')[0] == 'chromadb' for m in sys.modules)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(index.path)], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["chromadb"] is False
    assert [tuple(h) for h in got["hits"]] == want


def test_bm25_counts_are_reused_by_a_new_process(make_index, text_pdf, chinese_pdf, mixed_pdf, monkeypatch):
    """A second searcher (what a new `vlkit kb search` process makes) reads the counts of unchanged
    documents from the index folder instead of tokenising them, and ranks exactly as a fresh build."""
    from vlkit.retrieval.bm25 import _corpus as lexical_corpus

    index = make_index()
    index.add([text_pdf, chinese_pdf])
    first = HybridSearcher(index)
    first.search("invoice total", k=3)
    assert index.lexical_cache_path.is_file()

    counted: list[int] = []
    real = lexical_corpus.Vocabulary.count

    def count(self, texts):
        texts = list(texts)
        counted.append(len(texts))
        return real(self, texts)

    monkeypatch.setattr(lexical_corpus.Vocabulary, "count", count)
    second = HybridSearcher(index)
    for query in QUERIES:
        assert [(h.doc_id, h.page, h.score) for h in second.search(query, k=4)] == \
            [(h.doc_id, h.page, h.score) for h in first.search(query, k=4)]
    assert counted == []  # nothing tokenised again

    index.add([mixed_pdf])  # one new document: only its chunks are counted
    mixed = next(d for d in index.documents() if d.file_name == "mixed.pdf")
    third = HybridSearcher(index)
    third.search("invoice total", k=3)
    assert 0 < sum(counted) <= 2 * mixed.chunks  # body + section-path field of the new document only
    fresh = HybridSearcher(index, ranking=None)
    fresh._corpus.cache = None
    for query in QUERIES:
        assert [(h.doc_id, h.page, h.score) for h in third.search(query, k=4)] == \
            [(h.doc_id, h.page, h.score) for h in fresh.search(query, k=4)]


def test_a_broken_bm25_cache_is_ignored(make_index, text_pdf, caplog):
    index = make_index()
    index.add([text_pdf])
    want = [(h.doc_id, h.page) for h in HybridSearcher(index).search("invoice total", k=3)]
    index.lexical_cache_path.write_bytes(b"PK\x03\x04 not a zip")
    assert [(h.doc_id, h.page) for h in HybridSearcher(index).search("invoice total", k=3)] == want
    assert "unreadable BM25 cache" in caplog.text
