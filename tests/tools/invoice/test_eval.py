"""The scorer (Donut's field F1 and TED accuracy) and the generated labelled set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tools.invoice.conftest import ScriptedChatModel
from vlkit.tools.invoice import InvoiceExtractor
from vlkit.tools.invoice._eval import _build, canonical, evaluate_folder, field_f1, normalize_tree, evaluation_pairs, ted, ted_accuracy
from vlkit.tools.invoice._schema import Invoice

TRUTH = {"total": "16.00", "seller": {"name": "CORNER CAFE"},
         "items": [{"description": "Flat white", "amount": "3.80"}, {"description": "Croissant", "amount": "2.90"}]}


def test_identical_scores_one_and_empty_scores_zero() -> None:
    truth = canonical(TRUTH)
    assert field_f1([truth], [truth]) == 1.0 and ted_accuracy(truth, truth) == 1.0
    assert field_f1([{}], [truth]) == 0.0 and ted_accuracy({}, truth) == 0.0


def test_f1_counts_flattened_leaves() -> None:
    truth = canonical(TRUTH)
    pred = canonical({**TRUTH, "total": "16.50", "currency": "USD"})  # 1 wrong, 1 extra leaf out of 6
    # tp = 5, fp = 2 (16.50, USD), fn = 1 (16) -> 5 / (5 + 3/2)
    assert field_f1([pred], [truth]) == pytest.approx(5 / 6.5)


def test_numbers_compare_by_value_not_by_trailing_zeros() -> None:
    assert canonical({"total": "16.0"}) == canonical({"total": "16.00"})
    assert canonical({"invoice_number": "007"}) != canonical({"invoice_number": "7"})  # ids stay strings


def test_ted_hand_computed() -> None:
    truth = normalize_tree({"total": "16"})  # <root> - total - <leaf>16
    assert ted(_build({}), _build(truth)) == 1 + 2  # insert node 'total' (1) and leaf '16' (its length)
    assert ted(_build(normalize_tree({"total": "15"})), _build(truth)) == 1  # relabel one character
    assert ted_accuracy(normalize_tree({"total": "15"}), truth) == pytest.approx(1 - 1 / 3)


def test_ted_agrees_with_zss_on_random_trees() -> None:
    zss = pytest.importorskip("zss")
    import random

    from vlkit.tools.invoice import _eval as scorer

    def convert(node):
        out = zss.Node(node.label)
        for child in node.children:
            out.addkid(convert(child))
        return out

    rng = random.Random(5)

    def tree(depth: int = 0):
        if depth > 1 or rng.random() < 0.3:
            return {f"k{rng.randint(0, 3)}": f"v{rng.randint(0, 30)}"}
        return {f"a{i}": tree(depth + 1) if rng.random() < 0.5 else [tree(depth + 1) for _ in range(rng.randint(1, 3))]
                for i in range(rng.randint(1, 3))}

    for _ in range(40):
        a, b = _build(normalize_tree(tree())), _build(normalize_tree(tree()))
        expected = zss.distance(
            convert(a), convert(b), get_children=zss.Node.get_children,
            insert_cost=lambda n: scorer._insert_remove(n.label), remove_cost=lambda n: scorer._insert_remove(n.label),
            update_cost=lambda x, y: scorer._update(x.label, y.label),
        )
        assert ted(a, b) == expected


def test_generated_set_is_labelled_and_consistent(evalset: Path) -> None:
    from vlkit.tools.invoice._checks import check_invoice

    found = evaluation_pairs(evalset)
    assert [d.suffix for d, _ in found] == [".png", ".png", ".png", ".pdf", ".pdf", ".pdf"]
    kinds = set()
    for _, truth in found:
        inv = Invoice.model_validate(json.loads(truth.read_text(encoding="utf-8")))
        kinds.add(inv.document_type)
        assert all(c.ok for c in check_invoice(inv)), truth.name  # the ground truth itself adds up
    assert kinds == {"vat_invoice", "invoice", "receipt"}


def test_oracle_through_the_pipeline_scores_one(evalset: Path) -> None:
    """Ground truth as the model's answer, through reading, checks and scoring: 1.0 on text-layer PDFs."""
    found = [(d, t) for d, t in evaluation_pairs(evalset) if d.name in ("004-invoice.pdf", "005-receipt.pdf")]

    class Oracle:
        schema_ = Invoice

        def extract(self, path: Path):
            truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            return InvoiceExtractor(ScriptedChatModel(answers=[truth])).extract(path)

    report = evaluate_folder(found, Oracle())
    assert report["n"] == 2 and report["f1"] == 1.0 and report["ted_accuracy"] == 1.0
    assert report["checks_pass_rate"] == 1.0
