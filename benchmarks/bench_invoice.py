#!/usr/bin/env python
"""Invoice extraction: seconds per invoice split into OCR (page reading), model and checks, and the
scorer's figures for an oracle (the ground truth passed through the whole pipeline as the model's
answer: reading, checks, scoring), which must be 1.0 — otherwise the scorer, the generator or the
checks are wrong, not the model.

    python benchmarks/bench_invoice.py --quick        # 3 documents, tiny qwen2_vl + oracle: a minute or two
    python benchmarks/bench_invoice.py                # 12 documents
    python benchmarks/bench_invoice.py --real         # also Qwen2-VL-2B architecture with random weights
                                                      # (bench_generate.py's checkpoint; built if missing, ~4 GB)

Prints one JSON document on stdout and writes benchmarks/results/bench_invoice.json. Ratios are per
configuration against the oracle (same documents, same reading and checks, no model) in the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, machine_info, setup_logging

log = logging.getLogger("bench_invoice")


def _oracle_model(truth: dict[str, Any]) -> Any:
    """A chat model whose structured answer is ``truth`` (and, re-asked, the true values of the fields asked)."""
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.runnables import RunnableLambda

    class Oracle(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "oracle"

        def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=json.dumps(truth)))])

        def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kw: Any) -> Any:
            def run(_: Any) -> Any:
                answer = truth if "items" in schema.model_fields else {}  # the full schema, or a re-ask
                return {"raw": AIMessage(content=json.dumps(answer)), "parsed": schema.model_validate(answer),
                        "parsing_error": None}

            return RunnableLambda(run)

    return Oracle()


class _OracleExtractor:
    """``extract(path)`` with the ground truth next to ``path`` as the model's answer."""

    def __init__(self) -> None:
        from vlkit.tools.invoice import Invoice

        self.schema_ = Invoice

    def extract(self, path: Path) -> Any:
        from vlkit.tools.invoice import InvoiceExtractor

        truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        return InvoiceExtractor(_oracle_model(truth)).extract(path)


def _split(report: dict[str, Any]) -> dict[str, float]:
    rows = report["files"]
    out = {}
    for stage in ("ocr", "model", "checks"):
        out[f"{stage}_s_per_invoice"] = round(sum(r["timings"].get(stage, 0.0) for r in rows) / max(len(rows), 1), 3)
    out["total_s_per_invoice"] = round(sum(out.values()), 3)
    return out


def _run(name: str, found: list[tuple[Path, Path]], extractor: Any) -> dict[str, Any]:
    from vlkit.tools.invoice import evaluate_folder

    started = time.perf_counter()
    report = evaluate_folder(found, extractor)
    log.info("%s: %d documents in %.1f s", name, report["n"], time.perf_counter() - started)
    return {
        "config": name, "n": report["n"], **_split(report),
        "f1": round(report["f1"], 4), "ted_accuracy": round(report["ted_accuracy"], 4),
        "checks_pass_rate": round(report["checks_pass_rate"], 4),
    }


def _real_checkpoint() -> Path | None:
    """bench_generate.py's Qwen2-VL-2B random-weight checkpoint, built (in its own process) when missing."""
    import bench_generate
    from _common import run_worker

    folder = bench_generate.default_checkpoint().resolve()
    if bench_generate.checkpoint_info(folder) is None:
        log.info("building the random Qwen2-VL-2B-Instruct checkpoint in %s", folder)
        built = run_worker(Path(bench_generate.__file__).resolve(), {"config": "build", "checkpoint": str(folder)})
        if "error" in built:
            log.error("building the checkpoint failed: %s", built["error"])
            return None
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 documents, tiny model and oracle only")
    parser.add_argument("--n", type=int, default=None, help="documents to generate (default 12, --quick 3)")
    parser.add_argument("--real", action="store_true", help="also the real-size (random-weight) Qwen2-VL-2B model")
    parser.add_argument("--max-tokens", type=int, default=256, help="new tokens per answer for the models")
    args = parser.parse_args(argv)
    setup_logging()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    from vlkit.models import ChatQwenVL
    from vlkit.testing import tiny_checkpoint
    from vlkit.tools.invoice import InvoiceExtractor, evaluation_pairs
    from vlkit.tools.invoice.evalset import generate

    n = args.n or (3 if args.quick else 12)
    folder = Path(tempfile.mkdtemp(prefix="bench_invoice_"))
    generate(folder, n=n, seed=0)
    found = evaluation_pairs(folder)
    # The OCR engine loads once per process: warm it on the first image so no configuration pays for it.
    from vlkit.tools.invoice import read_pages

    read_pages(found[0][0])

    results = [_run("oracle", found, _OracleExtractor())]
    tiny = ChatQwenVL(model=str(tiny_checkpoint("qwen2_vl")), max_tokens=args.max_tokens)
    results.append(_run("tiny qwen2_vl", found, InvoiceExtractor(tiny)))
    if args.real:
        checkpoint = _real_checkpoint()
        if checkpoint is not None:
            real = ChatQwenVL(model=str(checkpoint), max_tokens=args.max_tokens, local_files_only=True)
            results.append(_run("Qwen2-VL-2B random weights", found, InvoiceExtractor(real)))
    base = results[0]["total_s_per_invoice"] or 1e-9
    for r in results:
        r["ratio_total_vs_oracle"] = round(r["total_s_per_invoice"] / base, 2)
    doc = {
        "benchmark": "bench_invoice", "documents": n, "machine": machine_info(),
        "load_average_1min_before": round(load_before, 2) if load_before is not None else None, "results": results,
        "oracle_scores_one": results[0]["f1"] == 1.0 and results[0]["ted_accuracy"] == 1.0,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_invoice.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2))
    if not doc["oracle_scores_one"]:
        log.error("the oracle does not score 1.0: the scorer, the generator or the checks are wrong")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
