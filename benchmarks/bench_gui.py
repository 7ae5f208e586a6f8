#!/usr/bin/env python
"""Benchmark GUI-action planning: where the time of one ``GUIActionPlanner.plan`` goes.

For each model — the tiny random checkpoint of every family, and the real Qwen2-VL-2B-Instruct architecture
with random weights (``bench_generate.py``'s cached checkpoint) — on a 1920×1080 screenshot:

* **resize** — screenshot → the model's view (smart_resize size, bicubic), done by the planner;
* **prefill** — image processing, vision encoder and prompt prefill: a 1-token generation of the same prompt;
* **decode** — per new token, free decoding of the same prompt (no grammar);
* **grammar** — per new token, what constrained decoding adds (constrained − free), and the one-off
  grammar compile on the first call of a schema (cold − warm).

Each model runs in its own process. Ratios (constrained / free per token) are measured in the same run;
the load average is printed with the figures.

    python benchmarks/bench_gui.py --quick     # 64 new tokens, tiny models + the 2B architecture
    python benchmarks/bench_gui.py --tiny-only
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, machine_info, peak_rss_gib, run_worker, setup_logging
from bench_generate import checkpoint_info, default_checkpoint

log = logging.getLogger("bench_gui")

GOAL = "Click the 'Sign in' button"
SCREEN = (1920, 1080)


def _screenshot() -> Any:
    """A deterministic login-page-like 1920x1080 screenshot (PIL only, no browser needed)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", SCREEN, (243, 245, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, SCREEN[0], 60], fill=(29, 35, 48))
    for i, label in enumerate(["Pricing", "Docs", "Support"]):
        draw.text((1640 + 90 * i, 22), label, fill="white")
    draw.rounded_rectangle([740, 180, 1180, 640], 10, fill="white")
    for i, label in enumerate(["Email address", "Password"]):
        draw.text((760, 210 + 90 * i), label, fill=(29, 35, 48))
        draw.rectangle([760, 235 + 90 * i, 1160, 275 + 90 * i], outline=(184, 192, 204), width=2)
    draw.rounded_rectangle([760, 430, 1160, 475], 6, fill=(47, 111, 236))
    draw.text((935, 445), "Sign in", fill="white")
    return image


def _timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def _tokens(message: Any) -> int:
    raw = message["raw"] if isinstance(message, dict) else message
    usage = getattr(raw, "usage_metadata", None) or {}
    return int(usage.get("output_tokens") or 0)


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    from vlkit.models import ChatQwenVL
    from vlkit.tools.gui import GUIActionPlanner

    n = spec["new_tokens"]
    started = time.perf_counter()
    llm = ChatQwenVL(model=spec["checkpoint"], max_tokens=n, local_files_only=True, temperature=0.0)
    llm.backend_impl.load()  # load now, not inside the first timing
    out: dict[str, Any] = {"model": spec["name"], "load_s": round(time.perf_counter() - started, 2)}
    family = llm.family_spec().model_type
    planner = GUIActionPlanner(model=llm)
    image = _screenshot()

    resize_s, request = _timed(lambda: planner.prepare(image, GOAL))
    out["model_view"] = "x".join(map(str, request.geometry.model_size))
    out["resize_s"] = round(request.timings["resize_s"], 4)
    out["prepare_s"] = round(resize_s, 4)

    # the same prompt without a grammar: tools bound but not forced (Qwen2-VL: the plain prompt)
    if request.structured:
        free = llm
    else:
        from vlkit.tools.gui import _functions as functions

        free = llm.bind_tools([functions.function_definition(planner.device, request.geometry)])
    free.invoke(request.messages, max_tokens=2)  # warm-up: kernels, image processor
    prefill_s, _ = min((_timed(lambda: free.invoke(request.messages, max_tokens=1)) for _ in range(spec["repeats"])), key=lambda t: t[0])
    free_s, free_msg = _timed(lambda: free.invoke(request.messages))
    free_n = max(1, _tokens(free_msg))

    cold_s, cold = _timed(lambda: request.runnable.invoke(request.messages))  # compiles the schema's grammar
    warm = []
    for _ in range(spec["repeats"]):
        fresh = planner.prepare(image, GOAL)
        warm.append(_timed(lambda: fresh.runnable.invoke(fresh.messages)))
    warm_s, warm_msg = min(warm, key=lambda t: t[0])
    con_n = max(1, _tokens(warm_msg))
    action = planner.decode(request, warm_msg)
    plan_s, _ = _timed(lambda: planner.plan(image, GOAL))

    free_per_token = max(0.0, free_s - prefill_s) / max(1, free_n - 1)
    con_per_token = max(0.0, warm_s - prefill_s) / max(1, con_n - 1)
    out.update(
        family=family,
        prefill_s=round(prefill_s, 3),
        decode_free_s_per_token=round(free_per_token, 4),
        free_tokens=free_n,
        decode_constrained_s_per_token=round(con_per_token, 4),
        constrained_tokens=con_n,
        grammar_s_per_token=round(con_per_token - free_per_token, 4),
        grammar_compile_s=round(max(0.0, cold_s - warm_s), 3),
        plan_total_s=round(plan_s, 3),
        constrained_over_free_per_token=round(con_per_token / free_per_token, 2) if free_per_token else None,
        action=action.describe(),
        peak_rss_gib=round(peak_rss_gib(), 2),
    )
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time GUI-action planning (resize, prefill, decode, grammar) on tiny and real-size random models.",
        epilog="Needs: pip install 'vlkit[local,structured]'. The 2B checkpoint is bench_generate.py's (built there).",
    )
    parser.add_argument("--quick", action="store_true", help="64 new tokens, one repeat")
    parser.add_argument("--tiny-only", action="store_true", help="skip the real-size Qwen2-VL-2B architecture")
    parser.add_argument("--new-tokens", type=int, default=None, help="answer budget (default 96; 64 with --quick; the tiny tokenizer needs ~60 for one call)")
    parser.add_argument("--repeats", type=int, default=None, help="best of N for prefill and warm runs (default 3; 1 quick)")
    parser.add_argument("--output", type=Path, default=RESULTS / "bench_gui.json", help="JSON file to write")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))), flush=True)
        return 0
    from vlkit.testing import tiny_checkpoint

    new_tokens = args.new_tokens or (64 if args.quick else 96)
    repeats = args.repeats or (1 if args.quick else 3)
    models = [(f"tiny-{family}", str(tiny_checkpoint(family))) for family in ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")]
    if not args.tiny_only:
        folder = default_checkpoint()
        if checkpoint_info(folder) is None:
            log.warning("no real-size checkpoint at %s; build it with: python benchmarks/bench_generate.py --quick", folder)
        else:
            models.append(("qwen2-vl-2b-random", str(folder)))
    load_before = os.getloadavg()[0]
    results = []
    for name, checkpoint in models:
        log.info("planning with %s", name)
        spec = {"name": name, "checkpoint": checkpoint, "new_tokens": new_tokens, "repeats": repeats}
        results.append(run_worker(Path(__file__).resolve(), spec))
    document = {
        "benchmark": "bench_gui",
        "workload": {"screen": f"{SCREEN[0]}x{SCREEN[1]}", "goal": GOAL, "new_tokens": new_tokens, "repeats": repeats},
        "machine": {**machine_info(), "load_average_1min_before": round(load_before, 2)},
        "results": results,
    }
    text = json.dumps(document, indent=2)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
