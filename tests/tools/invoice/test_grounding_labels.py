"""Grounding next to the field's label: generated invoices (real PDF text layers read by PyMuPDF) where the
same number is printed several times, and small whole numbers that are printed everywhere."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from vlkit.documents import PageLines
from vlkit.tools.invoice._checks import check_invoice
from vlkit.tools.invoice._pages import read_pages
from vlkit.tools.invoice._schema import Invoice, LineItem, Party
from vlkit.tools.invoice.evalset import layout, render_pdf
from vlkit.tools.invoice.grounding import as_pages, find_value
from vlkit.tools.invoice.numerals import to_chinese_amount

SCALE = 2.0  # read_pages renders at 144 dpi: two pixels per PDF point
VAT_ROWS = {"items[0]": 184, "items[1]": 200, "合计": 262, "小写": 288}
"""Baselines (points) of the rows the VAT layout prints: item rows, the 合计 row, the 价税合计 row."""


def _party(name: str, tax_id: str) -> Party:
    return Party(name=name, tax_id=tax_id, address="北京市海淀区中关村大街1号", phone="010-62781234",
                 bank="中国工商银行北京分行", account="0200004509200151234")


def _vat(items: list[LineItem], issue_date: str = "2024-03-15") -> Invoice:
    subtotal = sum((i.amount for i in items), Decimal(0))
    tax = sum((i.tax_amount for i in items), Decimal(0))
    return Invoice(
        document_type="vat_invoice", invoice_code="011002300211", invoice_number="48213907", issue_date=issue_date,
        check_code="52831094477210385562", buyer=_party("北京云启科技有限公司", "91110108MA01ABCD2X"),
        seller=_party("上海明德贸易有限公司", "91310115MA1K4EFG3Y"), items=items, subtotal=subtotal,
        tax_total=tax, total=subtotal + tax, total_in_words=to_chinese_amount(subtotal + tax), currency="CNY",
    )


def _text(inv: Invoice, tmp_path: Path, kind: str = "vat") -> PageLines:
    path = tmp_path / f"{kind}.pdf"
    render_pdf(layout(inv, kind, random.Random(0)), path)
    (page,) = read_pages(path)
    assert page.reader == "text" and page.text.lines  # the PDF's own text layer, with line boxes
    return page.text


def _row_of(box: list[float] | None) -> float:
    assert box is not None
    return (box[1] + box[3]) / 2 / SCALE  # the box's middle, in points


def _on_row(box: list[float] | None, baseline: float) -> bool:
    return baseline - 12 <= _row_of(box) <= baseline + 2


@pytest.fixture
def one_item(tmp_path: Path) -> tuple[Invoice, PageLines]:
    """One line: unit price = amount = subtotal = 300.00 (printed three times), tax = tax total = 39.00."""
    item = LineItem(description="技术服务费", unit="项", quantity=Decimal(1), unit_price=Decimal("300.00"),
                    amount=Decimal("300.00"), tax_rate=Decimal(13), tax_amount=Decimal("39.00"))
    inv = _vat([item])
    return inv, _text(inv, tmp_path)


@pytest.mark.parametrize(
    ("field", "value", "row", "column"),
    [
        ("subtotal", "300.00", "合计", 430),  # not the unit price or the line amount above it
        ("items[0].unit_price", "300.00", "items[0]", 350),
        ("items[0].amount", "300.00", "items[0]", 430),
        ("tax_total", "39.00", "合计", 580),  # not the line's tax straight under the 税额 header
        ("items[0].tax_amount", "39.00", "items[0]", 580),
        ("total", "339.00", "小写", 470),
    ],
)
def test_a_number_printed_several_times_grounds_next_to_its_label(one_item, field, value, row, column) -> None:
    _, text = one_item
    found = find_value(Decimal(value), "number", [text], field=field)
    assert found is not None and found.box is not None, field
    assert _on_row(found.box, VAT_ROWS[row]), (field, found)
    assert abs(found.box[0] / SCALE - column) < 2, (field, found)


def test_equal_quantities_on_two_lines_each_get_their_own_row(tmp_path: Path) -> None:
    items = [
        LineItem(description="显示器", unit="台", quantity=Decimal(2), unit_price=Decimal("1200.00"),
                 amount=Decimal("2400.00"), tax_rate=Decimal(13), tax_amount=Decimal("312.00")),
        LineItem(description="墨盒", unit="个", quantity=Decimal(2), unit_price=Decimal("85.00"),
                 amount=Decimal("170.00"), tax_rate=Decimal(13), tax_amount=Decimal("22.10")),
    ]
    text = _text(_vat(items), tmp_path)
    for i in (0, 1):
        for field, value in ((f"items[{i}].quantity", "2"), (f"items[{i}].tax_rate", "13")):
            found = find_value(Decimal(value), "number", [text], field=field)
            assert found is not None and _on_row(found.box, VAT_ROWS[f"items[{i}]"]), (field, found)


def test_a_small_whole_number_needs_its_label(one_item) -> None:
    inv, text = one_item
    # 15 is printed (the issue date's day, 2024年03月15日), but not under 数量: a quantity of 15 is not grounded
    assert any("15" in b.text for b in text.lines)
    assert find_value(Decimal(15), "number", [text], field="items[0].quantity") is None
    assert find_value(Decimal(1), "number", [text], field="items[0].quantity") is not None  # under 数量
    wrong = inv.model_copy(update={"items": [inv.items[0].model_copy(update={"quantity": Decimal(15)})]})
    failed = [c for c in check_invoice(wrong, [text]) if c.name == "grounded" and not c.ok]
    assert [c.fields for c in failed] == [["items[0].quantity"]]
    # every true value, small ones included, is still grounded
    assert all(c.ok for c in check_invoice(inv, [text]) if c.name == "grounded")


def test_a_large_number_grounds_without_its_label(one_item) -> None:
    _, text = one_item
    # the invoice number is on the page next to 发票号码; asked as a field with no label on the page, it still grounds
    found = find_value(Decimal(48213907), "number", [text], field="purchase_order")
    assert found is not None and "48213907" in found.text


def test_plain_text_grounds_small_numbers_on_their_labels_line() -> None:
    text = as_pages("发票号码: 48213907\n数量 2\n开票日期: 2024年03月15日\n合计 ¥300.00 ¥39.00")
    assert find_value(Decimal(2), "number", text, field="items[0].quantity") is not None
    assert find_value(Decimal(15), "number", text, field="items[0].quantity") is None
    assert find_value(Decimal("39.00"), "number", text, field="tax_total") is not None


def test_english_invoice_totals_ground_beside_their_labels(tmp_path: Path) -> None:
    items = [LineItem(description="Consulting hours", quantity=Decimal(4), unit_price=Decimal("250.00"), amount=Decimal("1000.00")),
             LineItem(description="Logo revision", quantity=Decimal(4), unit_price=Decimal("50.00"), amount=Decimal("200.00"))]
    inv = Invoice(document_type="invoice", invoice_number="INV-2024-0042", issue_date="2024-04-04", items=items,
                  subtotal=Decimal("1200.00"), tax_total=Decimal("240.00"), total=Decimal("1440.00"), currency="GBP",
                  payment_terms="Net 30", seller=Party(name="Acme Tools GmbH", address="Hauptstr. 5, 10115 Berlin",
                                                       tax_id="GB123456789", phone="+44 20 1234 5678"),
                  buyer=Party(name="Blue Harbour Design", address="14 Mill Lane, Leeds LS1 4AB"))
    text = _text(inv, tmp_path, "invoice")
    rows = {}
    for i in (0, 1):
        found = find_value(Decimal(4), "number", [text], field=f"items[{i}].quantity")
        assert found is not None
        rows[i] = _row_of(found.box)
    assert rows[1] - rows[0] == pytest.approx(18, abs=2)  # the second line's 4, not the first's again
    subtotal = find_value(Decimal("1200.00"), "number", [text], field="subtotal")
    total = find_value(Decimal("1440.00"), "number", [text], field="total")
    assert subtotal is not None and total is not None and _row_of(total.box) - _row_of(subtotal.box) == pytest.approx(36, abs=2)
