"""The public names of the invoice tool (a change here is an API change)."""

from __future__ import annotations

import vlkit.tools
import vlkit.tools.invoice as invoice


def test_the_extractor_is_the_same_object_from_both_packages() -> None:
    """The package's names are pinned in tests/test_packaging.py; here: one class, two import paths."""
    assert vlkit.tools.InvoiceExtractor is invoice.InvoiceExtractor


def test_schema_is_decimal_iso_and_covers_the_vat_invoice() -> None:
    from decimal import Decimal

    schema = invoice.Invoice.model_json_schema()
    props = schema["properties"]
    for field in ("invoice_number", "invoice_code", "issue_date", "check_code", "seller", "buyer", "items", "subtotal",
                  "tax_total", "total", "total_in_words", "currency", "payment_terms", "notes"):
        assert field in props
    party = schema["$defs"]["Party"]["properties"]
    assert {"name", "tax_id", "address", "phone", "bank", "account"} <= set(party)
    item = schema["$defs"]["LineItem"]["properties"]
    assert {"description", "spec", "unit", "quantity", "unit_price", "amount", "tax_rate", "tax_amount"} <= set(item)
    inv = invoice.Invoice.model_validate_json('{"total": "0.30", "items": [{"amount": "0.10"}, {"amount": "0.20"}]}')
    assert isinstance(inv.total, Decimal) and inv.items[0].amount + inv.items[1].amount == inv.total
    assert schema["additionalProperties"] is False  # a typo'd key is an error, not ignored


def test_prompts_and_currency_list_are_package_data() -> None:
    from importlib import resources

    root = resources.files("vlkit.tools.invoice")
    for name in ("prompts/extract.txt", "prompts/reask.txt", "currencies.txt"):
        assert root.joinpath(name).read_text(encoding="utf-8").strip()
