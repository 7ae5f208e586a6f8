"""Ranking ablation on the Debian-manuals dev set: which step puts the right page first, and by how much.

Builds (once, cached under ``--work``, default ``benchmarks/results/ranking``) two indexes of the
dev-set PDFs with vlkit's defaults — one with contextual chunk headers (section path rooted at the document title, embedded and indexed;
the default) and one without (HEAD's chunking) — then scores page rankings for:

* ``baseline``: HEAD behaviour (no headers, every ranking step off);
* each step added to the baseline on its own;
* ``defaults``: today's :class:`~vlkit.retrieval.search.RankingConfig` defaults;
* ``defaults - X``: the defaults with one step switched off (its contribution);
* with ``--tune``: a coordinate-wise grid search of the fusion (score or rank), its weights, RRF k and
  the step weights, started from the baseline (not from the defaults, which were chosen looking at
  every question), tuned on half of the questions (a fixed hash split) and reported on both halves,
  so the held-out figure says how much of the gain is fitting.

Prints a Markdown table (R@1, R@5, MRR@10, Chinese R@5, R@1 per question type, query p50 ms) and
``os.getloadavg()``. The dense results of each question are computed once per index and reused by
every variant (they do not depend on the ranking steps), so the ablation costs BM25 and fusion only;
the p50 column times full searches (dense included) of the first 30 questions.

    python benchmarks/bench_ranking.py --quick               # every 4th question, fewer variants
    python benchmarks/bench_ranking.py --tune                 # full ablation + held-out tuning
    python benchmarks/bench_ranking.py --pdfs DIR --questions benchmarks/devset/questions.jsonl

The questions and PDFs are those of ``benchmarks/devset`` (``python benchmarks/devset/build.py``
fetches the PDFs). Tuning uses only this dev set, never the generated eval set.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import setup_logging

log = logging.getLogger("bench_ranking")

HERE = Path(__file__).resolve().parent
DEFAULT_PDFS = [Path.home() / ".cache/vlkit/devset/pdfs", Path("/tmp/devset-pdfs")]
TYPES = ("how-to", "definition", "numeric", "fact")


# ------------------------------------------------------------------------------------------ data
def load_questions(path: Path) -> list[dict[str, Any]]:
    """Questions as dicts with a ``gold`` set of ``(file, page)`` (``also`` pages included)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        gold = {(q["file"], int(p)) for p in q["pages"]}
        for alt in q.get("also", []) or []:
            gold |= {(alt["file"], int(p)) for p in alt["pages"]}
        q["gold"] = gold
        out.append(q)
    return out


