#!/usr/bin/env python
"""Benchmark one image + short prompt on Qwen2-VL-2B-Instruct: vlkit's backends next to the model-card recipe.

The model is the real Qwen2-VL-2B-Instruct architecture (its published ``config.json``) with random
weights, so no download is needed; the checkpoint folder is built once and cached, and converted by
vlkit's own export step (``vlkit export --to gguf``) for the llama.cpp rows. Every configuration runs in
its own process, so its peak RSS is its own:

* ``naive`` — the model-card recipe (``seeds-fp32`` in ``rows``: the fp32 recipe the issue measured);
* ``vlkit`` — ChatQwenVL on transformers, bf16 and fp32;
* ``llamacpp`` — ChatQwenVL on an exported folder (llama.cpp), per text quant × vision quant;
* ``raw-llamacpp`` — llama.cpp's C API alone on the same GGUF (prefill + greedy decode, no vlkit code):
  the ceiling the llamacpp rows are compared with;
* ``openvino`` — OpenVINO GenAI's ``VLMPipeline`` on the checkpoint exported by optimum-intel (int8 and
  int4 weights). optimum-intel pins an older transformers than vlkit's, so this side runs in its own
  environment, named by ``--openvino-python`` (see benchmarks/README.md): ``_openvino.py`` exports and
  times it there.

    python benchmarks/bench_generate.py --quick          # 8 new tokens, no warm-up
    python benchmarks/bench_generate.py                  # 32 new tokens after a warm-up run
    python benchmarks/bench_generate.py --dtypes bf16 --configs vlkit,llamacpp --quants Q4_K_M

Random weights stop at arbitrary tokens, so the output length is forced: the builder silences every
unprintable row of the output layer, and every configuration generates exactly ``--new-tokens``.
Each row of ``rows`` has ``{config, backend, weights, vision_s, ttft_s, decode_tok_s, roofline_pct,
peak_rss_gib, load_s, agreement}``: ``roofline_pct`` is decode tok/s over (measured read bandwidth /
bytes of weights read per token); ``agreement`` compares with the ``vlkit-bf16`` run on the same prompt —
the first answer token's logits (max error over the logit range, cosine) and the top-1 agreement when
the bf16 run's tokens are fed back (teacher-forced). On random weights the logit margins are tiny, so
agreement here is a lower bound of what real weights give.

Prints one JSON document on stdout and writes it to benchmarks/results/bench_generate.json;
progress goes to stderr. Ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, machine_info, peak_rss_gib, run_worker, setup_logging

log = logging.getLogger("bench_generate")

PROMPT = "Describe this image in one sentence."
IMAGE_SIDE = 448  # 32x32 patches of 14 px = 256 visual tokens after the 2x2 merge (vlkit's CPU budget exactly)
CHECKPOINT_VERSION = "2"  # bump when the builder changes what it writes

# Qwen/Qwen2-VL-2B-Instruct config.json as published (legacy flat layout; transformers converts it on load).
PUBLISHED_CONFIG: dict[str, Any] = {
    "architectures": ["Qwen2VLForConditionalGeneration"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "vision_token_id": 151654,
    "image_token_id": 151655,
    "video_token_id": 151656,
    "hidden_act": "silu",
    "hidden_size": 1536,
    "initializer_range": 0.02,
    "intermediate_size": 8960,
    "max_position_embeddings": 32768,
    "max_window_layers": 28,
    "model_type": "qwen2_vl",
    "num_attention_heads": 12,
    "num_hidden_layers": 28,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 32768,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.41.2",
    "use_cache": True,
    "use_sliding_window": False,
    "vision_config": {
        "depth": 32,
        "embed_dim": 1280,
        "mlp_ratio": 4,
        "num_heads": 16,
        "in_chans": 3,
        "hidden_size": 1536,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "spatial_patch_size": 14,
        "temporal_patch_size": 2,
    },
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "vocab_size": 151936,
}
PUBLISHED_PARAMETERS = 2_208_985_600  # model.safetensors.index.json total_size 4,417,971,200 bytes / 2 (bf16)

# Qwen/Qwen3-VL-2B-Instruct's architecture (--family qwen3_vl): config.json's fields (28 layers of 2048, 16/8
# heads of 128, MLP 6144, tied embeddings, interleaved M-RoPE [24, 20, 20], rope theta 5e6; a 24-block 1024-wide
# ViT, MLP 4096, with 16-px patches, 2304 position embeddings, a 2x2 merger to 2048 and DeepStack at blocks 5,
# 11, 17). Written from the model card's config, then checked field by field against two independent public
# copies of it (a test fixture of a Qwen3-VL 2B config pinned to a Hub revision, and the defaults of an engine
# for Qwen3-VL-Embedding-2B, the same backbone, "aligned with config.json"): all agree. No published parameter
# total was found to check the count against.
QWEN3_VL_2B_CONFIG: dict[str, Any] = {
    "architectures": ["Qwen3VLForConditionalGeneration"],
    "model_type": "qwen3_vl",
    "image_token_id": 151655,
    "video_token_id": 151656,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "tie_word_embeddings": True,
    "initializer_range": 0.02,
    "text_config": {
        "model_type": "qwen3_vl_text", "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 151643,
        "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 2048,
        "initializer_range": 0.02, "intermediate_size": 6144, "max_position_embeddings": 262144,
        "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
        "rope_scaling": {"mrope_interleaved": True, "mrope_section": [24, 20, 20], "rope_type": "default"},
        "rope_theta": 5000000, "tie_word_embeddings": True, "use_cache": True, "vocab_size": 151936,
    },
    "vision_config": {
        "model_type": "qwen3_vl", "deepstack_visual_indexes": [5, 11, 17], "depth": 24,
        "hidden_act": "gelu_pytorch_tanh", "hidden_size": 1024, "in_channels": 3, "initializer_range": 0.02,
        "intermediate_size": 4096, "num_heads": 16, "num_position_embeddings": 2304, "out_hidden_size": 2048,
        "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
    },
}  # fmt: skip

# Qwen/Qwen2.5-VL-3B-Instruct's config.json (--family qwen2_5_vl), as published copies of it read: 36 layers of
# 2048, 16/2 heads, MLP 11008, tied embeddings, M-RoPE [16, 24, 24]; a 32-block 1280-wide ViT (MLP 3420, SiLU,
# RMSNorm) with 14-px patches, windowed attention (112 px) except blocks 7, 15, 23, 31, merged to 2048.
QWEN2_5_VL_3B_CONFIG: dict[str, Any] = {
    "architectures": ["Qwen2_5_VLForConditionalGeneration"],
    "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645, "vision_start_token_id": 151652,
    "vision_end_token_id": 151653, "vision_token_id": 151654, "image_token_id": 151655, "video_token_id": 151656,
    "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 11008,
    "max_position_embeddings": 128000, "max_window_layers": 70, "model_type": "qwen2_5_vl",
    "num_attention_heads": 16, "num_hidden_layers": 36, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
    "use_cache": True, "use_sliding_window": False,
    "vision_config": {
        "depth": 32, "hidden_act": "silu", "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
        "in_chans": 3, "out_hidden_size": 2048, "patch_size": 14, "spatial_merge_size": 2, "spatial_patch_size": 14,
        "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31], "tokens_per_second": 2, "temporal_patch_size": 2,
    },
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "vocab_size": 151936,
}  # fmt: skip

ARCHITECTURES: dict[str, dict[str, Any]] = {
    "qwen2_vl": {"config": PUBLISHED_CONFIG, "parameters": PUBLISHED_PARAMETERS, "folder": "qwen2-vl-2b-instruct-random",
                 "name": "Qwen/Qwen2-VL-2B-Instruct config.json, random bf16 weights"},
    "qwen2_5_vl": {"config": QWEN2_5_VL_3B_CONFIG, "parameters": None, "folder": "qwen2.5-vl-3b-instruct-random",
                   "name": "Qwen/Qwen2.5-VL-3B-Instruct config.json, random bf16 weights"},
    "qwen3_vl": {"config": QWEN3_VL_2B_CONFIG, "parameters": None, "folder": "qwen3-vl-2b-instruct-random",
                 "name": "Qwen/Qwen3-VL-2B-Instruct architecture (config fields checked, see QWEN3_VL_2B_CONFIG), random bf16 weights"},
}  # fmt: skip

PUBLISHED_GENERATION_CONFIG: dict[str, Any] = {
    "bos_token_id": 151643,
    "pad_token_id": 151643,
    "do_sample": True,
    "eos_token_id": [151645, 151643],
    "repetition_penalty": 1.0,
    "temperature": 0.01,
    "top_p": 0.001,
    "top_k": 1,
}

PUBLISHED_PREPROCESSOR: dict[str, Any] = {
    "min_pixels": 3136,
    "max_pixels": 12845056,
    "patch_size": 14,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "Qwen2VLImageProcessor",
    "processor_class": "Qwen2VLProcessor",
}

# Token ids of the real Qwen2 vocabulary: the BPE part ends at 151642, the added tokens follow in this order.
FIRST_ADDED_ID = 151643


# ---------------------------------------------------------------------------------------------- checkpoint


def default_checkpoint(family: str = "qwen2_vl") -> Path:
    base = os.environ.get("VLKIT_CACHE")
    root = Path(base).expanduser() / "bench" if base else RESULTS / "checkpoints"
    return root / ARCHITECTURES[family]["folder"]


def _tokenizer(family: str = "qwen2_vl") -> Any:
    """vlkit.testing's tiny BPE with the added tokens moved to their real Qwen ids (151643 …).

    The tiny BPE covers ids 0..~1000; the ids between it and 151643 are unused, so the
    embedding keeps the real 151936 rows and the special tokens keep the ids the config names.
    """
    from vlkit.testing._families import family_spec
    from vlkit.testing._tokenizer import train_tokenizer
    from vlkit.testing.build import load_template

    tokenizer = train_tokenizer(chat_template=load_template(family_spec(family)), first_added_id=FIRST_ADDED_ID)
    named = {"image_token_id": "<|image_pad|>", "video_token_id": "<|video_pad|>",
             "vision_start_token_id": "<|vision_start|>", "vision_end_token_id": "<|vision_end|>"}
    for key, token in named.items():
        if tokenizer.convert_tokens_to_ids(token) != PUBLISHED_CONFIG[key]:
            raise RuntimeError(f"{token} does not have the config's {key}")
    return tokenizer


def _printable_ids(tokenizer: Any) -> list[int]:
    """BPE ids that decode alone to visible text: the only ones the random model may emit."""
    keep = []
    for idx in range(FIRST_ADDED_ID):
        if tokenizer.convert_ids_to_tokens(idx) is None:
            break  # the tiny BPE vocabulary is contiguous from 0
        text = tokenizer.decode([idx])
        if text.strip() and text.isprintable() and "\ufffd" not in text:
            keep.append(idx)
    return keep


def _random_weights(model: Any, seed: int) -> None:
    """Fill every parameter as transformers' init would (normal(0, 0.02), norms 1, biases 0), fast, in place."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    done: set[int] = set()
    with torch.no_grad():
        for module in model.modules():
            is_norm = isinstance(module, torch.nn.LayerNorm) or type(module).__name__.endswith("RMSNorm")
            for name, param in module.named_parameters(recurse=False):
                if is_norm and name == "weight":
                    param.fill_(1.0)
                elif name == "bias":
                    param.zero_()
                else:
                    param.normal_(0.0, 0.02, generator=gen)  # initializer_range of both architectures
                done.add(id(param))
    missed = [n for n, p in model.named_parameters() if id(p) not in done]
    if missed:
        raise RuntimeError(f"parameters left uninitialised: {missed[:5]}")


