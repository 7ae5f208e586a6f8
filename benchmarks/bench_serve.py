"""`vlkit serve` under load: concurrent streaming requests with images against one server process, vs the
same load sent to the model in-process (threads calling ``ChatQwenVL.stream``), in one run.

Reports throughput (completed requests/s and tokens/s), p50/p95 time to first token, the server's peak
RSS, and 429s. Memory must not grow with the number of queued requests: the load runs twice — a quarter
of the requests, then all of them — against a server whose queue holds half, and the server's peak RSS
of both phases is printed with the difference per extra queued request.

One stream, three paths (``one_stream``): the same request (an image and a question, ``--stream-tokens``
new tokens) generated one at a time in-process (``ChatQwenVL.stream``, what ``vlkit chat`` runs), through
the server's HTTP API (streamed), and through its web UI as its page drives it (Gradio's protocol: the
events the page fires when a question is sent, the answer's frames as server-sent events): decode tokens/s
and time to first token as each client sees them, and the CPU seconds the server spent per answer (in all,
and on its event loop's thread: what serving costs beside the model, nearly independent of the machine's
load), the first request after start-up apart from the medians of the rest. ``--compare-env
OMP_WAIT_POLICY=PASSIVE`` runs the server a second time with that environment, in the same run (torch's
OpenMP threads spin while they wait for work; on a loaded 2-core machine that took the core the server's
event loop needed).

    python benchmarks/bench_serve.py --quick            # 20 requests, tiny checkpoint
    python benchmarks/bench_serve.py                    # 100 requests
    python benchmarks/bench_serve.py --model DIR        # any checkpoint (e.g. bench_generate's 2B random one)
    python benchmarks/bench_serve.py --quick --one-stream-only   # only the three paths, a minute or two
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
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


# ------------------------------------------------------------------------------------------ one stream, three paths

QUESTION = "Describe the chart."
VISUAL_TOKENS = 256
"""The UI's "Visual budget" for the bench image: its 448x448 pixels are 256 tokens, as the API sends it."""


def _start(model: str, *extra: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [str(Path(sys.executable).parent / "vlkit"), "serve", "--model", model, "--port", str(port),
           "--served-model-name", "bench", *extra]  # fmt: skip
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.25)
    server.kill()
    raise RuntimeError(f"vlkit serve on {base} did not start")


def _metric(base: str, name: str) -> float:
    import httpx

    for line in httpx.get(f"{base}/metrics", timeout=10).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


def _rates(started: float, first: float | None, last: float | None, tokens: int) -> dict[str, Any]:
    """Time to first token and decode tokens/s (tokens after the first over the time after it), as seen
    by the client."""
    decode = (tokens - 1) / (last - first) if first is not None and last is not None and last > first else None
    return {"ttft_s": round(first - started, 4) if first is not None else None, "tokens": tokens,
            "decode_tokens_per_s": round(decode, 1) if decode else None}  # fmt: skip


def _api_once(base: str, image: str, max_tokens: int) -> dict[str, Any]:
    import httpx

    body = {"model": "bench", "stream": True, "max_tokens": max_tokens, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": image}},
                                                      {"type": "text", "text": QUESTION}]}]}  # fmt: skip
    started, first, last, tokens = time.monotonic(), None, None, 0
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=3600) as response:
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            event = json.loads(line[6:])
            if event["choices"] and event["choices"][0]["delta"].get("content"):
                last = time.monotonic()
                first = first or last
            if event.get("usage"):
                tokens = event["usage"]["completion_tokens"]
    return _rates(started, first, last, tokens)


