"""Retrieval benchmark: vlkit's knowledge base vs a plain LangChain pipeline, measured in one run.

Baseline ("plain"): PyMuPDFLoader page text -> RecursiveCharacterTextSplitter(1000, 200) ->
all-MiniLM-L6-v2 -> langchain-chroma ``Chroma`` (embedded), dense ``similarity_search`` of chunks,
deduplicated to pages. Its embeddings are what ``langchain_huggingface.HuggingFaceEmbeddings`` does
(sentence-transformers ``encode``, float32, batch 32). "plain-use" is the same pipeline with the USE
embedder, the like-for-like baseline of "vlkit-use". "bm25-pages" ranks whole pages by BM25 alone (the
issue's second reference point; quality only). vlkit: ``DocumentIndex`` (auto reader: text layer, OCR for scans) +
``HybridSearcher`` (dense + BM25, score fusion, pages), once with the same all-MiniLM-L6-v2 ("vlkit-minilm",
the like-for-like comparison) and once with the multilingual USE embedder ("vlkit-use").

Measures, first on the dev set's real manuals (``--manuals DIR``: the four English Debian manuals,
511 pages, that ``benchmarks/devset/build.py`` puts in ``~/.cache/vlkit/devset/pdfs``): ingest pages/s
of every pipeline, interleaved, and where each spent its time (vlkit: ``IngestSummary.stages`` —
text extraction, chunking, embedding, page images (image files only: PDF pages' are rendered when a search
first shows them), commit; plain: text, split, embedding, Chroma) and the VM's CPU steal meanwhile, and
each pipeline's Recall@1/@5/MRR@10 on the dev set's questions about the manuals it ingested (plus BM25
over whole pages), per language and question type. On CPUs with native bfloat16 (where vlkit's defaults
run the embedders' GEMMs in it) also "vlkit-minilm-float32" and "vlkit-use-float32": what a CPU without
it gets. ``ratio_vs_plain`` compares each with the plain pipeline of the same embedding model.
Then, on the bundled eval set (``vlkit.retrieval.evalset``; 42 generated manual pages, 52
questions): ingest pages/s of the text-layer PDFs (median of ``--repeats`` runs, after a warm-up
ingest by every pipeline so imports are nobody's cost), and again on 90 pages as full as a real
manual's (``_dense.py``; the eval pages are short, which inflates fixed per-page costs); Recall@1/Recall@5/MRR@10 for all, English,
Chinese and cross-lingual questions; the same on the scanned (image-only) variant; and query
latency p50/p95 over synthetic chunks (random unit vectors, random manual words; the query
embedding is real; vlkit with its defaults (USE, "vlkit-use") and with the baseline's MiniLM
("vlkit-minilm"), each index warmed by one untimed query, then all timed interleaved over three
passes of the questions), the first search's BM25 build and the BM25 update after one more
document. Ratios are against the baseline measured in the same run. Prints JSON.

    python benchmarks/bench_retrieval.py --quick      # ~minutes on 2 cores: 2 manuals, 1k/10k chunks, no scan
    python benchmarks/bench_retrieval.py              # all 4 manuals, 10k/100k chunks, scanned variant

Needs ``langchain-text-splitters`` and ``langchain-chroma``. ``langchain-community`` is not
needed: instead of its PyMuPDFLoader the baseline does what that loader does, one
``page.get_text()`` Document per page.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import setup_logging  # noqa: E402
from _dense import dense_manuals  # noqa: E402

log = logging.getLogger("bench_retrieval")


def _steal_s() -> float | None:
    """CPU time the hypervisor gave to other guests so far (Linux ``/proc/stat``; ``None`` elsewhere): on a
    VM the runs' speed swings with it, so the ingest reports how much of it fell in its window."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q))


