"""A tiny random Qwen2 text model with a byte-level BPE tokenizer in the Qwen spelling, built in seconds.

Used by the constrained-decoding tests: the grammar code only needs a tokenizer and logits, not vision.
"""

from __future__ import annotations

import functools
import string

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
PLAIN_ADDED = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]
CORPUS = [
    '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}',
    "The quick brown fox jumps over the lazy dog. 0123456789 ",
    '[{"a": [1, 2.5, -3e4], "b": null, "c": true, "d": false}]',
    string.printable,
    "Ünïcödé text — with dashes, “quotes” and emojis 🙂",
] * 20


@functools.lru_cache(maxsize=None)
def tiny_tokenizer():
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None
    )
    fast.add_tokens(PLAIN_ADDED)
    return fast


@functools.lru_cache(maxsize=None)
def tiny_model(seed: int = 0, pad_vocab: int = 64):
    """A 2-layer random Qwen2 model whose vocabulary is larger than the tokenizer's (as in real checkpoints)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer) + pad_vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return Qwen2ForCausalLM(config).eval()
