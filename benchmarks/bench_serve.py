"""`vlkit serve` under load: concurrent streaming requests with images against one server process, vs the
same load sent to the model in-process (threads calling ``ChatQwenVL.stream``), in one run.

Reports throughput (completed requests/s and tokens/s), p50/p95 time to first token, the server's peak
RSS, and 429s. Memory must not grow with the number of queued requests: the load runs twice — a quarter
of the requests, then all of them — against a server whose queue holds half, and the server's peak RSS
of both phases is printed with the difference per extra queued request.

    python benchmarks/bench_serve.py --quick            # 20 requests, tiny checkpoint
    python benchmarks/bench_serve.py                    # 100 requests
    python benchmarks/bench_serve.py --model DIR        # any checkpoint (e.g. bench_generate's 2B random one)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _common import machine_info, peak_rss_gib, run_worker, setup_logging

HERE = Path(__file__).resolve()


def _image_url(size: int = 448) -> str:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    for i in range(8):
        draw.rectangle([20 + i * 50, 300 - i * 30, 60 + i * 50, 420], fill=(30 * i, 80, 200 - 20 * i))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)


def _summary(ttfts: list[float], tokens: int, done: int, seconds: float) -> dict[str, Any]:
    return {"completed": done, "seconds": round(seconds, 3), "requests_per_s": round(done / seconds, 3),
            "tokens_per_s": round(tokens / seconds, 2), "ttft_p50_s": _percentile(ttfts, 0.5),
            "ttft_p95_s": _percentile(ttfts, 0.95)}  # fmt: skip


# ------------------------------------------------------------------------------------------ server


async def _load(base: str, model: str, count: int, max_tokens: int, image: str) -> dict[str, Any]:
    import httpx

    body = {"model": model, "stream": True, "max_tokens": max_tokens, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": image}},
                                                      {"type": "text", "text": "Describe the chart."}]}]}  # fmt: skip
    ttfts: list[float] = []
    tokens = rejected = 0

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal tokens, rejected
        started = time.monotonic()
        async with client.stream("POST", f"{base}/v1/chat/completions", json=body) as response:
            if response.status_code == 429:
                rejected += 1
                await response.aread()
                return
            first = True
            async for line in response.aiter_lines():
                if not line.startswith("data: {"):
                    continue
                event = json.loads(line[6:])
                if first and event["choices"] and event["choices"][0]["delta"].get("content"):
                    ttfts.append(time.monotonic() - started)
                    first = False
                if event.get("usage"):
                    tokens += event["usage"]["completion_tokens"]

    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
    async with httpx.AsyncClient(timeout=3600, limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(one(client) for _ in range(count)))
        seconds = time.monotonic() - started
    return {**_summary(ttfts, tokens, len(ttfts), seconds), "rejected_429": rejected}


class _RssSampler:
    def __init__(self, pid: int) -> None:
        import psutil

        self.process, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> "_RssSampler":
        self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def run_server(model: str, count: int, max_tokens: int) -> dict[str, Any]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    queue = count // 2
    cmd = [str(Path(sys.executable).parent / "vlkit"), "serve", "--model", model, "--port", str(port), "--no-ui",
           "--queue", str(queue), "--max-concurrency", "1", "--served-model-name", "bench"]  # fmt: skip
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.25)
        image = _image_url()
        # warm-up at full size: the allocator reaches its working set here, so the phases below measure
        # what queued requests add, not first-use growth (RSS seldom shrinks once grown)
        asyncio.run(_load(base, "bench", count, max_tokens, image))
        phases = {}
        for name, n in (("quarter", max(1, count // 4)), ("full", count)):
            with _RssSampler(server.pid) as rss:
                start = rss.peak
                result = asyncio.run(_load(base, "bench", n, max_tokens, image))
            phases[name] = {**result, "requests": n, "queued_at_most": min(queue, max(0, n - 1)),
                            "peak_rss_gib": round(rss.peak / 2**30, 3),
                            "rss_growth_in_phase_mib": round((rss.peak - start) / 2**20, 1)}  # fmt: skip
        extra = phases["full"]["queued_at_most"] - phases["quarter"]["queued_at_most"]
        growth = (phases["full"]["peak_rss_gib"] - phases["quarter"]["peak_rss_gib"]) * 1024
        return {"queue": queue, "phases": phases, "rss_growth_quarter_to_full_mib": round(growth, 1),
                "rss_growth_mib_per_extra_queued_request": round(growth / extra, 3) if extra else None,
                "request_body_kib": round(len(image) / 1024, 1)}  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)


# ------------------------------------------------------------------------------------------ in-process


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    from langchain_core.messages import HumanMessage

    from vlkit.models import ChatQwenVL

    llm = ChatQwenVL(model=spec["model"], max_tokens=spec["max_tokens"])
    image = _image_url()
    message = HumanMessage(content=[{"type": "image_url", "image_url": {"url": image}}, "Describe the chart."])
    list(llm.stream([message]))  # warm-up (loads the model)
    ttfts: list[float] = []
    tokens = 0
    lock = threading.Lock()

    def one() -> None:
        nonlocal tokens
        started, first, usage = time.monotonic(), True, 0
        for chunk in llm.stream([message]):
            if first and chunk.content:
                first = False
                with lock:
                    ttfts.append(time.monotonic() - started)
            if chunk.usage_metadata:
                usage = chunk.usage_metadata["output_tokens"]
        with lock:
            tokens += usage

    threads = [threading.Thread(target=one) for _ in range(spec["requests"])]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = _summary(ttfts, tokens, len(ttfts), time.monotonic() - started)
    return {**result, "requests": spec["requests"], "peak_rss_gib": round(peak_rss_gib(), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint folder [default: the tiny qwen2_vl checkpoint]")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="20 requests")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    setup_logging()
    if args.model is None:
        from vlkit.testing import tiny_checkpoint

        args.model = str(tiny_checkpoint("qwen2_vl"))
    count = 20 if args.quick else args.requests
    load_before = os.getloadavg()
    served = run_server(args.model, count, args.max_tokens)
    inproc = run_worker(HERE, {"model": args.model, "requests": count, "max_tokens": args.max_tokens})
    full = served["phases"]["full"]
    ratio = lambda a, b: round(a / b, 3) if a and b else None  # noqa: E731
    report = {
        "machine": machine_info(), "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()], "model": args.model, "requests": count,
        "max_tokens": args.max_tokens, "server": served, "in_process": inproc,
        "ratios_server_vs_in_process": {
            "tokens_per_s": ratio(full["tokens_per_s"], inproc.get("tokens_per_s")),
            "ttft_p50": ratio(full["ttft_p50_s"], inproc.get("ttft_p50_s")),
            "ttft_p95": ratio(full["ttft_p95_s"], inproc.get("ttft_p95_s")),
            "peak_rss": ratio(full["peak_rss_gib"], inproc.get("peak_rss_gib")),
        },
    }  # fmt: skip
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
