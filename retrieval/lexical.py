"""BM25 over chunk texts, with a tokeniser that handles English and Chinese.

English: lower-cased words (``[a-z0-9_]``; an ``snake_case`` key is kept whole *and* split), a
short stop-word list, and a light suffix stemmer (plural ``-s``/``-es``/``-ies``, ``-ing``,
``-ed``) — enough that "installing" meets "install" without a stemming library.
Chinese (and other CJK scripts): overlapping character bigrams of each CJK run (a lone character
stays a unigram). Bigrams need no dictionary, never mis-segment, and are the usual BM25 baseline
for Chinese; identifiers in a Chinese sentence (``E1023``, ``--proxy``) still tokenise as English.

The index keeps one posting list per term with the BM25 weight precomputed, so a query costs
one ``numpy`` add per query term — 100k chunks answer in milliseconds.

Example::

    bm25 = BM25Index(["install the agent", "配置代理服务器"])
    bm25.search("如何配置代理", k=1)   # -> [(1, 1.2...)]
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["tokenize", "stem", "BM25Index", "BM25Config"]

# CJK Unified Ideographs (+ extension A, compatibility), Hiragana/Katakana, Hangul syllables.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[a-z0-9_]+")
_CJK_RE = re.compile(rf"[{_CJK}]")

_STOPWORDS = frozenset(
    """a an and are as at be by can do does for from has have how i if in into is it its of on or
    so than that the their then there these this to was what when where which who why will with
    you your""".split()
)


def stem(word: str) -> str:
    """Light English suffix stripping; keeps identifiers and short words as they are.

    A final ``-e`` goes too, so "configure", "configured" and "configuring" meet at "configur".
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith(("ches", "shes", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) > 4:
        word = _undouble(word[:-2])
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _undouble(word: str) -> str:
    # "running" -> "runn" -> "run"; but "install" keeps its "ll"
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Split ``text`` into BM25 terms (English stems and CJK bigrams), in order, with repeats."""
    out: list[str] = []
    for run in _TOKEN_RE.findall(text.lower()):
        if _CJK_RE.match(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
            continue
        if run in _STOPWORDS:
            continue
        parts = [p for p in run.split("_") if p]
        if len(parts) > 1:
            out.append(run)  # the whole key, so an exact `max_cache_mb` match scores highest
        out.extend(stem(p) for p in parts if p not in _STOPWORDS)
    return out


@dataclass(frozen=True)
class BM25Config:
    """BM25 parameters (Okapi, Lucene-style non-negative idf)."""

    k1: float = 1.2
    """Term-frequency saturation."""
    b: float = 0.75
    """Length normalisation (0 = none, 1 = full)."""


class BM25Index:
    """An in-memory BM25 index over a fixed list of texts; rebuild it when the texts change."""

    def __init__(self, texts: Iterable[str], config: BM25Config | None = None) -> None:
        self.config = config or BM25Config()
        postings: dict[str, tuple[list[int], list[int]]] = {}
        lengths: list[int] = []
        for i, text in enumerate(texts):
            terms = Counter(tokenize(text))
            lengths.append(sum(terms.values()))
            for term, tf in terms.items():
                ids, tfs = postings.setdefault(term, ([], []))
                ids.append(i)
                tfs.append(tf)
        self.size = len(lengths)
        dl = np.asarray(lengths, dtype=np.float32)
        avgdl = float(dl.mean()) if self.size and dl.mean() > 0 else 1.0
        k1, b = self.config.k1, self.config.b
        norm = k1 * (1.0 - b + b * dl / avgdl)
        self._idf: dict[str, float] = {}
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, (ids, tfs) in postings.items():
            idx = np.asarray(ids, dtype=np.int64)
            tf = np.asarray(tfs, dtype=np.float32)
            idf = math.log(1.0 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))
            self._idf[term] = idf
            self._postings[term] = (idx, (idf * tf * (k1 + 1.0) / (tf + norm[idx])).astype(np.float32))
        # A term never seen is as rare as a term can be: used for coverage, not scores.
        self._max_idf = math.log(1.0 + (self.size + 0.5) / 0.5) if self.size else 1.0

    def __len__(self) -> int:
        return self.size

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query`` (0 where no term matches)."""
        out = np.zeros(self.size, dtype=np.float32)
        for term in set(tokenize(query)):
            posting = self._postings.get(term)
            if posting is not None:
                out[posting[0]] += posting[1]  # ids are unique within one posting list
        return out

    def search(self, query: str, k: int = 10) -> list[tuple[int, float]]:
        """The ``k`` best ``(text index, score)`` pairs with a positive score, best first."""
        if not self.size or k <= 0:
            return []
        s = self.scores(query)
        k = min(k, self.size)
        top = np.argpartition(-s, k - 1)[:k] if k < self.size else np.arange(self.size)
        top = top[np.argsort(-s[top], kind="stable")]
        return [(int(i), float(s[i])) for i in top if s[i] > 0]

    def coverage(self, query: str, text: str) -> float:
        """Share of the query's idf mass whose terms occur in ``text`` (0..1).

        A length-free lexical relevance signal: BM25 scores are not comparable across queries,
        but "the page contains the query's rare terms" is.
        """
        q = set(tokenize(query))
        if not q:
            return 0.0
        present = set(tokenize(text))
        weight = {t: self._idf.get(t, self._max_idf) for t in q}
        total = sum(weight.values())
        return sum(w for t, w in weight.items() if t in present) / total if total else 0.0

    def idf(self, term: str) -> float:
        """The idf of an already-tokenised term (0 if unseen)."""
        return self._idf.get(term, 0.0)

