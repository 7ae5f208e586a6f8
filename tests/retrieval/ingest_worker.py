"""Subprocess for the lock and visibility tests: one ``add`` into an index, reporting as it goes.

Usage: python ingest_worker.py INDEX_DIR LOCK_TIMEOUT(s|none) EMBED_DELAY(s) PATH...
Prints ``busy MESSAGE`` (when it has to wait for another writer), ``progress DONE TOTAL`` lines, then
``done {json}`` or ``error TYPE MESSAGE``; flushes each line.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    from vlkit.errors import VlkitError
    from vlkit.retrieval.index import DocumentIndex
    from vlkit.retrieval.embedders import USEEmbedder

    index_dir, timeout, delay, *paths = sys.argv[1:]
    embedder = USEEmbedder()
    embed = embedder.embed

    def slow(texts):
        time.sleep(float(delay))
        return embed(texts)

    embedder.embed = slow
    kb = DocumentIndex(index_dir, dpi=72, reader="text", batch_chunks=4, embedder=embedder,
                       lock_timeout=None if timeout == "none" else float(timeout),
                       on_busy=lambda message: print(f"busy {message}", flush=True))
    try:
        summary = kb.add(paths, progress=lambda done, total: print(f"progress {done} {total}", flush=True))
    except VlkitError as exc:
        print(f"error {type(exc).__name__} {exc}", flush=True)
        return
    print("done " + json.dumps({"statuses": [f.status for f in summary.files], "pages": summary.pages,
                                "waited_s": summary.waited_s}), flush=True)


if __name__ == "__main__":
    main()
