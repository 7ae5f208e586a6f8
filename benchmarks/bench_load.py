#!/usr/bin/env python
"""Benchmark the memory of loading a checkpoint: peak RSS of ``load_model`` against the size of its weights.

A mid-size random Qwen2-VL checkpoint (hidden 1024, 8 layers, a 32k vocabulary, a 4-block vision tower:
~206M parameters) is built once, saved as bf16 and as fp32 safetensors, and loaded on the CPU: bf16 file
→ fp32 (the CPU default without native bf16), bf16 → bf16, fp32 → bf16 — each through vlkit's path
(``vlkit.models.backends.loading.load_model``) and through plain transformers
(``AutoModelForImageTextToText.from_pretrained(folder, dtype=…)``, what vlkit did before). Each load runs in
a fresh process; after loading, every weight is read once (as the first forward pass would), so
memory-mapped weights count too.

    python benchmarks/bench_load.py            # six loads: about a minute
    python benchmarks/bench_load.py --layers 2 --hidden 512 --output /tmp/smoke.json   # smoke check

``ratio`` is (peak RSS − RSS before loading) / size of the weights in the loaded dtype: 1.0 means the
weights were materialised once, straight into their dtype; ``vlkit_vs_transformers`` divides vlkit's peak
by transformers' for each case. Prints one JSON document on stdout and writes it to
benchmarks/results/bench_load.json; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, machine_info, peak_rss_gib, run_worker, setup_logging

log = logging.getLogger("bench_load")

CASES = [("bf16", "fp32"), ("bf16", "bf16"), ("fp32", "bf16")]
"""(dtype the checkpoint is saved in, dtype it is loaded as)."""
CONFIGS = ("vlkit", "transformers")


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def build_checkpoint(folder: Path, saved: str, hidden: int, layers: int) -> Path:
    """A random Qwen2-VL checkpoint of the given size, saved in ``saved`` dtype, with the tiny one's tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    from vlkit.testing import tiny_checkpoint

    if (folder / "model.safetensors").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(tiny_checkpoint("qwen2_vl"), folder)
    (folder / "model.safetensors").unlink()
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    head_dim = 64
    config["text_config"].update(
        hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers, max_window_layers=layers,
        num_attention_heads=hidden // head_dim, num_key_value_heads=2, vocab_size=32768,
        layer_types=["full_attention"] * layers,
        rope_parameters={"mrope_section": [16, 8, 8], "rope_theta": 1e6, "rope_type": "default"},
    )  # fmt: skip
    config["vision_config"].update(depth=4, embed_dim=512, num_heads=8, hidden_size=hidden, mlp_ratio=4)
    name = {"bf16": "bfloat16", "fp32": "float32"}[saved]
    config["dtype"] = config["text_config"]["dtype"] = config["vision_config"]["dtype"] = name
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_config(AutoConfig.from_pretrained(folder), dtype=getattr(torch, name))
    model.save_pretrained(folder)
    return folder


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Load ``spec["checkpoint"]`` as ``spec["dtype"]`` in this process; its peak RSS over the weights."""
    import torch  # imported before measuring: the libraries are not the model's memory
    import transformers.models.qwen2_vl.modeling_qwen2_vl  # noqa: F401

    from transformers import AutoModelForImageTextToText

    from vlkit.models.backends.loading import load_model

    before = _rss_mib()
    started = time.perf_counter()
    if spec["config"] == "vlkit":
        net = load_model(spec["checkpoint"], device="cpu", dtype=spec["dtype"], local_files_only=True).model
    else:
        dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}[spec["dtype"]]
        net = AutoModelForImageTextToText.from_pretrained(spec["checkpoint"], dtype=dtype, attn_implementation="sdpa")
    load_s = time.perf_counter() - started
    for param in net.parameters():  # read every weight once, as a forward pass would
        float(param.detach().sum())
    weights = sum(p.numel() * p.element_size() for p in net.parameters()) / 2**20
    peak = peak_rss_gib() * 1024
    return {**spec, "weights_mib": round(weights), "rss_before_mib": round(before), "peak_over_before_mib": round(peak - before),
            "ratio": round((peak - before) / weights, 2), "load_s": round(load_s, 2)}  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=1024, help="hidden size of the language model (default 1024)")
    parser.add_argument("--layers", type=int, default=8, help="decoder layers (default 8)")
    parser.add_argument("--output", type=Path, default=RESULTS / "bench_load.json", help="where to write the JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    setup_logging()
    results = []
    for saved, dtype in CASES:
        folder = build_checkpoint(RESULTS / f"load-qwen2_vl-h{args.hidden}-l{args.layers}-{saved}", saved, args.hidden, args.layers)
        for config in CONFIGS:
            log.info("%s: loading the %s checkpoint as %s", config, saved, dtype)
            spec = {"config": config, "saved": saved, "dtype": dtype, "checkpoint": str(folder)}
            results.append(run_worker(Path(__file__), spec))
    ratios = {}
    for saved, dtype in CASES:
        peaks = {r["config"]: r.get("peak_over_before_mib") for r in results if (r["saved"], r["dtype"]) == (saved, dtype)}
        if all(peaks.get(config) for config in CONFIGS):
            ratios[f"{saved}->{dtype}"] = round(peaks["vlkit"] / peaks["transformers"], 2)
    report = {"machine": machine_info(), "hidden": args.hidden, "layers": args.layers, "results": results,
              "vlkit_vs_transformers": ratios}  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