def split(questions: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """A fixed split by a hash of the question text: (tune, held-out) indices."""
    tune, held = [], []
    for i, q in enumerate(questions):
        (tune if hashlib.sha256(q["question"].encode()).digest()[0] % 2 == 0 else held).append(i)
    return tune, held


class CachedDense:
    """A :class:`~vlkit.retrieval.protocols.SearchableIndex` whose dense results are memoised per
    ``(query, k)``: every variant of the ablation sees the same dense ranking, computed once."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self._memo: dict[tuple[str, int], list] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)

    @property
    def version(self) -> int:
        return self.index.version

    def dense_search(self, query: str, k: int = 10) -> list:
        key = (query, k)
        if key not in self._memo:
            self._memo[key] = self.index.dense_search(query, k)
        return self._memo[key]


def build_index(work: Path, name: str, pdfs: list[Path], headers: bool) -> Any:
    """The dev-set index for one chunking configuration, ingested once (``add`` skips unchanged files)."""
    from vlkit.retrieval import DocumentIndex

    folder = work / name
    probe = DocumentIndex(folder)
    config = dataclasses.replace(probe.chunk_config, section_path=headers)
    index = DocumentIndex(folder, chunk_config=config)
    started = time.perf_counter()
    summary = index.add(pdfs)
    added = [f for f in summary.files if f.status not in ("unchanged",)]
    if added:
        log.info("%s: ingested %d files in %.0fs", name, len(added), time.perf_counter() - started)
    return index


# ------------------------------------------------------------------------------------------ scoring
def rank_of(hits: list[Any], gold: set[tuple[str, int]]) -> int | None:
    return next((i for i, h in enumerate(hits, start=1) if (h.file_name, h.page) in gold), None)


def metrics(ranks: list[int | None], questions: list[dict[str, Any]], idx: list[int]) -> dict[str, float]:
    def avg(sel: list[int], f) -> float:
        return sum(f(ranks[i]) for i in sel) / len(sel) if sel else float("nan")

    r1 = lambda r: 1.0 if r == 1 else 0.0
    r5 = lambda r: 1.0 if r is not None and r <= 5 else 0.0
    mrr = lambda r: 1.0 / r if r is not None and r <= 10 else 0.0
    zh = [i for i in idx if questions[i]["lang"] != questions[i].get("doc_lang", questions[i]["lang"])]
    out = {"n": len(idx), "R@1": avg(idx, r1), "R@5": avg(idx, r5), "MRR@10": avg(idx, mrr), "zh R@5": avg(zh, r5)}
    for t in TYPES:
        out[f"{t} R@1"] = avg([i for i in idx if questions[i].get("type") == t], r1)
    return out


class Runner:
    """Searchers over the cached indexes; BM25 corpora shared between variants with the same field weight."""

    def __init__(self, indexes: dict[str, Any], questions: list[dict[str, Any]]) -> None:
        self.indexes = {name: CachedDense(ix) for name, ix in indexes.items()}
        self.raw = indexes
        self.questions = questions
        self._corpora: dict[tuple[str, float], Any] = {}

    def searcher(self, variant: dict[str, Any], cached: bool = True) -> Any:
        from vlkit.retrieval.search import HybridSearcher, RankingConfig

        v = dict(variant)
        index_name = v.pop("index")
        ranking = RankingConfig(**v.pop("ranking", {}))
        index = self.indexes[index_name] if cached else self.raw[index_name]
        s = HybridSearcher(index, ranking=ranking, **v)
        key = (index_name, ranking.heading_weight)
        if cached:
            if key in self._corpora:
                s._corpus = self._corpora[key]  # same texts and field weight: reuse the built BM25
            else:
                self._corpora[key] = s._corpus
        return s

    def ranks(self, variant: dict[str, Any], idx: list[int] | None = None) -> list[int | None]:
        s = self.searcher(variant)
        idx = range(len(self.questions)) if idx is None else idx
        out: list[int | None] = [None] * len(self.questions)
        for i in idx:
            q = self.questions[i]
            out[i] = rank_of(s.search(q["question"], k=10), q["gold"])
        return out

    def p50_ms(self, variant: dict[str, Any], n: int = 30) -> float:
        s = self.searcher(variant, cached=False)
        qs = [q["question"] for q in self.questions[:n]]
        s.search(qs[0], k=10)  # BM25 build and model load are not query time
        times = []
        for q in qs:
            t = time.perf_counter()
            s.search(q, k=10)
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times)


# ------------------------------------------------------------------------------------------ variants
BASELINE = {"index": "no-headers", "fusion": "rrf", "rrf_k": 60, "weights": (1.0, 1.0),
            "ranking": {"heading_weight": 1.0, "page_bm25": 0.0, "listing_penalty": 1.0, "second_chunk": 0.0,
                        "prf_terms": 0}}
"""HEAD's behaviour: no contextual headers, RRF k=60 with equal weights, every ranking step off."""


def defaults() -> dict[str, Any]:
    import inspect

    from vlkit.retrieval.search import HybridSearcher, RankingConfig

    sig = inspect.signature(HybridSearcher.__init__).parameters
    return {"index": "headers", "ranking": dataclasses.asdict(RankingConfig()),
            "fusion": sig["fusion"].default, "rrf_k": sig["rrf_k"].default, "weights": sig["weights"].default}


STEPS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # name: (what switching it on sets, what switching it off sets)
    "headers": ({"index": "headers"}, {"index": "no-headers"}),
    "BM25F path x3": ({"ranking": {"heading_weight": 3.0}}, {"ranking": {"heading_weight": 1.0}}),
    "page BM25": ({"ranking": {"page_bm25": 1.0}}, {"ranking": {"page_bm25": 0.0}}),
    "listing demotion": ({"ranking": {"listing_penalty": 0.1}}, {"ranking": {"listing_penalty": 1.0}}),
    "fusion k=20, w=0.5/1": ({"rrf_k": 20, "weights": (0.5, 1.0)}, {"rrf_k": 60, "weights": (1.0, 1.0)}),
    "score fusion": ({"fusion": "score"}, {"fusion": "rrf"}),
    "2nd-chunk bonus 0.15": ({"ranking": {"second_chunk": 0.15}}, {"ranking": {"second_chunk": 0.0}}),
    "RM3 PRF 5 terms": ({"ranking": {"prf_terms": 5}}, {"ranking": {"prf_terms": 0}}),
}


def merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(base))
    for k, v in change.items():
        if k == "ranking":
            out.setdefault("ranking", {}).update(v)
        else:
            out[k] = v
    if "weights" in out:
        out["weights"] = tuple(out["weights"])
    return out


GRID: dict[str, list[Any]] = {
    "index": ["headers", "no-headers"],
    "fusion": ["score", "rrf"],
    "rrf_k": [5, 10, 20, 40, 60, 100],
    "weights": [(1.0, 1.0), (1.0, 0.7), (1.0, 1.4), (0.7, 1.0), (0.5, 1.0), (1.0, 2.0)],
    "heading_weight": [0.0, 1.0, 2.0, 3.0],
    "page_bm25": [0.0, 0.5, 1.0, 1.5, 2.0, 3.0],
    "second_chunk": [0.0, 0.15, 0.3],
    "listing_penalty": [1.0, 0.5, 0.2, 0.1],
    "prf_terms": [0, 5, 10],
}


TOP_LEVEL = ("index", "fusion", "rrf_k", "weights")
"""GRID entries that are HybridSearcher arguments; the others are RankingConfig fields."""


