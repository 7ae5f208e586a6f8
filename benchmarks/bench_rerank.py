#!/usr/bin/env python
"""Reranking on the dev set (real Debian manuals): what a reranker could gain, and what the VLM one costs.

There is no cross-encoder to measure: no installable package ships a cross-encoder's weights and
nothing may be downloaded at run time (see ``vlkit/retrieval/rerank.py``). What is measured:

1. **Fused search** (``HybridSearcher``, vlkit defaults) on ``benchmarks/devset/questions.jsonl``:
   Recall@1/@5, MRR@10, Chinese Recall@5, and search latency p50/p95 (the reference the reranker's
   cost adds to).
2. **Ceiling of a reranker at depth N** (N = 3, 5, 10, 20): the Recall@1 a *perfect* reranker of
   the top N fused pages would reach, i.e. the fused Recall@N. A reranker's cost depends on N, not on
   the corpus size; its gain is bounded by this.
3. **Cost of** :class:`~vlkit.retrieval.search.VLMReranker` on the Qwen2-VL-2B architecture with random
   weights (``benchmarks/bench_generate.py``'s checkpoint, no download): added latency per query
   p50/p95 at top_n 3 and 5, page images (512 visual tokens each) vs page text. Random weights make
   its *order* noise, so its quality is not reported — only its cost, which is the same as the real
   model's.

    python benchmarks/bench_rerank.py --index /tmp/rerank/kb --quick   # 1 question per VLM config
    python benchmarks/bench_rerank.py --index /tmp/rerank/kb           # 2 questions per VLM config

The index is built once with ``vlkit kb add`` over the dev set's four English PDFs (``--pdfs``) when
``--index`` does not exist yet. Prints one JSON document and writes benchmarks/results/bench_rerank.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, machine_info, setup_logging

log = logging.getLogger("bench_rerank")

HERE = Path(__file__).resolve().parent
DEVSET_PDFS = ["debian-faq.en.pdf", "debian-reference.en.pdf", "developers-reference.pdf", "maint-guide.en.pdf"]
DEPTHS = (3, 5, 10, 20)


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 2), "p95": round(p95, 2), "n": len(ordered)}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def ensure_index(index: Path, pdfs: Path) -> dict[str, Any]:
    """Build the dev-set index with the CLI (as a user would) unless it is there."""
    if index.exists():
        return {"built": False}
    files = [pdfs / name for name in DEVSET_PDFS]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        sys.exit(f"dev-set PDFs missing: {missing}; run python benchmarks/devset/build.py or pass --pdfs")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vlkit.cli", "kb", "add", *map(str, files), "--index", str(index)], check=True)
    return {"built": True, "add_s": round(time.perf_counter() - started, 1)}


def fused_part(kb: Any, questions: list[Any]) -> tuple[dict[str, Any], list[list[Any]]]:
    from vlkit.retrieval import HybridSearcher
    from vlkit.retrieval.eval import score_rankings

    searcher = HybridSearcher(kb)
    searcher.search("warm up the BM25 index and the embedder", k=5)
    hits_per_q, seconds = [], []
    for q in questions:
        started = time.perf_counter()
        hits = searcher.search(q.question, k=max(DEPTHS))
        seconds.append((time.perf_counter() - started) * 1000)
        hits_per_q.append(hits)
    rankings = [[(h.file_name, h.page) for h in hits] for hits in hits_per_q]
    report = score_rankings(questions, rankings)
    overall = report.overall.as_dict()
    zh = report.groups.get("zh")
    out = {
        "questions": len(questions),
        "recall@1": overall.get("recall@1"), "recall@5": overall.get("recall@5"), "mrr@10": overall.get("mrr@10"),
        "zh_recall@5": zh.as_dict().get("recall@5") if zh else None,
        "search_ms": _percentiles(seconds),
        "groups": {name: m.as_dict() for name, m in report.groups.items()},
    }
    # a perfect reranker of the top N puts a gold page first whenever one is among them
    out["perfect_reranker_recall@1"] = {
        str(n): round(sum(bool(set(r[:n]) & q.gold) for r, q in zip(rankings, questions)) / len(questions), 3)
        for n in DEPTHS
    }
    return out, hits_per_q


def vlm_part(hits_per_q: list[list[Any]], questions: list[Any], per_config: int, checkpoint: Path) -> dict[str, Any]:
    from langchain_core.callbacks import BaseCallbackHandler

    from vlkit.models import ChatQwenVL
    from vlkit.retrieval.search import VLMReranker

    class Tokens(BaseCallbackHandler):
        """Prompt tokens of each call, from the answer's usage_metadata."""

        def __init__(self) -> None:
            self.seen: list[int] = []

        def on_llm_end(self, response: Any, **kwargs: Any) -> None:
            usage = getattr(response.generations[0][0].message, "usage_metadata", None) or {}
            self.seen.append(int(usage.get("input_tokens", 0)))

    tokens = Tokens()
    chat = ChatQwenVL(model=str(checkpoint), max_tokens=32, callbacks=[tokens])
    configs = [("images", 3), ("images", 5), ("text", 5)]
    # warm-up: weights into memory, the grammar compiled
    VLMReranker(chat, top_n=2).score(questions[0].question, hits_per_q[0][:2])
    out: dict[str, Any] = {}
    for show, top_n in configs:
        reranker = VLMReranker(chat, top_n=top_n, use_images=show == "images")
        seconds = []
        for q, hits in list(zip(questions, hits_per_q))[:per_config]:
            started = time.perf_counter()
            scores = reranker.score(q.question, hits[:top_n])
            seconds.append(time.perf_counter() - started)
            assert sorted(scores) == sorted(float(i) for i in range(1, top_n + 1)), scores
        out[f"{show}_top{top_n}"] = {"added_s": _percentiles(seconds), "prompt_tokens": tokens.seen[-len(seconds):],
                                     "load_after": _load()}
        log.info("VLM %s top_n=%d: %s", show, top_n, out[f"{show}_top{top_n}"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="dev-set index folder (built here if missing)")
    parser.add_argument("--pdfs", type=Path, default=Path.home() / ".cache/vlkit/devset/pdfs",
                        help="folder with the dev set's PDFs (benchmarks/devset/build.py writes them here)")
    parser.add_argument("--questions", type=Path, default=HERE / "devset" / "questions.jsonl")
    parser.add_argument("--quick", action="store_true", help="1 question per VLM configuration instead of 2")
    parser.add_argument("--no-vlm", action="store_true", help="skip the VLM reranker's cost")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="real-size random Qwen2-VL-2B folder (default: bench_generate.py's, built if missing)")
    args = parser.parse_args(argv)
    setup_logging()
    result: dict[str, Any] = {"machine": machine_info(), "load_before": _load()}
    result["index"] = ensure_index(args.index, args.pdfs)

    from vlkit.retrieval import DocumentIndex
    from vlkit.retrieval.eval import load_questions

    questions = [q for q in load_questions(args.questions)]
    kb = DocumentIndex(args.index)
    try:
        result["fused"], hits_per_q = fused_part(kb, questions)
        log.info("fused: %s", {k: v for k, v in result["fused"].items() if k != "groups"})
        if not args.no_vlm:
            sys.path.insert(0, str(HERE))
            import bench_generate

            checkpoint = args.checkpoint or bench_generate.default_checkpoint()
            if bench_generate.checkpoint_info(checkpoint) is None:
                bench_generate.build_checkpoint(checkpoint)
            result["vlm_reranker"] = vlm_part(hits_per_q, questions, 1 if args.quick else 2, checkpoint)
            result["vlm_reranker"]["note"] = ("random weights: cost only; the order they produce is noise. "
                                             "images at 512 visual tokens per page; text cut at 2000 chars, counted with the "
                                             "bench checkpoint's small BPE, which splits English into more tokens "
                                             "than Qwen's own tokenizer (text figures are upper bounds)")
    finally:
        kb.close()
    result["load_after"] = _load()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_rerank.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
