"""Record what the official Qwen video processors give for vlkit's frames: the fixture of test_video_official.py.

Two steps, two environments (transformers' video processors and qwen-vl-utils need torchvision, which vlkit's
environment does not have):

1. in vlkit's venv: ``python tests/vision/data/record_video_fixture.py frames`` writes ``counter_clip.mp4``
   (when missing), decodes it for each family with vlkit and saves the frames vlkit chose
   (``video_frames.npz``, committed) and the same frames unresized (``/tmp/vlkit_video_raw.npz``);
2. in a venv with torch, torchvision, the same transformers, qwen-vl-utils, numpy and pillow:
   ``python tests/vision/data/record_video_fixture.py official`` runs ``Qwen2VLVideoProcessor`` /
   ``Qwen3VLVideoProcessor`` on those frames, Qwen3-VL's prompt text on their timestamps, and qwen-vl-utils'
   frame arithmetic on a table of cases, and writes ``video_official.json`` (committed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CLIP = HERE / "counter_clip.mp4"
FRAMES = HERE / "video_frames.npz"
RAW = Path("/tmp/vlkit_video_raw.npz")
OFFICIAL = HERE / "video_official.json"

# the budgets the fixture frames were decoded under: (min_pixels, max_pixels) in tokens, total tokens
BUDGETS = {"qwen2_vl": (4, 12, 10_000), "qwen2_5_vl": (4, 12, 10_000), "qwen3_vl": (4, 12, 10_000)}

# qwen-vl-utils cases: (total_frames, video_fps, fps, max_frames, start, end, height, width, patch, min_tok, max_tok, context)
CASES = [
    (300, 30.0, 2.0, None, None, None, 360, 640, 14, 128, 768, 128000),
    (300, 30.0, 2.0, None, None, None, 360, 640, 16, 128, 768, 128000),
    (90, 29.97, 2.0, None, None, None, 480, 854, 14, 128, 768, 128000),
    (25, 25.0, 2.0, None, None, None, 240, 320, 14, 128, 768, 128000),
    (7, 10.0, 2.0, None, None, None, 100, 150, 14, 4, 16, 128000),
    (3, 10.0, 2.0, None, None, None, 100, 150, 14, 4, 16, 128000),
    (1800, 30.0, 2.0, None, None, None, 720, 1280, 14, 128, 768, 128000),
    (1800, 30.0, 2.0, 64, None, None, 720, 1280, 16, 128, 768, 128000),
    (1800, 30.0, 0.5, None, None, None, 720, 1280, 14, 128, 768, 128000),
    (1800, 30.0, 4.0, None, 10.0, 20.0, 720, 1280, 14, 128, 768, 128000),
    (1800, 30.0, 2.0, None, 12.3, None, 720, 1280, 16, 128, 768, 128000),
    (1800, 30.0, 2.0, None, None, 7.77, 720, 1280, 16, 128, 768, 128000),
    (36000, 30.0, 2.0, None, None, None, 720, 1280, 14, 128, 768, 128000),
    (36000, 30.0, 2.0, None, None, None, 1080, 1920, 16, 4, 256, 32768),
    (12000, 24.0, 1.0, 100, 3.0, 400.0, 1080, 1920, 14, 16, 512, 16384),
    (600, 60.0, 2.0, None, None, None, 1920, 1080, 14, 64, 640, 4096),
    (54000, 30.0, 2.0, None, None, None, 720, 1280, 14, 128, 768, 8192),
]


def record_frames() -> None:
    from vlkit.testing.clips import make_clip
    from vlkit.vision import FAMILIES
    from vlkit.vision.video import VideoBudget, decode_video, video_from_block
    from vlkit.vision.video.decode import decode_frames

    if not CLIP.exists():
        make_clip(CLIP, seconds=3, fps=12, size=(150, 100), codec="h264")
    frames, raw, meta = {}, {}, {}
    for name, (low, high, total) in BUDGETS.items():
        family = FAMILIES[name]
        area = family.factor**2
        decoded = decode_video(
            video_from_block({"type": "video", "path": str(CLIP)}), family, VideoBudget(low * area, high * area, total)
        )
        frames[name] = decoded.frames
        info = decoded.info
        raw[name], _ = decode_frames(CLIP, decoded.plan.timestamps, (info.width, info.height), source_fps=info.fps)
        meta[name] = {
            "indices": list(decoded.plan.indices),
            "timestamps": list(decoded.timestamps),
            "source_fps": info.fps,
            "total_frames": info.frames,
            "min_pixels": low * area,
            "max_pixels": high * area,
        }
    np.savez_compressed(FRAMES, **frames)
    np.savez_compressed(RAW, **raw)
    RAW.with_suffix(".json").write_text(json.dumps(meta))


def _summary(values: np.ndarray) -> dict:
    """A small, exact-enough record of a (rows, dim) float32 array: its shape, each row's sum, and every
    97th value."""
    flat = values.reshape(-1).astype(np.float64)
    return {
        "shape": list(values.shape),
        "row_sums": values.astype(np.float64).sum(axis=1).tolist(),
        "sample_step": 97,
        "sample": flat[::97].tolist(),
        "sum_squares": float((flat**2).sum()),
    }


def record_official() -> None:
    import sys as _sys
    import types

    # torchvision 0.28.0 (the torch 2.13 pair) on PyPI is a CUDA build: its C ops (nms, roi_align …) cannot
    # load beside the CPU torch, and importing torchvision registers fakes for them. The video processors
    # use only torchvision.transforms (pure torch), so skip that registration.
    _sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torch
    import torchvision
    import transformers
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor
    from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor
    from transformers.video_utils import VideoMetadata

    frames = np.load(FRAMES)
    raw = np.load(RAW)
    meta = json.loads(RAW.with_suffix(".json").read_text())
    out: dict = {
        "versions": {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "transformers": transformers.__version__,
            "numpy": np.__version__,
            "qwen_vl_utils": _qwen_vl_utils_version(),
        },
        "families": {},
    }
    for name, info in meta.items():
        video = frames[name]
        count, height, width = video.shape[:3]
        processor = Qwen3VLVideoProcessor() if name == "qwen3_vl" else Qwen2VLVideoProcessor()
        per_video = count if name == "qwen3_vl" else 1  # Qwen3-VL's budget counts all frames together
        kwargs = dict(do_sample_frames=False, cap_pixels_per_frame=False, return_tensors="np")
        same = processor(
            videos=[video], size={"shortest_edge": height * width * per_video, "longest_edge": height * width * per_video},
            **kwargs,
        )
        # the raw frames with the budget vlkit used: does the official resize choose the same size?
        from_raw = processor(
            videos=[raw[name]],
            size={"shortest_edge": info["min_pixels"] * per_video, "longest_edge": info["max_pixels"] * per_video},
            **kwargs,
        )
        entry = {
            "video_grid_thw": np.asarray(same["video_grid_thw"]).tolist(),
            "pixel_values_videos": _summary(np.asarray(same["pixel_values_videos"])),
            "raw_video_grid_thw": np.asarray(from_raw["video_grid_thw"]).tolist(),
        }
        if name == "qwen3_vl":
            entry["placeholder"] = _qwen3_placeholder(Qwen3VLProcessor, processor, VideoMetadata, same, info)
        out["families"][name] = entry
    out["qwen_vl_utils_cases"] = [_qwen_case(*case) for case in CASES]
    OFFICIAL.write_text(json.dumps(out, separators=(",", ":")) + "\n")


def _qwen3_placeholder(processor_class, video_processor, metadata_class, processed, info) -> str:
    """Qwen3VLProcessor.replace_video_token on the frames' metadata: the prompt text with ``<t seconds>``."""

    class Stub:
        vision_start_token = "<|vision_start|>"
        vision_end_token = "<|vision_end|>"
        video_token = "<|video_pad|>"
        _calculate_timestamps = processor_class._calculate_timestamps

    stub = Stub()
    stub.video_processor = video_processor
    metadata = metadata_class(total_num_frames=info["total_frames"], fps=info["source_fps"], frames_indices=info["indices"])
    inputs = {"video_grid_thw": np.asarray(processed["video_grid_thw"]), "video_metadata": [metadata]}
    return processor_class.replace_video_token(stub, inputs, 0)


