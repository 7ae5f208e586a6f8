"""BM25 over chunk texts, with a tokeniser that handles English and Chinese.

English: lower-cased words (``[a-z0-9_]``; an ``snake_case`` key is kept whole *and* split), a
short stop-word list, and a light suffix stemmer (plural ``-s``/``-es``/``-ies``, ``-ing``,
``-ed``) — enough that "installing" meets "install" without a stemming library.
Chinese (and other CJK scripts): overlapping character bigrams of each CJK run (a lone character
stays a unigram). Bigrams need no dictionary, never mis-segment, and are the usual BM25 baseline
for Chinese; identifiers in a Chinese sentence (``E1023``, ``--proxy``) still tokenise as English.

The index keeps one posting list per term with the BM25 weight precomputed, so a query costs
one ``numpy`` add per query term — 100k chunks answer in milliseconds. Building it is dominated by
tokenising; texts are tokenised once, straight to term ids, through a memo of whitespace-separated
pieces (a 100k-chunk corpus has millions of words but only tens of thousands of distinct ones), and
counting, grouping and weighting happen in ``numpy``. The counts of each text (:class:`TermCounts`) do not depend on
the rest of the corpus, so an index can be re-assembled from cached counts when texts are added or
removed (:meth:`BM25Index.from_counts`): only idf and the average length are recomputed.

Example::

    bm25 = BM25Index(["install the agent", "配置代理服务器"])
    bm25.search("如何配置代理", k=1)   # -> [(1, 1.2...)]
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np

from vlkit.documents.script import CJK, CJK_RE

__all__ = ["tokenize", "stem", "BM25Index", "BM25Config", "Vocabulary", "TermCounts"]

_TOKEN_RE = re.compile(rf"[{CJK}]+|[a-z0-9_]+")

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
    return list(chain.from_iterable(map(_run_terms, _TOKEN_RE.findall(text.lower()))))


def _run_terms(run: str) -> tuple[str, ...]:
    """The terms of one match of ``_TOKEN_RE`` (a lower-cased CJK run or word)."""
    if CJK_RE.match(run):
        return (run,) if len(run) == 1 else tuple(run[i : i + 2] for i in range(len(run) - 1))
    return _word_terms(run)


@lru_cache(maxsize=1 << 16)
def _word_terms(word: str) -> tuple[str, ...]:
    # memoised: stemming is pure Python and words repeat (Zipf); CJK runs rarely repeat, so they
    # are not cached here
    if word in _STOPWORDS:
        return ()
    parts = [p for p in word.split("_") if p]
    head = (word,) if len(parts) > 1 else ()  # the whole key, so an exact `max_cache_mb` match scores highest
    return head + tuple(stem(p) for p in parts if p not in _STOPWORDS)


@lru_cache(maxsize=512)
def _term_set(text: str) -> frozenset[str]:
    # memoised: one search scores the same query against several pages, and a page's text
    # against queries that come back to it
    return frozenset(tokenize(text))


@dataclass(frozen=True)
class TermCounts:
    """The bag of terms of a list of texts, independent of any other text: what BM25 is assembled from.

    ``terms``, ``texts`` and ``tfs`` are parallel: term id (see :class:`Vocabulary`), text index
    (0-based, local to this list) and term frequency, sorted by term, then text.
    """

    lengths: np.ndarray
    """Terms per text, repeats included (BM25's document length): int32, or float32 once weighted."""
    terms: np.ndarray
    texts: np.ndarray
    tfs: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def plus(self, other: TermCounts, weight: float = 1.0) -> TermCounts:
        """The counts of each text with ``weight`` times ``other``'s counts of the same text added:
        a field-weighted bag (BM25F's simple form, one length normalisation over the weighted
        length), e.g. body + 2 × section path, so a query term in the heading counts double."""
        if len(other) != len(self):
            raise ValueError(f"{len(other)} texts in the field, {len(self)} in the body")
        w = np.float32(weight)
        both = TermCounts(
            lengths=self.lengths.astype(np.float32) + w * other.lengths.astype(np.float32),
            terms=np.concatenate([self.terms, other.terms]), texts=np.concatenate([self.texts, other.texts]),
            tfs=np.concatenate([self.tfs.astype(np.float32), w * other.tfs.astype(np.float32)]),
        )
        return both.regroup(np.arange(len(self), dtype=np.int32), len(self))

    def regroup(self, groups: np.ndarray, n: int) -> TermCounts:
        """Counts of ``n`` texts made by concatenating texts: text ``i`` goes into ``groups[i]``
        (e.g. chunks into their pages, for page-level BM25 without tokenising again)."""
        groups = np.asarray(groups, dtype=np.int64)
        key = (self.terms.astype(np.int64) << 32) | groups[self.texts]
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.empty(len(key), dtype=bool)
        first[:1] = True
        np.not_equal(key[1:], key[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        unique = key[starts]
        tfs = np.add.reduceat(self.tfs[order], starts) if len(starts) else self.tfs[:0]
        lengths = np.bincount(groups, weights=self.lengths, minlength=n)[:n] if len(groups) else np.zeros(n)
        dtype = np.int32 if self.lengths.dtype.kind == "i" and self.tfs.dtype.kind == "i" else np.float32
        return TermCounts(lengths=lengths.astype(dtype), terms=(unique >> 32).astype(np.int32),
                          texts=(unique & 0xFFFFFFFF).astype(np.int32), tfs=tfs.astype(dtype))


class _PieceIds(dict):
    """Whitespace-separated piece of lower-cased text -> its term ids; fills the vocabulary on a miss.

    Splitting on whitespace first is safe: no token run spans whitespace. A piece is the unit of
    the memo because ``str.split`` is much cheaper than the regex, and "agent," and "agent" are
    both pieces that repeat.
    """

    def __init__(self, ids: dict[str, int]) -> None:
        super().__init__()
        self.ids = ids

    def __missing__(self, piece: str) -> tuple[int, ...]:
        ids = self.ids
        out = tuple(ids.setdefault(t, len(ids)) for run in _TOKEN_RE.findall(piece) for t in _run_terms(run))
        if len(piece) <= _MEMO_PIECE_CHARS:  # long pieces (CJK lines without spaces) rarely repeat
            if len(self) >= _MEMO_PIECES:
                self.clear()
            self[piece] = out
        return out


_MEMO_PIECE_CHARS = 40
_MEMO_PIECES = 1 << 20


class Vocabulary:
    """Term -> id for the :class:`TermCounts` one BM25 index is assembled from (ids only ever grow)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self._pieces = _PieceIds(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def count(self, texts: Iterable[str]) -> TermCounts:
        """Tokenise ``texts`` (as :func:`tokenize` does) and count their terms."""
        piece = self._pieces.__getitem__
        flat = array("i")
        lengths = array("i")
        for text in texts:
            before = len(flat)
            flat.extend(chain.from_iterable(map(piece, text.lower().split())))
            lengths.append(len(flat) - before)
        n = len(lengths)
        tokens = np.frombuffer(flat, dtype=np.int32) if flat else np.zeros(0, dtype=np.int32)
        counts = np.frombuffer(lengths, dtype=np.int32) if lengths else np.zeros(0, dtype=np.int32)
        # one sort of (term, text) keys groups each term's postings in text order and puts repeats
        # of a term in a text next to each other
        key = (tokens.astype(np.int64) << 32) | np.repeat(np.arange(n, dtype=np.int64), counts)
        key.sort()
        first = np.empty(len(key), dtype=bool)
        first[:1] = True
        np.not_equal(key[1:], key[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        unique = key[starts]
        return TermCounts(
            lengths=counts.copy(), terms=(unique >> 32).astype(np.int32),
            texts=(unique & 0xFFFFFFFF).astype(np.int32), tfs=np.diff(starts, append=len(key)).astype(np.int32),
        )


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
        vocab = Vocabulary()
        self._assemble([vocab.count(texts)], vocab, config)

    @classmethod
    def from_counts(
        cls, parts: Sequence[TermCounts], vocab: Vocabulary, config: BM25Config | None = None,
    ) -> BM25Index:
        """The index over the texts of ``parts`` in order (text ``i`` of the second part is
        ``len(parts[0]) + i``); all parts must have been counted with ``vocab``."""
        self = cls.__new__(cls)
        self._assemble(parts, vocab, config)
        return self

    def _assemble(self, parts: Sequence[TermCounts], vocab: Vocabulary, config: BM25Config | None) -> None:
        self.config = config or BM25Config()
        self._vocab = vocab.ids
        if len(parts) == 1:
            terms, docs, tf_counts, lengths = parts[0].terms, parts[0].texts, parts[0].tfs, parts[0].lengths
        else:
            offsets = np.cumsum([0] + [len(p) for p in parts[:-1]], dtype=np.int64)
            terms = np.concatenate([p.terms for p in parts]) if parts else np.zeros(0, dtype=np.int32)
            docs = np.concatenate([p.texts + np.int32(o) for p, o in zip(parts, offsets)]) if parts \
                else np.zeros(0, dtype=np.int32)
            tf_counts = np.concatenate([p.tfs for p in parts]) if parts else np.zeros(0, dtype=np.int32)
            lengths = np.concatenate([p.lengths for p in parts]) if parts else np.zeros(0, dtype=np.int32)
            # each part is sorted by term already: a stable sort merges the runs and keeps texts in order
            order = np.argsort(terms, kind="stable")
            terms, docs, tf_counts = terms[order], docs[order], tf_counts[order]
        self.size = len(lengths)
        df = np.bincount(terms, minlength=len(vocab)) if len(terms) else np.zeros(len(vocab), dtype=np.int64)
        self._df = df
        self._indptr = np.zeros(len(df) + 1, dtype=np.int64)
        np.cumsum(df, out=self._indptr[1:])
        self._docs = docs
        # the same float32 arithmetic, in the same order, as a per-term loop would do
        dl = lengths.astype(np.float32)
        avgdl = float(dl.mean()) if self.size and dl.mean() > 0 else 1.0
        k1, b = self.config.k1, self.config.b
        norm = k1 * (1.0 - b + b * dl / avgdl)
        idf = np.log(1.0 + (self.size - df + 0.5) / (df + 0.5)).astype(np.float32)
        tf = tf_counts.astype(np.float32)
        self._weights = idf[terms] * tf * np.float32(k1 + 1.0) / (tf + norm[docs])

    @property
    def live_terms(self) -> int:
        """Terms that occur in at least one text (the vocabulary may hold more)."""
        return int(np.count_nonzero(self._df))

    def __len__(self) -> int:
        return self.size

    def scores(self, query: str | dict[str, float]) -> np.ndarray:
        """BM25 score of every text for ``query`` (0 where no term matches); a ``{term: weight}``
        query (already tokenised terms) weighs each term's contribution (query expansion)."""
        out = np.zeros(self.size, dtype=np.float32)
        terms = query.items() if isinstance(query, dict) else ((t, 1.0) for t in set(tokenize(query)))
        for term, weight in terms:
            t = self._vocab.get(term)
            if t is not None and t < len(self._df):
                lo, hi = self._indptr[t], self._indptr[t + 1]
                w = self._weights[lo:hi] if weight == 1.0 else np.float32(weight) * self._weights[lo:hi]
                out[self._docs[lo:hi]] += w  # ids are unique within one posting list
        return out

    def search(self, query: str | dict[str, float], k: int = 10) -> list[tuple[int, float]]:
        """The ``k`` best ``(text index, score)`` pairs with a positive score, best first; equal
        scores in text order."""
        if not self.size or k <= 0:
            return []
        s = self.scores(query)
        top = np.flatnonzero(s > 0)  # usually far fewer than all texts: partition only these
        if len(top) > k:
            neg = -s[top]
            kth = np.partition(neg, k - 1)[k - 1]
            better, tied = top[neg < kth], top[neg == kth]
            top = np.concatenate([better, tied[: k - len(better)]])
        top = top[np.lexsort((top, -s[top]))]
        return [(int(i), float(s[i])) for i in top]

    def coverage(self, query: str, text: str) -> float:
        """Share of the query's idf mass whose terms occur in ``text`` (0..1).

        A length-free lexical relevance signal: BM25 scores are not comparable across queries,
        but "the page contains the query's rare terms" is.
        """
        q = _term_set(query)
        if not q:
            return 0.0
        present = _term_set(text)
        weight = {t: self._term_idf(t) for t in q}
        total = sum(weight.values())
        return sum(w for t, w in weight.items() if t in present) / total if total else 0.0

    def idf(self, term: str) -> float:
        """The idf of an already-tokenised term (0 if unseen)."""
        return self._term_idf(term) if self._term_df(term) else 0.0

    def _term_df(self, term: str) -> int:
        t = self._vocab.get(term)
        return int(self._df[t]) if t is not None and t < len(self._df) else 0

    def _term_idf(self, term: str) -> float:
        # a term never seen is as rare as a term can be (df 0): used for coverage, not scores
        if not self.size:
            return 1.0
        df = self._term_df(term)
        return math.log(1.0 + (self.size - df + 0.5) / (df + 0.5))
