"""Scoring extraction like Donut does: flattened key-path micro-F1 and normalised tree-edit-distance accuracy.

Both follow Donut's ``JSONParseEvaluator`` (clovaai/donut, ``donut/util.py``): empty values are dropped,
keys sorted; F1 counts ``(key.path, value)`` leaves matched between prediction and truth; accuracy is
``max(0, 1 - TED(pred, truth) / TED(empty, truth))`` with Zhang-Shasha TED, leaves costing their
string length and relabelling a leaf its edit distance. One difference, on purpose: money and
quantities are compared as numbers (``16.0`` == ``16.00``) because both sides go through the schema
first — a model is not penalised for a trailing zero the grammar let it drop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from vlkit.tools.invoice.grounding import edit_distance
from vlkit.tools.invoice._schema import Invoice

__all__ = ["canonical", "normalize_tree", "flatten", "field_f1", "ted", "ted_accuracy", "evaluation_pairs", "evaluate_folder"]

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pdf")


def canonical(invoice: Invoice | dict[str, Any], schema: type[Invoice] = Invoice) -> Any:
    """The invoice as plain JSON-like data with Decimals written in their shortest form."""
    if isinstance(invoice, dict):
        invoice = schema.model_validate(invoice)

    def walk(v: Any) -> Any:
        if isinstance(v, Decimal):
            return format(v.normalize(), "f")
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(invoice.model_dump(mode="python"))


def normalize_tree(data: Any) -> Any:
    """Donut's ``normalize_dict``: keys sorted by (length, name), empty values dropped, leaves as lists of strings."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key in sorted(data, key=lambda k: (len(k), k)):
            value = normalize_tree(data[key])
            if value:
                out[key] = value if isinstance(value, list) else [value]
        return out
    if isinstance(data, list):
        if data and all(isinstance(item, dict) for item in data):
            return [n for n in (normalize_tree(item) for item in data) if n]
        return [str(item).strip() for item in data if item is not None and str(item).strip()]
    if data is None or not str(data).strip():
        return []
    return [str(data).strip()]


def flatten(data: Any) -> list[tuple[str, str]]:
    """``(key.path, value)`` for every leaf; list items share their parent's path (as in Donut)."""
    out: list[tuple[str, str]] = []

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}.{k}" if key else k)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        else:
            out.append((key, value))

    walk(data, "")
    return out


def field_f1(preds: Iterable[Any], truths: Iterable[Any]) -> float:
    """Micro-F1 over all leaves of all documents (Donut's ``cal_f1``); inputs are canonical trees."""
    tp = fn_or_fp = 0
    for pred, truth in zip(preds, truths):
        p, t = flatten(normalize_tree(pred)), flatten(normalize_tree(truth))
        for leaf in p:
            if leaf in t:
                tp += 1
                t.remove(leaf)
            else:
                fn_or_fp += 1
        fn_or_fp += len(t)
    return tp / (tp + fn_or_fp / 2) if tp + fn_or_fp else 1.0


# --------------------------------------------------------------------------- tree edit distance


class _Tree:
    __slots__ = ("label", "children")

    def __init__(self, label: str, children: list[_Tree] | None = None) -> None:
        self.label = label
        self.children = children or []


def _build(data: Any, name: str = "<root>") -> _Tree:
    node = _Tree(name)
    if isinstance(data, dict):
        node.children = [_build(v, k) for k, v in data.items()]
    elif isinstance(data, list):
        if data and all(isinstance(item, dict) for item in data):
            node.children = [_build(item, "<subtree>") for item in data]
        else:
            node.children = [_Tree(f"<leaf>{item}") for item in data]
    return node


def _is_leaf(label: str) -> bool:
    return label.startswith("<leaf>")


def _insert_remove(label: str) -> int:
    return len(label) - 6 if _is_leaf(label) else 1


def _update(a: str, b: str) -> int:
    if _is_leaf(a) and _is_leaf(b):
        return edit_distance(a[6:], b[6:])
    if _is_leaf(a) != _is_leaf(b):
        return 1 + len((a if _is_leaf(a) else b)[6:])
    return int(a != b)


