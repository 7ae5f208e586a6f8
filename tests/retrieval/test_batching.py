"""Ingest batching (control flow only; the embedder is a stand-in): growing batches, vectors before commits."""

from __future__ import annotations

import numpy as np

from vlkit.retrieval.ingest import EmbedBatcher
from vlkit.retrieval.store import PageRow
from vlkit.retrieval.types import Chunk


def _chunk(page: int) -> Chunk:
    return Chunk(id=f"d:{page}:0", doc_id="d", file_name="f.pdf", sha256="0", page=page, reader="text",
                 text=f"page {page}", start=0, end=6)


def test_batches_start_small_double_and_store_before_commit():
    events: list[tuple[str, int]] = []

    def embed(texts: list[str]) -> np.ndarray:
        events.append(("embed", len(texts)))
        return np.ones((len(texts), 2), dtype=np.float32)

    batcher = EmbedBatcher(embed, lambda chunks, vecs: events.append(("store", len(chunks))),
                           lambda pages, chunks: events.append(("commit", len(pages))),
                           max_chunks=16, max_pages=100, first_chunks=4)
    for p in range(1, 41):
        batcher.add(PageRow("d", p, "text", f"page {p}", None, ""), [_chunk(p)], [f"page {p}"])
    batcher.close()
    assert [n for kind, n in events if kind == "embed"] == [4, 8, 16, 12]
    # every batch: its vectors are stored, then its pages committed, in submission order
    assert [e for e in events if e[0] != "embed"] == [(k, n) for n in (4, 8, 16, 12) for k in ("store", "commit")]