def _qwen_case(total, video_fps, fps, max_frames, start, end, height, width, patch, min_tok, max_tok, context):
    """qwen-vl-utils' own arithmetic (its decord/torchcodec path) for one video, without a video."""
    import math

    import torch
    from qwen_vl_utils import vision_process as qv

    element: dict = {"fps": fps}
    if max_frames is not None:
        element["max_frames"] = max_frames
    if start is not None:
        element["video_start"] = start
    if end is not None:
        element["video_end"] = end
    first, last, span = qv.calculate_video_frame_range(element, total, video_fps)
    nframes = qv.smart_nframes(element, total_frames=span, video_fps=video_fps)
    indices = torch.linspace(first, last, nframes).round().long().tolist()
    factor = patch * 2
    min_pixels = min_tok * factor * factor
    total_pixels = context * factor * factor * 0.9
    max_pixels = max(min(max_tok * factor * factor, total_pixels / nframes * qv.FRAME_FACTOR), int(min_pixels * 1.05))
    resized_h, resized_w = qv.smart_resize(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    return {
        "case": [total, video_fps, fps, max_frames, start, end, height, width, patch, min_tok, max_tok, context],
        "range": [first, last, span],
        "nframes": nframes,
        "indices": indices,
        "sample_fps": nframes / max(span, 1e-6) * video_fps,
        "size": [resized_h, resized_w],
        "tokens": nframes // 2 * (resized_h // factor) * (resized_w // factor),
        "total_tokens": math.floor(context * 0.9),
    }


def _qwen_vl_utils_version() -> str:
    from importlib.metadata import version

    return version("qwen-vl-utils")


if __name__ == "__main__":
    {"frames": record_frames, "official": record_official}[sys.argv[1]]()
