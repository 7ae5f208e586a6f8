"""Helpers shared by the benchmarks: one process per configuration, peak RSS, machine facts.

Each configuration runs in a fresh interpreter so its peak resident memory (``ru_maxrss``) is its own;
the worker prints one JSON object on stdout and its progress on stderr.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["RESULTS", "peak_rss_gib", "run_worker", "machine_info", "setup_logging"]

RESULTS = Path(__file__).resolve().parent / "results"
"""Where benchmarks write their JSON and caches (git-ignored)."""


def setup_logging() -> None:
    """Progress goes to stderr so stdout stays one JSON document."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("httpx", "transformers", "vlkit"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far, in GiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**30 if sys.platform == "darwin" else peak / 2**20


def run_worker(script: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``script --worker SPEC`` in a fresh interpreter; return the JSON it printed, or the error it hit."""
    cmd = [sys.executable, str(script), "--worker", json.dumps(spec)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        return {**spec, "error": f"worker exited with status {proc.returncode} (its stderr is above)"}
    return json.loads(lines[-1])


def machine_info() -> dict[str, Any]:
    """What the figures depend on: cores, load, library versions, bf16 and CUDA support."""
    import torch
    import transformers

    from vlkit.models.backends.loading import cpu_supports_bf16

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu_bf16_native": cpu_supports_bf16(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            total_kib = int(meminfo.readline().split()[1])
        info["memory_gib"] = round(total_kib / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return info
