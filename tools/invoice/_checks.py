"""Checks run on every extracted invoice: arithmetic, capital numerals, tax-id checksums, dates,
currencies and grounding in the page text. Each :class:`Check` names the fields it involves, so a
failure can be re-asked field by field — and stays flagged when the second answer fails too.

Tolerances (stated, because printed figures are rounded):

* a figure computed from one product (``quantity x unit_price``, ``amount x rate``) may differ from the
  printed one by half a cent plus what the rounding of the printed inputs can move it
  (``|q| x ½ulp(price) + |price| x ½ulp(q)``);
* a sum of ``n`` printed figures may differ from the printed total by half a cent per figure, and at
  least one cent (VAT invoices round each line's tax, then print the rounded total);
* ``subtotal + tax = total`` to the cent; capital numerals equal the figure exactly, to the fen.

Checks that do not apply (no line items, a non-Chinese tax id, no page text) are left out, not passed.
"""

from __future__ import annotations

import datetime as _dt
import typing
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from vlkit.documents import PageLines
from vlkit.tools.invoice.grounding import Evidence, as_pages, find_value, nearest_candidate
from vlkit.tools.invoice.numerals import ChineseAmountError, parse_chinese_amount
from vlkit.tools.invoice._schema import CURRENCY_PATTERN, Invoice, grounded_kind, iter_fields
from vlkit.tools.invoice._uscc import is_valid_uscc, normalise_uscc

__all__ = ["Check", "check_invoice", "iso4217_codes", "CENT"]

CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")


