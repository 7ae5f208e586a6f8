"""Hybrid page search over a real index (PyMuPDF, MiniLM, embedded Chroma)."""

from __future__ import annotations

import pytest

from vlkit.errors import InvalidArgumentError
from vlkit.retrieval.search import HybridSearcher, Reranker

pymupdf = pytest.importorskip("pymupdf")

FILLER = "The service keeps running in the background and writes a short status line every minute. "


def _manual(path):
    doc = pymupdf.open()
    pages = [
        ("Vehicle care", ["Change the car engine oil and check the brake pads every ten thousand kilometres.",
                          "Rotate the tyres and top up the windscreen washer fluid."]),
        ("Part numbers", ["The flange adapter is catalogued as QX7731 in the spare parts list.",
                          "Order it from the regional warehouse."]),
        ("Cooking", ["Simmer the tomato sauce for forty minutes and season with basil."]),
        ("Long page", [f"Section {i}: {FILLER * 3}" for i in range(14)] + ["The nightly job exports glacier telemetry."]),
    ]
    for heading, lines in pages:
        page = doc.new_page()
        page.insert_text((72, 72), heading, fontsize=20)
        y = 110
        for line in lines:
            rect = pymupdf.Rect(72, y, 540, y + 60)
            page.insert_textbox(rect, line, fontsize=10)
            y += 48
    doc.save(path)
    return path


@pytest.fixture(scope="module")
def manual_index(tmp_path_factory, embedder):
    from vlkit.retrieval.index import DocumentIndex

    folder = tmp_path_factory.mktemp("search")
    index = DocumentIndex(folder / "kb", embedder=embedder, dpi=72)
    assert not index.add(_manual(folder / "manual.pdf")).failed
    yield index
    index.close()


def test_hybrid_finds_page_only_dense_finds(manual_index):
    s = HybridSearcher(manual_index)
    query = "automobile upkeep"
    assert not any(c.page == 1 for c, _ in s.lexical_search(query, 10))  # no shared word
    hits = s.search(query, k=3)
    assert hits[0].page == 1 and "dense" in hits[0].scores and "bm25" not in hits[0].scores


def test_hybrid_finds_page_only_lexical_finds(manual_index):
    s = HybridSearcher(manual_index)
    dense_only = HybridSearcher(manual_index, k_lexical=0).search("QX7731", k=1)
    hits = s.search("QX7731", k=1)
    assert hits[0].page == 2 and hits[0].scores["bm25"] > 0
    assert hits[0].scores["coverage"] == pytest.approx(1.0)
    # the embedding alone does not know the part number: the fusion is what puts it first
    assert dense_only[0].page != 2 or hits[0].scores["fused"] > dense_only[0].score
    by_rank = HybridSearcher(manual_index, fusion="rrf").search("QX7731", k=1)
    assert by_rank[0].page == 2 and by_rank[0].scores["fused"] < hits[0].scores["fused"]  # 1/(k+1) sums vs shares of the best


def test_unknown_fusion_is_a_typed_error(manual_index):
    with pytest.raises(InvalidArgumentError, match="fusion='borda'"):
        HybridSearcher(manual_index, fusion="borda")  # type: ignore[arg-type]


def test_results_are_deduplicated_to_pages(manual_index):
    s = HybridSearcher(manual_index)
    hits = s.search("status line every minute section glacier telemetry", k=4)
    keys = [(h.doc_id, h.page) for h in hits]
    assert len(keys) == len(set(keys))
    long_page = next(h for h in hits if h.page == 4)
    assert len(long_page.chunks) > 1  # several chunks, one page hit
    assert "glacier telemetry" in long_page.text and long_page.citation == "[manual.pdf p.4]"
    assert long_page.image_path and long_page.image_path.endswith(".png")


class PreferCooking(Reranker):
    def score(self, query, hits):
        return [1.0 if "tomato" in h.text else 0.0 for h in hits]


def test_reranker_hook_changes_order(manual_index):
    plain = HybridSearcher(manual_index).search("engine oil", k=3)
    reranked = HybridSearcher(manual_index, reranker=PreferCooking()).search("engine oil", k=3)
    assert plain[0].page == 1
    assert reranked[0].page == 3 and reranked[0].scores["rerank"] == 1.0
    assert [h.page for h in reranked[1:]] == [h.page for h in plain if h.page != 3][:2]


def test_bm25_rebuilt_when_index_changes(make_index, text_pdf, chinese_pdf):
    index = make_index()
    index.add(text_pdf)
    s = HybridSearcher(index)
    assert s.lexical_search("人工智能", 5) == []
    index.add(chinese_pdf)
    assert [c.file_name for c, _ in s.lexical_search("人工智能", 5)][0] == chinese_pdf.name
    index.remove(chinese_pdf.name)
    assert s.lexical_search("人工智能", 5) == []


def test_bad_settings_and_rerankers_are_user_errors(manual_index):
    with pytest.raises(InvalidArgumentError, match="k_dense=0 and k_lexical=0"):
        HybridSearcher(manual_index, k_dense=0, k_lexical=0)

    class Short(Reranker):
        def score(self, query, hits):
            return [1.0]

    with pytest.raises(InvalidArgumentError, match="Short.score returned 1 scores for 3 hits"):
        HybridSearcher(manual_index, reranker=Short(), rerank_depth=3).search("engine oil", k=3)