def tune(runner: Runner, start: dict[str, Any], idx: list[int], rounds: int = 2) -> dict[str, Any]:
    """Coordinate-wise grid search maximising MRR@10 (then R@1) on the questions ``idx``."""
    best = start
    best_score = _objective(runner, best, idx)
    for _ in range(rounds):
        for name, values in GRID.items():
            if name == "rrf_k" and best.get("fusion") == "score":
                continue  # no effect on score fusion: every candidate would tie
            for value in values:
                change = {name: value} if name in TOP_LEVEL else {"ranking": {name: value}}
                cand = merge(best, change)
                score = _objective(runner, cand, idx)
                if score > best_score:
                    best, best_score = cand, score
        log.info("tuning round: %s -> %.3f", best, best_score[0])
    return best


def _objective(runner: Runner, variant: dict[str, Any], idx: list[int]) -> tuple[float, float]:
    m = metrics(runner.ranks(variant, idx), runner.questions, idx)
    return (m["MRR@10"], m["R@1"])


# ------------------------------------------------------------------------------------------ output
COLUMNS = ["R@1", "R@5", "MRR@10", "zh R@5"] + [f"{t} R@1" for t in TYPES]


def table(rows: list[tuple[str, dict[str, float], float | None]]) -> str:
    head = "| variant | " + " | ".join(COLUMNS) + " | p50 ms |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for name, m, p50 in rows:
        cells = [f"{m[c]:.2f}" if m[c] == m[c] else "–" for c in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {'' if p50 is None else f'{p50:.0f}'} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=HERE / "results" / "ranking", help="index cache folder")
    ap.add_argument("--pdfs", type=Path, default=None, help="folder with the dev-set PDFs")
    ap.add_argument("--questions", type=Path, default=HERE / "devset" / "questions.jsonl")
    ap.add_argument("--quick", action="store_true", help="every 4th question, no per-step 'defaults - X' rows")
    ap.add_argument("--tune", action="store_true", help="grid-search the weights on half, report both halves")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    setup_logging()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"load average before: {os.getloadavg()}")

    pdf_dir = args.pdfs or next((p for p in DEFAULT_PDFS if p.is_dir()), None)
    if pdf_dir is None:
        sys.exit("no dev-set PDFs: run python benchmarks/devset/build.py or pass --pdfs DIR")
    questions = load_questions(args.questions)
    wanted = {q["file"] for q in questions}
    pdfs = sorted(p for p in pdf_dir.glob("*.pdf") if p.name in wanted or "zh-cn" not in p.name)
    if args.quick:
        questions = questions[::4]  # a spread: every type and language
    args.work.mkdir(parents=True, exist_ok=True)
    indexes = {"no-headers": build_index(args.work, "baseline", pdfs, headers=False),
               "headers": build_index(args.work, "headers", pdfs, headers=True)}
    runner = Runner(indexes, questions)
    every = list(range(len(questions)))
    base_default = defaults()

    rows: list[tuple[str, dict[str, float], float | None]] = []
    figures: dict[str, Any] = {}

    def add(name: str, variant: dict[str, Any], p50: bool = False, idx: list[int] = every) -> dict[str, float]:
        m = metrics(runner.ranks(variant, idx), questions, idx)
        rows.append((name, m, runner.p50_ms(variant) if p50 else None))
        figures[name] = {"variant": variant, **m}
        return m

    add("baseline (HEAD)", BASELINE, p50=True)
    for name, (on, _) in STEPS.items():
        add(f"baseline + {name}", merge(BASELINE, on))
    add("**defaults**", base_default, p50=True)
    if not args.quick:
        for name, (_, off) in STEPS.items():
            add(f"defaults - {name}", merge(base_default, off))
    print(f"\n{len(questions)} questions ({sum(q['lang'] == 'zh' for q in questions)} in Chinese), "
          f"{len(pdfs)} PDFs\n")
    print(table(rows))

    if args.tune:
        # two-fold: tune on one half, score the other, and the other way round; every question's
        # held-out rank comes from a configuration tuned without it
        halves = split(questions)
        held_ranks: list[int | None] = [None] * len(questions)
        trows = []
        for f, (tune_idx, held_idx) in enumerate((halves, halves[::-1])):
            best = tune(runner, BASELINE, tune_idx, rounds=3)
            ranks = runner.ranks(best, held_idx)
            for i in held_idx:
                held_ranks[i] = ranks[i]
            figures[f"tuned fold {f + 1}"] = {"variant": best}
            print(f"\nfold {f + 1}: tuned on {len(tune_idx)} questions: {json.dumps(best)}")
            for name, variant in (("baseline (HEAD)", BASELINE), ("defaults", base_default), (f"tuned {f + 1}", best)):
                for part, idx in (("tune", tune_idx), ("held-out", held_idx)):
                    m = metrics(runner.ranks(variant, idx), questions, idx)
                    trows.append((f"{name}, fold {f + 1} {part} (n={len(idx)})", m, None))
        m = metrics(held_ranks, questions, every)
        trows.append(("**tuned, held-out (both folds pooled)**", m, None))
        figures["tuned held-out pooled"] = m
        print()
        print(table(trows))
    print(f"\nload average after: {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
