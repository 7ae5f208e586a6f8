"""The invoice preset's table (issue 25.5): one row per field of the answer's JSON under the headers
"field, value, check", the check column saying what vlkit's invoice checks found."""

from __future__ import annotations

import json

from vlkit.serve.ui_views import INVOICE_COLUMNS, tool_views


def rows(answer: object) -> list[list[str]] | None:
    return tool_views("invoice", json.dumps(answer), [], engine=None)[2]


def test_headers_name_the_columns() -> None:
    assert INVOICE_COLUMNS == ("field", "value", "check")


def test_each_field_is_a_row_and_the_totals_are_checked() -> None:
    table = rows({"invoice_number": "A-17", "seller": {"name": "Acme"},
                  "items": [{"description": "bolts", "quantity": 2, "unit_price": 3, "amount": 6}],
                  "subtotal": 6, "tax_total": 1, "total": 8, "currency": "USD"})  # fmt: skip
    by_field = {field: (value, check) for field, value, check in table}
    assert by_field["seller.name"] == ("Acme", "")
    assert by_field["items[0].amount"][0] == "6"
    assert by_field["total"][1].startswith("✗") and "6 + 1 = 7" in by_field["total"][1]  # 6 + 1 is not 8
    assert by_field["items[0].quantity"][1].startswith("✓")  # 2 x 3 = 6


def test_an_answer_that_is_not_an_invoice_is_shown_unchecked_and_non_json_not_at_all() -> None:
    assert rows({"vendor": "Acme", "total": 3}) == [["vendor", "Acme", ""], ["total", "3", ""]]
    assert tool_views("invoice", "not json", [], engine=None)[2] is None
