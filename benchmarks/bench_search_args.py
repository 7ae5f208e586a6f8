"""Score `HybridSearcher` argument sets on a question file and an index: overall, per half, Chinese.

A quick check of a ranking change on more than one set before it becomes a default: run it on the
dev set's index (real manuals) and on the generated eval set's index, and keep only what helps both.
Each argument set is a JSON object of :class:`~vlkit.retrieval.search.HybridSearcher` keyword
arguments (``{}`` is the defaults). The halves are the fixed hash split of ``bench_ranking.py``, so a
change that helps only one half shows it; the scoring is ``bench_ranking.py``'s. Prints one line per
argument set: Recall@1 / Recall@5 / MRR@10 and cross-lingual Recall@5, for all questions and each
half; plus ``os.getloadavg()``.

    python benchmarks/bench_search_args.py benchmarks/devset/questions.jsonl KB \\
        '[{}, {"full_coverage": 0.2}, {"k_dense": 60, "k_lexical": 60}]'
    python -m vlkit.retrieval.evalset GEN && vlkit kb add GEN/text --index GENKB
    python benchmarks/bench_search_args.py GEN/questions.jsonl GENKB '[{}, {"full_coverage": 0.2}]'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ranking import load_questions, metrics, rank_of, split  # noqa: E402  (the dev set's scoring)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, help="a questions.jsonl (dev set or generated eval set)")
    parser.add_argument("index", type=Path, help="an index of that set's documents (vlkit kb add)")
    parser.add_argument("variants", help='a JSON list of HybridSearcher keyword-argument objects, e.g. \'[{}, {"rrf_k": 30}]\'')
    args = parser.parse_args()
    from vlkit.retrieval import DocumentIndex, HybridSearcher

    questions = load_questions(args.questions)
    halves = split(questions)
    every = list(range(len(questions)))
    index = DocumentIndex(args.index)
    sys.stdout.write(f"{len(questions)} questions, R@1/R@5/MRR@10 (zh: cross-lingual R@5); load {os.getloadavg()}\n")
    for variant in json.loads(args.variants):
        searcher = HybridSearcher(index, **variant)
        ranks = [rank_of(searcher.search(q["question"], k=10), q["gold"]) for q in questions]
        parts = {"all": metrics(ranks, questions, every), "half 0": metrics(ranks, questions, halves[0]),
                 "half 1": metrics(ranks, questions, halves[1])}
        sys.stdout.write(f"{json.dumps(variant)}: " + "  ".join(
            f"{name} {m['R@1']:.3f}/{m['R@5']:.3f}/{m['MRR@10']:.3f} zh {m['zh R@5']:.3f}" for name, m in parts.items()) + "\n")
    index.close()


if __name__ == "__main__":
    main()
