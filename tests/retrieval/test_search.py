"""BM25 tokenisation, RRF, and hybrid page search over a real index (PyMuPDF, MiniLM, embedded Chroma)."""

from __future__ import annotations

import pytest

from vlkit.retrieval.fusion import reciprocal_rank_fusion
from vlkit.retrieval.lexical import BM25Index, stem, tokenize
from vlkit.retrieval.search import HybridSearcher, Reranker

pymupdf = pytest.importorskip("pymupdf")

FILLER = "The service keeps running in the background and writes a short status line every minute. "


def test_tokenize_english_lowercases_stems_and_keeps_keys():
    toks = tokenize("Installing the Agents: set max_cache_mb; proxies CONFIGURED")
    assert toks == ["install", "agent", "set", "max_cache_mb", "max", "cach", "mb", "proxy", "configur"]
    assert stem("configure") == stem("configuring") == stem("configures") == "configur"
    assert stem("E1023".lower()) == "e1023"  # identifiers untouched


def test_tokenize_chinese_bigrams_with_embedded_identifiers():
    assert tokenize("配置代理") == ["配置", "置代", "代理"]
    assert tokenize("错误码 LG-4290 表示") == ["错误", "误码", "lg", "4290", "表示"]
    assert tokenize("中") == ["中"]


def test_bm25_ranks_rare_terms_and_reports_coverage():
    bm25 = BM25Index(["install the agent on linux", "配置代理服务器的方法", "proxy settings: proxy_url and proxy_user"])
    assert [i for i, _ in bm25.search("如何配置代理", k=3)] == [1]
    top = bm25.search("configure proxy_url", k=3)
    assert top[0][0] == 2 and len(top) == 1
    assert bm25.coverage("proxy settings", "proxy settings here") == pytest.approx(1.0)
    assert bm25.coverage("proxy settings", "nothing related") == 0.0
    assert 0.0 < bm25.coverage("proxy banana", "proxy") < 0.5  # unseen 'banana' weighs like the rarest term


def test_rrf_math():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    assert [x for x, _ in fused] == ["b", "a", "d", "c"]  # d: 1/62 beats c: 1/63
    assert dict(fused)["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert dict(fused)["d"] == pytest.approx(1 / 62)
    weighted = dict(reciprocal_rank_fusion([["a"], ["b"]], k=1, weights=[1.0, 0.5]))
    assert weighted == {"a": pytest.approx(0.5), "b": pytest.approx(0.25)}
    assert dict(reciprocal_rank_fusion([["a", "a"]], k=0)) == {"a": 1.0}  # repeats count once
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])


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
    # the embedding alone does not know the part number: RRF is what puts it first
    assert dense_only[0].page != 2 or hits[0].scores["rrf"] > dense_only[0].score


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
