"""Score `HybridSearcher` argument sets on a question file and an index: overall, per half, Chinese.

A quick check of a ranking change on more than one set before it becomes a default: run it on the
dev set's index (real manuals) and on the generated eval set's index, and keep only what helps both.
Each argument set is a JSON object of :class:`~vlkit.retrieval.search.HybridSearcher` keyword
arguments (``{}`` is the defaults). The halves are the fixed hash split of ``bench_ranking.py``, so a
change that helps only one half shows it. Prints one line per argument set: Recall@1 / Recall@5 /
MRR@10 for all questions, each half and the Chinese ones; plus ``os.getloadavg()``.

    python benchmarks/bench_search_args.py benchmarks/devset/questions.jsonl KB \\
        '[{}, {"full_coverage": 0.2}, {"k_dense": 60, "k_lexical": 60}]'
    python -m vlkit.retrieval.evalset GEN && vlkit kb add GEN/text --index GENKB
    python benchmarks/bench_search_args.py GEN/questions.jsonl GENKB '[{}, {"full_coverage": 0.2}]'
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any


def score(index: Any, questions: list[Any], **kwargs: Any) -> dict[str, tuple[float, float, float]]:
    from vlkit.retrieval import HybridSearcher

    searcher = HybridSearcher(index, **kwargs)
    ranks = []
    for q in questions:
        keys = [(h.file_name, h.page) for h in searcher.search(q.question, k=10)]
        ranks.append(next((i + 1 for i, key in enumerate(keys) if key in q.gold), None))
    half = [hashlib.sha256(q.question.encode()).digest()[0] % 2 for q in questions]

    def metrics(sel: list[int]) -> tuple[float, float, float]:
        rs = [ranks[i] for i in sel]
        if not rs:
            return (0.0, 0.0, 0.0)
        return (round(sum(r == 1 for r in rs) / len(rs), 3), round(sum(bool(r) and r <= 5 for r in rs) / len(rs), 3),
                round(sum(1 / r for r in rs if r) / len(rs), 3))

    every = list(range(len(questions)))
    return {"all": metrics(every), "half 0": metrics([i for i in every if half[i] == 0]),
            "half 1": metrics([i for i in every if half[i] == 1]),
            "zh": metrics([i for i in every if questions[i].lang == "zh"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, help="a questions.jsonl (dev set or generated eval set)")
    parser.add_argument("index", type=Path, help="an index of that set's documents (vlkit kb add)")
    parser.add_argument("variants", help='a JSON list of HybridSearcher keyword-argument objects, e.g. \'[{}, {"rrf_k": 30}]\'')
    args = parser.parse_args()
    from vlkit.retrieval import DocumentIndex
    from vlkit.retrieval.eval import load_questions

    questions = load_questions(args.questions)
    index = DocumentIndex(args.index)
    sys.stdout.write(f"{len(questions)} questions, R@1/R@5/MRR@10; load {os.getloadavg()}\n")
    for variant in json.loads(args.variants):
        parts = score(index, questions, **variant)
        sys.stdout.write(f"{json.dumps(variant)}: " + "  ".join(f"{k} {'/'.join(map(str, v))}" for k, v in parts.items()) + "\n")
    index.close()


if __name__ == "__main__":
    main()
