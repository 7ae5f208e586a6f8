"""BM25 kept in step with an index one document at a time (:class:`LexicalCorpus`)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from vlkit.retrieval.chunking import with_heading
from vlkit.retrieval.bm25 import LexicalCorpus
from vlkit.retrieval.types import Chunk

TEXTS = ["Install the agent on Linux, then restart the agent service.", "配置代理服务器的方法：设置 proxy_url 和 proxy_user。",
         "proxy settings: proxy_url and proxy_user; proxies are optional", "", "错误码LG-4290表示 the installer could not reach the proxy",
         "Installing agents: max_cache_mb limits the cache\u00a0size\u2003(MB).", "İstanbul ﬁle straße — unicode that lower() changes",
         "the of and a"]
QUERIES = ["install agent", "如何配置代理", "proxy_url", "LG-4290 错误码", "cache size", "nothing here", "straße"]


class _Docs:
    """An index reduced to what :class:`LexicalCorpus` reads; counts what is read."""

    def __init__(self, docs: dict[str, list[str]]) -> None:
        self.docs, self.version, self.reads = dict(docs), 1, Counter()

    def set(self, doc_id: str, texts: list[str] | None) -> None:
        if texts is None:
            self.docs.pop(doc_id)
        else:
            self.docs[doc_id] = texts
        self.version += 1

    def document_stamps(self) -> dict[str, str]:
        return {d: str(hash(tuple(t))) for d, t in self.docs.items()}

    def chunks(self, doc_id: str | None = None):
        self.reads[doc_id or "*"] += 1
        for d in sorted(self.docs) if doc_id is None else [doc_id]:
            for i, t in enumerate(self.docs.get(d, [])):
                yield Chunk(id=f"{d}:1:{i}", doc_id=d, file_name=d, sha256="", page=1, reader="text",
                            text=t, start=0, end=len(t))


def test_corpus_reads_one_document_or_all_in_one_pass():
    docs = _Docs({f"d{i}": [TEXTS[i], TEXTS[(i + 3) % len(TEXTS)]] for i in range(6)})
    corpus = LexicalCorpus(docs, with_heading)
    corpus.get()
    assert docs.reads == {"*": 1}
    docs.set("d9", ["proxy proxy proxy"])  # one of seven changed: read that one alone
    bm25, chunks = corpus.get()
    assert docs.reads == {"*": 1, "d9": 1}
    assert bm25.search("proxy", 1)[0][0] == [c.doc_id for c in chunks].index("d9")
    assert corpus.get()[0] is bm25 and docs.reads == {"*": 1, "d9": 1}  # same version: nothing read
    for d in ("d0", "d1", "d2"):
        docs.set(d, None)
    docs.set("d3", ["changed text"])
    docs.set("d4", ["changed too"])  # two of five: one pass over all chunks
    bm25, chunks = corpus.get()
    assert docs.reads == {"*": 2, "d9": 1}
    fresh, fresh_chunks = LexicalCorpus(docs, with_heading).get()
    assert [c.id for c in chunks] == [c.id for c in fresh_chunks]
    for q in QUERIES + ["changed", "proxy"]:
        assert np.array_equal(bm25.scores(q), fresh.scores(q))

