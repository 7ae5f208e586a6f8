"""Test helpers: tiny, random but complete Qwen-VL checkpoints that load like real ones.

``tiny_checkpoint(family)`` returns a cached folder (built once per user and content version);
``build_tiny_checkpoint(family, folder)`` writes a fresh one. Both need the ``local`` extra
(torch, transformers, tokenizers, safetensors) and no network::

    from transformers import AutoModelForImageTextToText, AutoTokenizer
    from vlkit.testing import tiny_checkpoint

    folder = tiny_checkpoint("qwen3_vl")
    model = AutoModelForImageTextToText.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
"""

from __future__ import annotations

from vlkit.testing._families import TINY_FAMILIES
from vlkit.testing.build import build_tiny_checkpoint
from vlkit.testing.cache import tiny_checkpoint, tiny_export

__all__ = ["TINY_FAMILIES", "build_tiny_checkpoint", "tiny_checkpoint", "tiny_export"]