def _published_name(name: str) -> str:
    """transformers 5 parameter names -> the names in the published safetensors (model.layers.*, visual.*)."""
    if name.startswith("model.language_model."):
        return "model." + name[len("model.language_model.") :]
    if name.startswith("model.visual."):
        return name[len("model.") :]
    return name


def build_checkpoint(folder: Path, seed: int = 0, family: str = "qwen2_vl") -> dict[str, Any]:
    """Write config, random bf16 weights, tokenizer, template and image-processor config into ``folder``."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoModelForImageTextToText

    arch = ARCHITECTURES[family]
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    started = time.perf_counter()
    (tmp / "config.json").write_text(json.dumps(arch["config"], indent=2) + "\n", encoding="utf-8")
    config = AutoConfig.from_pretrained(tmp)
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config, dtype=torch.bfloat16)
    model.to_empty(device="cpu")
    model.tie_weights()  # to_empty gives lm_head its own storage; the published model ties it to the embedding
    _random_weights(model, seed)
    parameters = sum(p.numel() for p in model.parameters())
    if arch["parameters"] is not None and parameters != arch["parameters"]:
        raise RuntimeError(f"built {parameters:,} parameters; the published checkpoint has {arch['parameters']:,}")
    tokenizer = _tokenizer(family)
    # Greedy decoding must go on for the full token budget and stream visible text each step, as a real
    # model's answer does: shrink the (tied) output rows of EOS, the other added tokens, the unused ids and
    # the BPE tokens that do not print on their own to 1/20 of the others, so their logits never beat the
    # best of ~650 printable ones. Not to zero: the rows are tied to the input embedding, and a token with
    # an all-zero embedding (the prompt's "\n", <|im_start|>) makes a degenerate input that runtimes treat
    # differently (llama.cpp's logits after one are all zero).
    silenced = torch.ones(config.text_config.vocab_size, dtype=torch.bool)
    silenced[_printable_ids(tokenizer)] = False
    with torch.no_grad():
        model.get_output_embeddings().weight[silenced] *= 0.05
    # Qwen2-VL and Qwen2.5-VL publish transformers 4's names (model.layers.*, visual.*), Qwen3-VL transformers 5's
    rename = _published_name if family in ("qwen2_vl", "qwen2_5_vl") else (lambda name: name)
    state = {rename(k): v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    log.info("built %.3fB parameters in %.0f s; writing %.1f GB", parameters / 1e9, time.perf_counter() - started,
             sum(v.numel() * v.element_size() for v in state.values()) / 1e9)
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    del state, model
    tokenizer.save_pretrained(tmp)
    if family == "qwen2_vl":
        preprocessor = PUBLISHED_PREPROCESSOR
    else:  # the patch size, mean and std of the family, as vlkit's tiny checkpoints write them
        from vlkit.testing._families import family_spec
        from vlkit.testing.build import _preprocessor_config

        preprocessor = _preprocessor_config(family_spec(family))
    files = {
        "generation_config.json": PUBLISHED_GENERATION_CONFIG,
        "preprocessor_config.json": preprocessor,
        "bench_checkpoint.json": {"version": CHECKPOINT_VERSION, "seed": seed, "parameters": parameters, "family": family},
    }
    for name, content in files.items():
        (tmp / name).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    log.info("checkpoint ready in %s (%.0f s)", folder, time.perf_counter() - started)
    return {"built": True, "parameters": parameters, "build_s": round(time.perf_counter() - started, 1)}


def checkpoint_info(folder: Path) -> dict[str, Any] | None:
    marker = folder / "bench_checkpoint.json"
    if not marker.is_file():
        return None
    info = json.loads(marker.read_text(encoding="utf-8"))
    return info if info.get("version") == CHECKPOINT_VERSION else None


def write_image(path: Path) -> None:
    """A deterministic 448x448 screenshot-like picture: bars, boxes and text."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (IMAGE_SIDE, IMAGE_SIDE), (245, 246, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, IMAGE_SIDE, 40), fill=(40, 90, 160))
    draw.text((12, 12), "Invoice 2024-117  -  ACME Ltd.", fill=(255, 255, 255))
    for row in range(8):
        y = 60 + row * 40
        fill = (255, 255, 255) if row % 2 else (235, 238, 245)
        draw.rectangle((16, y, 432, y + 30), outline=(180, 180, 190), fill=fill)
        draw.text((24, y + 9), f"Item {row + 1}: widget type {chr(65 + row)}", fill=(20, 20, 20))
        draw.text((360, y + 9), f"{(row + 1) * 12.5:7.2f}", fill=(20, 20, 20))
    draw.ellipse((340, 390, 430, 440), fill=(220, 60, 60))
    draw.text((362, 408), "TOTAL", fill=(255, 255, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


# ---------------------------------------------------------------------------------------------- workers


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _time_vision(model: Any, pixel_values: Any, grid: Any, device: str) -> float:
    """Seconds for one vision-encoder pass (patch embed, 32 blocks, merger) over the prepared image."""
    import torch

    with torch.inference_mode():
        _sync(device)
        started = time.perf_counter()
        model.get_image_features(pixel_values=pixel_values, image_grid_thw=grid)
        _sync(device)
    return time.perf_counter() - started


def _timings(started: float, stamps: list[float], new_tokens: int) -> dict[str, Any]:
    if not stamps:
        return {"ttft_s": None, "decode_tok_s": None, "new_tokens": new_tokens}
    decode = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else None
    return {
        "ttft_s": round(stamps[0] - started, 3),
        "decode_tok_s": round(decode, 3) if decode else None,
        "total_s": round(stamps[-1] - started, 3),
        "new_tokens": new_tokens,
    }


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Best of the measured runs per metric: other processes on the machine only ever make a run slower."""
    best = dict(runs[-1])
    for key, pick in (("ttft_s", min), ("total_s", min), ("decode_tok_s", max)):
        values = [r[key] for r in runs if r.get(key) is not None]
        best[key] = pick(values) if values else None
    if len(runs) > 1:
        best["runs"] = runs
    return best


def worker_vlkit(spec: dict[str, Any]) -> dict[str, Any]:
    """vlkit's real path: ChatQwenVL(model=folder, dtype=...).stream(messages)."""
    import transformers.models.qwen2_vl.modeling_qwen2_vl  # noqa: F401  (import time is not load time)
    from langchain_core.messages import HumanMessage

    from vlkit.models import ChatQwenVL
    from vlkit.models.backends.base import GenerationRequest
    from vlkit.models.messages import to_turns

    device, n = spec["device"], spec["new_tokens"]
    started = time.perf_counter()
    # caches off for the timed runs: every run pays the whole prompt, as the first call of a session does
    llm = ChatQwenVL(model=spec["checkpoint"], device=device, dtype=spec["dtype"], max_tokens=n, local_files_only=True,
                     prefix_cache_mb=0, vision_cache_mb=0)  # fmt: skip
    backend = llm.backend_impl
    loaded = backend.checkpoint  # the load ChatQwenVL otherwise does on its first call
    out: dict[str, Any] = {"load_s": round(time.perf_counter() - started, 3), "rss_after_load_gib": peak_rss_gib()}
    messages = [HumanMessage(content=[{"type": "image", "path": spec["image"]}, {"type": "text", "text": PROMPT}])]
    if spec["warmup"]:
        for _ in llm.stream(messages, max_tokens=2):
            pass

    started = time.perf_counter()
    prepared = backend.prepare(GenerationRequest(turns=to_turns(messages), max_tokens=n))
    out["prepare_s"] = round(time.perf_counter() - started, 3)
    out["prompt_tokens"] = int(prepared.input_ids.shape[1])
    out["image_tokens"] = prepared.image_tokens
    out["vision_s"] = round(_time_vision(loaded.model, prepared.pixel_values, prepared.image_grid_thw, device), 3)

    runs = [_timed_stream(llm, messages) for _ in range(spec["repeats"])]
    out["cached_ttft_s"] = _cached_ttft(ChatQwenVL(model=spec["checkpoint"], device=device, dtype=spec["dtype"],
                                                   local_files_only=True), messages)  # fmt: skip
    if spec.get("reference"):
        _save_reference(loaded, prepared, n, Path(spec["reference"]))
    elif spec.get("compare_to"):
        out["agreement"] = _transformers_agreement(loaded, prepared, Path(spec["compare_to"]))
    return {**out, **_best(runs)}


def _no_cache() -> Any:
    from vlkit.models.backends._cache import CacheConfig

    return CacheConfig(prefix_bytes=0, vision_bytes=0)


def _timed_stream(llm: Any, messages: list[Any]) -> dict[str, Any]:
    """One streamed answer: first-token time and decode rate from the chunks' arrival."""
    stamps: list[float] = []
    usage = None
    started = time.perf_counter()
    for chunk in llm.stream(messages):
        if chunk.content:
            stamps.append(time.perf_counter())
        if chunk.usage_metadata:
            usage = chunk.usage_metadata
    run = _timings(started, stamps, usage["output_tokens"] if usage else len(stamps))
    run["streamed_chunks"] = len(stamps)
    return run


def _cached_ttft(llm: Any, messages: list[Any]) -> float | None:
    """First-token time of the same prompt asked again with the caches on (a repeated screenshot, a
    retried step): the second call reads the prompt's prefix and the image from the caches."""
    for _ in llm.stream(messages, max_tokens=1):
        pass
    started = time.perf_counter()
    for chunk in llm.stream(messages, max_tokens=2):
        if chunk.content:
            return round(time.perf_counter() - started, 3)
    return None


def _forward_logits(loaded: Any, prepared: Any, extra: list[int]) -> Any:
    """Logits of the prompt's last position and after each of ``extra`` tokens (one forward pass)."""
    import torch

    ids = torch.cat([prepared.input_ids, torch.tensor([extra], dtype=prepared.input_ids.dtype)], dim=1)
    kwargs: dict[str, Any] = dict(input_ids=ids, attention_mask=torch.ones_like(ids))
    if prepared.pixel_values is not None:
        kwargs.update(pixel_values=prepared.pixel_values, image_grid_thw=prepared.image_grid_thw)
        kwargs["mm_token_type_ids"] = torch.cat([prepared.mm_token_type_ids, torch.zeros((1, len(extra)), dtype=torch.long)], 1)
    with torch.inference_mode():
        logits = loaded.model(**kwargs).logits[0].float()
    return logits[prepared.input_ids.shape[1] - 1 :].numpy()


def _save_reference(loaded: Any, prepared: Any, n: int, path: Path) -> None:
    """The bf16 run's greedy tokens and its logits at each of them: what the other rows are compared with."""
    import numpy as np
    import torch

    kwargs: dict[str, Any] = dict(input_ids=prepared.input_ids, attention_mask=prepared.attention_mask,
                                  pixel_values=prepared.pixel_values, image_grid_thw=prepared.image_grid_thw,
                                  mm_token_type_ids=prepared.mm_token_type_ids)  # fmt: skip
    with torch.inference_mode():
        out = loaded.model.generate(**kwargs, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                                    output_logits=True, return_dict_in_generate=True)  # fmt: skip
    tokens = out.sequences[0, prepared.input_ids.shape[1] :].tolist()
    logits = torch.stack([step[0].float() for step in out.logits]).numpy()
    np.savez(path, tokens=np.array(tokens), logits=logits)


def _agreement(first: Any, top1: list[int], path: Path) -> dict[str, Any]:
    import numpy as np

    ref = np.load(path)
    width = ref["logits"].shape[1]
    first = np.asarray(first[:width], dtype=np.float64)
    base = ref["logits"][0].astype(np.float64)
    spread = float(base.max() - base.min()) or 1.0
    tokens = ref["tokens"].tolist()
    return {
        "reference": "vlkit-bf16",
        "top1_teacher_forced": round(sum(a == b for a, b in zip(top1, tokens)) / len(tokens), 3),
        "positions": len(tokens),
        "first_logits_max_err_over_range": round(float(np.abs(first - base).max()) / spread, 4),
        "first_logits_cosine": round(float(first @ base / (np.linalg.norm(first) * np.linalg.norm(base))), 5),
    }


def _transformers_agreement(loaded: Any, prepared: Any, path: Path) -> dict[str, Any]:
    import numpy as np

    tokens = np.load(path)["tokens"].tolist()
    logits = _forward_logits(loaded, prepared, tokens[:-1])
    return _agreement(logits[0], [int(np.argmax(row)) for row in logits], path)


def worker_llamacpp(spec: dict[str, Any]) -> dict[str, Any]:
    """vlkit's llama.cpp backend on an exported folder: ChatQwenVL(model=folder).stream(messages)."""
    import ctypes

    import numpy as np
    from langchain_core.messages import HumanMessage

    from vlkit.models import ChatQwenVL

    n = spec["new_tokens"]
    started = time.perf_counter()
    # caches off for the timed runs: every run pays the whole prompt, as the first call of a session does
    from vlkit.models.backends.llamacpp import LlamaCppBackend
    from vlkit.models.exported import read_manifest

    family = read_manifest(spec["folder"]).family
    backend = LlamaCppBackend(spec["folder"], repack=spec.get("repack", True), cache=_no_cache())
    llm = ChatQwenVL(model=spec["folder"], backend=backend, family=family, max_tokens=n)
    lm = backend.checkpoint
    out: dict[str, Any] = {"load_s": round(time.perf_counter() - started, 3), "rss_after_load_gib": peak_rss_gib(),
                           "threads": lm.threads}  # fmt: skip
    messages = [HumanMessage(content=[{"type": "image", "path": spec["image"]}, {"type": "text", "text": PROMPT}])]
    if spec["warmup"]:
        for _ in llm.stream(messages, max_tokens=2):
            pass
    request = llm.generation_request(messages)
    run = backend._run(request)
    out["prompt_tokens"], out["image_tokens"] = run.prompt_tokens, run.image_tokens
    from llama_cpp import mtmd_cpp

    chunks, chunk = run._image_chunk(run.pils[0])
    try:
        started = time.perf_counter()
        mtmd_cpp.mtmd_encode_chunk(lm.mtmd, chunk)
        out["vision_s"] = round(time.perf_counter() - started, 3)
    finally:
        mtmd_cpp.mtmd_input_chunks_free(chunks)
    runs = [_timed_stream(llm, messages) for _ in range(spec["repeats"])]
    cached = LlamaCppBackend(spec["folder"], repack=spec.get("repack", True))
    out["cached_ttft_s"] = _cached_ttft(ChatQwenVL(model=spec["folder"], backend=cached, family=family), messages)
    if spec.get("compare_to"):
        import llama_cpp

        ref_tokens = np.load(spec["compare_to"])["tokens"].tolist()
        run = backend._run(request)
        with lm.lock:
            run._prefill()
            first = run.logits()
            top1 = []
            batch = llama_cpp.llama_batch_init(1, 0, 1)
            try:
                for token in ref_tokens:  # teacher-forced: the bf16 run's token goes in whatever we predicted
                    top1.append(int(np.argmax(run.logits())))
                    run.feed(token, batch)
            finally:
                llama_cpp.llama_batch_free(batch)
        out["agreement"] = _agreement(first, top1, Path(spec["compare_to"]))
    del ctypes
    return {**out, **_best(runs)}


def worker_raw(spec: dict[str, Any]) -> dict[str, Any]:
    """llama.cpp's C API alone (through llama-cpp-python's bindings): prefill the same number of prompt
    tokens as text, then greedy-decode ``new_tokens`` — the ceiling for the llamacpp rows' decode."""
    import numpy as np

    from vlkit.models.backends.llamacpp import route_logs
    from vlkit.models.exported import read_manifest
    from vlkit.models.machine import default_threads

    import llama_cpp

    route_logs(llama_cpp)
    folder = Path(spec["folder"])
    manifest = read_manifest(folder)
    threads = default_threads()
    started = time.perf_counter()
    llama_cpp.llama_backend_init()
    model_params = llama_cpp.llama_model_default_params()
    model_params.use_extra_bufts = bool(spec.get("repack", True))  # as the llamacpp row it is compared with
    model = llama_cpp.llama_model_load_from_file(str(folder / manifest.model_file).encode(), model_params)
    params = llama_cpp.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_ubatch = 4096, 512, 512
    params.n_threads = params.n_threads_batch = threads
    ctx = llama_cpp.llama_init_from_model(model, params)
    n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
    out: dict[str, Any] = {"load_s": round(time.perf_counter() - started, 3), "rss_after_load_gib": peak_rss_gib(),
                           "threads": threads, "vision_s": None}  # fmt: skip
    prompt = [int(t) for t in np.random.default_rng(0).integers(100, 900, spec["prompt_tokens"])]

    def generate(count: int) -> tuple[float, list[float], int]:
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
        begun = time.perf_counter()
        batch = llama_cpp.llama_batch_init(len(prompt), 0, 1)
        batch.n_tokens = len(prompt)
        for i, token in enumerate(prompt):
            batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.seq_id[i][0] = token, i, 1, 0
            batch.logits[i] = i == len(prompt) - 1
        llama_cpp.llama_decode(ctx, batch)
        llama_cpp.llama_batch_free(batch)
        stamps = []
        one = llama_cpp.llama_batch_init(1, 0, 1)
        pos = len(prompt)
        for _ in range(count):
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
            token = int(np.argmax(logits))
            stamps.append(time.perf_counter())
            one.n_tokens, one.token[0], one.pos[0], one.n_seq_id[0], one.seq_id[0][0], one.logits[0] = 1, token, pos, 1, 0, True
            llama_cpp.llama_decode(ctx, one)
            pos += 1
        llama_cpp.llama_batch_free(one)
        return begun, stamps, count

    if spec["warmup"]:
        generate(2)
    runs = [_timings(*generate(spec["new_tokens"])) for _ in range(spec["repeats"])]
    best = _best(runs)
    best["prefill_tok_s"] = round(spec["prompt_tokens"] / best["ttft_s"], 1) if best.get("ttft_s") else None
    return {**out, **best}


def worker_naive(spec: dict[str, Any]) -> dict[str, Any]:
    """The Qwen2-VL-2B-Instruct model-card recipe, with the processor steps spelled out (see README)."""
    import torch
    from PIL import Image
    from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration
    from transformers.generation.streamers import BaseStreamer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    device, n, folder = spec["device"], spec["new_tokens"], spec["checkpoint"]
    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}[spec["dtype"]]
    started = time.perf_counter()
    model = Qwen2VLForConditionalGeneration.from_pretrained(folder, dtype=dtype, device_map=device)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(folder)  # AutoProcessor needs torchvision
    out: dict[str, Any] = {"load_s": round(time.perf_counter() - started, 3), "rss_after_load_gib": peak_rss_gib()}
    image_token_id = model.config.image_token_id

    def inputs() -> dict[str, Any]:
        content = [{"type": "image", "image": spec["image"]}, {"type": "text", "text": PROMPT}]
        messages = [{"role": "user", "content": content}]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        image = Image.open(spec["image"]).convert("RGB")  # qwen_vl_utils.process_vision_info, no resize at 448²
        vision = image_processor(images=[image], return_tensors="pt")
        # What Qwen2VLProcessor.__call__ does: one <|image_pad|> per merged patch, and mm_token_type_ids.
        count = int(vision["image_grid_thw"][0].prod()) // image_processor.merge_size**2
        text = text.replace("<|image_pad|>", "<|image_pad|>" * count)
        encoded = tokenizer([text], padding=True, return_tensors="pt")
        encoded["mm_token_type_ids"] = (encoded["input_ids"] == image_token_id).long()  # int64, as the processor
        return {**encoded, **vision}

    class Stamps(BaseStreamer):
        def __init__(self) -> None:
            self.times: list[float] = []
            self.prompt_seen = False

        def put(self, value: Any) -> None:
            if not self.prompt_seen:  # generate() hands over the prompt first
                self.prompt_seen = True
                return
            value.tolist()  # wait for the token (CUDA is asynchronous)
            self.times.append(time.perf_counter())

        def end(self) -> None:
            pass

    def generate(max_new_tokens: int) -> tuple[float, list[float], int]:
        begun = time.perf_counter()
        batch = {k: v.to(model.device) for k, v in inputs().items()}
        stamps = Stamps()
        generated = model.generate(**batch, max_new_tokens=max_new_tokens, streamer=stamps)
        return begun, stamps.times, int(generated.shape[1] - batch["input_ids"].shape[1])

    if spec["warmup"]:
        generate(2)
    started = time.perf_counter()
    batch = {k: v.to(model.device) for k, v in inputs().items()}
    out["prepare_s"] = round(time.perf_counter() - started, 3)
    out["prompt_tokens"] = int(batch["input_ids"].shape[1])
    out["image_tokens"] = int((batch["input_ids"] == image_token_id).sum())
    out["vision_s"] = round(_time_vision(model, batch["pixel_values"], batch["image_grid_thw"], device), 3)
    runs = [_timings(*generate(n)) for _ in range(spec["repeats"])]
    return {**out, **_best(runs)}


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["config"] == "build":
        return build_checkpoint(Path(spec["checkpoint"]), family=spec.get("family", "qwen2_vl"))
    if spec["config"] == "export":
        return export_folder(spec)
    run = {"vlkit": worker_vlkit, "naive": worker_naive, "llamacpp": worker_llamacpp, "raw-llamacpp": worker_raw}[spec["config"]]
    label = f"[{spec['config']} {spec['device']} {spec['dtype']}{' ' + spec['weights'] if spec.get('weights') else ''}]"
    log.info("%s running (%d new tokens%s)", label, spec["new_tokens"], ", after a warm-up" if spec["warmup"] else "")
    load_before = os.getloadavg()[0]
    out = {**spec, **run(spec)}
    out["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    out["peak_rss_gib"] = round(peak_rss_gib(), 3)
    out["rss_after_load_gib"] = round(out["rss_after_load_gib"], 3)
    if spec["device"].startswith("cuda"):
        import torch

        out["cuda_peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
    log.info(
        "%s load %.1f s, vision %.2f s, first token %.2f s, %.2f tok/s, peak RSS %.2f GiB",
        label, out["load_s"], out["vision_s"] or -1, out["ttft_s"] or -1, out["decode_tok_s"] or -1, out["peak_rss_gib"],
    )
    return out


def export_folder(spec: dict[str, Any]) -> dict[str, Any]:
    """``vlkit export`` of the checkpoint (a worker, so its memory is not the driver's). With ``reuse``, a
    folder already exported with the same text quant: only the vision encoder is converted again."""
    from vlkit.models.export import export_model

    started = time.perf_counter()
    if spec.get("reuse"):
        import shutil as _shutil

        from vlkit.models.export import MMPROJ_QUANTS, _convert, llama_cpp_source
        from vlkit.models.exported import read_manifest

        source, dest = Path(spec["reuse"]), Path(spec["folder"])
        manifest = read_manifest(source)
        _shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for item in source.iterdir():
            if item.name not in (manifest.mmproj_file, "vlkit-export.json"):
                (dest / item.name).hardlink_to(item)
        mmproj_file = f"mmproj-{spec['mmproj']}.gguf"
        _convert(llama_cpp_source(), Path(spec["checkpoint"]), dest / mmproj_file, MMPROJ_QUANTS[spec["mmproj"]],
                 mmproj=True, stage="vision", total=0, report=lambda *a: None)  # fmt: skip
        manifest.mmproj_file, manifest.mmproj_quant = mmproj_file, spec["mmproj"]
        manifest.write(dest)
    else:
        export_model(spec["checkpoint"], spec["folder"], quant=spec["quant"], mmproj_quant=spec["mmproj"], overwrite=True)
    return {"export_s": round(time.perf_counter() - started, 1)}


def _openvino_run(python: str, *args: str) -> dict[str, Any]:
    """``_openvino.py ARGS`` in the OpenVINO environment's interpreter; the JSON line it printed, or an error
    row (the rows measured before it are kept either way)."""
    import subprocess

    script = Path(__file__).resolve().with_name("_openvino.py")
    try:
        proc = subprocess.run([python, str(script), *args], stdout=subprocess.PIPE, stderr=None, text=True, check=False)
    except OSError as exc:
        return {"error": f"--openvino-python {python}: {exc.strerror or exc}"}
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        return {"error": f"_openvino.py {args[0]} exited with status {proc.returncode} (its stderr is above)"}
    try:
        return json.loads(lines[-1])
    except ValueError:
        return {"error": f"_openvino.py {args[0]} printed no JSON result: {lines[-1][:200]}"}


def openvino_rows(python: str, checkpoint: Path, formats: list[str], base: dict[str, Any]) -> list[dict[str, Any]]:
    """Export (once, cached beside the GGUF folders) and time each OpenVINO weight format."""
    results = []
    for weight_format in formats:
        folder = checkpoint.with_name(f"{checkpoint.name}-v{CHECKPOINT_VERSION}-openvino-{weight_format}")
        spec = {**base, "config": "openvino", "device": "cpu", "dtype": weight_format, "weights": weight_format}
        if not (folder / "openvino_language_model.xml").is_file():
            log.info("exporting %s to OpenVINO %s (optimum-intel)", checkpoint.name, weight_format)
            shutil.rmtree(folder, ignore_errors=True)
            done = _openvino_run(python, "export", "--checkpoint", str(checkpoint), "--weight-format", weight_format,
                                 "--out", str(folder))  # fmt: skip
            if "error" in done:
                results.append({**spec, **done})
                continue
            log.info("exported in %.0f s", done.get("seconds") or -1)
        log.info("[openvino cpu %s] running (%d new tokens%s)", weight_format, base["new_tokens"],
                 ", after a warm-up" if base["warmup"] else "")  # fmt: skip
        load_before = os.getloadavg()[0]
        out = _openvino_run(python, "worker", json.dumps({**base, "folder": str(folder)}))
        out = {**spec, **out, "folder": str(folder), "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
        if "error" not in out and base.get("compare_to"):
            # VLMPipeline gives no logits: the same IR's language model through optimum-intel, teacher-forced
            log.info("[openvino cpu %s] agreement with the bf16 reference (optimum-intel, teacher-forced)", weight_format)
            logits = folder / "agreement_logits.npz"
            agreement = _openvino_run(python, "agreement", json.dumps({**base, "folder": str(folder), "logits_out": str(logits)}))
            if "error" not in agreement:
                import numpy as np

                with np.load(logits) as data:
                    agreement.update(_agreement(data["first"], data["top1"].tolist(), Path(base["compare_to"])))
            out["agreement"] = {**agreement, "free_running": out.pop("agreement_free_running", None)}
        if "error" not in out:
            log.info("[openvino cpu %s] load %.1f s, vision %.2f s, first token %.2f s, %.2f tok/s, peak RSS %.2f GiB",
                     weight_format, out.get("load_s") or -1, out.get("vision_s") or -1, out.get("ttft_s") or -1,
                     out.get("decode_tok_s") or -1, out.get("peak_rss_gib") or -1)  # fmt: skip
        results.append(out)
    return results


def _gguf_folder(checkpoint: Path, quant: str, mmproj: str) -> Path:
    return checkpoint.with_name(f"{checkpoint.name}-v{CHECKPOINT_VERSION}-gguf-{quant}-{mmproj}")


def ensure_exports(script: Path, checkpoint: Path, quants: list[str], mmprojs: list[str]) -> dict[tuple[str, str], Path]:
    """One export per text quant (with the first vision quant); other vision quants reuse its language model."""
    import shutil as _shutil

    from vlkit.models.exported import read_manifest

    folders: dict[tuple[str, str], Path] = {}
    for quant in quants:
        for mmproj in mmprojs:
            folder = _gguf_folder(checkpoint, quant, mmproj)
            if read_manifest(folder) is None:
                log.info("exporting %s to GGUF %s + vision %s (vlkit export)", checkpoint.name, quant, mmproj)
                reuse = folders.get((quant, mmprojs[0])) if mmproj != mmprojs[0] else None
                done = run_worker(script, {"config": "export", "checkpoint": str(checkpoint), "folder": str(folder),
                                           "quant": quant, "mmproj": mmproj, "reuse": str(reuse) if reuse else None})  # fmt: skip
                if "error" in done:
                    raise RuntimeError(f"export {quant}/{mmproj} failed")
                log.info("exported in %.0f s", done["export_s"])
            folders[(quant, mmproj)] = folder
    del _shutil
    return folders


def bytes_per_token(result: dict[str, Any], lm_parameters: int) -> float | None:
    """Bytes of weights one decoded token reads: the language model (the tied output layer included)."""
    if result["config"] in ("vlkit", "naive"):
        return lm_parameters * (2 if result["dtype"] == "bf16" else 4)
    folder = result.get("folder")
    if folder and result["config"] == "openvino":
        weights = Path(folder) / "openvino_language_model.bin"
        return weights.stat().st_size if weights.is_file() else None
    if folder:
        from vlkit.models.exported import read_manifest

        return (Path(folder) / read_manifest(folder).model_file).stat().st_size
    return None


def rows_of(results: list[dict[str, Any]], bandwidth_gbs: float | None, lm_parameters: int) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        if "error" in r:
            rows.append({"config": r.get("config"), "error": r["error"]})
            continue
        if r["config"] == "naive":
            config, backend, weights = f"seeds-{r['dtype']}", "transformers (model-card recipe)", r["dtype"]
        elif r["config"] == "vlkit":
            config, backend, weights = f"vlkit-{r['dtype']}", "transformers", r["dtype"]
        else:
            backend = {"llamacpp": "llama.cpp", "openvino": "OpenVINO GenAI"}.get(r["config"], "llama.cpp C API")
            config, weights = f"{r['config']}-{r['weights']}", r["weights"]
        per_token = bytes_per_token(r, lm_parameters)
        roofline = None
        if bandwidth_gbs and per_token and r.get("decode_tok_s"):
            roofline = round(100 * r["decode_tok_s"] / (bandwidth_gbs * 1e9 / per_token), 1)
        rows.append({
            "config": config, "backend": backend, "weights": weights, "vision_s": r.get("vision_s"),
            "ttft_s": r.get("ttft_s"), "decode_tok_s": r.get("decode_tok_s"), "roofline_pct": roofline,
            "peak_rss_gib": r.get("peak_rss_gib"), "load_s": r.get("load_s"), "agreement": r.get("agreement"),
            "cached_ttft_s": r.get("cached_ttft_s"), "prefill_tok_s": r.get("prefill_tok_s"),
            "weights_gb_per_token": round(per_token / 1e9, 3) if per_token else None,
        })  # fmt: skip
    return rows


# ---------------------------------------------------------------------------------------------- driver

_RATIO_KEYS = ("load_s", "prepare_s", "vision_s", "ttft_s", "decode_tok_s", "peak_rss_gib")


def ratios(results: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """vlkit / naive per device and dtype: below 1 is better for times and memory, above 1 for tok/s."""
    by_key = {(r["config"], r["device"], r["dtype"]): r for r in results if "error" not in r}
    out: dict[str, dict[str, float | None]] = {}
    for (config, device, dtype), mine in by_key.items():
        theirs = by_key.get(("naive", device, dtype))
        if config != "vlkit" or theirs is None:
            continue
        out[f"{device}/{dtype}"] = {
            key: round(mine[key] / theirs[key], 3) if mine.get(key) and theirs.get(key) else None for key in _RATIO_KEYS
        }
    return out


def ratios_over(rows: list[dict[str, Any]], baseline: str) -> dict[str, dict[str, float | None]]:
    """Each row's figures over ``baseline``'s, measured in the same run (tok/s: above 1 is faster;
    seconds and GiB: below 1 is better)."""
    base = next((r for r in rows if r.get("config") == baseline and "error" not in r), None)
    if base is None:
        return {}
    keys = ("vision_s", "ttft_s", "decode_tok_s", "peak_rss_gib", "load_s")
    return {
        r["config"]: {k: round(r[k] / base[k], 3) if r.get(k) and base.get(k) else None for k in keys}
        for r in rows if "error" not in r and r["config"] != baseline
    }  # fmt: skip


def language_model_parameters(folder: Path) -> int:
    """Parameters outside the vision tower, from the safetensors header (no weights read)."""
    total = 0
    for shard in folder.glob("*.safetensors"):
        with open(shard, "rb") as fh:
            header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
        for name, info in header.items():
            if name != "__metadata__" and "visual." not in name:
                count = 1
                for dim in info["shape"]:
                    count *= dim
                total += count
    return total


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Time Qwen2-VL-2B-Instruct (published architecture, random weights) on one 448x448 image: "
            "vision encoder, time to first token, decode tokens/s and peak RSS, for vlkit's ChatQwenVL and "
            "the model-card recipe, each configuration in its own process. The ~4.4 GB checkpoint is built "
            "on first use (about a minute) and cached. Prints JSON on stdout."
        ),
        epilog="Ratios in the output are vlkit / naive. Needs: pip install 'vlkit[local]'.",
    )
    parser.add_argument("--quick", action="store_true", help="8 new tokens and no warm-up run (a few minutes on CPU)")
    parser.add_argument("--family", choices=sorted(ARCHITECTURES), default="qwen2_vl",
                        help="the architecture: Qwen2-VL-2B (default), Qwen2.5-VL-3B or Qwen3-VL-2B (the model-card rows are Qwen2-VL's only)")
    parser.add_argument(
        "--new-tokens", type=int, default=None, help="new tokens per answer, fixed length (default 32; 8 with --quick)"
    )
    parser.add_argument("--dtypes", default="bf16,fp32", help="comma-separated from bf16,fp32 (default: both)")
    parser.add_argument("--configs", default="vlkit,naive,llamacpp,raw-llamacpp",
                        help="comma-separated from vlkit,naive,llamacpp,raw-llamacpp (default: all)")
    parser.add_argument("--quants", default="Q4_K_M,Q8_0", help="llama.cpp text weights (default: %(default)s)")
    parser.add_argument("--mmprojs", default="BF16,F16,Q8_0", help="llama.cpp vision weights (default: %(default)s)")
    parser.add_argument("--openvino-python", default=os.environ.get("VLKIT_OPENVINO_PYTHON"),
                        help="python of an environment with optimum-intel and openvino-genai: adds the openvino rows "
                        "(default: $VLKIT_OPENVINO_PYTHON; see benchmarks/README.md for that environment)")
    parser.add_argument("--openvino-weights", default="int8,int4", help="OpenVINO weight formats (default: %(default)s)")
    parser.add_argument("--repack", action="store_true",
                        help="also run each llamacpp row without llama.cpp's weight repacking (less memory, faster prefill, slower decode)")
    parser.add_argument(
        "--devices", default=None, help="comma-separated from cpu,cuda (default: cpu, plus cuda when present)"
    )
    parser.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=None,
                        help="one short generation before measuring (default: on; off with --quick)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="measured generations per configuration; the best of them is reported (default 1)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="where the random checkpoint is cached "
                        "(default: $VLKIT_CACHE/bench/… or benchmarks/results/checkpoints/…)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached checkpoint")
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "bench_generate.json", help="JSON file to write (default: %(default)s)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    choices = (("dtypes", {"bf16", "fp32"}), ("configs", {"vlkit", "naive", "llamacpp", "raw-llamacpp"}),
               ("devices", {"cpu", "cuda"}), ("quants", {"Q4_K_M", "Q8_0", "Q6_K", "Q5_K_M", "Q4_0", "F16"}),
               ("mmprojs", {"BF16", "F16", "Q8_0", "F32"}), ("openvino_weights", {"int8", "int4"}))  # fmt: skip
    for name, allowed in choices:
        value = getattr(args, name)
        if value is None:
            continue
        items = [v.strip() for v in value.split(",") if v.strip()]
        unknown = set(items) - allowed
        if unknown or not items:
            wrong = ", ".join(sorted(unknown)) or "empty list"
            parser.error(f"--{name.replace('_', '-')}: unknown {wrong}; choose from {', '.join(sorted(allowed))}")
        setattr(args, name, items)
    if args.openvino_python and not (os.path.isfile(args.openvino_python) and os.access(args.openvino_python, os.X_OK)):
        parser.error(f"--openvino-python {args.openvino_python}: no such executable (the python of the OpenVINO "
                     "environment, e.g. /work/ovenv/bin/python; see benchmarks/README.md)")  # fmt: skip
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))), flush=True)
        return 0
    try:
        import torch
    except ImportError:
        log.error("torch is not installed; pip install 'vlkit[local]'")
        return 2
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    if "cuda" in devices and not torch.cuda.is_available():
        log.error("--devices cuda: torch sees no CUDA device")
        return 2
    new_tokens = args.new_tokens or (8 if args.quick else 32)
    warmup = (not args.quick) if args.warmup is None else args.warmup
    folder = (args.checkpoint or default_checkpoint(args.family)).resolve()
    if args.family != "qwen2_vl" and "naive" in args.configs:
        log.info("the model-card recipe rows are Qwen2-VL's only; skipped for %s", args.family)
        args.configs = [c for c in args.configs if c != "naive"]
    script = Path(__file__).resolve()

    info = None if args.rebuild else checkpoint_info(folder)
    if info is None:
        log.info("building the random %s checkpoint in %s", args.family, folder)
        built = run_worker(script, {"config": "build", "checkpoint": str(folder), "family": args.family})
        if "error" in built:
            log.error("building the checkpoint failed: %s", built["error"])
            return 1
        info = checkpoint_info(folder)
    image = RESULTS / "bench_generate_image.png"
    write_image(image)

    results = []
    reference = RESULTS / f"bench_generate_reference-{args.family}.npz"  # kept for a later run of the other configs alone
    if "vlkit" in args.configs and "bf16" in args.dtypes:
        reference.unlink(missing_ok=True)
    base = {"new_tokens": new_tokens, "warmup": warmup, "repeats": max(1, args.repeats), "checkpoint": str(folder),
            "image": str(image)}  # fmt: skip
    # vlkit bf16 first: its greedy tokens and logits are the reference the other rows are compared with
    order = sorted(((d, t, c) for d in devices for t in args.dtypes for c in args.configs if c in ("vlkit", "naive")),
                   key=lambda k: (k[2] != "vlkit" or k[1] != "bf16",))  # fmt: skip
    for device, dtype, config in order:
        spec = {**base, "config": config, "device": device, "dtype": dtype}
        if config == "vlkit" and dtype == "bf16" and device == "cpu":
            spec["reference"] = str(reference)
        elif config == "vlkit" and reference.is_file():
            spec["compare_to"] = str(reference)
        results.append(run_worker(script, spec))
    prompt_tokens = next((r.get("prompt_tokens") for r in results if r.get("prompt_tokens")), 300)
    if {"llamacpp", "raw-llamacpp"} & set(args.configs):
        exports = ensure_exports(script, folder, args.quants, args.mmprojs)
        for (quant, mmproj), export in exports.items():
            if "llamacpp" in args.configs:
                for repack in (True, False) if args.repack else (True,):
                    weights = f"{quant}+vision-{mmproj}" + ("" if repack else "+no-repack")
                    spec = {**base, "config": "llamacpp", "device": "cpu", "dtype": quant, "weights": weights,
                            "folder": str(export), "repack": repack}  # fmt: skip
                    if reference.is_file():
                        spec["compare_to"] = str(reference)
                    results.append(run_worker(script, spec))
            if "raw-llamacpp" in args.configs and mmproj == args.mmprojs[0]:
                for repack in (True, False) if args.repack else (True,):
                    results.append(run_worker(script, {**base, "config": "raw-llamacpp", "device": "cpu", "dtype": quant,
                                                       "weights": quant + ("" if repack else "+no-repack"), "repack": repack,
                                                       "folder": str(export), "prompt_tokens": prompt_tokens}))  # fmt: skip
    if args.openvino_python and args.family != "qwen2_vl":
        log.info("the openvino rows are Qwen2-VL's only (its vision timing and agreement read Qwen2-VL's IRs); skipped for %s",
                 args.family)  # fmt: skip
    elif args.openvino_python:
        ov_base = {**base, "compare_to": str(reference)} if reference.is_file() else base
        results.extend(openvino_rows(args.openvino_python, folder, args.openvino_weights, ov_base))
    else:
        log.info("no --openvino-python (or VLKIT_OPENVINO_PYTHON): the openvino rows are skipped")
    from vlkit.models.machine import default_threads, memory_bandwidth

    bandwidth_read, bandwidth_copy, method = memory_bandwidth(default_threads())
    rows = rows_of(results, bandwidth_read, language_model_parameters(folder))
    for result in results:
        for key in ("checkpoint", "image", "folder"):
            result.pop(key, None)
    document = {
        "benchmark": "bench_generate",
        "model": {
            "architecture": ARCHITECTURES[args.family]["name"],
            "parameters": info["parameters"] if info else None,
            "published_parameters": ARCHITECTURES[args.family]["parameters"],
            "checkpoint": str(folder),
        },
        "workload": {
            "image": f"{IMAGE_SIDE}x{IMAGE_SIDE}",
            "prompt": PROMPT,
            "new_tokens": new_tokens,
            "warmup": warmup,
            "repeats": max(1, args.repeats),
        },
        "machine": {**machine_info(), "bandwidth_read_gbs": bandwidth_read, "bandwidth_copy_gbs": bandwidth_copy,
                    "bandwidth_method": method},
        "rows": rows,
        "ratios_over_vlkit_bf16": ratios_over(rows, "vlkit-bf16"),
        "ratios_over_seeds_fp32": ratios_over(rows, "seeds-fp32"),
        # what vlkit runs on this CPU by default (fp32 where bf16 is emulated): the fair baseline there
        "ratios_over_vlkit_fp32": ratios_over(rows, "vlkit-fp32"),
        "results": results,
        "ratios_vlkit_over_naive": ratios(results),
    }
    text = json.dumps(document, indent=2)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    print(text)
    log.info("wrote %s", args.output)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