class _Page:
    """The web UI as its page drives it: Gradio's protocol (a quick event by ``run/predict``, a queued one
    by ``queue/join`` with its updates as server-sent events, the state kept per session on the server)."""

    def __init__(self, base: str) -> None:
        import httpx

        self.base, self.http = base, httpx.Client(timeout=3600)
        config = self.http.get(f"{base}/config").json()
        self.fns = {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}
        self.session = ""

    def new_session(self) -> None:
        self.session = os.urandom(6).hex()

    def upload(self, path: str) -> dict[str, Any]:
        with open(path, "rb") as f:
            stored = self.http.post(f"{self.base}/gradio_api/upload", files={"files": (Path(path).name, f)}).json()[0]
        return {"path": stored, "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}

    def _body(self, name: str, data: list[Any]) -> dict[str, Any]:
        return {"data": data, "fn_index": self.fns[name], "session_hash": self.session, "event_data": None,
                "trigger_id": None}  # fmt: skip

    def predict(self, name: str, data: list[Any]) -> Any:
        return self.http.post(f"{self.base}/gradio_api/run/predict", json=self._body(name, data)).json()

    def queued(self, name: str, data: list[Any]) -> tuple[list[float], Any]:
        """Run a queued event: when each of its updates arrived, and its last output."""
        event = self.http.post(f"{self.base}/gradio_api/queue/join", json=self._body(name, data)).json()["event_id"]
        times, output = [], None
        with self.http.stream("GET", f"{self.base}/gradio_api/queue/data", params={"session_hash": self.session}) as r:
            for line in r.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") != event:
                    continue
                if message["msg"] == "process_generating":
                    times.append(time.monotonic())
                elif message["msg"] == "process_completed":
                    output = message.get("output")
                    break
        return times, output


def _ui_once(page: _Page, image_path: str, max_tokens: int, visual_tokens: int) -> dict[str, Any]:
    """One answer through the web UI, the events its page fires when the question is sent: ``prepare``
    (the question leaves the box), ``respond`` (the answer streams into the transcript), ``finish`` (the
    stats line). Tokens are counted by the server's metrics; the first update of ``respond`` shows the
    question, the next ones the answer."""
    page.new_session()  # a new conversation
    message = {"text": QUESTION, "files": [page.upload(image_path)]}
    before = _metric(page.base, "vlkit_completion_tokens_total")
    started = time.monotonic()
    page.predict("prepare", [message])
    times, _ = page.queued("respond", [None, None, [], "", max_tokens, 0.0, visual_tokens, "Describe"])
    _, finished = page.queued("finish", [None])
    tokens = int(_metric(page.base, "vlkit_completion_tokens_total") - before)
    answer = times[1:]  # frames of the answer
    stats = next((d for d in (finished or {}).get("data", []) if isinstance(d, str) and "tokens/s" in d), "")
    return {**_rates(started, answer[0] if answer else None, answer[-1] if answer else None, tokens),
            "frames": len(answer), "ui_stats": stats}  # fmt: skip


def _costed(pid: int, request: Any) -> dict[str, Any]:
    """``request()``'s result with the CPU seconds the server spent on it: in all, and on its event loop's
    thread (the main thread: HTTP, SSE and the UI's Gradio events; the model runs on other threads).
    Unlike tokens/s, CPU seconds hardly move with the machine's load."""
    import psutil

    process = psutil.Process(pid)

    def spent() -> tuple[float, float]:
        main = next(t for t in process.threads() if t.id == pid)
        total = process.cpu_times()
        return main.user_time + main.system_time, total.user + total.system

    loop, whole = spent()
    result = request()
    loop_after, whole_after = spent()
    return {**result, "event_loop_cpu_s": round(loop_after - loop, 3), "server_cpu_s": round(whole_after - whole, 3)}


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": len(runs)}
    for key in ("event_loop_cpu_s", "server_cpu_s"):
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            out[key] = round(statistics.median(values), 3)
    for key in ("ttft_s", "decode_tokens_per_s"):
        values = [r[key] for r in runs if r.get(key) is not None]
        out[key] = round(statistics.median(values), 4) if values else None
        out[key + "_each"] = [r.get(key) for r in runs]
    return out


def one_stream_server(model: str, repeats: int, max_tokens: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The API and the UI of one server, alternating one request each; the first (through the UI, the
    path the issue measured) right after start-up."""
    from PIL import Image

    server, base = _start(model, "--max-tokens", str(max_tokens), env=env)
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    try:
        image = _image_url()
        image_path = folder / "chart.png"
        Image.open(io.BytesIO(base64.b64decode(image.split(",", 1)[1]))).save(image_path)
        page = _Page(base)
        first = _ui_once(page, str(image_path), max_tokens, VISUAL_TOKENS)
        api, ui = [], []
        for _ in range(repeats):
            api.append(_costed(server.pid, lambda: _api_once(base, image, max_tokens)))
            ui.append(_costed(server.pid, lambda: _ui_once(page, str(image_path), max_tokens, VISUAL_TOKENS)))
        return {"env": env or {}, "first_request_ui": first, "api": _median(api), "ui": _median(ui),
                "ui_stats_last": ui[-1].get("ui_stats")}  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()


def one_stream(model: str, repeats: int, max_tokens: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    inproc = run_worker(HERE, {"mode": "stream", "model": model, "requests": repeats, "max_tokens": max_tokens})
    runs = {"server": one_stream_server(model, repeats, max_tokens)}
    if env:
        runs["server_with_env"] = one_stream_server(model, repeats, max_tokens, env=env)
    rate = inproc.get("warm", {}).get("decode_tokens_per_s")
    ratios = {f"{name}.{path}": round(run[path]["decode_tokens_per_s"] / rate, 3)
              for name, run in runs.items() for path in ("api", "ui") if rate and run[path]["decode_tokens_per_s"]}  # fmt: skip
    return {"max_tokens": max_tokens, "repeats": repeats, "in_process": inproc, **runs,
            "decode_ratio_vs_in_process": ratios}  # fmt: skip


def stream_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One stream at a time in-process (what ``vlkit chat`` runs): the first after loading, then the rest."""
    from langchain_core.messages import HumanMessage
    from vlkit.models import ChatQwenVL

    llm = ChatQwenVL(model=spec["model"], max_tokens=spec["max_tokens"])
    llm.backend_impl.load()
    message = HumanMessage(content=[{"type": "image_url", "image_url": {"url": _image_url()}}, QUESTION])

    def once() -> dict[str, Any]:
        started, first, last, tokens = time.monotonic(), None, None, 0
        for chunk in llm.stream([message]):
            if chunk.content:
                last = time.monotonic()
                first = first or last
            if chunk.usage_metadata:
                tokens = chunk.usage_metadata["output_tokens"]
        return _rates(started, first, last, tokens)

    first = once()
    return {"first": first, "warm": _median([once() for _ in range(spec["requests"])])}


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
    parser.add_argument("--quick", action="store_true", help="20 requests; 3 repeats of one stream")
    parser.add_argument("--stream-tokens", type=int, default=256, help="new tokens of each one-stream request")
    parser.add_argument("--repeats", type=int, default=7, help="one-stream requests per path after the first")
    parser.add_argument("--one-stream-only", action="store_true", help="only the in-process / API / UI comparison")
    parser.add_argument("--compare-env", action="append", default=[], metavar="KEY=VALUE",
                        help="run the one-stream server again with this environment (e.g. OMP_WAIT_POLICY=PASSIVE)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        spec = json.loads(args.worker)
        print(json.dumps(stream_worker(spec) if spec.get("mode") == "stream" else worker(spec)))
        return 0
    setup_logging()
    if args.model is None:
        from vlkit.testing import tiny_checkpoint

        args.model = str(tiny_checkpoint("qwen2_vl"))
    count = 20 if args.quick else args.requests
    load_before = os.getloadavg()
    env = dict(item.split("=", 1) for item in args.compare_env)
    streams = one_stream(args.model, 3 if args.quick else args.repeats, args.stream_tokens, env)
    if args.one_stream_only:
        print(json.dumps({"machine": machine_info(), "load_average_before": [round(x, 2) for x in load_before],
                          "load_average_after": [round(x, 2) for x in os.getloadavg()], "model": args.model,
                          "one_stream": streams}, indent=2))  # fmt: skip
        return 0
    served = run_server(args.model, count, args.max_tokens)
    inproc = run_worker(HERE, {"model": args.model, "requests": count, "max_tokens": args.max_tokens})
    full = served["phases"]["full"]
    ratio = lambda a, b: round(a / b, 3) if a and b else None  # noqa: E731
    report = {
        "machine": machine_info(), "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()], "model": args.model, "requests": count,
        "max_tokens": args.max_tokens, "server": served, "in_process": inproc, "one_stream": streams,
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