class Check(BaseModel):
    """One verification of an extracted invoice."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """What was checked, e.g. ``subtotal_plus_tax``, ``grounded``, ``tax_id_checksum``."""
    ok: bool
    message: str
    """Why it passed or failed, with the figures."""
    fields: list[str] = Field(default_factory=list)
    """Key paths of the fields involved (``items[0].amount``, ``seller.tax_id``)."""
    candidate: Evidence | None = None
    """For a failed grounding check: the nearest text on the page, with its box."""


@cache
def iso4217_codes() -> frozenset[str]:
    """The ISO 4217 alphabetic codes shipped with vlkit (``currencies.txt``)."""
    text = resources.files("vlkit.tools.invoice").joinpath("currencies.txt").read_text(encoding="ascii")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _half_ulp(value: Decimal) -> Decimal:
    exponent = value.as_tuple().exponent
    return Decimal(5).scaleb(exponent - 1) if isinstance(exponent, int) and exponent < 0 else Decimal(0)


def _fmt(value: Decimal) -> str:
    return format(value, "f")


def _arithmetic(inv: Invoice) -> list[Check]:
    out: list[Check] = []
    for i, item in enumerate(inv.items):
        p = f"items[{i}]"
        q, price, amount = item.quantity, item.unit_price, item.amount
        if q is not None and price is not None and amount is not None:
            expected = q * price
            tol = HALF_CENT + abs(q) * _half_ulp(price) + abs(price) * _half_ulp(q)
            ok = abs(expected - amount) <= tol
            out.append(Check(
                name="line_amount", ok=ok, fields=[f"{p}.quantity", f"{p}.unit_price", f"{p}.amount"],
                message=f"line {i + 1}: {_fmt(q)} x {_fmt(price)} = {_fmt(expected)}, amount {_fmt(amount)}"
                + ("" if ok else f" (off by {_fmt(abs(expected - amount))}, tolerance {_fmt(tol)})"),
            ))
        rate, tax = item.tax_rate, item.tax_amount
        if amount is not None and rate is not None and tax is not None:
            expected = amount * rate / 100
            tol = HALF_CENT + abs(rate) / 100 * _half_ulp(amount) + abs(amount) / 100 * _half_ulp(rate)
            tol = max(tol, CENT)
            ok = abs(expected - tax) <= tol
            out.append(Check(
                name="line_tax", ok=ok, fields=[f"{p}.amount", f"{p}.tax_rate", f"{p}.tax_amount"],
                message=f"line {i + 1}: {_fmt(amount)} x {_fmt(rate)}% = {_fmt(expected.quantize(CENT))}, "
                f"tax {_fmt(tax)}" + ("" if ok else f" (tolerance {_fmt(tol)})"),
            ))
    amounts = [(i, it.amount) for i, it in enumerate(inv.items) if it.amount is not None]
    no_tax = inv.tax_total is None or inv.tax_total == 0
    target_name = "subtotal" if inv.subtotal is not None else ("total" if no_tax and inv.total is not None else None)
    if amounts and target_name is not None:
        target = getattr(inv, target_name)
        total = sum((a for _, a in amounts), Decimal(0))
        tol = max(CENT, HALF_CENT * len(amounts))
        ok = abs(total - target) <= tol
        out.append(Check(
            name="lines_sum", ok=ok, fields=[f"items[{i}].amount" for i, _ in amounts] + [target_name],
            message=f"sum of {len(amounts)} line amounts {_fmt(total)}, {target_name} {_fmt(target)}"
            + ("" if ok else f" (tolerance {_fmt(tol)})"),
        ))
    taxes = [(i, it.tax_amount) for i, it in enumerate(inv.items) if it.tax_amount is not None]
    if taxes and inv.tax_total is not None:
        total = sum((t for _, t in taxes), Decimal(0))
        tol = max(CENT, HALF_CENT * len(taxes))
        ok = abs(total - inv.tax_total) <= tol
        out.append(Check(
            name="line_taxes_sum", ok=ok, fields=[f"items[{i}].tax_amount" for i, _ in taxes] + ["tax_total"],
            message=f"sum of {len(taxes)} line taxes {_fmt(total)}, tax total {_fmt(inv.tax_total)}"
            + ("" if ok else f" (tolerance {_fmt(tol)})"),
        ))
    if inv.subtotal is not None and inv.tax_total is not None and inv.total is not None:
        expected = inv.subtotal + inv.tax_total
        ok = abs(expected - inv.total) <= CENT
        out.append(Check(
            name="subtotal_plus_tax", ok=ok, fields=["subtotal", "tax_total", "total"],
            message=f"{_fmt(inv.subtotal)} + {_fmt(inv.tax_total)} = {_fmt(expected)}, total {_fmt(inv.total)}",
        ))
    return out


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _words(inv: Invoice) -> list[Check]:
    words = inv.total_in_words
    if not words or not _has_cjk(words):
        return []  # English amounts in words are not parsed (yet): no check rather than a false pass
    try:
        value = parse_chinese_amount(words)
    except ChineseAmountError as exc:
        return [Check(name="total_in_words", ok=False, fields=["total_in_words"], message=str(exc))]
    if inv.total is None:
        return [Check(name="total_in_words", ok=False, fields=["total_in_words", "total"],
                      message=f"the words say {_fmt(value)} but there is no total figure")]
    ok = value == inv.total
    return [Check(
        name="total_in_words", ok=ok, fields=["total_in_words", "total"],
        message=f"{words} = {_fmt(value)}, total {_fmt(inv.total)}",
    )]


def _tax_ids(inv: Invoice) -> list[Check]:
    out = []
    for path, value, _ in iter_fields(inv):
        if not path.endswith("tax_id") or not value:
            continue
        code = normalise_uscc(value)
        if len(code) != 18 or not code.isalnum():
            continue  # not a 统一社会信用代码 (a VAT/GST number, a legacy 15/20-digit 税号)
        ok = is_valid_uscc(code)
        out.append(Check(
            name="tax_id_checksum", ok=ok, fields=[path],
            message=f"{path} {value}: " + ("GB 32100-2015 check character is right" if ok else
                                            "not a valid 统一社会信用代码 (GB 32100-2015 checksum or format fails)"),
        ))
    return out


def _is_currency(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        schema = next((m for m in annotation.__metadata__ if hasattr(m, "json_schema")), None)
        return bool(schema and (schema.json_schema or {}).get("pattern") == CURRENCY_PATTERN)
    return any(_is_currency(a) for a in typing.get_args(annotation))


def _dates_and_currencies(inv: Invoice) -> list[Check]:
    out = []
    for path, value, annotation in iter_fields(inv):
        if value is None:
            continue
        if grounded_kind(annotation) == "date":
            try:
                _dt.date.fromisoformat(str(value))
                out.append(Check(name="date_exists", ok=True, fields=[path], message=f"{path} {value} exists"))
            except ValueError:
                out.append(Check(name="date_exists", ok=False, fields=[path], message=f"{path} {value} is not a date"))
        elif _is_currency(annotation):
            ok = str(value) in iso4217_codes()
            out.append(Check(
                name="currency_code", ok=ok, fields=[path],
                message=f"{path} {value} " + ("is an ISO 4217 code" if ok else "is not an ISO 4217 currency code"),
            ))
    return out


def _grounding(inv: Invoice, pages: list[PageLines]) -> list[Check]:
    out = []
    for path, value, annotation in iter_fields(inv):
        kind = grounded_kind(annotation)
        if value is None or kind is None or (isinstance(value, str) and not value.strip()):
            continue
        shown = _fmt(value) if isinstance(value, Decimal) else str(value)
        found = find_value(value, kind, pages, field=path)
        if found is not None:
            out.append(Check(name="grounded", ok=True, fields=[path], message=f"{path} {shown} is on page {found.page}"))
            continue
        near = nearest_candidate(value, kind, pages)
        hint = f"; nearest on the page: {near.text!r} (page {near.page})" if near else ""
        out.append(Check(
            name="grounded", ok=False, fields=[path], candidate=near,
            message=f"{path} {shown} does not appear in the page text{hint}",
        ))
    return out


def check_invoice(invoice: Invoice, page_text: str | PageLines | Sequence[PageLines] | None = None) -> list[Check]:
    """Every check that applies to ``invoice``; grounding too when ``page_text`` is given.

    ``page_text`` is the page's text as a string, or :class:`~vlkit.documents.PageLines` pages (with line boxes, so a
    failed value's nearest candidate comes with its position).

    Example:
        ```python
        failed = [c for c in check_invoice(inv, page_text=ocr_text) if not c.ok]
        ```
    """
    checks: list[Check] = []
    if invoice.total is None:
        checks.append(Check(name="has_total", ok=False, fields=["total"], message="no total was read"))
    checks += _arithmetic(invoice)
    checks += _words(invoice)
    checks += _tax_ids(invoice)
    checks += _dates_and_currencies(invoice)
    if page_text is not None:
        checks += _grounding(invoice, as_pages(page_text))
    return checks