def _postorder(root: _Tree) -> tuple[list[str], list[int], list[int]]:
    labels: list[str] = []
    leftmost: list[int] = []

    def walk(node: _Tree) -> int:
        first = None
        for child in node.children:
            lm = walk(child)
            first = lm if first is None else first
        labels.append(node.label)
        leftmost.append(first if first is not None else len(labels) - 1)
        return leftmost[-1]

    walk(root)
    last_with: dict[int, int] = {}
    for i, lm in enumerate(leftmost):
        last_with[lm] = i
    return labels, leftmost, sorted(last_with.values())


def ted(a: _Tree, b: _Tree) -> int:
    """Zhang-Shasha tree edit distance with Donut's costs."""
    la, lma, keys_a = _postorder(a)
    lb, lmb, keys_b = _postorder(b)
    dist = [[0] * len(lb) for _ in la]
    for i in keys_a:
        for j in keys_b:
            io, jo = lma[i] - 1, lmb[j] - 1
            m, n = i - io + 1, j - jo + 1
            fd = [[0] * n for _ in range(m)]
            for x in range(1, m):
                fd[x][0] = fd[x - 1][0] + _insert_remove(la[x + io])
            for y in range(1, n):
                fd[0][y] = fd[0][y - 1] + _insert_remove(lb[y + jo])
            for x in range(1, m):
                for y in range(1, n):
                    remove = fd[x - 1][y] + _insert_remove(la[x + io])
                    insert = fd[x][y - 1] + _insert_remove(lb[y + jo])
                    if lma[x + io] == lma[i] and lmb[y + jo] == lmb[j]:
                        fd[x][y] = min(remove, insert, fd[x - 1][y - 1] + _update(la[x + io], lb[y + jo]))
                        dist[x + io][y + jo] = fd[x][y]
                    else:
                        p, q = lma[x + io] - 1 - io, lmb[y + jo] - 1 - jo
                        fd[x][y] = min(remove, insert, fd[p][q] + dist[x + io][y + jo])
    return dist[-1][-1]


def ted_accuracy(pred: Any, truth: Any) -> float:
    """``max(0, 1 - TED(pred, truth) / TED(empty, truth))`` on canonical trees (Donut's ``cal_acc``)."""
    p, t = _build(normalize_tree(pred)), _build(normalize_tree(truth))
    worst = ted(_build(normalize_tree({})), t)
    if worst == 0:
        return 1.0 if ted(p, t) == 0 else 0.0
    return max(0.0, 1.0 - ted(p, t) / worst)


# --------------------------------------------------------------------------- folders


def evaluation_pairs(folder: str | Path) -> list[tuple[Path, Path]]:
    """``(document, ground truth)`` for every document in ``folder`` with a ``<stem>.json`` next to it."""
    folder = Path(folder)
    out = []
    for doc in sorted(folder.iterdir()) if folder.is_dir() else []:
        truth = doc.with_suffix(".json")
        if doc.suffix.lower() in SUFFIXES and truth.is_file():
            out.append((doc, truth))
    return out


def evaluate_folder(
    found: list[tuple[Path, Path]], extractor: Any, *, on_file: Callable[[Path], None] | None = None
) -> dict[str, Any]:
    """Run ``extractor`` on each document and score it against its ground truth."""
    schema = extractor.schema_
    preds, truths, rows = [], [], []
    started = time.perf_counter()
    for doc, truth_path in found:
        truth = canonical(json.loads(truth_path.read_text(encoding="utf-8")), schema)
        result = extractor.extract(doc)
        pred = canonical(result.invoice, schema) if result.invoice is not None else {}
        preds.append(pred)
        truths.append(truth)
        rows.append({
            "file": doc.name, "ted_accuracy": ted_accuracy(pred, truth), "f1": field_f1([pred], [truth]),
            "checks_ok": result.ok, "failed_checks": [c.message for c in result.failed], "prediction": pred,
            "timings": result.timings,
        })
        if on_file is not None:
            on_file(doc)
    n = len(rows)
    return {
        "n": n,
        "f1": field_f1(preds, truths),
        "ted_accuracy": sum(r["ted_accuracy"] for r in rows) / n if n else 0.0,
        "checks_pass_rate": sum(r["checks_ok"] for r in rows) / n if n else 0.0,
        "seconds_per_invoice": (time.perf_counter() - started) / n if n else 0.0,
        "files": rows,
    }
