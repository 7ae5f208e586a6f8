"""Invoice / receipt -> validated JSON: schema, checks, grounding and the extractor tool.

``from vlkit.tools.invoice import InvoiceExtractor, Invoice, check_invoice``; the names load lazily, and
the extractor through :mod:`vlkit.tools` too (``from vlkit.tools import InvoiceExtractor``). A schema of
your own subclasses :class:`Invoice` with the field types :data:`Money`, :data:`Quantity`, :data:`IsoDate`
and :data:`Identifier`. The labelled eval set is :mod:`vlkit.tools.invoice.evalset`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vlkit.lazy import lazy_exports

_EXPORTS = {
    "InvoiceExtractor": "vlkit.tools.invoice._tool",
    "InvoiceResult": "vlkit.tools.invoice._tool",
    "Invoice": "vlkit.tools.invoice._schema",
    "Identifier": "vlkit.tools.invoice._schema",
    "IsoDate": "vlkit.tools.invoice._schema",
    "Money": "vlkit.tools.invoice._schema",
    "Quantity": "vlkit.tools.invoice._schema",
    "iter_fields": "vlkit.tools.invoice._schema",
    "check_invoice": "vlkit.tools.invoice._checks",
    "is_valid_uscc": "vlkit.tools.invoice._uscc",
    "parse_chinese_amount": "vlkit.tools.invoice.numerals",
    "read_pages": "vlkit.tools.invoice._pages",
    "evaluate_folder": "vlkit.tools.invoice._eval",
    "evaluation_pairs": "vlkit.tools.invoice._eval",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from vlkit.tools.invoice._checks import check_invoice
    from vlkit.tools.invoice._eval import evaluate_folder, evaluation_pairs
    from vlkit.tools.invoice._pages import read_pages
    from vlkit.tools.invoice._schema import Identifier, Invoice, IsoDate, Money, Quantity, iter_fields
    from vlkit.tools.invoice._tool import InvoiceExtractor, InvoiceResult
    from vlkit.tools.invoice._uscc import is_valid_uscc
    from vlkit.tools.invoice.numerals import parse_chinese_amount
