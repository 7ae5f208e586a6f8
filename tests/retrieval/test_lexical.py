"""BM25: the tokeniser (English stems, CJK bigrams), the scores against the textbook formula,
assembling an index from per-text counts."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from vlkit.retrieval.bm25 import BM25Index, Vocabulary, stem, tokenize


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


TEXTS = [
    "Install the agent on Linux, then restart the agent service.",
    "配置代理服务器的方法：设置 proxy_url 和 proxy_user。",
    "proxy settings: proxy_url and proxy_user; proxies are optional",
    "",
    "错误码LG-4290表示 the installer could not reach the proxy",
    "Installing agents: max_cache_mb limits the cache\u00a0size\u2003(MB).",
    "İstanbul ﬁle straße — unicode that lower() changes",
    "the of and a",
]
QUERIES = ["install agent", "如何配置代理", "proxy_url", "LG-4290 错误码", "cache size", "nothing here", "straße"]


def _reference_scores(texts: list[str], query: str, k1: float = 1.2, b: float = 0.75) -> list[float]:
    """BM25 as the textbook writes it (Lucene idf), one text at a time."""
    docs = [tokenize(t) for t in texts]
    avgdl = sum(map(len, docs)) / len(docs) or 1.0
    out = []
    for d in docs:
        s = 0.0
        for term in set(tokenize(query)):
            tf = d.count(term)
            if tf:
                df = sum(term in x for x in docs)
                idf = math.log(1.0 + (len(docs) - df + 0.5) / (df + 0.5))
                s += idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * len(d) / avgdl))
        out.append(s)
    return out


def test_counting_tokenises_exactly_like_tokenize():
    vocab = Vocabulary()
    counts = vocab.count(TEXTS)
    names = {i: t for t, i in vocab.ids.items()}
    for n, text in enumerate(TEXTS):
        got = Counter({names[int(t)]: int(f) for t, d, f in zip(counts.terms, counts.texts, counts.tfs) if d == n})
        assert got == Counter(tokenize(text)), text
        assert counts.lengths[n] == len(tokenize(text))


def test_bm25_scores_match_the_formula():
    bm25 = BM25Index(TEXTS)
    for q in QUERIES:
        assert bm25.scores(q) == pytest.approx(_reference_scores(TEXTS, q), rel=1e-5), q


def test_bm25_assembled_from_parts_equals_one_build():
    whole = BM25Index(TEXTS)
    vocab = Vocabulary()
    parts = [vocab.count(TEXTS[:3]), vocab.count([]), vocab.count(TEXTS[3:5]), vocab.count(TEXTS[5:])]
    assembled = BM25Index.from_counts(parts, vocab)
    assert len(assembled) == len(TEXTS)
    for q in QUERIES:
        assert np.array_equal(whole.scores(q), assembled.scores(q)), q
        assert whole.search(q, 4) == assembled.search(q, 4)
        assert whole.coverage(q, TEXTS[2]) == assembled.coverage(q, TEXTS[2])
    assert len(BM25Index.from_counts([], Vocabulary())) == 0 and BM25Index([]).search("x") == []


def test_bm25_equal_scores_come_in_text_order():
    bm25 = BM25Index(["alpha beta", "gamma", "alpha beta", "alpha beta", "alpha"])
    assert [i for i, _ in bm25.search("beta", 2)] == [0, 2]
    assert [i for i, _ in bm25.search("beta", 10)] == [0, 2, 3]


def test_field_weighted_counts_and_page_regrouping():
    import numpy as np

    from vlkit.retrieval.bm25 import BM25Index, Vocabulary

    vocab = Vocabulary()
    body = vocab.count(["rotation of the files", "log rotation log rotation"])
    path = vocab.count(["Log rotation", "Misc notes"])
    plain = BM25Index.from_counts([body.plus(path, 1.0)], vocab)
    boosted = BM25Index.from_counts([body.plus(path, 4.0)], vocab)
    assert plain.search("log rotation", 2)[0][0] == 1  # more body hits
    assert boosted.search("log rotation", 2)[0][0] == 0  # the section is about the query
    # chunks regrouped into pages score as the concatenated texts would
    chunks = vocab.count(["alpha beta", "gamma", "beta"])
    pages = BM25Index.from_counts([chunks.regroup(np.array([0, 0, 1]), 2)], vocab)
    direct = BM25Index(["alpha beta gamma", "beta"])
    assert pages.search("alpha gamma beta", 2) == direct.search("alpha gamma beta", 2)
    # a weighted query: expansion terms count less than the asked ones
    assert boosted.scores({"log": 1.0})[1] > boosted.scores({"log": 0.5})[1] > 0
