#!/usr/bin/env python
"""Benchmark video input: decode a 60 s 1280x720 clip at 2 fps under the default CPU budget, then encode it
with Qwen2-VL-2B's vision tower (published architecture, random weights), and the peak RSS of doing both.

The clip is generated (``vlkit.testing.clips.make_clip``: moving shapes, H.264, 30 fps) and cached. Only the
vision tower is built — 32 blocks of 1280, the 2x2 merger, ~675M parameters — not the language model, since
encoding the video is all it measures. The run happens in a fresh process, so its peak RSS is its own.

    python benchmarks/bench_video.py                      # 60 s of 1280x720 at fps 2, the real tower
    python benchmarks/bench_video.py --quick              # 10 s of the same clip size: a few minutes on CPU
    python benchmarks/bench_video.py --quick --seconds 2 --size 320x180 --depth 2   # smoke check: seconds

Prints one JSON document on stdout and writes it to benchmarks/results/bench_video.json; progress goes to
stderr. ``--depth`` below 32 cuts the tower: its timings are then no longer Qwen2-VL-2B's (the JSON says so).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, machine_info, peak_rss_gib, run_worker, setup_logging

log = logging.getLogger("bench_video")

CONTEXT_TOKENS = 32768  # Qwen2-VL-2B-Instruct's max_position_embeddings: the video budget's total is 0.9 of it
SOURCE_FPS = 30.0

# Qwen/Qwen2-VL-2B-Instruct config.json's vision_config as published (bench_generate.py holds the whole file).
VISION_CONFIG: dict[str, Any] = {
    "depth": 32,
    "embed_dim": 1280,
    "mlp_ratio": 4,
    "num_heads": 16,
    "in_chans": 3,
    "hidden_size": 1536,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "initializer_range": 0.02,
}


def clip_path(seconds: float, size: tuple[int, int]) -> Path:
    """The cached clip of ``seconds`` at ``size`` (built on first use)."""
    return RESULTS / "clips" / f"bench_video_{seconds:g}s_{size[0]}x{size[1]}_{SOURCE_FPS:g}fps.mp4"


def build_clip(seconds: float, size: tuple[int, int]) -> Path:
    from vlkit.testing.clips import make_clip

    path = clip_path(seconds, size)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    log.info("writing a %g s %dx%d clip to %s", seconds, size[0], size[1], path)
    make_clip(tmp, seconds=seconds, fps=SOURCE_FPS, size=size)
    tmp.replace(path)
    return path


# ---------------------------------------------------------------------------------------------- worker


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _rss_gib() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    return round(psutil.Process().memory_info().rss / 2**30, 3)


def vision_tower(depth: int, dtype: Any, device: str) -> Any:
    """Qwen2-VL-2B's vision tower alone, random weights (transformers' own initialisation)."""
    import torch
    from transformers.models.qwen2_vl.configuration_qwen2_vl import Qwen2VLVisionConfig
    from transformers.models.qwen2_vl.modeling_qwen2_vl import Qwen2VisionTransformerPretrainedModel

    config = Qwen2VLVisionConfig(**{**VISION_CONFIG, "depth": depth})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Qwen2VisionTransformerPretrainedModel._from_config(config, dtype=dtype)
    return model.to(device).eval()


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    from vlkit.models.backends.loading import pick_dtype
    from vlkit.vision import FAMILIES
    from vlkit.vision.video import decode_video, video_budget, video_from_block, video_patches

    device = spec["device"]
    dtype = pick_dtype(device, spec["dtype"])
    family = FAMILIES["qwen2_vl"]
    budget = video_budget(family, "cpu", context_tokens=CONTEXT_TOKENS)  # what the local backend uses on CPU
    out: dict[str, Any] = {"device": device, "dtype": str(dtype).removeprefix("torch."), "depth": spec["depth"],
                           "budget": {"min_pixels": budget.min_pixels, "max_pixels": budget.max_pixels,
                                      "total_tokens": budget.total_tokens}}  # fmt: skip
    out["rss_start_gib"] = _rss_gib()

    started = time.perf_counter()
    video = video_from_block({"type": "video", "path": spec["clip"], "fps": spec["fps"]})
    decoded = decode_video(video, family, budget)
    out["decode_s"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    pixels, grid = video_patches(decoded)
    out["patches_s"] = round(time.perf_counter() - started, 3)
    meta = decoded.metadata()
    out["video"] = {key: meta[key] for key in ("frames", "size", "sampled_fps", "source_fps", "duration", "sparser")}
    out["video"].update(tokens=decoded.tokens, grid_thw=list(decoded.grid_thw), patches=int(pixels.shape[0]))
    out["rss_after_decode_gib"] = _rss_gib()
    out["peak_rss_after_decode_gib"] = round(peak_rss_gib(), 3)

    started = time.perf_counter()
    model = vision_tower(spec["depth"], dtype, device)
    out["build_tower_s"] = round(time.perf_counter() - started, 3)
    out["tower_parameters"] = sum(p.numel() for p in model.parameters())
    pixel_values = torch.from_numpy(pixels).to(device, dtype)
    grid_thw = torch.from_numpy(grid).to(device)
    with torch.inference_mode():
        _sync(device)
        started = time.perf_counter()
        embeddings = model(pixel_values, grid_thw=grid_thw)
        _sync(device)
        out["encode_s"] = round(time.perf_counter() - started, 3)
    hidden = getattr(embeddings, "pooler_output", None)
    hidden = hidden if hidden is not None else getattr(embeddings, "last_hidden_state", embeddings)
    out["embeddings"] = list(hidden.shape)
    out["decode_plus_encode_s"] = round(out["decode_s"] + out["patches_s"] + out["encode_s"], 3)
    out["peak_rss_gib"] = round(peak_rss_gib(), 3)
    if device.startswith("cuda"):
        out["peak_cuda_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
    return out


# ---------------------------------------------------------------------------------------------- main


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 1280x720, got {text!r}") from None
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise argparse.ArgumentTypeError(f"size must be even sides of at least 16 px, got {text!r}")
    return width, height


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Time decoding (PyAV, sampling at --fps under the default CPU video budget of Qwen2-VL-2B) and "
            "encoding (Qwen2-VL-2B's vision tower, random weights) of a generated clip, and the peak RSS. "
            "Prints JSON on stdout."
        ),
        epilog="Needs: pip install 'vlkit[local,video]'.",
    )
    parser.add_argument("--quick", action="store_true", help="a 10 s clip instead of 60 s (same size and tower)")
    parser.add_argument("--seconds", type=float, default=None, help="clip length (default 60; 10 with --quick)")
    parser.add_argument("--size", type=_size, default=(1280, 720), help="clip WIDTHxHEIGHT (default 1280x720)")
    parser.add_argument("--fps", type=float, default=2.0, help="frames sampled per second (default 2)")
    parser.add_argument("--depth", type=int, default=VISION_CONFIG["depth"],
                        help="vision blocks to build (default 32, Qwen2-VL-2B's; fewer: a smoke check only)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the tower runs (default cpu)")
    parser.add_argument("--dtype", default="auto", choices=["auto", "bf16", "fp32"],
                        help="tower dtype (default auto: bf16 on CUDA and bf16-capable CPUs, else fp32)")
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "bench_video.json", help="JSON file to write (default: %(default)s)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.depth < 1:
        parser.error("--depth must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))), flush=True)
        return 0
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    clip = build_clip(seconds, args.size)
    spec = {"clip": str(clip), "fps": args.fps, "device": args.device, "dtype": args.dtype, "depth": args.depth}
    log.info("decoding %s at %g fps and encoding it (%d vision blocks, %s)", clip.name, args.fps, args.depth, args.device)
    result = run_worker(Path(__file__).resolve(), spec)
    result.pop("clip", None)
    document = {
        "benchmark": "bench_video",
        "model": {
            "architecture": "Qwen/Qwen2-VL-2B-Instruct vision tower (config.json vision_config), random weights",
            "real_size": args.depth == VISION_CONFIG["depth"],
        },
        "workload": {
            "clip": f"{seconds:g} s of {args.size[0]}x{args.size[1]} at {SOURCE_FPS:g} fps, H.264 (make_clip)",
            "clip_bytes": clip.stat().st_size,
            "fps": args.fps,
            "budget": f"video_budget(qwen2_vl, 'cpu', context_tokens={CONTEXT_TOKENS})",
        },
        "machine": machine_info(),
        "result": result,
    }
    text = json.dumps(document, indent=2)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    print(text)
    log.info("wrote %s", args.output)
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
