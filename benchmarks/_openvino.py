#!/usr/bin/env python
"""The OpenVINO GenAI side of ``bench_generate.py``, run by the interpreter of a separate environment.

optimum-intel (the Hugging Face → OpenVINO IR exporter) pins an older transformers than vlkit's, so this
script imports neither vlkit nor anything of the project; ``bench_generate.py --openvino-python PY`` calls it:

    PY benchmarks/_openvino.py export --checkpoint DIR --weight-format int8|int4 --out DIR
    PY benchmarks/_openvino.py worker '{"folder": DIR, "image": PNG, "new_tokens": 32, "warmup": true, "repeats": 1}'
    PY benchmarks/_openvino.py agreement '{"folder": DIR, "image": PNG, "compare_to": NPZ, "logits_out": NPZ}'

Each prints one JSON line on stdout (progress on stderr). The environment (see benchmarks/README.md):

    python3 -m venv ovenv
    ovenv/bin/pip install torch==2.13.0            # first and pinned: the CPU wheel, no CUDA wheels
    ovenv/bin/pip install 'optimum~=2.3.0' 'transformers==5.0.0' nncf \
        'openvino==2026.4.*' 'openvino-tokenizers==2026.4.*' 'openvino-genai==2026.4.*' pillow psutil
    ovenv/bin/pip install --no-deps optimum-intel==2.2.0   # its hard torchvision requirement is not needed here

(optimum-intel 2.2's Qwen2-VL export config allows transformers up to 5.0: 5.5 is refused.)

``export`` is ``optimum-cli export openvino --task image-text-to-text --weight-format …`` (the tokenizer is
converted by openvino-tokenizers in the same step). Weight compression is data-free (random weights have no
calibration set): int8 = per-channel asymmetric int8 of the language model; int4 = group-128 asymmetric int4
of every language-model matmul (``--ratio 1.0``), the embedding and output layer kept int8 by NNCF.
optimum-intel compresses the other sub-models (vision encoder, merger, text embeddings) to int8 symmetric
in both cases; ``export`` reports what each IR file really holds (bytes per element type).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PROMPT = "Describe this image in one sentence."  # bench_generate.PROMPT


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} [openvino] {message}", file=sys.stderr, flush=True)


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _rss_gib() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def _threads() -> int:
    """Cores this process may use (bench_generate's llama.cpp and torch rows use the same count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("openvino", "openvino-genai", "openvino-tokenizers", "optimum-intel", "optimum", "nncf",
                 "transformers", "torch"):  # fmt: skip
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


# ---------------------------------------------------------------------------------------------- export


def weight_types(folder: Path) -> dict[str, dict[str, Any]]:
    """Per sub-model IR: bytes of constants per element type (what the compression really produced)."""
    import openvino as ov

    core = ov.Core()
    out: dict[str, dict[str, Any]] = {}
    for xml in sorted(folder.glob("openvino_*.xml")):
        if "tokenizer" in xml.name:
            continue
        model = core.read_model(xml)
        by_type: dict[str, int] = {}
        for op in model.get_ops():
            if op.get_type_name() != "Constant":
                continue
            out_type = op.get_output_element_type(0)
            size = op.get_byte_size() if hasattr(op, "get_byte_size") else 0
            key = out_type.get_type_name()
            by_type[key] = by_type.get(key, 0) + int(size)
        bin_file = xml.with_suffix(".bin")
        out[xml.stem] = {
            "bin_bytes": bin_file.stat().st_size if bin_file.is_file() else None,
            "constant_bytes_by_type": {k: v for k, v in sorted(by_type.items(), key=lambda kv: -kv[1]) if v >= 1024},
        }
        del model
    return out


