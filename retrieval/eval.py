"""Page-level retrieval evaluation: Recall@1, Recall@5 and MRR@10 over labelled questions.

A question file is JSON lines, one question each::

    {"question": "What does error FDB-2107 mean?", "file": "fluxdb-admin-guide.pdf",
     "pages": [7], "lang": "en", "doc_lang": "en", "type": "definition",
     "evidence": "FDB-2107 means the WAL is full"}

``pages`` are 1-based and any of them counts as a correct page; ``doc_lang`` (optional,
defaults to ``lang``) marks cross-lingual questions (``lang != doc_lang``). Optional fields:
``type`` (one of :data:`QUESTION_TYPES`; the report breaks the metrics down by it), ``evidence``
(a short verbatim string of the first gold page, so a rebuilt document can be checked against
the labels) and ``also`` (``[{"file": ..., "pages": [...]}, ...]``: pages of *other* documents that
answer the question too — real manuals overlap, and ranking such a page first is not a miss).

Definitions (per question, then averaged):

* Recall@k — 1 if a gold page is among the first ``k`` retrieved pages, else 0 (with several
  gold pages this is "success@k", the usual page-level reading);
* MRR@k — ``1 / rank`` of the first gold page within the first ``k``, else 0.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vlkit.errors import InvalidArgumentError, UserError
from vlkit.retrieval.types import PageHit

__all__ = [
    "QUESTION_TYPES",
    "EvalQuestion",
    "EvalReport",
    "Metrics",
    "load_questions",
    "recall_at_k",
    "reciprocal_rank",
    "evaluate",
    "score_rankings",
]

logger = logging.getLogger(__name__)

PageKey = tuple[str, int]
"""``(file name, 1-based page)``."""

QUESTION_TYPES = ("how-to", "definition", "numeric", "fact")
"""The ``type`` values a question may carry; the report has one group per type (``type:how-to`` …)."""


@dataclass(frozen=True)
class EvalQuestion:
    """One labelled question."""

    question: str
    file: str
    pages: tuple[int, ...]
    lang: str = "en"
    doc_lang: str = ""
    type: str = ""
    """One of :data:`QUESTION_TYPES`, or empty when the file does not say."""
    evidence: str = ""
    """Short verbatim text of the first gold page (checked against rebuilt documents, not scored)."""
    also: tuple[PageKey, ...] = ()
    """Pages of other documents that answer the question as well; they count as gold."""

    @property
    def gold(self) -> set[PageKey]:
        return {(self.file, p) for p in self.pages} | set(self.also)

    @property
    def cross_lingual(self) -> bool:
        return bool(self.doc_lang) and self.doc_lang != self.lang


@dataclass
class Metrics:
    """Averages over a group of questions."""

    n: int
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "recall@1": self.recall_at_1, "recall@5": self.recall_at_5, "mrr@10": self.mrr_at_10}


@dataclass
class EvalReport:
    """Overall metrics, per-language groups (``en``, ``zh``, ``cross-lingual``), per-type groups
    (``how-to``, ``definition``, … for questions that carry a ``type``) and per-question ranks."""

    overall: Metrics
    groups: dict[str, Metrics] = field(default_factory=dict)
    """Per question language, plus ``cross-lingual`` (``lang != doc_lang``)."""
    ranks: list[int | None] = field(default_factory=list)
    """Rank of the first gold page per question (1-based), ``None`` if not in the retrieved list."""
    types: dict[str, Metrics] = field(default_factory=dict)
    """Per question type, in :data:`QUESTION_TYPES` order; empty when no question has a type."""

    def as_dict(self) -> dict[str, dict[str, float]]:
        """``{"all": …, "en": …, "zh": …, "cross-lingual": …, "type:how-to": …}`` — one flat level,
        every value the same ``{"n", "recall@1", "recall@5", "mrr@10"}`` shape."""
        return {
            "all": self.overall.as_dict(),
            **{g: m.as_dict() for g, m in self.groups.items()},
            **{f"type:{t}": m.as_dict() for t, m in self.types.items()},
        }


def load_questions(path: str | Path) -> list[EvalQuestion]:
    """Read a JSON-lines question file; raises :class:`UserError` naming the bad line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"question file {path} does not exist; pass a JSON-lines file of labelled questions")
    out: list[EvalQuestion] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = EvalQuestion(
                question=str(row["question"]),
                file=str(row["file"]),
                pages=_pages(row["pages"]),
                lang=str(row.get("lang", "en")),
                doc_lang=str(row.get("doc_lang", "")),
                type=str(row.get("type") or ""),
                evidence=str(row.get("evidence") or ""),
                also=tuple((str(a["file"]), p) for a in row.get("also") or () for p in _pages(a["pages"])),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(
                f"{path}:{n}: not a labelled question ({exc!r}); each line needs "
                '{"question": str, "file": str, "pages": [int, ...], "lang": str} and may add '
                '"doc_lang", "type", "evidence", "also": [{"file": str, "pages": [int, ...]}]'
            ) from None
        if question.type and question.type not in QUESTION_TYPES:
            raise InvalidArgumentError(
                f"{path}:{n}: unknown question type {question.type!r}; valid types: "
                f"{', '.join(QUESTION_TYPES)} (or leave 'type' out)"
            )
        out.append(question)
    if not out:
        raise UserError(f"{path} holds no questions")
    return out


def _pages(value: object) -> tuple[int, ...]:
    pages = tuple(int(p) for p in (value if isinstance(value, list) else [value]))  # type: ignore[union-attr]
    if not pages or min(pages) < 1:
        raise ValueError(f"pages must be 1-based page numbers, got {value!r}")
    return pages


def recall_at_k(ranked: Sequence[PageKey], gold: set[PageKey], k: int) -> float:
    """1.0 if any gold page is in ``ranked[:k]``, else 0.0."""
    return 1.0 if any(p in gold for p in ranked[:k]) else 0.0


def reciprocal_rank(ranked: Sequence[PageKey], gold: set[PageKey], k: int = 10) -> float:
    """``1 / rank`` of the first gold page in ``ranked[:k]``, 0.0 if none."""
    for i, p in enumerate(ranked[:k], start=1):
        if p in gold:
            return 1.0 / i
    return 0.0


def _first_rank(ranked: Sequence[PageKey], gold: set[PageKey]) -> int | None:
    return next((i for i, p in enumerate(ranked, start=1) if p in gold), None)


def _average(rows: list[tuple[Sequence[PageKey], set[PageKey]]]) -> Metrics:
    n = len(rows)
    if not n:
        return Metrics(0, 0.0, 0.0, 0.0)
    return Metrics(
        n=n,
        recall_at_1=sum(recall_at_k(r, g, 1) for r, g in rows) / n,
        recall_at_5=sum(recall_at_k(r, g, 5) for r, g in rows) / n,
        mrr_at_10=sum(reciprocal_rank(r, g, 10) for r, g in rows) / n,
    )


def score_rankings(questions: Sequence[EvalQuestion], rankings: Sequence[Sequence[PageKey]]) -> EvalReport:
    """Metrics for given rankings (one best-first list of ``(file, page)`` per question)."""
    if len(questions) != len(rankings):
        raise InvalidArgumentError(f"{len(questions)} questions but {len(rankings)} rankings; give one ranking per question")
    rows = [(list(r), q.gold) for q, r in zip(questions, rankings)]
    groups: dict[str, list[int]] = {}
    types: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        groups.setdefault(q.lang, []).append(i)
        if q.cross_lingual:
            groups.setdefault("cross-lingual", []).append(i)
        if q.type:
            types.setdefault(q.type, []).append(i)
    order = {t: n for n, t in enumerate(QUESTION_TYPES)}
    return EvalReport(
        overall=_average(rows),
        groups={g: _average([rows[i] for i in idx]) for g, idx in sorted(groups.items())},
        ranks=[_first_rank(r, g) for r, g in rows],
        types={t: _average([rows[i] for i in types[t]]) for t in sorted(types, key=lambda t: (order.get(t, 99), t))},
    )


def evaluate(
    search: Callable[[str, int], Iterable[PageHit]],
    questions: Sequence[EvalQuestion],
    *,
    k: int = 10,
    progress: Callable[[int], None] | None = None,
) -> EvalReport:
    """Run ``search(question, k)`` for every question and score the page rankings.

    ``search`` is any callable returning best-first :class:`PageHit` s — typically
    ``HybridSearcher(index).search``.
    """
    rankings: list[list[PageKey]] = []
    for i, q in enumerate(questions):
        hits = search(q.question, k)
        rankings.append([(h.file_name, h.page) for h in hits])
        if progress is not None:
            progress(i + 1)
    report = score_rankings(questions, rankings)
    logger.info("evaluated %d questions: %s", len(questions), report.overall)
    return report