# ---------------------------------------------------------------------------------------- pipelines
class _TimedEmbeddings:
    """Wraps LangChain embeddings to time ``embed_documents`` (the plain pipeline's embedding stage)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.seconds = inner, 0.0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        t = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - t

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


class Plain:
    """The plain LangChain pipeline."""

    def __init__(self, folder: Path, embeddings: Any) -> None:
        from langchain_chroma import Chroma

        self.embeddings = _TimedEmbeddings(embeddings)
        self.store = Chroma(collection_name="plain", embedding_function=self.embeddings,
                            persist_directory=str(folder), collection_metadata={"hnsw:space": "cosine"})
        self.stages: dict[str, float] = {}

    def add(self, pdfs: list[Path]) -> int:
        import pymupdf
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        t0 = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        docs, pages = [], 0
        for pdf in pdfs:  # what PyMuPDFLoader does: one Document per page with page metadata
            with pymupdf.open(pdf) as d:
                for i, page in enumerate(d):
                    docs.append(Document(page_content=page.get_text(), metadata={"source": pdf.name, "page": i + 1}))
                    pages += 1
        t1 = time.perf_counter()
        chunks = [c for c in splitter.split_documents(docs) if c.page_content.strip()]
        t2 = time.perf_counter()
        self.embeddings.seconds = 0.0
        if chunks:
            self.store.add_documents(chunks)
        t3 = time.perf_counter()
        self.stages = {"text_s": t1 - t0, "chunk_s": t2 - t1, "embed_s": self.embeddings.seconds,
                       "chroma_s": t3 - t2 - self.embeddings.seconds, "chunks": len(chunks)}
        return pages

    def search(self, query: str, k: int) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for d in self.store.similarity_search(query, k=k * 4):
            key = (d.metadata["source"], int(d.metadata["page"]))
            if key not in out:
                out.append(key)
        return out[:k]


def bm25_pages(pdfs: list[Path], questions) -> dict[str, Any]:
    """The issue's other reference point: BM25 over whole pages (PyMuPDF text, vlkit's tokenizer)."""
    import pymupdf

    from vlkit.retrieval.bm25 import BM25Index

    keys, texts = [], []
    for pdf in pdfs:
        with pymupdf.open(pdf) as d:
            for i, page in enumerate(d):
                keys.append((pdf.name, i + 1))
                texts.append(page.get_text())
    bm25 = BM25Index(texts)
    return {"text": _eval(lambda q, k: [keys[i] for i, _ in bm25.search(q, k)], questions)}


def _eval(search, questions) -> dict[str, Any]:
    from vlkit.retrieval.eval import score_rankings

    t = time.perf_counter()
    rankings = [search(q.question, 10) for q in questions]
    report = score_rankings(questions, rankings)
    out = {g: {k: round(v, 3) for k, v in m.items()} for g, m in report.as_dict().items()}
    out["query_s_mean"] = round((time.perf_counter() - t) / len(questions), 4)
    return out


def _vlkit_index(folder: Path, embedder: Any):
    from vlkit.retrieval.index import DocumentIndex

    return DocumentIndex(folder, embedder=embedder)


def _hits_as_keys(searcher):
    return lambda q, k: [(h.file_name, h.page) for h in searcher.search(q, k)]


def _timed_ingest(make, folder: Path, pdfs: list[Path]) -> tuple[Any, int, float, dict[str, float]]:
    """``(pipeline, pages, seconds, stages)``: one ingest into a new folder, opening it included."""
    t = time.perf_counter()
    pipeline = make(folder)
    added = pipeline.add(pdfs)
    dt = time.perf_counter() - t
    if isinstance(added, int):  # the plain pipeline
        return pipeline, added, dt, dict(pipeline.stages)
    stages = added.stages.as_dict()
    # what add() does around the ingest (the lock, orphan images, the search snapshot) and opening the index
    stages["outside_ingest_s"] = round(dt - added.wall_s, 3)
    stages["chunks"] = sum(pipeline.manifest.count_chunks(f.doc_id) for f in added.files if f.doc_id)
    return pipeline, added.pages, dt, stages


def _makers(embedders: dict[str, Any], baselines: dict[str, Any]) -> dict[str, Any]:
    """name -> ``make(folder)`` that opens an empty pipeline there."""
    makers: dict[str, Any] = {}
    for bname, lc_embeddings in baselines.items():
        makers[bname] = lambda folder, e=lc_embeddings: Plain(folder, e)
    for name, emb in embedders.items():
        makers[name] = lambda folder, e=emb: _vlkit_index(folder, e)
    return makers


def ingest_speed(work: Path, pdfs: list[Path], makers: dict[str, Any], repeats: int, warm: list[Path] | None = None):
    """Median ingest time of ``repeats`` runs per pipeline (interleaved, so load drift hits all alike),
    and each pipeline's last ``(pipeline, pages)``."""
    work.mkdir(parents=True, exist_ok=True)
    # warm-up: imports (pymupdf, chromadb, text splitters, readers) and first-call costs are paid
    # here, by every pipeline, not by whichever happens to be timed first
    for name, make in makers.items():
        _timed_ingest(make, work / f"warm-{name}", warm or pdfs[:1])
    times: dict[str, list[float]] = {name: [] for name in makers}
    last: dict[str, tuple[Any, int]] = {}
    stages: dict[str, list[dict[str, float]]] = {name: [] for name in makers}
    load, steal, wall = os.getloadavg(), _steal_s(), time.monotonic()
    for r in range(repeats):
        for name, make in makers.items():
            pipeline, pages, dt, split = _timed_ingest(make, work / f"{name}-{r}", pdfs)
            times[name].append(dt)
            stages[name].append(split)
            if name in last and hasattr(last[name][0], "close"):
                last[name][0].close()
            last[name] = (pipeline, pages)
            log.info("%s run %d: %d pages in %.2fs (load %.1f)", name, r + 1, pages, dt, os.getloadavg()[0])
    speed = {}
    for name, (_, pages) in last.items():
        median = int(np.argsort(times[name])[len(times[name]) // 2])
        dt = times[name][median]
        speed[name] = {"ingest_pages_per_s": round(pages / dt, 3), "ingest_s": round(dt, 3),
                       "ingest_runs_s": [round(x, 3) for x in times[name]],
                       "stages_s": {k: round(v, 3) for k, v in stages[name][median].items()}}
    speed["load_average"] = {"before": [round(x, 2) for x in load], "after": [round(x, 2) for x in os.getloadavg()]}
    after = _steal_s()
    if steal is not None and after is not None:  # summed over all CPUs, against the wall time of the runs
        speed["cpu_steal_s"] = {"steal": round(after - steal, 1), "wall": round(time.monotonic() - wall, 1)}
    return speed, last


def quality_and_ingest(work: Path, files, questions, embedders: dict[str, Any], baselines: dict[str, Any],
                       scanned: bool, repeats: int = 3):
    """Ingest speed (median of ``repeats`` runs, pipelines interleaved so load drift hits all alike)
    and retrieval quality of the last run's index."""
    from vlkit.retrieval.search import HybridSearcher

    pdfs = sorted(files.text_dir.glob("*.pdf"))
    speed, last = ingest_speed(work, pdfs, _makers(embedders, baselines), repeats)
    result: dict[str, Any] = {}
    for name, (pipeline, _) in last.items():
        row: dict[str, Any] = dict(speed[name])
        row.pop("stages_s", None)
        if name in baselines:
            row["text"] = _eval(pipeline.search, questions)
            if scanned:
                plain_scan = Plain(work / f"{name}_scan", baselines[name])
                plain_scan.add(sorted(files.scanned_dir.glob("*.pdf")))
                row["scanned"] = _eval(plain_scan.search, questions)
        else:
            index = pipeline
            row["text"] = _eval(_hits_as_keys(HybridSearcher(index)), questions)
            row["dense_only"] = _eval(_hits_as_keys(HybridSearcher(index, k_lexical=0)), questions)
            if scanned:
                t = time.perf_counter()
                scan_index = _vlkit_index(work / f"{name}_scan", embedders[name])
                s = scan_index.add(sorted(files.scanned_dir.glob("*.pdf")))
                row["scanned_ingest_pages_per_s"] = round(s.pages / (time.perf_counter() - t), 3)
                row["scanned"] = _eval(_hits_as_keys(HybridSearcher(scan_index)), questions)
                row["scanned_vs_text_recall@5"] = round(
                    row["scanned"]["all"]["recall@5"] / max(row["text"]["all"]["recall@5"], 1e-9), 3)
                scan_index.close()
            index.close()
        result[name] = row
    result["bm25-pages"] = bm25_pages(pdfs, questions)
    result["load_average"] = speed["load_average"]
    return result


def manual_pdfs(folder: Path, quick: bool) -> list[Path] | str:
    """The dev set's manuals in ``folder`` (the files ``benchmarks/devset/manifest.json`` names, else every
    PDF there); ``--quick``: the two smallest. A string says why there are none and how to get them."""
    manifest = Path(__file__).resolve().parent / "devset" / "manifest.json"
    folder = folder.expanduser()
    if manifest.exists():
        names = [d["file"] for d in json.loads(manifest.read_text())["documents"]]
        pdfs = [folder / n for n in names if (folder / n).is_file()]
    else:
        pdfs = sorted(folder.glob("*.pdf"))
    if not pdfs:
        return (f"no dev-set manuals in {folder}; build them with `python benchmarks/devset/build.py` "
                "(apt-get download of four Debian documentation packages) or pass --manuals DIR")
    if quick:
        pdfs = sorted(pdfs, key=lambda p: p.stat().st_size)[:2]
    return pdfs


def manual_ingest(work: Path, pdfs: list[Path], embedders: dict[str, Any], baselines: dict[str, Any],
                  repeats: int, questions: list | None = None) -> dict[str, Any]:
    """Ingest pages/s of every pipeline on real manuals, with each one's time split by stage; with the dev
    set's ``questions`` also each pipeline's retrieval quality on what it ingested (and BM25 over pages)."""
    import pymupdf

    from vlkit.retrieval.search import HybridSearcher

    work.mkdir(parents=True, exist_ok=True)
    warm = work / "warm-up.pdf"  # the first 3 pages of the first manual: warms up without a whole manual
    with pymupdf.open(pdfs[0]) as src, pymupdf.open() as out:
        out.insert_pdf(src, from_page=0, to_page=2)
        out.save(warm)
    speed, last = ingest_speed(work, pdfs, _makers(embedders, baselines), repeats, warm=[warm])
    names = {p.name for p in pdfs}
    asked = [q for q in questions or [] if q.file in names]  # --quick ingests two of the four manuals
    for name, (pipeline, _) in last.items():
        if asked:
            search = pipeline.search if name in baselines else _hits_as_keys(HybridSearcher(pipeline))
            speed[name]["devset"] = _eval(search, asked)
        if hasattr(pipeline, "close"):
            pipeline.close()
    if asked:
        speed["bm25-pages"] = {"devset": bm25_pages(pdfs, asked)["text"]}
    speed["files"] = [p.name for p in pdfs]
    speed["ratio_vs_plain"] = {
        n: round(speed[n]["ingest_pages_per_s"] / speed[_baseline_of(n)]["ingest_pages_per_s"], 2) for n in embedders}
    return speed


def _baseline_of(name: str) -> str:
    """The plain pipeline with the same embedding model: ``vlkit-use*`` -> ``plain-use``, else ``plain``."""
    return "plain-use" if name.startswith("vlkit-use") else "plain"


# ---------------------------------------------------------------------------------------- latency
def _synthetic(n: int, dim: int, vocab: list[str], seed: int, prefix: str = "syn"):
    from vlkit.retrieval.types import Chunk

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    vecs = nrng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts = [" ".join(rng.choices(vocab, k=80)) for _ in range(n)]
    chunks = [Chunk(id=f"{prefix}{i // 4000:04d}:{(i % 4000) // 4 + 1}:{i % 4}", doc_id=f"{prefix}{i // 4000:04d}",
                    file_name=f"{prefix}{i // 4000:04d}.pdf", sha256="0" * 64, page=(i % 4000) // 4 + 1,
                    reader="text", text=texts[i], start=0, end=len(texts[i])) for i in range(n)]
    return chunks, vecs


def _load_synthetic(index: Any, chunks: list, vecs: np.ndarray) -> None:
    """Write synthetic chunks as complete documents, the way ``DocumentIndex.add`` leaves them."""
    from vlkit.retrieval.store import DocRow, PageRow

    for doc_id in sorted({c.doc_id for c in chunks}):
        mine = [i for i, c in enumerate(chunks) if c.doc_id == doc_id]
        pages = sorted({chunks[i].page for i in mine})
        index.manifest.start_doc(DocRow(doc_id, f"{doc_id}.pdf", f"/synthetic/{doc_id}.pdf", "0" * 64, len(pages),
                                        "pending", None))
        for s in range(0, len(mine), 4000):
            part = mine[s:s + 4000]
            index.store.upsert([chunks[i] for i in part], vecs[part])
        index.manifest.commit_pages([PageRow(doc_id, p, "text", "", None, "") for p in pages], [chunks[i] for i in mine])
        index.manifest.complete_doc(doc_id, [])


LATENCY_ROUNDS = 3
"""Passes over the queries; p50/p95 are taken over all of them."""


def latency(work: Path, n: int, embedders: dict[str, Any], lc_embeddings, vocab: list[str],
            queries: list[str]) -> dict[str, Any]:
    """p50/p95 query latency over ``n`` synthetic chunks: vlkit hybrid search (one index per embedder:
    ``vlkit-use`` is the defaults, ``vlkit-minilm`` the baseline's model) vs plain Chroma search."""
    from langchain_chroma import Chroma

    from vlkit.retrieval.search import HybridSearcher

    out: dict[str, Any] = {"chunks": n}
    fns: dict[str, Any] = {}
    closers = []
    for name, embedder in embedders.items():
        dim = embedder.embed(["x"]).shape[1]
        chunks, vecs = _synthetic(n, dim, vocab, seed=n)
        index = _vlkit_index(work / f"lat{n}-{name}", embedder)
        index._check_embedder()
        t = time.perf_counter()
        _load_synthetic(index, chunks, vecs)
        log.info("latency: %d synthetic chunks loaded into %s in %.1fs", n, name, time.perf_counter() - t)
        searcher = HybridSearcher(index)
        t = time.perf_counter()
        searcher.search(queries[0], 5)  # builds BM25 once (reported separately)
        out[f"{name}_bm25_build_s"] = round(time.perf_counter() - t, 2)
        fns[name] = (lambda s: lambda q: s.search(q, 5))(searcher)
        closers.append((name, index, searcher, dim))
    dim = len(lc_embeddings.embed_query("x"))
    chunks, vecs = _synthetic(n, dim, vocab, seed=n)
    plain = Chroma(collection_name=f"plain{n}", embedding_function=lc_embeddings,
                   persist_directory=str(work / f"plain_lat{n}"), collection_metadata={"hnsw:space": "cosine"})
    for s in range(0, n, 4000):
        plain._collection.upsert(ids=[c.id for c in chunks[s:s + 4000]], embeddings=vecs[s:s + 4000],
                                 documents=[c.text for c in chunks[s:s + 4000]],
                                 metadatas=[{"source": c.file_name, "page": c.page} for c in chunks[s:s + 4000]])
    plain.similarity_search(queries[0], k=20)  # plain's first query is not timed either
    out["chroma_settle_s"] = _settle(plain, queries)
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    fns["plain"] = lambda q: plain.similarity_search(q, k=20)
    times: dict[str, list[float]] = {name: [] for name in fns}
    # interleaved, the order rotating per query, so that drift (Chroma's work after the bulk load,
    # other load on the machine) hits every pipeline alike
    names = list(fns)
    for r in range(LATENCY_ROUNDS):
        for i, q in enumerate(queries):
            shift = (i + r) % len(names)
            for name in names[shift:] + names[:shift]:
                t = time.perf_counter()
                fns[name](q)
                times[name].append(time.perf_counter() - t)
    for name in fns:
        out[name] = {"p50_ms": round(_pct(times[name], 50), 1), "p95_ms": round(_pct(times[name], 95), 1)}
    for name in embedders:
        out[f"{name}_p50_ratio_vs_plain"] = round(out[name]["p50_ms"] / out["plain"]["p50_ms"], 2)
        out[f"{name}_p95_ratio_vs_plain"] = round(out[name]["p95_ms"] / out["plain"]["p95_ms"], 2)
    # a small change (one more 400-chunk document): the first search after it pays the BM25 update
    for name, index, searcher, dim in closers:
        _load_synthetic(index, *_synthetic(400, dim, vocab, seed=n + 1, prefix="new"))
        t = time.perf_counter()
        searcher.search(queries[0], 5)
        out[f"{name}_bm25_update_s"] = round(time.perf_counter() - t, 2)
        index.close()
    return out


def _settle(plain: Any, queries: list[str], limit_s: float = 180.0) -> float:
    """Wait until Chroma has finished indexing the bulk load (it compacts and builds its HNSW index in the
    background, and a query meanwhile is ~10x slower for both pipelines): until the median of a few
    plain queries stops falling. Returns the seconds waited."""
    started = time.perf_counter()
    last = float("inf")
    while time.perf_counter() - started < limit_s:
        times = []
        for q in queries[:8]:
            t = time.perf_counter()
            plain.similarity_search(q, k=20)
            times.append(time.perf_counter() - t)
        median = float(np.median(times))
        if median > 0.8 * last:
            break
        last = median
        time.sleep(2.0)
    return round(time.perf_counter() - started, 1)


# ---------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scale: 1k/10k chunks, no scanned variant")
    parser.add_argument("--scanned", action="store_true", help="include the scanned variant in --quick")
    parser.add_argument("--no-scanned", action="store_true", help="leave the scanned variant out of a full run")
    parser.add_argument("--latency-chunks", type=int, nargs="+", default=None,
                        help="synthetic index sizes for the latency test (default 10000 100000; --quick 1000 10000)")
    parser.add_argument("--repeats", type=int, default=3, help="ingest runs per pipeline (the median is reported)")
    parser.add_argument("--manual-repeats", type=int, default=None,
                        help="ingest runs per pipeline on the real manuals (default: 1 full, --repeats quick)")
    parser.add_argument("--manuals", type=Path, default=Path("~/.cache/vlkit/devset/pdfs"),
                        help="folder with the dev set's PDFs (python benchmarks/devset/build.py puts them there)")
    parser.add_argument("--only-manuals", action="store_true", help="measure only the real-manual ingest")
    parser.add_argument("--only-latency", action="store_true", help="measure only the query latency (--latency-chunks)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here (after every section)")
    args = parser.parse_args()
    setup_logging()
    from vlkit.retrieval.adapters import EmbedderEmbeddings
    from vlkit.retrieval.embedders import SentenceTransformerEmbedder, USEEmbedder, cpu_has_bf16
    from vlkit.retrieval.eval import load_questions
    from vlkit.retrieval.evalset import generate

    scanned = (args.scanned or not args.quick) and not args.no_scanned
    sizes = args.latency_chunks or ((1_000, 10_000) if args.quick else (10_000, 100_000))
    work = Path(tempfile.mkdtemp(prefix="bench_retrieval_"))
    try:
        files = generate(work / "evalset", scanned=scanned)
        questions = load_questions(files.questions)
        minilm = SentenceTransformerEmbedder()  # vlkit's settings (bf16 where native, inference mode)
        minilm.embed(["warm up"])
        use = USEEmbedder()
        use.embed(["warm up"])
        # the baseline's embeddings: what HuggingFaceEmbeddings does (float32 sentence-transformers)
        plain_minilm = SentenceTransformerEmbedder(precision="float32", batch_size=32)
        plain_minilm.SMALL_BATCH = 0  # every call through `encode`, as HuggingFaceEmbeddings does (queries too)
        plain_minilm.embed(["warm up"])
        # pinned to what the package does as shipped (its pure-Python tokenizer, its numpy forward pass), so
        # the baseline stays put when vlkit's own USE defaults change
        plain_use = USEEmbedder(batch_size=64, threads=2, tokenizer="pure", backend="numpy")
        plain_use.embed(["warm up"])
        lc = EmbedderEmbeddings(plain_minilm)
        result: dict[str, Any] = {"mode": "quick" if args.quick else "full", "pages": files.pages,
                                  "questions": len(questions), "load_average_start": list(os.getloadavg())}

        def save() -> None:
            if args.out:
                args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))

        if args.only_latency:
            vocab = sorted({t for p in files.text_dir.glob("*.pdf") for t in _words(p)}) or ["x"]
            queries = [x.question for x in questions][:40]
            result["latency"] = [latency(work, n, {"vlkit-use": use, "vlkit-minilm": minilm}, lc, vocab, queries)
                                 for n in sizes]
            result["load_average_end"] = list(os.getloadavg())
            save()
            sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
            return
        embedders = {"vlkit-minilm": minilm, "vlkit-use": use}
        baselines = {"plain": lc, "plain-use": EmbedderEmbeddings(plain_use)}
        manuals = manual_pdfs(args.manuals, args.quick)
        if isinstance(manuals, str):
            log.warning("%s", manuals)
            result["ingest_real_manuals"] = {"skipped": manuals}
        else:
            repeats = args.manual_repeats or (args.repeats if args.quick else 1)
            devset = load_questions(Path(__file__).resolve().parent / "devset" / "questions.jsonl")
            on_manuals = dict(embedders)
            if cpu_has_bf16():  # the defaults compute in bfloat16 here: also time float32, as CPUs without it run
                for name, extra in (("vlkit-minilm-float32", SentenceTransformerEmbedder(precision="float32")),
                                    ("vlkit-use-float32", USEEmbedder(precision="float32"))):
                    extra.embed(["warm up"])
                    on_manuals[name] = extra
            result["ingest_real_manuals"] = manual_ingest(work / "manuals", manuals, on_manuals, baselines, repeats,
                                                          questions=devset)
        save()
        if args.only_manuals:
            sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
            return
        result["quality"] = quality_and_ingest(
            work, files, questions, embedders, baselines, scanned, repeats=args.repeats)
        q = result["quality"]
        result["ingest_ratio_vs_plain"] = {
            n: round(q[n]["ingest_pages_per_s"] / q[b]["ingest_pages_per_s"], 2)
            for n, b in (("vlkit-minilm", "plain"), ("vlkit-use", "plain-use"))}
        # the same ingest on pages as full as a real manual's (~3,400 characters; see _dense.py)
        save()
        dense = dense_manuals(work / "dense", pages_per_file=10 if args.quick else 30)
        speed, _ = ingest_speed(work / "dense-runs", dense, _makers(embedders, baselines), args.repeats)
        speed["ratio_vs_plain"] = {n: round(speed[n]["ingest_pages_per_s"] / speed[b]["ingest_pages_per_s"], 2)
                                   for n, b in (("vlkit-minilm", "plain"), ("vlkit-use", "plain-use"))}
        result["ingest_manual_density"] = speed
        save()
        vocab = sorted({t for p in files.text_dir.glob("*.pdf") for t in _words(p)}) or ["x"]
        queries = [x.question for x in questions][:40]
        result["latency"] = []
        for n in sizes:
            result["latency"].append(latency(work, n, {"vlkit-use": use, "vlkit-minilm": minilm}, lc, vocab, queries))
            save()
        result["load_average_end"] = list(os.getloadavg())
        save()
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _words(pdf: Path) -> list[str]:
    import pymupdf

    with pymupdf.open(pdf) as d:
        return [w for page in d for w in page.get_text().split() if w.isalpha() and len(w) > 2]


if __name__ == "__main__":
    main()