def export(checkpoint: Path, weight_format: str, out: Path) -> dict[str, Any]:
    """``optimum-cli export openvino`` of the checkpoint (a subprocess: its memory is not ours)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SystemExit(f"--out {out} is not empty; remove it first")
    cli = shutil.which("optimum-cli", path=str(Path(sys.executable).parent)) or "optimum-cli"
    cmd = [cli, "export", "openvino", "--model", str(checkpoint), "--task", "image-text-to-text",
           "--weight-format", weight_format]  # fmt: skip
    if weight_format == "int4":
        # data-free int4 (no calibration set for random weights): group 128, every decoder matmul int4
        cmd += ["--group-size", "128", "--ratio", "1.0"]
    cmd.append(str(out))
    _log("running " + " ".join(cmd))
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr, check=False)
    seconds = round(time.perf_counter() - started, 1)
    if proc.returncode != 0 or not (out / "openvino_language_model.xml").is_file():
        raise SystemExit(f"optimum-cli exited with status {proc.returncode} after {seconds} s")
    sizes = {p.name: p.stat().st_size for p in sorted(out.glob("*.bin"))}
    return {"out": str(out), "seconds": seconds, "weight_format": weight_format, "command": " ".join(cmd),
            "bin_bytes": sizes, "total_bin_bytes": sum(sizes.values()), "weights": weight_types(out),
            "versions": _versions()}  # fmt: skip


# ---------------------------------------------------------------------------------------------- worker


def _image_tensor(path: str) -> Any:
    """The picture as OpenVINO GenAI's visual_language_chat sample passes it: uint8 [1, H, W, 3]."""
    import numpy as np
    import openvino as ov
    from PIL import Image

    return ov.Tensor(np.array(Image.open(path).convert("RGB"), dtype=np.uint8)[None])


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    import openvino_genai

    threads = _threads()
    properties: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads}
    # VLMPipeline's default on x86 CPUs is the paged-attention (continuous batching) backend with a
    # latency-oriented scheduler config that turns prefix caching ON: a second generate() with the same
    # prompt then skips most of the prefill (seen here: 6.4 s -> 0.4 s). Every measured run must pay the
    # whole prompt, as bench_generate's other rows do (their caches are off), so the same scheduler config
    # is passed explicitly with prefix caching off (spec "prefix_caching": true restores the default).
    scheduler = openvino_genai.SchedulerConfig()
    scheduler.max_num_batched_tokens = sys.maxsize  # as get_latency_oriented_scheduler_config()
    scheduler.enable_prefix_caching = bool(spec.get("prefix_caching", False))
    started = time.perf_counter()
    pipe = openvino_genai.VLMPipeline(spec["folder"], "CPU", scheduler_config=scheduler, **properties)
    out: dict[str, Any] = {"load_s": round(time.perf_counter() - started, 3), "rss_after_load_gib": round(_peak_rss_gib(), 3),
                           "rss_now_after_load_gib": round(_rss_gib(), 3), "threads": threads,
                           "device_properties": {**properties, "attention_backend": "PA (default)",
                                                 "scheduler_config": {"max_num_batched_tokens": "max",
                                                                      "enable_prefix_caching": scheduler.enable_prefix_caching}},
                           "versions": _versions()}  # fmt: skip
    image = _image_tensor(spec["image"])

    class Stamps(openvino_genai.StreamerBase):
        """One perf_counter stamp per token id (write gets an id, or a list of ids decoded together)."""

        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []
            self.tokens: list[int] = []
            self.calls = 0

        def write(self, token: Any) -> Any:
            now = time.perf_counter()
            self.calls += 1
            for t in token if isinstance(token, (list, tuple)) else [token]:
                self.tokens.append(int(t))
                self.times.append(now)
            return openvino_genai.StreamingStatus.RUNNING

        def end(self) -> None:
            pass

    def generate(count: int) -> dict[str, Any]:
        config = pipe.get_generation_config()  # the checkpoint's eos ids, then the forced length and greedy
        config.max_new_tokens = config.min_new_tokens = count  # random weights: force the length
        config.ignore_eos = True
        config.do_sample = False
        config.num_beams = 1
        config.apply_chat_template = True  # one user turn: the image, then the prompt (images go first)
        stamps = Stamps()
        begun = time.perf_counter()
        result = pipe.generate(PROMPT, images=[image], generation_config=config, streamer=stamps)
        ended = time.perf_counter()
        t = stamps.times
        metrics = result.perf_metrics
        vision_ms = metrics.get_vision_encoding_duration().mean
        prepare_ms = metrics.get_prepare_embeddings_duration().mean
        text_ms = metrics.get_text_embedding_duration().mean
        run = {
            "ttft_s": round(t[0] - begun, 3) if t else None,
            "decode_tok_s": round((len(t) - 1) / (t[-1] - t[0]), 3) if len(t) > 1 and t[-1] > t[0] else None,
            "total_s": round(t[-1] - begun, 3) if t else None,
            "generate_s": round(ended - begun, 3),
            "new_tokens": len(stamps.tokens),
            "streamer_calls": stamps.calls,
            "tokens": stamps.tokens,
            "text": result.texts[0] if result.texts else None,
            "prompt_tokens": int(metrics.get_num_input_tokens()),
            # the pipeline's own figures (milliseconds in its API): cross-checks of the streamer's stamps
            "ov_ttft_s": round(metrics.get_ttft().mean / 1000, 3),
            "ov_tpot_ms": round(metrics.get_tpot().mean, 2),
            "ov_decode_tok_s": round(1000 / metrics.get_tpot().mean, 3) if metrics.get_tpot().mean else None,
            "ov_generate_s": round(metrics.get_generate_duration().mean / 1000, 3),
            # The vision encoder, from VLMPipeline's own metrics. For Qwen2-VL its "vision encoding" is only
            # the preprocessing and patch embedding (openvino_vision_embeddings_model, ~0.1 s); the 32 ViT
            # blocks and the 2x2 merger (openvino_vision_embeddings_merger_model) run while the input
            # embeddings are prepared ("prepare embeddings", which also holds the text-embedding lookup).
            # vision_s = vision encoding + prepare embeddings - text embedding (timing the two vision models
            # alone with ov.Core gave 0.07-0.1 s + 11.8-12.6 s against prepare embeddings 11.2-12.0 s).
            "vision_s": round((vision_ms + prepare_ms - text_ms) / 1000, 3),
            "vision_patch_embed_s": round(vision_ms / 1000, 3),
            "prepare_embeddings_s": round(prepare_ms / 1000, 3),
            "text_embedding_s": round(text_ms / 1000, 4),
            # the language model's first inference (the whole prompt's prefill) as the pipeline times it
            "prefill_infer_s": round(metrics.raw_metrics.token_infer_durations[0] / 1e6, 3) if metrics.raw_metrics.token_infer_durations else None,
        }
        return run

    if spec.get("warmup"):
        generate(2)
    runs = [generate(int(spec["new_tokens"])) for _ in range(max(1, int(spec.get("repeats", 1))))]
    best = dict(runs[-1])  # bench_generate._best: min first-token time and total, max decode rate
    for key, pick in (("ttft_s", min), ("total_s", min), ("decode_tok_s", max), ("vision_s", min), ("prefill_infer_s", min)):
        values = [r[key] for r in runs if r.get(key) is not None]
        best[key] = pick(values) if values else None
    if len(runs) > 1:
        best["runs"] = runs
    if spec.get("compare_to") and Path(spec["compare_to"]).is_file():
        best["agreement_free_running"] = _free_running(best["tokens"], Path(spec["compare_to"]))
    out["peak_rss_gib"] = round(_peak_rss_gib(), 3)
    return {**out, **best}


