"""The invoice schema: English invoices and receipts and the Chinese VAT invoice (增值税发票) in one model.

Money is :class:`~decimal.Decimal` (never float: 0.1 + 0.2 must equal 0.3 for the checks), written in
JSON as a plain digit string (``"1234.50"``) so that the decoding grammar bounds it and no exponent or
thousands separator sneaks in. Dates are ISO ``YYYY-MM-DD`` strings and currencies ISO 4217 codes:
the *shape* is enforced by the schema (and so by the grammar), while whether the date exists and the
code is real is a :mod:`check <vlkit.tools.invoice._checks>` — so a model's ``2024-02-30`` reaches the
user flagged instead of failing the whole answer.

Fields carry a :class:`Grounded` marker saying how :mod:`grounding <vlkit.tools.invoice.grounding>`
looks for them on the page. A user's own fields work the same way: subclass :class:`Invoice`, use
:data:`Money`, :data:`Quantity`, :data:`IsoDate` or :data:`Identifier`, and pass the class as ``schema=``::

    class MyInvoice(Invoice):
        purchase_order: Identifier | None = Field(None, description="PO number")

    InvoiceExtractor(llm, schema=MyInvoice)
"""

from __future__ import annotations

import datetime as _dt
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

__all__ = [
    "Grounded", "Money", "Quantity", "IsoDate", "CurrencyCode", "Identifier",
    "Party", "LineItem", "Invoice", "grounded_kind", "iter_fields",
]

MONEY_PATTERN = r"^-?\d{1,12}(\.\d{1,4})?$"
QUANTITY_PATTERN = r"^-?\d{1,12}(\.\d{1,10})?$"
"""Quantities and unit prices: Chinese VAT invoices print unit prices with up to 8+ decimals."""
DATE_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"


@dataclass(frozen=True)
class Grounded:
    """Annotation marker: grounding looks this field up on the page as a ``number``, ``date`` or ``identifier``."""

    kind: Literal["number", "date", "identifier"]


def _date_to_str(value: Any) -> Any:
    return value.isoformat() if isinstance(value, _dt.date) else value


Money = Annotated[
    Decimal,
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN}),
    Grounded("number"),
]
"""An amount of money: a Decimal, digits only in JSON (``"1234.50"``), no currency mark or separators."""
Quantity = Annotated[
    Decimal,
    WithJsonSchema({"type": "string", "pattern": QUANTITY_PATTERN}),
    Grounded("number"),
]
"""A quantity, unit price or rate: a Decimal with up to 10 decimals."""
IsoDate = Annotated[
    str,
    BeforeValidator(_date_to_str),
    StringConstraints(pattern=DATE_PATTERN),
    WithJsonSchema({"type": "string", "pattern": DATE_PATTERN}),
    Grounded("date"),
]
"""An ISO date string ``YYYY-MM-DD`` (a ``datetime.date`` is accepted too); existence is a check."""
CurrencyCode = Annotated[
    str, StringConstraints(pattern=CURRENCY_PATTERN), WithJsonSchema({"type": "string", "pattern": CURRENCY_PATTERN})
]
"""Three capital letters; whether it is a real ISO 4217 code is a check."""
Identifier = Annotated[str, Grounded("identifier")]
"""An id that must appear on the page as written (invoice number, tax id, account number)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Party(_Strict):
    """The seller (销售方) or buyer (购买方) of an invoice."""

    name: str | None = Field(None, description="Company or person name (名称)")
    tax_id: Identifier | None = Field(
        None, description="Tax id: 纳税人识别号 / 统一社会信用代码 (18 characters), VAT or GST number"
    )
    address: str | None = Field(None, description="Address (地址)")
    phone: Identifier | None = Field(None, description="Phone number (电话) as printed")
    bank: str | None = Field(None, description="Bank name (开户行)")
    account: Identifier | None = Field(None, description="Bank account number (账号) or IBAN")


class LineItem(_Strict):
    """One line of goods or services (货物或应税劳务、服务名称)."""

    description: str | None = Field(None, description="Item name or description")
    spec: str | None = Field(None, description="Specification / model (规格型号)")
    unit: str | None = Field(None, description="Unit of measure (单位)")
    quantity: Quantity | None = Field(None, description="Quantity (数量)")
    unit_price: Quantity | None = Field(None, description="Unit price (单价)")
    amount: Money | None = Field(None, description="Line amount (金额); before tax on VAT invoices")
    tax_rate: Quantity | None = Field(None, description="Tax rate in percent, 13 for 13% (税率)")
    tax_amount: Money | None = Field(None, description="Tax of this line (税额)")


class Invoice(_Strict):
    """An invoice or receipt as printed; absent fields are null, never computed."""

    document_type: Literal["invoice", "receipt", "vat_invoice"] | None = Field(
        None, description="vat_invoice for a Chinese 增值税发票"
    )
    invoice_number: Identifier | None = Field(None, description="Invoice or receipt number (发票号码)")
    invoice_code: Identifier | None = Field(None, description="Invoice code (发票代码), Chinese VAT invoices")
    issue_date: IsoDate | None = Field(None, description="Issue date (开票日期) as YYYY-MM-DD")
    check_code: Identifier | None = Field(None, description="Check code (校验码), Chinese VAT invoices")
    seller: Party | None = Field(None, description="Seller (销售方)")
    buyer: Party | None = Field(None, description="Buyer (购买方)")
    items: list[LineItem] = Field(default_factory=list, description="Line items in page order")
    subtotal: Money | None = Field(None, description="Total before tax (合计金额)")
    tax_total: Money | None = Field(None, description="Total tax (合计税额)")
    total: Money | None = Field(None, description="Amount due including tax (价税合计 小写)")
    total_in_words: str | None = Field(None, description="Total in words (价税合计 大写), as printed")
    currency: CurrencyCode | None = Field(None, description="ISO 4217 code, e.g. CNY, USD, EUR")
    payment_terms: str | None = Field(None, description="Payment terms or method")
    notes: str | None = Field(None, description="Notes / remarks (备注)")


# --------------------------------------------------------------------------- walking a schema


def grounded_kind(annotation: Any) -> str | None:
    """How a field of this annotation is grounded: ``number``, ``date``, ``identifier`` or None.

    Looks through ``Optional``/``Union`` and ``Annotated``; any Decimal, int or float field counts as a
    number, so a user's plain ``Decimal`` field is grounded without a marker.
    """
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, Grounded):
                return meta.kind
        return grounded_kind(annotation.__origin__)
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            kind = grounded_kind(arg)
            if kind is not None:
                return kind
        return None
    if isinstance(annotation, type) and issubclass(annotation, (Decimal, int, float)) and annotation is not bool:
        return "number"
    if annotation is _dt.date:
        return "date"
    return None


def iter_fields(model: BaseModel, prefix: str = "") -> typing.Iterator[tuple[str, Any, Any]]:
    """``(path, value, annotation)`` of every leaf field set on ``model``: ``seller.tax_id``, ``items[0].amount``."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            yield from iter_fields(value, path + ".")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from iter_fields(item, f"{path}[{i}].")
                else:
                    yield f"{path}[{i}]", item, _item_annotation(info.annotation)
        else:
            yield path, value, info.annotation


def _item_annotation(annotation: Any) -> Any:
    """The item type of ``list[X]`` (also inside ``Optional`` / ``Annotated``)."""
    origin = typing.get_origin(annotation)
    if origin is list:
        args = typing.get_args(annotation)
        return args[0] if args else Any
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is list or typing.get_origin(arg) in (Union, types.UnionType, Annotated):
            return _item_annotation(arg)
    return Any
