"""Each check's pass and fail case on hand-made invoices."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from pydantic import Field

from vlkit.tools.invoice._checks import Check, check_invoice, iso4217_codes
from vlkit.tools.invoice._schema import Identifier, Invoice, LineItem, Money, Party

PAGE = """增值税专用发票  发票号码: 08812345
开票日期: 2024年03月15日
纳税人识别号: 91110000600037341L
货物或应税劳务名称 规格型号 单位 数量 单价 金额 税率 税额
办公用纸 A4 箱 3 33.333333 100.00 13% 13.00
合计 ¥100.00 ¥13.00
价税合计(大写) ⊗壹佰壹拾叁元整 (小写) ￥１１３.００
"""


def vat(**changes) -> Invoice:
    base = dict(
        invoice_number="08812345", issue_date="2024-03-15", currency="CNY",
        seller=Party(name="北京云启科技有限公司", tax_id="91110000600037341L"),
        items=[LineItem(description="办公用纸", quantity=D("3"), unit_price=D("33.333333"), amount=D("100.00"),
                        tax_rate=D("13"), tax_amount=D("13.00"))],
        subtotal=D("100.00"), tax_total=D("13.00"), total=D("113.00"), total_in_words="壹佰壹拾叁元整",
    )
    base.update(changes)
    return Invoice(**base)


def by_name(checks: list[Check], name: str) -> list[Check]:
    found = [c for c in checks if c.name == name]
    assert found, f"no {name} check in {[c.name for c in checks]}"
    return found


def test_consistent_invoice_passes_everything() -> None:
    checks = check_invoice(vat(), page_text=PAGE)
    assert checks and all(c.ok for c in checks), [c.message for c in checks if not c.ok]
    names = {c.name for c in checks}
    assert names >= {"line_amount", "line_tax", "lines_sum", "line_taxes_sum", "subtotal_plus_tax",
                     "total_in_words", "tax_id_checksum", "date_exists", "currency_code", "grounded"}


def test_line_amount_fails_beyond_rounding_of_the_printed_price() -> None:
    # 3 x 33.333333 = 99.999999: within tolerance of 100.00; 100.02 is not
    (bad,) = by_name(check_invoice(vat(items=[vat().items[0].model_copy(update={"amount": D("100.02")})])), "line_amount")
    assert not bad.ok and bad.fields == ["items[0].quantity", "items[0].unit_price", "items[0].amount"]
    assert "tolerance" in bad.message


def test_line_amount_tolerance_scales_with_quantity_and_printed_precision() -> None:
    # a unit price printed to the cent (8.85, really 8.849557...) times 100 units: 885.00 vs 884.96 is fine
    item = LineItem(quantity=D("100"), unit_price=D("8.85"), amount=D("884.96"))
    (ok,) = by_name(check_invoice(Invoice(items=[item], total=D("884.96"))), "line_amount")
    assert ok.ok
    item = LineItem(quantity=D("100"), unit_price=D("8.85"), amount=D("884.00"))
    (bad,) = by_name(check_invoice(Invoice(items=[item], total=D("884.00"))), "line_amount")
    assert not bad.ok


def test_line_tax() -> None:
    item = vat().items[0].model_copy(update={"tax_amount": D("31.00")})
    (bad,) = by_name(check_invoice(vat(items=[item])), "line_tax")
    assert not bad.ok and "items[0].tax_amount" in bad.fields


def test_lines_sum_to_subtotal() -> None:
    (bad,) = by_name(check_invoice(vat(subtotal=D("110.00"))), "lines_sum")
    assert not bad.ok and bad.fields[-1] == "subtotal"


def test_receipt_lines_sum_to_total_when_there_is_no_subtotal_or_tax() -> None:
    items = [LineItem(description="Flat white", amount=D("3.80")), LineItem(description="Croissant", amount=D("2.90"))]
    (ok,) = by_name(check_invoice(Invoice(items=items, total=D("6.70"))), "lines_sum")
    assert ok.ok and ok.fields[-1] == "total"
    (bad,) = by_name(check_invoice(Invoice(items=items, total=D("6.07"))), "lines_sum")
    assert not bad.ok


def test_line_taxes_sum_allows_half_a_cent_per_line() -> None:
    items = [LineItem(amount=D("0.04"), tax_rate=D("13"), tax_amount=D("0.01")) for _ in range(3)]
    (ok,) = by_name(check_invoice(Invoice(items=items, subtotal=D("0.12"), tax_total=D("0.02"), total=D("0.14"))),
                    "line_taxes_sum")
    assert ok.ok  # VAT invoices print the rounded tax on the total, not the sum of rounded line taxes
    (bad,) = by_name(check_invoice(vat(tax_total=D("14.00"), total=D("114.00"))), "line_taxes_sum")
    assert not bad.ok


def test_subtotal_plus_tax() -> None:
    (bad,) = by_name(check_invoice(vat(total=D("131.00"), total_in_words=None)), "subtotal_plus_tax")
    assert not bad.ok and bad.fields == ["subtotal", "tax_total", "total"]


def test_total_in_words() -> None:
    (wrong,) = by_name(check_invoice(vat(total_in_words="壹佰叁拾壹元整")), "total_in_words")
    assert not wrong.ok and "131.00" in wrong.message
    (garbled,) = by_name(check_invoice(vat(total_in_words="壹佰壹拾拾叁元整")), "total_in_words")
    assert not garbled.ok and "not a Chinese capital amount" in garbled.message
    assert not [c for c in check_invoice(vat(total_in_words="One hundred thirteen")) if c.name == "total_in_words"]


def test_tax_id_checksum() -> None:
    bad_party = Party(name="x", tax_id="91110000600037341N")
    checks = by_name(check_invoice(vat(buyer=bad_party)), "tax_id_checksum")
    assert {c.fields[0]: c.ok for c in checks} == {"seller.tax_id": True, "buyer.tax_id": False}
    # a VAT number is not a USCC: not checked rather than failed
    assert not [c for c in check_invoice(Invoice(seller=Party(tax_id="GB123456789"), total=D(1)))
                if c.name == "tax_id_checksum"]


def test_dates_exist() -> None:
    (bad,) = by_name(check_invoice(vat(issue_date="2023-02-29")), "date_exists")
    assert not bad.ok and bad.fields == ["issue_date"]
    (ok,) = by_name(check_invoice(vat(issue_date="2024-02-29")), "date_exists")
    assert ok.ok


def test_currency_is_real() -> None:
    (bad,) = by_name(check_invoice(vat(currency="RMB")), "currency_code")
    assert not bad.ok
    assert {"CNY", "USD", "EUR", "JPY", "GBP", "CHF"} <= iso4217_codes() and "RMB" not in iso4217_codes()
    assert 150 < len(iso4217_codes()) < 200


def test_missing_total_is_flagged() -> None:
    (bad,) = by_name(check_invoice(Invoice(invoice_number="1")), "has_total")
    assert not bad.ok and bad.fields == ["total"]


def test_grounding_pass_and_fail_with_nearest_candidate() -> None:
    checks = by_name(check_invoice(vat(invoice_number="08812346"), page_text=PAGE), "grounded")
    failed = [c for c in checks if not c.ok]
    assert [c.fields for c in failed] == [["invoice_number"]]
    assert failed[0].candidate is not None and "08812345" in failed[0].candidate.text
    # full-width ￥１１３.００ on the page grounds total 113.00; 2024年03月15日 grounds 2024-03-15
    assert all(c.ok for c in checks if c.fields in (["total"], ["issue_date"]))


def test_users_extra_fields_are_checked_the_same_way() -> None:
    class MyInvoice(Invoice):
        purchase_order: Identifier | None = Field(None, description="PO number")
        deposit: Money | None = None

    inv = MyInvoice(**vat().model_dump(), purchase_order="PO-7781", deposit=D("50.00"))
    checks = by_name(check_invoice(inv, page_text=PAGE + "\nPO: PO 7781  Deposit 50.00"), "grounded")
    assert {c.fields[0] for c in checks if c.ok} >= {"purchase_order", "deposit"}
    inv = MyInvoice(**vat().model_dump(), purchase_order="PO-7787")
    (bad,) = [c for c in by_name(check_invoice(inv, page_text=PAGE + "\nPO: PO 7781"), "grounded") if not c.ok]
    assert bad.fields == ["purchase_order"]


@pytest.mark.parametrize(
    ("printed", "value"),
    [("Total: 1,234.50", "1234.5"), ("Summe 1.234,50 €", "1234.50"), ("TOTAL $ 1 234.50", "1234.50"),
     ("合计 ￥１２３４.５０", "1234.50"), ("Discount −5.00", "-5.00")],
)
def test_number_normalisation(printed: str, value: str) -> None:
    (check,) = by_name(check_invoice(Invoice(total=D(value)), page_text=printed), "grounded")
    assert check.ok, check.message


@pytest.mark.parametrize("printed", ["2024-03-15", "2024/3/15", "2024年03月15日", "15/03/2024", "March 15, 2024",
                                     "15 Mar 2024"])
def test_date_formats_ground(printed: str) -> None:
    checks = by_name(check_invoice(Invoice(issue_date="2024-03-15", total=D(1)), page_text=f"Date: {printed} Total 1"),
                     "grounded")
    assert all(c.ok for c in checks), [c.message for c in checks]
