"""Per-token cost of grammar-constrained vs free decoding on the real-size Qwen2-VL-2B architecture.

The model is built from the published Qwen2-VL-2B-Instruct ``config.json`` values with random weights
(bf16 unless the CPU lacks it), so the figures need no download. Both decodes run in the same process,
one after the other, from the same prompt and the same number of new tokens:

* ``free`` — greedy decoding, EOS suppressed (``min_new_tokens``) so it runs the full length;
* ``constrained`` — greedy decoding under :func:`vlkit.models.constrained.json_schema_processor`
  with a schema whose string array can grow for the whole budget.

The processor times its own calls, so the overhead is also reported directly (grammar milliseconds
per token / free decode milliseconds per token), which is steadier than the difference of two runs on
a loaded machine. The real Qwen tokenizer cannot be fetched offline: unless ``--tokenizer`` names a
local Qwen tokenizer folder, a byte-level BPE vocabulary of the real size (151,643 entries plus the
Qwen special tokens) is synthesised, so the grammar engine works on a vocabulary of the right size.

    python benchmarks/bench_constrained.py --tokens 192
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, peak_rss_gib, setup_logging  # noqa: E402

logger = logging.getLogger("bench_constrained")

# Qwen/Qwen2-VL-2B-Instruct config.json (published values).
QWEN2_VL_2B_TEXT = {
    "hidden_size": 1536,
    "intermediate_size": 8960,
    "num_hidden_layers": 28,
    "num_attention_heads": 12,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "tie_word_embeddings": True,
    "vocab_size": 151936,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
}
QWEN2_VL_2B_VISION = {
    "depth": 32,
    "embed_dim": 1280,
    "hidden_size": 1536,
    "mlp_ratio": 4,
    "num_heads": 16,
    "in_chans": 3,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
}
REAL_BPE_SIZE = 151643
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "kind": {"type": "string", "enum": ["photo", "chart", "screenshot"]},
        "confidence": {"type": "number"},
        "labels": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title", "kind", "confidence", "labels"],
}


def synthetic_tokenizer() -> Any:
    """A byte-level BPE tokenizer with the real Qwen2 vocabulary size (random multi-byte entries)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    common = [c for c in alphabet if c.isalnum()] + ["Ġ"] * 8 + list('",:{}[]._-') + ["Ċ"]
    rng = random.Random(0)
    vocab = {c: i for i, c in enumerate(sorted(alphabet))}
    while len(vocab) < REAL_BPE_SIZE:
        vocab.setdefault("".join(rng.choice(common) for _ in range(rng.randint(2, 9))), len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIALS)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.add_tokens(["<tool_call>", "</tool_call>"])
    return fast


def build_model(dtype_name: str) -> Any:
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    config = Qwen2VLConfig(text_config=dict(QWEN2_VL_2B_TEXT), vision_config=dict(QWEN2_VL_2B_VISION))
    config.tie_word_embeddings = True
    dtype = getattr(torch, dtype_name)
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        model = Qwen2VLForConditionalGeneration(config).eval()
    finally:
        torch.set_default_dtype(previous)
    return model


class StepClock:
    """A pass-through logits processor that records when each decoding step reaches it."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        self.times.append(time.perf_counter())
        return scores


class TimedProcessor:
    """Wraps a processor and sums the time spent inside it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds: list[float] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        start = time.perf_counter()
        out = self.inner(input_ids, scores)
        self.seconds.append(time.perf_counter() - start)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=192, help="new tokens per decode (default 192)")
    parser.add_argument("--dtype", default="bfloat16", help="model dtype (default bfloat16)")
    parser.add_argument("--tokenizer", default=None, help="a local Qwen2 tokenizer folder (default: synthesised)")
    args = parser.parse_args()
    setup_logging()
    import torch
    from transformers import AutoTokenizer

    from vlkit.models.constrained import _WATCH_WINDOW, json_schema_processor, stop_token_ids

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer) if args.tokenizer else synthetic_tokenizer()
    logger.info("tokenizer: %d entries", len(tokenizer))
    started = time.perf_counter()
    model = build_model(args.dtype)
    build_s = time.perf_counter() - started
    logger.info("model built in %.0f s (%.2fB parameters)", build_s, sum(p.numel() for p in model.parameters()) / 1e9)
    prompt = "<|im_start|>user\nDescribe this picture as JSON.<|im_end|>\n<|im_start|>assistant\n"
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    vocab_size = model.config.text_config.vocab_size

    def decode(constrained: bool) -> dict[str, Any]:
        clock = StepClock()
        processors: list[Any] = []
        timed = None
        compile_s = 0.0
        if constrained:
            start = time.perf_counter()
            grammar = json_schema_processor(tokenizer, SCHEMA, vocab_size, max_new_tokens=args.tokens)
            compile_s = time.perf_counter() - start
            timed = TimedProcessor(grammar)
            processors.append(timed)
        processors.append(clock)
        with torch.inference_mode():
            out = model.generate(
                ids,
                max_new_tokens=args.tokens,
                min_new_tokens=0 if constrained else args.tokens,
                do_sample=False,
                logits_processor=processors,
                eos_token_id=stop_token_ids(tokenizer),
                pad_token_id=tokenizer.pad_token_id,
            )
        steps = [b - a for a, b in zip(clock.times, clock.times[1:])]
        result: dict[str, Any] = {
            "new_tokens": int(out.shape[1] - ids.shape[1]),
            "ms_per_token_median": round(1000 * statistics.median(steps), 2),
            "ms_per_token_mean": round(1000 * statistics.fmean(steps), 2),
        }
        if timed is not None:
            text = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
            result["grammar_compile_s"] = round(compile_s, 3)
            result["grammar_ms_per_token_mean"] = round(1000 * statistics.fmean(timed.seconds[1:]), 3)
            result["grammar_ms_per_token_median"] = round(1000 * statistics.median(timed.seconds[1:]), 3)
            # The last _WATCH_WINDOW steps also probe the closing policy (budget guard): report them apart.
            split = max(1, args.tokens - _WATCH_WINDOW)
            early, late = timed.seconds[1:split], timed.seconds[split:]
            if early:
                result["grammar_ms_per_token_before_budget_window"] = round(1000 * statistics.fmean(early), 3)
            if late:
                result["grammar_ms_per_token_in_budget_window"] = round(1000 * statistics.fmean(late), 3)
            result["output_is_valid_json"] = _valid(text)
            result["closing_steps"] = timed.inner.closing_steps
        return result

    decode(False)  # warm-up: first-call allocations and thread pools
    free = decode(False)
    constrained = decode(True)
    report = {
        "benchmark": "constrained_decoding",
        "model": "Qwen2-VL-2B architecture, random weights",
        "dtype": args.dtype,
        "tokenizer": args.tokenizer or f"synthetic byte-level BPE, {len(tokenizer)} entries",
        "tokens": args.tokens,
        "free": free,
        "constrained": constrained,
        "overhead_ratio_wall": round(constrained["ms_per_token_median"] / free["ms_per_token_median"] - 1, 4),
        "overhead_ratio_grammar": round(constrained["grammar_ms_per_token_mean"] / free["ms_per_token_median"], 4),
        "overhead_ratio_grammar_before_budget_window": round(
            constrained.get("grammar_ms_per_token_before_budget_window", float("nan")) / free["ms_per_token_median"], 4
        ),
        "target_overhead_ratio": 0.05,
        "model_build_s": round(build_s, 1),
        "peak_rss_gib": round(peak_rss_gib(), 2),
        "machine": machine_info(),
    }
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


def _valid(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


if __name__ == "__main__":
    main()
