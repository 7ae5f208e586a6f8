"""`vlkit kb search` from the shell against the same search as a library call, measured in one run.

Same index, same query, same machine, interleaved: the shell figure is the wall time of
``vlkit kb search QUERY --index DIR`` in a subprocess (what a user waits for: interpreter start,
imports, opening the index, loading the embedder, the search, printing), median of ``--repeats`` runs
after one untimed warm-up (OS page cache warm). The baseline in the same run is the same command on a copy
of the index without its vector snapshot (``search/``, :class:`vlkit.retrieval.store.VectorSnapshot`), so that search
starts Chroma (~1.4 s of imports) as every search did before the snapshot. The library figures are ``HybridSearcher.search`` in
this process on an index already open and warm (the ~20 ms the issue quotes), and the cold in-process
path (open the index, first search: what the CLI must do besides its imports). A fresh interpreter
also reports where the shell time goes, stage by stage, and one shell run with an empty
``$VLKIT_CACHE`` (the first run after an install: the USE embedder is loaded the slow way and its
load cache written). Prints JSON, with the machine load before and after (``os.getloadavg``): on a
loaded machine every figure grows, the ratios less so.

    python benchmarks/bench_cli.py --quick     # 5 runs each, the default (USE) index only
    python benchmarks/bench_cli.py             # 15 runs each, also a minilm (sentence-transformers) index
    python benchmarks/bench_cli.py --quick --manuals ~/.cache/vlkit/devset/pdfs   # real manuals (511 pages)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUERY = "How do I configure the retry timeout?"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _vlkit() -> list[str]:
    exe = shutil.which("vlkit")
    return [exe] if exe else [sys.executable, "-m", "vlkit.cli"]


def _shell(args: list[str], **env: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run([*_vlkit(), *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "160", **env})
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"vlkit {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return elapsed


def _python_start() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def _library_cold(index: Path) -> float:
    """Open the index and search once, in a fresh interpreter after its imports (what the CLI does besides them)."""
    code = ("import sys, time, json\nfrom vlkit.retrieval import DocumentIndex, HybridSearcher\n"
            "import vlkit.retrieval.index, vlkit.retrieval.search\n"
            "t = time.perf_counter(); kb = DocumentIndex(sys.argv[1]); HybridSearcher(kb).search(sys.argv[2], k=5)\n"
            "print(json.dumps(time.perf_counter() - t))")
    out = subprocess.run([sys.executable, "-c", code, str(index), QUERY], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def breakdown(index: Path) -> dict[str, float]:
    """Where a `kb search` process spends its time, stage by stage (run in a fresh interpreter)."""
    marks: dict[str, float] = {}
    t = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        marks[name] = round(now - t, 4)
        t = now

    import vlkit.cli  # noqa: F401  (typer, rich and every command module)
    mark("import_cli")
    from vlkit.retrieval import DocumentIndex, HybridSearcher

    import vlkit.retrieval.index  # noqa: F401  (numpy, the manifest; Chroma is imported on open)
    import vlkit.retrieval.search  # noqa: F401
    mark("import_retrieval")
    kb = DocumentIndex(index)
    mark("open_index")
    kb.embedder.embed(["warm up"])
    mark("load_embedder")
    searcher = HybridSearcher(kb)
    searcher.search(QUERY, k=5)
    mark("first_search")
    searcher.search(QUERY, k=5)
    mark("second_search")
    # chromadb too: an index with a fresh vector snapshot is searched without it (retrieval/vectors.py)
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "transformers", "sentence_transformers", "chromadb"})
    return {**marks, "heavy_modules_loaded": heavy}  # type: ignore[dict-item]


def measure(index: Path, repeats: int) -> dict[str, Any]:
    from vlkit.retrieval import DocumentIndex, HybridSearcher

    kb = DocumentIndex(index)
    searcher = HybridSearcher(kb)
    searcher.search(QUERY, k=5)  # warm: embedder loaded, BM25 built
    args = ["kb", "search", QUERY, "--index", str(index)]
    # the baseline: the same index without its vector snapshot, so the search starts Chroma (as before it)
    chroma_index = index.with_name(index.name + "-chroma")
    shutil.copytree(index, chroma_index, dirs_exist_ok=True)
    shutil.rmtree(chroma_index / "search", ignore_errors=True)
    chroma_args = ["kb", "search", QUERY, "--index", str(chroma_index)]
    _shell(args)  # untimed warm-ups
    _shell(chroma_args)
    shell, chroma, lib, help_, py = [], [], [], [], []
    for _ in range(repeats):  # interleaved, so a change in machine load hits every figure alike
        shell.append(_shell(args))
        chroma.append(_shell(chroma_args))
        help_.append(_shell(["kb", "search", "--help"]))
        py.append(_python_start())
        started = time.perf_counter()
        searcher.search(QUERY, k=5)
        lib.append(time.perf_counter() - started)
    kb.close()
    cold = [_library_cold(index) for _ in range(max(1, repeats // 3))]
    with tempfile.TemporaryDirectory(prefix="bench_cli_cache_") as empty:  # first run after an install
        first_run = _shell(args, VLKIT_CACHE=empty)
        cached_again = _shell(args, VLKIT_CACHE=empty)
    worker = subprocess.run([sys.executable, __file__, "--breakdown", str(index)], capture_output=True, text=True,
                            check=True)
    med = {name: statistics.median(v) for name, v in
           (("shell_search_s", shell), ("shell_search_via_chroma_s", chroma), ("library_warm_search_s", lib), ("library_cold_search_s", cold),
            ("shell_help_s", help_), ("python_start_s", py))}
    return {
        **{k: round(v, 4) for k, v in med.items()},
        "ratio_shell_via_chroma_vs_snapshot": round(med["shell_search_via_chroma_s"] / med["shell_search_s"], 2),
        "ratio_shell_vs_library_warm": round(med["shell_search_s"] / med["library_warm_search_s"], 1),
        "ratio_shell_vs_library_cold": round(med["shell_search_s"] / med["library_cold_search_s"], 2),
        "shell_search_runs_s": [round(x, 3) for x in shell],
        "shell_search_empty_cache_s": round(first_run, 4),
        "shell_search_after_it_s": round(cached_again, 4),
        "ratio_shell_vs_python_start": round(med["shell_search_s"] / med["python_start_s"], 1),
        "breakdown_s": json.loads(worker.stdout.strip().splitlines()[-1]),
    }


def build_index(work: Path, embedder: str | None, manuals: Path | None = None) -> Path:
    from vlkit.retrieval import DocumentIndex, make_embedder
    from vlkit.retrieval.evalset import generate

    folder = manuals or work / "evalset" / "text"
    if not folder.is_dir():
        folder = generate(work / "evalset", scanned=False).text_dir
    index = DocumentIndex(work / f"kb-{embedder or 'use'}", embedder=make_embedder(embedder) if embedder else None)
    summary = index.add([folder])
    index.close()
    if summary.failed:
        raise RuntimeError(f"ingest failed: {[(f.path, f.reason) for f in summary.failed]}")
    return work / f"kb-{embedder or 'use'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs each, the default (USE) index only")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per figure (default 15, --quick 5)")
    parser.add_argument("--manuals", type=Path, default=None,
                        help="index this folder of PDFs instead of the generated eval set, e.g. the dev set's real "
                             "manuals (python benchmarks/devset/build.py; ~/.cache/vlkit/devset/pdfs)")
    parser.add_argument("--breakdown", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.breakdown:
        print(json.dumps(breakdown(args.breakdown)))
        return
    repeats = args.repeats or (5 if args.quick else 15)
    result: dict[str, Any] = {"query": QUERY, "repeats": repeats, "corpus": str(args.manuals or "generated eval set"), "cpu_count": os.cpu_count(), "load_before": _load()}
    work = Path(tempfile.mkdtemp(prefix="bench_cli_"))
    try:
        for embedder in [None] if args.quick else [None, "minilm"]:
            index = build_index(work, embedder, args.manuals)
            result[f"index_{embedder or 'use'}"] = measure(index, repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["load_after"] = _load()
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