def _free_running(ours: list[int], path: Path) -> dict[str, Any]:
    """VLMPipeline gives no logits: its greedy tokens against the reference's, up to the first divergence."""
    import numpy as np

    ref = [int(t) for t in np.load(path)["tokens"].tolist()]
    n = min(len(ref), len(ours))
    first_diff = next((i for i in range(n) if ref[i] != ours[i]), n)
    return {"reference": "vlkit-bf16", "first_token_same": bool(n and ref[0] == ours[0]),
            "tokens_same_until": first_diff, "compared": n}  # fmt: skip


# ---------------------------------------------------------------------------------------------- agreement


def agreement(spec: dict[str, Any]) -> dict[str, Any]:
    """The exported IR's logits on bench_generate's reference tokens, through optimum-intel's
    OVModelForVisualCausalLM: the prompt plus the reference tokens (teacher-forced) in one forward pass. The first
    answer token's logits and the top-1 token at each position go to ``spec["logits_out"]`` (npz: ``first``,
    ``top1``); bench_generate scores them as it scores every other row. The IR's language model is the one
    VLMPipeline runs, with the same CPU plugin defaults (thread count, KV cache precision) as ``worker``."""
    import numpy as np
    import torch
    from optimum.intel import OVModelForVisualCausalLM
    from PIL import Image
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor

    folder = spec["folder"]
    tokens = [int(t) for t in np.load(spec["compare_to"])["tokens"].tolist()]
    started = time.perf_counter()
    model = OVModelForVisualCausalLM.from_pretrained(folder, device="CPU",
                                                     ov_config={"INFERENCE_NUM_THREADS": str(_threads())})  # fmt: skip
    tokenizer = AutoTokenizer.from_pretrained(folder)
    image_processor = Qwen2VLImageProcessor.from_pretrained(folder)  # the slow one: no torchvision here
    load_s = round(time.perf_counter() - started, 1)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT}]}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    vision = image_processor(images=[Image.open(spec["image"]).convert("RGB")], return_tensors="pt")
    count = int(vision["image_grid_thw"][0].prod()) // image_processor.merge_size**2
    text = text.replace("<|image_pad|>", "<|image_pad|>" * count)
    prompt = tokenizer([text], return_tensors="pt")["input_ids"]
    ids = torch.cat([prompt, torch.tensor([tokens[:-1]], dtype=prompt.dtype)], dim=1)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), pixel_values=vision["pixel_values"],
                       image_grid_thw=vision["image_grid_thw"]).logits[0]  # fmt: skip
    logits = np.asarray(logits, dtype=np.float32)
    if logits.shape[0] == ids.shape[1]:
        logits = logits[prompt.shape[1] - 1 :]
    if logits.shape[0] != len(tokens):
        raise SystemExit(f"got logits for {logits.shape[0]} positions, expected {len(tokens)}")
    np.savez(spec["logits_out"], first=logits[0], top1=logits.argmax(axis=1))
    return {"method": "OVModelForVisualCausalLM forward over prompt + reference tokens (teacher-forced)",
            "prompt_tokens": int(prompt.shape[1]), "load_s": load_s, "versions": _versions()}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="Hugging Face folder -> OpenVINO IR with compressed weights (optimum-cli)")
    ex.add_argument("--checkpoint", type=Path, required=True)
    ex.add_argument("--weight-format", choices=("int8", "int4"), required=True)
    ex.add_argument("--out", type=Path, required=True)
    wk = sub.add_parser("worker", help="time VLMPipeline on one image (JSON spec)")
    wk.add_argument("spec")
    ag = sub.add_parser("agreement", help="teacher-forced logits against bench_generate's reference (JSON spec)")
    ag.add_argument("spec")
    wt = sub.add_parser("weights", help="bytes per element type in each IR of an exported folder")
    wt.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command == "export":
        result = export(args.checkpoint, args.weight_format, args.out)
    elif args.command == "worker":
        result = worker(json.loads(args.spec))
    elif args.command == "agreement":
        result = agreement(json.loads(args.spec))
    else:
        result = weight_types(args.folder)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
