"""Prometheus text-format metrics: requests, queue depth, tokens, time to first token, tokens/s.

Written by hand (a few counters and two histograms) rather than through ``prometheus_client``, which
would be one more dependency for forty lines of text.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Callable

__all__ = ["Metrics"]

_TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_TPS_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for i, edge in enumerate(self.buckets):
            if value <= edge:
                self.counts[i] += 1

    def lines(self, name: str) -> list[str]:
        out = [f'{name}_bucket{{le="{edge}"}} {count}' for edge, count in zip(self.buckets, self.counts)]
        out += [f'{name}_bucket{{le="+Inf"}} {self.total}', f"{name}_sum {self.sum:.6f}", f"{name}_count {self.total}"]
        return out


class Metrics:
    """Counters updated from the event loop and generation threads (hence the lock)."""

    def __init__(self, gauges: dict[str, Callable[[], float]] | None = None) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.image_tokens = 0
        self.video_tokens = 0
        self.cancelled = 0
        self.rejected: dict[str, int] = defaultdict(int)
        self.ttft = _Histogram(_TTFT_BUCKETS)
        self.tps = _Histogram(_TPS_BUCKETS)
        self.gauges = gauges or {}

    def request(self, route: str, status: int) -> None:
        with self._lock:
            self.requests[(route, status)] += 1

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    def generation(self, *, prompt: int, completion: int, images: int, ttft: float | None, seconds: float,
                   cancelled: bool, videos: int = 0) -> None:  # fmt: skip
        with self._lock:
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.image_tokens += images
            self.video_tokens += videos
            self.cancelled += int(cancelled)
            if ttft is not None:
                self.ttft.observe(ttft)
            decode = seconds - (ttft or 0.0)
            if completion > 1 and decode > 0:
                self.tps.observe((completion - 1) / decode)

    def render(self) -> str:
        with self._lock:
            lines = ["# HELP vlkit_requests_total HTTP requests by route and status.",
                     "# TYPE vlkit_requests_total counter"]  # fmt: skip
            lines += [f'vlkit_requests_total{{route="{r}",status="{s}"}} {n}' for (r, s), n in sorted(self.requests.items())]
            lines += ["# TYPE vlkit_rejected_total counter"]
            lines += [f'vlkit_rejected_total{{reason="{r}"}} {n}' for r, n in sorted(self.rejected.items())]
            for name, value in self.gauges.items():
                lines += [f"# TYPE vlkit_{name} gauge", f"vlkit_{name} {value()}"]
            for name, value, help_ in (
                ("prompt_tokens_total", self.prompt_tokens, "Prompt tokens processed (images and videos included)."),
                ("completion_tokens_total", self.completion_tokens, "Tokens generated."),
                ("image_tokens_total", self.image_tokens, "Visual tokens of images in prompts."),
                ("video_tokens_total", self.video_tokens, "Visual tokens of videos in prompts."),
                ("generations_cancelled_total", self.cancelled, "Generations stopped because the client left."),
            ):
                lines += [f"# HELP vlkit_{name} {help_}", f"# TYPE vlkit_{name} counter", f"vlkit_{name} {value}"]
            lines += ["# HELP vlkit_time_to_first_token_seconds From admission to the first token.",
                      "# TYPE vlkit_time_to_first_token_seconds histogram"]  # fmt: skip
            lines += self.ttft.lines("vlkit_time_to_first_token_seconds")
            lines += ["# HELP vlkit_tokens_per_second Decode speed per generation.",
                      "# TYPE vlkit_tokens_per_second histogram"]  # fmt: skip
            lines += self.tps.lines("vlkit_tokens_per_second")
        return "\n".join(lines) + "\n"
