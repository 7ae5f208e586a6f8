"""Invoice / receipt -> validated JSON: schema, checks, grounding and the extractor tool.

``from vlkit.tools.invoice import InvoiceExtractor, Invoice, check_invoice``; the names load lazily
through :mod:`vlkit.tools` too (``from vlkit.tools import InvoiceExtractor``).
"""

from __future__ import annotations

from vlkit.tools.invoice.checks import Check, check_invoice, iso4217_codes
from vlkit.tools.invoice.grounding import Evidence, PageText, TextBox
from vlkit.tools.invoice.numerals import ChineseAmountError, parse_chinese_amount, to_chinese_amount
from vlkit.tools.invoice.schema import CurrencyCode, Identifier, Invoice, IsoDate, LineItem, Money, Party, Quantity
from vlkit.tools.invoice.tool import FieldRevision, InvoiceExtractor, InvoiceResult
from vlkit.tools.invoice.uscc import is_valid_uscc, uscc_check_char

__all__ = [
    "Check", "check_invoice", "iso4217_codes", "Evidence", "PageText", "TextBox",
    "ChineseAmountError", "parse_chinese_amount", "to_chinese_amount",
    "CurrencyCode", "Identifier", "Invoice", "IsoDate", "LineItem", "Money", "Party", "Quantity",
    "FieldRevision", "InvoiceExtractor", "InvoiceResult", "is_valid_uscc", "uscc_check_char",
]
