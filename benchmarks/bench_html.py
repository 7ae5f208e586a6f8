#!/usr/bin/env python
"""Benchmark the screenshot → HTML tool's non-model parts: rendering and visual_score.

* render time per page (the six built-in pages at 1280×800) with the browser **reused** (vlkit's
  process-wide worker) vs. **launched per call** (a fresh Chromium for every render, what a naive
  ``with sync_playwright(): launch()`` per page costs) — the ratio is printed;
* ``visual_score`` time per (screenshot, render) pair: cold (both pictures OCR'd) and as in the
  refinement loop (the screenshot's OCR cached, only the new render OCR'd).

    python benchmarks/bench_html.py --quick      # 1 repeat, 3 pages
    python benchmarks/bench_html.py              # 3 repeats (median), all 6 pages

Prints one JSON document on stdout and writes benchmarks/results/bench_html.json; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, setup_logging  # noqa: E402

log = logging.getLogger("bench_html")
SIZE = (1280, 800)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="one repeat over three pages")
    args = parser.parse_args()
    setup_logging()

    from vlkit.tools.html import score as score_mod
    from vlkit.tools.html import visual_score
    from vlkit.tools.html.evalset import evalset_pages
    from vlkit.tools.render import ChromiumWorker, chromium_launch_options, default_worker, render_html

    pages = evalset_pages()
    if args.quick:
        pages = {k: pages[k] for k in ("landing", "news_zh", "dashboard")}
    repeats = 1 if args.quick else 3
    load_before = os.getloadavg()

    worker = default_worker()
    launch_first = _timed(lambda: render_html("<p>warm-up</p>", 64, 64, worker=worker))
    reused: dict[str, float] = {}
    fresh: dict[str, float] = {}
    for name, html in pages.items():
        reused[name] = statistics.median(_timed(lambda: render_html(html, *SIZE, worker=worker)) for _ in range(repeats))

        def launched() -> None:
            one = ChromiumWorker(name="bench-fresh")
            try:
                render_html(html, *SIZE, worker=one)
            finally:
                one.close()

        fresh[name] = statistics.median(_timed(launched) for _ in range(repeats))
        log.info("%s: reused %.3f s, launched per call %.3f s", name, reused[name], fresh[name])

    # visual_score: the reference vs a damaged render (a colour change and a moved block)
    shots = {name: render_html(html, *SIZE) for name, html in pages.items()}
    edited = {
        name: render_html(html.replace("#", "#1", 1).replace("padding: ", "padding: 40px ", 1), *SIZE)
        for name, html in pages.items()
    }
    cold: dict[str, float] = {}
    warm: dict[str, float] = {}
    for name in pages:
        cold_runs, warm_runs = [], []
        for _ in range(repeats):
            score_mod._OCR_CACHE.clear()
            cold_runs.append(_timed(lambda: visual_score(shots[name], edited[name])))
            score_mod._OCR_CACHE.clear()
            score_mod.ocr_blocks(shots[name])  # the loop OCRs the screenshot once
            warm_runs.append(_timed(lambda: visual_score(shots[name], edited[name])))
        cold[name], warm[name] = statistics.median(cold_runs), statistics.median(warm_runs)
        log.info("%s: visual_score cold %.2f s, screenshot cached %.2f s", name, cold[name], warm[name])

    mean = lambda d: round(statistics.mean(d.values()), 4)  # noqa: E731
    result = {
        "benchmark": "bench_html",
        "size": SIZE,
        "pages": list(pages),
        "repeats": repeats,
        "chromium": chromium_launch_options().get("executable_path", "playwright's own"),
        "first_launch_s": round(launch_first, 3),
        "render_reused_s": {k: round(v, 4) for k, v in reused.items()},
        "render_launched_per_call_s": {k: round(v, 4) for k, v in fresh.items()},
        "render_reused_mean_s": mean(reused),
        "render_launched_per_call_mean_s": mean(fresh),
        "ratio_launched_over_reused": round(mean(fresh) / mean(reused), 2),
        "visual_score_cold_s": {k: round(v, 3) for k, v in cold.items()},
        "visual_score_screenshot_cached_s": {k: round(v, 3) for k, v in warm.items()},
        "visual_score_cold_mean_s": mean(cold),
        "visual_score_screenshot_cached_mean_s": mean(warm),
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        f"render: reused {result['render_reused_mean_s']:.3f} s/page, launched per call "
        f"{result['render_launched_per_call_mean_s']:.3f} s/page -> {result['ratio_launched_over_reused']}x; "
        f"visual_score {result['visual_score_cold_mean_s']:.2f} s/pair cold, "
        f"{result['visual_score_screenshot_cached_mean_s']:.2f} s with the screenshot cached "
        f"(load {result['load_average_before'][0]} on {os.cpu_count()} cores)",
        file=sys.stderr,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_html.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
