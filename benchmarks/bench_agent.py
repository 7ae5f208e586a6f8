#!/usr/bin/env python
"""Benchmark a 10-step GUI agent run with and without image pruning: per-step latency, prompt tokens,
and how much of each step's prompt repeats the previous step's (what a cross-call prefix cache saves).

The model is Qwen2-VL-2B-Instruct's published architecture with random weights (built and cached by
``bench_generate.py``); every step is forced to call the ``click`` tool, which returns the next screenshot,
so both runs do the same work and only the prompt differs. Both runs share one loaded model, in one
process, after a warm-up call.

    python benchmarks/bench_agent.py --quick     # 4 steps, 512x320 screenshots, keep 2: a few minutes on CPU
    python benchmarks/bench_agent.py             # 10 steps, 1024x640 screenshots (256 visual tokens each on CPU)
    python benchmarks/bench_agent.py --checkpoint "$(python -c 'from vlkit.testing import tiny_checkpoint as t; print(t("qwen2_vl"))')"

Prints one JSON document on stdout and writes it to benchmarks/results/bench_agent.json; progress goes to
stderr. Ratios are unpruned / pruned (and unpruned / pruned with stride 2: old images dropped two at a
time, so the prompt prefix changes every other step), measured in the same run.

``--caches`` measures the prefix and vision caches instead: the same unpruned run (every screenshot stays
in the prompt, so each step's prompt starts with the previous one) on ``vlkit-bf16`` without caches (the
baseline), ``vlkit-bf16`` with them, and the llama.cpp export (``--gguf DIR``, made by bench_generate.py)
with them (and without, ``--gguf-uncached``); per step the time to the first answer token (the prefill) and the tokens read from
the cache, and per run the total wall time:

    python benchmarks/bench_agent.py --caches --gguf benchmarks/results/checkpoints/qwen2-vl-2b-instruct-random-gguf-Q4_K_M-F16
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info, run_worker, setup_logging  # noqa: E402

log = logging.getLogger("bench_agent")


def screenshot(step: int, size: tuple[int, int]) -> dict[str, Any]:
    """A form-like screen that changes every step (a PNG image block)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, (246, 247, 251))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle([w // 10, h // 8, w * 6 // 10, h * 7 // 8], fill="white", outline=(200, 200, 210))
    for i in range(4):
        top = h // 5 + i * h // 7
        fill = (220, 235, 255) if i == step % 4 else (255, 255, 255)
        draw.rectangle([w // 8, top, w * 11 // 20, top + h // 14], fill=fill, outline=(120, 120, 140))
        draw.text((w // 8 + 6, top + 4), f"field {i + 1}: {'x' * (step + i)}", fill="black")
    draw.text((w // 10, h // 16), f"Sign up - step {step}", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"type": "image", "base64": base64.b64encode(buffer.getvalue()).decode("ascii"), "mime_type": "image/png"}


def gui_run(llm: Any, steps: int, size: tuple[int, int], **agent_options: Any) -> list[dict[str, Any]]:
    """One forced ``steps``-step run; a row per step."""
    from langchain.agents.middleware import wrap_model_call
    from langchain_core.tools import tool

    from vlkit.agents import create_vlm_agent
    from vlkit.models.backends.transformers import TransformersBackend

    shots = iter(range(1, steps + 2))

    @tool
    def click(x: int, y: int) -> list[dict[str, Any]]:
        """Click at (x, y) on the screen; returns the screen afterwards."""
        return [{"type": "text", "text": f"clicked ({x}, {y}); the screen now:"}, screenshot(next(shots), size)]

    rows: list[dict[str, Any]] = []
    prepared: list[Any] = []
    real_prepare = TransformersBackend.prepare

    def spy(self: Any, request: Any) -> Any:
        inputs = real_prepare(self, request)
        prepared.append(inputs)
        return inputs

    @wrap_model_call
    def timed_click(request: Any, handler: Any) -> Any:
        """Every step calls ``click`` (same work in both runs); time the model call."""
        started = time.perf_counter()
        response = handler(request.override(tool_choice="click"))
        rows.append({"latency_s": round(time.perf_counter() - started, 3)})
        return response

    agent = create_vlm_agent(llm, [click], max_steps=steps, middleware=[timed_click], **agent_options)
    TransformersBackend.prepare = spy  # type: ignore[method-assign]
    try:
        state = agent.invoke({"messages": [{"role": "user", "content": [
            screenshot(0, size), {"type": "text", "text": "Fill in the sign-up form and submit it."}]}]})
    finally:
        TransformersBackend.prepare = real_prepare  # type: ignore[method-assign]
    replies = [m for m in state["messages"] if m.type == "ai" and m.usage_metadata]
    previous: list[int] = []
    for i, (row, inputs, reply) in enumerate(zip(rows, prepared, replies), start=1):
        ids = inputs.input_ids[0].tolist()
        common = 0
        for a, b in zip(previous, ids):
            if a != b:
                break
            common += 1
        row.update(
            step=i,
            prompt_tokens=reply.usage_metadata["input_tokens"],
            image_tokens=inputs.image_tokens,
            images=inputs.prompt.count("<|vision_start|>"),
            repeated_prefix_tokens=common,
            repeated_prefix_share=round(common / len(ids), 3) if previous else 0.0,
        )
        previous = ids
    return rows


def cached_run(llm: Any, steps: int, size: tuple[int, int]) -> dict[str, Any]:
    """One unpruned ``steps``-step run, timing each call's prefill (request to first answer piece) through
    the backend interface, whatever the backend."""
    from langchain.agents.middleware import wrap_model_call
    from langchain_core.tools import tool

    from vlkit.agents import create_vlm_agent

    shots = iter(range(1, steps + 2))
    rows: list[dict[str, Any]] = []

    @tool
    def click(x: int, y: int) -> list[dict[str, Any]]:
        """Click at (x, y) on the screen; returns the screen afterwards."""
        return [{"type": "text", "text": f"clicked ({x}, {y}); the screen now:"}, screenshot(next(shots), size)]

    backend = llm.backend_impl
    stream = type(backend).stream

    def timed_stream(request: Any) -> Any:
        started = time.perf_counter()
        row: dict[str, Any] = {}
        for delta in stream(backend, request):
            if "prefill_s" not in row and (delta.text or delta.tool_call_chunks):
                row["prefill_s"] = round(time.perf_counter() - started, 3)
            if delta.usage is not None:
                row.update(prompt_tokens=delta.usage.input_tokens, cached_tokens=delta.usage.cached_tokens,
                           vision_cache_hits=delta.metadata.get("vision_cache_hits", 0))  # fmt: skip
            yield delta
        row["call_s"] = round(time.perf_counter() - started, 3)
        rows.append(row)

    @wrap_model_call
    def always_click(request: Any, handler: Any) -> Any:
        return handler(request.override(tool_choice="click"))

    agent = create_vlm_agent(llm, [click], max_steps=steps, middleware=[always_click], image_budget=10**9)
    backend.stream = timed_stream  # type: ignore[method-assign]
    started = time.perf_counter()
    try:
        agent.invoke({"messages": [{"role": "user", "content": [
            screenshot(0, size), {"type": "text", "text": "Fill in the sign-up form and submit it."}]}]})
    finally:
        del backend.stream
    wall = time.perf_counter() - started
    for i, row in enumerate(rows, start=1):
        row["step"] = i
    later = [r["prefill_s"] for r in rows[1:] if r.get("prefill_s")]
    return {
        "wall_s": round(wall, 2),
        "first_step_prefill_s": rows[0].get("prefill_s") if rows else None,
        "mean_later_prefill_s": round(statistics.mean(later), 3) if later else None,
        "cached_tokens": sum(r.get("cached_tokens", 0) for r in rows),
        "prompt_tokens": sum(r.get("prompt_tokens", 0) for r in rows),
        "steps": rows,
    }


def caches_main(args: Any, folder: Path, steps: int, size: tuple[int, int]) -> dict[str, Any]:
    """Each configuration in its own process (one model in memory at a time); see the module docstring."""
    configs = {
        "vlkit-bf16-nocache": {"model": str(folder), "prefix_cache_mb": 0, "vision_cache_mb": 0},
        "vlkit-bf16-cached": {"model": str(folder)},
    }
    if args.gguf:
        configs["llamacpp-cached"] = {"model": str(args.gguf)}
        if args.gguf_uncached:
            configs["llamacpp-nocache"] = {"model": str(args.gguf), "prefix_cache_mb": 0, "vision_cache_mb": 0}
    runs = {}
    for name, params in configs.items():
        log.info("%s: %d steps", name, steps)
        runs[name] = run_worker(Path(__file__), {"params": params, "steps": steps, "size": list(size),
                                                 "max_tokens": args.max_tokens})  # fmt: skip
    base = runs["vlkit-bf16-nocache"]
    summary = {}
    for name, run in runs.items():
        if "error" in run:
            summary[name] = run
            continue
        summary[name] = {
            "wall_s": run["wall_s"],
            "wall_over_vlkit_bf16_nocache": round(run["wall_s"] / base["wall_s"], 3) if "wall_s" in base else None,
            "first_step_prefill_s": run["first_step_prefill_s"],
            "mean_later_prefill_s": run["mean_later_prefill_s"],
            "cached_step_prefill_over_cold": round(run["mean_later_prefill_s"] / base["mean_later_prefill_s"], 3)
            if run.get("mean_later_prefill_s") and base.get("mean_later_prefill_s") else None,
            "cached_step_prefill_over_own_first": round(run["mean_later_prefill_s"] / run["first_step_prefill_s"], 3)
            if run.get("mean_later_prefill_s") and run.get("first_step_prefill_s") else None,
            "cached_tokens": run["cached_tokens"],
            "prompt_tokens": run["prompt_tokens"],
        }  # fmt: skip
    return {"runs": runs, "summary": summary}


def caches_worker(spec: dict[str, Any]) -> dict[str, Any]:
    from vlkit.models import ChatQwenVL

    llm = ChatQwenVL(max_tokens=spec["max_tokens"], local_files_only=True, **spec["params"])
    llm.backend_impl.load()
    cached_run(llm, 1, tuple(spec["size"]))  # warm-up (a different first screenshot size is not needed)
    clear = getattr(llm.backend_impl, "clear_caches", None)
    if clear is not None:
        clear()  # the measured run starts cold
    return cached_run(llm, spec["steps"], tuple(spec["size"]))


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    later = rows[len(rows) // 2 :] or rows
    return {
        "mean_latency_s": round(statistics.mean(r["latency_s"] for r in rows), 3),
        "mean_latency_second_half_s": round(statistics.mean(r["latency_s"] for r in later), 3),
        "last_prompt_tokens": rows[-1]["prompt_tokens"],
        "total_prompt_tokens": sum(r["prompt_tokens"] for r in rows),
        "mean_repeated_prefix_share": round(statistics.mean(r["repeated_prefix_share"] for r in rows[1:]), 3)
        if len(rows) > 1 else 0.0,
        "prefix_cacheable_tokens": sum(r["repeated_prefix_tokens"] for r in rows),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 steps and 512x320 screenshots")
    parser.add_argument("--steps", type=int, default=None, help="agent steps (default 10; 4 with --quick)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="model folder (default: bench_generate's)")
    parser.add_argument("--max-tokens", type=int, default=32, help="new tokens per step (the click call fits)")
    parser.add_argument("--keep", type=int, default=None,
                        help="images kept when pruning (default: the default visual budget; 2 with --quick)")
    parser.add_argument("--output", type=Path, default=None,
                        help="JSON to write (default: results/bench_agent.json, or bench_agent_caches.json with --caches)")
    parser.add_argument("--caches", action="store_true", help="measure the prefix and vision caches (see above)")
    parser.add_argument("--gguf", type=Path, default=None, help="with --caches: an exported folder for the llama.cpp rows")
    parser.add_argument("--gguf-uncached", action="store_true", help="with --gguf: also the llama.cpp run without caches")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    setup_logging()
    if args.worker:
        print(json.dumps(caches_worker(json.loads(args.worker))), flush=True)
        return 0
    import bench_generate

    steps = args.steps or (4 if args.quick else 10)
    size = (512, 320) if args.quick else (1024, 640)
    folder = (args.checkpoint or bench_generate.default_checkpoint()).resolve()
    if args.checkpoint is None and bench_generate.checkpoint_info(folder) is None:
        log.info("building the random Qwen2-VL-2B-Instruct checkpoint in %s", folder)
        built = run_worker(Path(bench_generate.__file__), {"config": "build", "checkpoint": str(folder)})
        if "error" in built:
            log.error("building the checkpoint failed: %s", built["error"])
            return 1

    if args.caches:
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        result = caches_main(args, folder, steps, size)
        document = {
            "benchmark": "bench_agent --caches",
            "model": str(folder),
            "gguf": str(args.gguf) if args.gguf else None,
            "workload": {"steps": steps, "screenshot": f"{size[0]}x{size[1]}", "max_tokens": args.max_tokens,
                         "pruning": "none (every screenshot stays)"},
            "machine": {**machine_info(), "load_average_at_start": round(load_before, 2),
                        "load_average_at_end": round(os.getloadavg()[0], 2)},
            "wall_s": round(time.perf_counter() - started, 1),
            **result,
        }  # fmt: skip
        output = args.output or RESULTS / "bench_agent_caches.json"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(document, indent=2))
        return 0 if all("error" not in r for r in result["runs"].values()) else 1

    from vlkit.models import ChatQwenVL

    llm = ChatQwenVL(model=str(folder), max_tokens=args.max_tokens, local_files_only=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    log.info("warm-up")
    gui_run(llm, 1, size)
    keep = args.keep or (2 if args.quick else None)
    configs: dict[str, dict[str, Any]] = {
        "unpruned": {"image_budget": 10**9},  # every image stays in the prompt
        "pruned": {"max_images": keep},
        "pruned_stride2": {"max_images": keep, "prune_stride": 2},
    }
    runs = {}
    for name, options in configs.items():
        log.info("%s run, %d steps", name, steps)
        runs[name] = gui_run(llm, steps, size, **options)
    summary = {name: summarize(rows) for name, rows in runs.items()}
    keys = ("mean_latency_s", "mean_latency_second_half_s", "last_prompt_tokens", "total_prompt_tokens",
            "prefix_cacheable_tokens")
    ratio = {
        name: {key: round(summary["unpruned"][key] / summary[name][key], 2) if summary[name][key] else None
               for key in keys}
        for name in ("pruned", "pruned_stride2")
    }
    document = {
        "benchmark": "bench_agent",
        "model": str(folder),
        "workload": {"steps": steps, "screenshot": f"{size[0]}x{size[1]}", "max_tokens": args.max_tokens,
                     "pruning": f"keep {keep} images" if keep else "default budget: 4 full-size images"},
        "machine": {**machine_info(), "load_average_at_start": round(load_before, 2),
                    "load_average_at_end": round(os.getloadavg()[0], 2)},
        "wall_s": round(time.perf_counter() - started, 1),
        "steps": runs,
        "summary": summary,
        "ratios_unpruned_over_pruned": ratio,
    }
    text = json.dumps(document, indent=2)
    output = args.output or RESULTS / "bench_agent.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
