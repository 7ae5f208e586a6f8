#!/usr/bin/env python
"""Benchmark visual_score on the graded set of real documentation pages: ordering agreement and seconds.

For each page of :mod:`vlkit.tools.html.gradedset` (trimmed Debian documentation: Python, git, the
Debian Reference, SQLite) every variant — restyled, content removed, blocks moved, in steps — is scored
against the page's own screenshot, and the scores are checked against the expected ordering (content
first: every removal below every restyle and every move; each kind's steps falling). Printed per half:
the pages the weights were tuned on and the pages held out to check them.

* ``now``: visual_score as it is — the screenshot OCR'd once (cached), each render's text from its
  DOM (:func:`~vlkit.tools.html.page_text.render_with_text`), the content-first total;
* ``before``: the way it scored until issue 25 — the render scored as a picture (OCR on both sides)
  and the total the plain mean of the six terms (``--now-only`` skips it; it costs an OCR per variant).

Seconds per score count render + score of one variant with the screenshot's OCR already cached (what
each round of the refinement loop pays). OCR dominates them: run on an otherwise idle machine; the load
average is printed next to the figures.

    python benchmarks/bench_html_score.py                  # before and now, all ten pages
    python benchmarks/bench_html_score.py --now-only       # the current score only (no OCR of renders)
    python benchmarks/bench_html_score.py --quick          # three pages

Prints one JSON document on stdout and writes benchmarks/results/bench_html_score.json; progress on stderr.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, setup_logging  # noqa: E402

log = logging.getLogger("bench_html_score")
SIZE = (1280, 800)
TUNED = ("debref_apt", "git_rebase", "py_controlflow", "py_datetime", "py_json")
"""The half of the pages the total's weights were chosen on; the other half checks them."""
QUICK = ("git_rebase", "py_datastructures", "sqlite_datatypes")


def _run(method: str, pages: dict[str, dict[str, str]]) -> dict[str, Any]:
    from vlkit.tools.html.page_text import render_with_text
    from vlkit.tools.html.score import TERMS, visual_score
    from vlkit.tools.render import render_html

    scores: dict[str, dict[str, float]] = {}
    seconds: list[float] = []
    for name, variants in pages.items():
        reference = render_with_text(variants["self"], *SIZE).image
        visual_score(reference, reference)  # the screenshot's OCR, once (cached), as in the loop
        scores[name] = {}
        for variant, html in variants.items():
            start = time.perf_counter()
            if method == "now":
                total = visual_score(reference, render_with_text(html, *SIZE)).total
            else:
                s = visual_score(reference, render_html(html, *SIZE))
                total = statistics.mean(getattr(s, t) for t in TERMS)
            seconds.append(time.perf_counter() - start)
            scores[name][variant] = round(float(total), 4)
        log.info("%s %s: %s", method, name, scores[name])
    return {"scores": scores, "seconds": seconds}


def _agreement(scores: dict[str, dict[str, float]], names: tuple[str, ...]) -> dict[str, Any]:
    from vlkit.tools.html.gradedset import ordering_agreement

    a = ordering_agreement({k: v for k, v in scores.items() if k in names})
    return {"agreed": a.agreed, "pairs": a.total, "share": round(a.share, 4), "wrong": a.wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="three pages")
    parser.add_argument("--now-only", action="store_true", help="skip the before run (an OCR per variant)")
    args = parser.parse_args()
    setup_logging()

    from vlkit.tools.html.gradedset import graded_variants, real_pages

    load_before = os.getloadavg()
    names = QUICK if args.quick else tuple(real_pages())
    pages = {name: graded_variants(html, SIZE) for name, html in real_pages().items() if name in names}
    methods = {"now": _run("now", pages)}
    if not args.now_only:
        methods["before"] = _run("before", pages)

    held_out = tuple(n for n in names if n not in TUNED)
    result: dict[str, Any] = {
        "benchmark": "bench_html_score",
        "size": SIZE,
        "pages": list(names),
        "tuned_on": [n for n in names if n in TUNED],
        "held_out": list(held_out),
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
    }
    for method, run in methods.items():
        result[method] = {
            "ordering_tuned": _agreement(run["scores"], TUNED),
            "ordering_held_out": _agreement(run["scores"], held_out),
            "self_scores": {n: run["scores"][n]["self"] for n in names},
            "seconds_per_score_median": round(statistics.median(run["seconds"]), 3),
            "seconds_per_score_mean": round(statistics.mean(run["seconds"]), 3),
            "scores": run["scores"],
        }
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    for method in methods:
        r = result[method]
        t, h = r["ordering_tuned"], r["ordering_held_out"]
        print(
            f"{method}: ordering {t['agreed']}/{t['pairs']} on the tuned pages, {h['agreed']}/{h['pairs']} held out; "
            f"{r['seconds_per_score_median']:.2f} s per render+score (median); "
            f"lowest self-score {min(r['self_scores'].values()):.4f}",
            file=sys.stderr,
        )
    print(f"load {result['load_average_before'][0]} -> {result['load_average_after'][0]} on {os.cpu_count()} cores", file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_html_score.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
