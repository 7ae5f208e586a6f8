"""Grounding on REAL RapidOCR output of generated Chinese VAT invoice images, clean and scanned."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from vlkit.tools.invoice._checks import check_invoice
from vlkit.tools.invoice._schema import Invoice

pytestmark = pytest.mark.slow


def truth(evalset: Path, name: str) -> Invoice:
    return Invoice.model_validate(json.loads((evalset / name).with_suffix(".json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", ["000-vat.png", "003-vat-scan.pdf"])  # clean PNG; scan (blur, noise, rotation) in a PDF
def test_every_true_value_is_grounded_in_ocr(name: str, evalset: Path, read_once) -> None:
    pages = read_once(name)
    assert [p.reader for p in pages] == ["rapidocr"] and pages[0].text.lines
    checks = [c for c in check_invoice(truth(evalset, name), [p.text for p in pages]) if c.name == "grounded"]
    assert len(checks) >= 15  # ids, dates, every figure of every line
    assert all(c.ok for c in checks), [c.message for c in checks if not c.ok]


def test_a_misread_total_is_flagged_with_the_printed_one_and_its_box(evalset: Path, read_once) -> None:
    pages = read_once("000-vat.png")
    inv = truth(evalset, "000-vat.png")
    wrong = inv.total + Decimal("9.00")  # one digit off: looks right, is wrong
    checks = check_invoice(inv.model_copy(update={"total": wrong}), [p.text for p in pages])
    (bad,) = [c for c in checks if c.name == "grounded" and not c.ok]
    assert bad.fields == ["total"] and "does not appear" in bad.message
    assert bad.candidate is not None and format(inv.total, "f") in bad.candidate.text.replace(",", "")
    x0, y0, x1, y1 = bad.candidate.box
    height, width = pages[0].pixels.shape[:2]
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    # the arithmetic catches it too, and the capital numerals disagree with the figure
    assert {c.name for c in checks if not c.ok} >= {"subtotal_plus_tax", "total_in_words"}


def test_a_tax_id_not_on_the_page_is_flagged(evalset: Path, read_once) -> None:
    pages = read_once("000-vat.png")
    inv = truth(evalset, "000-vat.png")
    seller = inv.seller.model_copy(update={"tax_id": inv.buyer.tax_id[:-3] + "XYZ"})
    checks = check_invoice(inv.model_copy(update={"seller": seller}), [p.text for p in pages])
    failed = [c for c in checks if c.name == "grounded" and not c.ok]
    assert [c.fields for c in failed] == [["seller.tax_id"]]
    assert failed[0].candidate.text.endswith(inv.buyer.tax_id)  # the nearest printed id is the buyer's
