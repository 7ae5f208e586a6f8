"""BM25 term counts kept on disk, so a new search process does not tokenise the whole index again.

Why: a ``vlkit kb search`` from the shell is a new process each time, and tokenising every chunk
(longer the larger the index) was most of what it waited for once Chroma was out of the way
(:class:`~vlkit.retrieval.store.VectorSnapshot`). A document's
counts never change while its stamp does not (see :class:`~vlkit.retrieval.bm25.LexicalCorpus`),
so they can be reused by any process: the file holds the vocabulary and, per document, its stamp
and counts; a reader takes the documents whose stamps still match and counts only the others.

Format: one ``numpy.savez`` file, no pickle (an index folder may come from someone else, and
loading it must not run code). It is written under a temporary name and renamed; a file that does
not load, or was written with other BM25 settings (``signature``), is ignored.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vlkit.retrieval.bm25._index import TermCounts

__all__ = ["CachedDocument", "load_counts", "save_counts"]

logger = logging.getLogger(__name__)

_FORMAT = 1


@dataclass
class CachedDocument:
    """What the cache holds of one document."""

    stamp: str
    counts: TermCounts
    page_counts: TermCounts
    listings: list[int]
    """Page numbers of its table-of-contents / index pages."""


def _pack(counts: list[TermCounts], prefix: str) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_lengths": np.concatenate([c.lengths for c in counts]) if counts else np.zeros(0, np.int32),
        f"{prefix}_n": np.array([len(c.lengths) for c in counts], dtype=np.int64),
        f"{prefix}_terms": np.concatenate([c.terms for c in counts]) if counts else np.zeros(0, np.int32),
        f"{prefix}_texts": np.concatenate([c.texts for c in counts]) if counts else np.zeros(0, np.int32),
        f"{prefix}_tfs": np.concatenate([c.tfs for c in counts]) if counts else np.zeros(0, np.int32),
        f"{prefix}_m": np.array([len(c.terms) for c in counts], dtype=np.int64),
    }


def _unpack(data: dict, prefix: str) -> list[TermCounts]:
    n_ends = np.cumsum(data[f"{prefix}_n"])
    m_ends = np.cumsum(data[f"{prefix}_m"])
    out = []
    n0 = m0 = 0
    for n1, m1 in zip(n_ends.tolist(), m_ends.tolist()):
        out.append(TermCounts(lengths=data[f"{prefix}_lengths"][n0:n1], terms=data[f"{prefix}_terms"][m0:m1],
                              texts=data[f"{prefix}_texts"][m0:m1], tfs=data[f"{prefix}_tfs"][m0:m1]))
        n0, m0 = n1, m1
    return out


def save_counts(path: Path, signature: str, vocabulary: dict[str, int], docs: dict[str, CachedDocument]) -> bool:
    """Write the cache (best effort: a read-only index folder is not an error). Returns whether it was written."""
    terms = sorted(vocabulary, key=vocabulary.__getitem__)
    if any("\n" in t for t in terms) or [vocabulary[t] for t in terms] != list(range(len(terms))):
        return False  # not a dense id space (never expected): do not write something we cannot read back
    try:
        vocabulary_bytes = "\n".join(terms).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from odd page text: not worth a format of its own
        return False
    ids = sorted(docs)
    meta = {"format": _FORMAT, "signature": signature, "docs": ids, "stamps": [docs[d].stamp for d in ids]}
    arrays = {
        "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        "vocabulary": np.frombuffer(vocabulary_bytes, dtype=np.uint8),
        "listings": np.array([p for d in ids for p in docs[d].listings], dtype=np.int64),
        "listings_n": np.array([len(docs[d].listings) for d in ids], dtype=np.int64),
        **_pack([docs[d].counts for d in ids], "chunk"),
        **_pack([docs[d].page_counts for d in ids], "page"),
    }
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except OSError as exc:
        logger.info("BM25 counts not cached in %s (%s)", path, exc)
        tmp.unlink(missing_ok=True)
        return False
    return True


def load_counts(path: Path, signature: str) -> tuple[list[str], dict[str, CachedDocument]] | None:
    """``(vocabulary in id order, doc id -> CachedDocument)``, or ``None`` when there is no usable cache."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
        meta = json.loads(data["meta"].tobytes().decode("utf-8"))
        if meta.get("format") != _FORMAT or meta.get("signature") != signature:
            return None
        raw = data["vocabulary"].tobytes().decode("utf-8")
        terms = raw.split("\n") if raw else []
        chunk, page = _unpack(data, "chunk"), _unpack(data, "page")
        ends = np.cumsum(data["listings_n"]).tolist()
        starts = [0, *ends[:-1]]
        listings = data["listings"].tolist()
        docs = {
            d: CachedDocument(stamp=s, counts=c, page_counts=p, listings=listings[a:b])
            for d, s, c, p, a, b in zip(meta["docs"], meta["stamps"], chunk, page, starts, ends)
        }
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, UnicodeDecodeError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("ignoring the unreadable BM25 cache %s (%s)", path, exc)
        return None
    return terms, docs
