"""Train the tiny Qwen2-style byte-level BPE tokenizer offline and wrap it as a ``Qwen2Tokenizer``.

The pipeline (NFC, Qwen's split regex, byte-level without a prefix space) is the one transformers'
``Qwen2Tokenizer`` rebuilds when it loads ``tokenizer.json``, so the merges learnt here are applied
the same way after loading. The added tokens follow the real Qwen2/2.5/3 vocabulary order.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "SPECIAL_TOKENS",
    "ADDED_TOKENS",
    "ALL_ADDED_TOKENS",
    "train_tokenizer",
    "write_vocab_and_merges",
]

logger = logging.getLogger(__name__)

SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
"""Special tokens, in the id order of the real Qwen vocabularies (skipped by ``skip_special_tokens``)."""

ADDED_TOKENS: tuple[str, ...] = (
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
)
"""Added but non-special tokens (kept when decoding), in the real Qwen id order."""

ALL_ADDED_TOKENS: tuple[str, ...] = SPECIAL_TOKENS + ADDED_TOKENS

# Enough merges for the shipped corpus; the trained vocabulary stops well below this.
_MAX_BPE_VOCAB = 4096


def _corpus_lines() -> list[str]:
    text = resources.files("vlkit.testing.data").joinpath("corpus.txt").read_text(encoding="utf-8")
    return text.splitlines(keepends=True)


def _train_bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Train byte-level BPE on the shipped corpus; return its vocabulary and merges."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    bpe = Tokenizer(BPE(unk_token=None))
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=_MAX_BPE_VOCAB,
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
        show_progress=False,
    )
    bpe.train_from_iterator(_corpus_lines(), trainer=trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return dict(model["vocab"]), merges  # type: ignore[return-value]


def train_tokenizer(
    *, eos_token: str = "<|im_end|>", chat_template: str | None = None, first_added_id: int | None = None
) -> PreTrainedTokenizerBase:
    """Train the tiny tokenizer and return it as a transformers ``Qwen2Tokenizer``.

    The BPE vocabulary comes first (ids ``0..n-1``), then :data:`ALL_ADDED_TOKENS` in the real order,
    as in the Qwen checkpoints. Training is deterministic for a given corpus. ``first_added_id`` puts the
    added tokens at a later id (151643 gives them the real Qwen ids; the ids in between stay unused).
    """
    from tokenizers import AddedToken
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

    vocab, merges = _train_bpe()
    base = len(vocab) if first_added_id is None else first_added_id
    # Reserve the ids up front so they follow the Qwen order rather than the order the
    # constructor happens to register eos/pad in.
    for offset, token in enumerate(ALL_ADDED_TOKENS):
        vocab[token] = base + offset
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        bos_token=None,
        eos_token=eos_token,
        pad_token="<|endoftext|>",
        errors="replace",
        model_max_length=32768,
        clean_up_tokenization_spaces=False,
        split_special_tokens=False,
    )
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS], special_tokens=True)
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in ADDED_TOKENS])
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    ids = tokenizer.convert_tokens_to_ids(list(ALL_ADDED_TOKENS))
    if ids != list(range(base, base + len(ALL_ADDED_TOKENS))):
        raise RuntimeError(f"added token ids are not contiguous after the BPE vocabulary: {ids}")
    logger.debug("trained tiny tokenizer: %d BPE tokens, %d merges, %d in all", base, len(merges), len(tokenizer))
    return tokenizer


def write_vocab_and_merges(tokenizer: PreTrainedTokenizerBase, folder: Path) -> None:
    """Write ``vocab.json`` and ``merges.txt`` as real Qwen checkpoints also ship them (for non-HF readers)."""
    state = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    added = set(ALL_ADDED_TOKENS)
    vocab = {tok: idx for tok, idx in state["vocab"].items() if tok not in added}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = [m if isinstance(m, str) else " ".join(m) for m in state["merges"]]
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(lines) + "\n", encoding="utf-8")
