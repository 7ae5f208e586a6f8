"""Subprocess for the crash test: check the index a killed run left behind, then ingest a folder.

Usage: python crash_worker.py INDEX_DIR DOCS_DIR
Prints ``check {json}``, then ``progress DONE TOTAL`` lines, then ``done {json}``; flushes each line.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter


def consistency(index) -> dict:
    """What a killed ingest may not break: everything visible is whole, once, and searchable."""
    chunks = list(index.chunks())
    docs = {d.doc_id: d for d in index.documents()}
    pages_by_doc: dict[str, set[int]] = {}
    for c in chunks:
        pages_by_doc.setdefault(c.doc_id, set()).add(c.page)
    complete = [d for d in docs.values() if d.state == "complete"]
    chroma_ids: set[str] = set()
    for d in complete:
        chroma_ids |= index.store.ids(d.doc_id)
    hits = index.dense_search("page about topic", 5)
    return {
        "chunks": len(chunks),
        "dup_ids": sum(n - 1 for n in Counter(c.id for c in chunks).values()),
        "dup_texts": sum(n - 1 for n in Counter((c.doc_id, c.page, c.text) for c in chunks).values()),
        "invisible_in_chunks": sorted({c.doc_id for c in chunks if docs[c.doc_id].state != "complete"}),
        "incomplete_visible": sorted(d.doc_id for d in complete
                                     if pages_by_doc.get(d.doc_id, set()) != set(range(1, d.pages + 1))),
        "chroma_mismatch": len(chroma_ids ^ {c.id for c in chunks}),
        "hits_from_incomplete": sum(1 for c, _ in hits if docs[c.doc_id].state != "complete"),
        "hits": len(hits),
        "complete": len(complete),
        "pending": sum(1 for d in docs.values() if d.state == "pending"),
    }


def _slowed(embedder, seconds: float):
    """The same embedder, ``seconds`` slower per batch: ingest got fast enough that a kill after the
    first commit often landed after the last one; this keeps several commits in every run's window."""
    import time

    embed = embedder.embed

    def slow(texts):
        time.sleep(seconds)
        return embed(texts)

    embedder.embed = slow
    return embedder


def main() -> None:
    from vlkit.retrieval.index import DocumentIndex
    from vlkit.retrieval.embedders import USEEmbedder

    # the default embedder (USE); small batches so that a run commits several times before it ends
    embedder = _slowed(USEEmbedder(), float(os.environ.get("CRASH_EMBED_DELAY", "0.25")))
    index = DocumentIndex(sys.argv[1], dpi=72, reader="text", batch_chunks=6, embedder=embedder)
    print("check " + json.dumps(consistency(index)), flush=True)

    def progress(done: int, total: int) -> None:
        print(f"progress {done} {total}", flush=True)

    summary = index.add([sys.argv[2]], progress=progress)
    statuses = Counter(f.status for f in summary.files)
    print("done " + json.dumps({"statuses": statuses, "check": consistency(index)}), flush=True)


if __name__ == "__main__":
    main()
