"""Real generation on tiny random checkpoints of each family: a schema-valid Invoice from an image and a PDF.

The weights are random, so the values are noise; what is real is the whole path — pages, prompt with
page text, images through the processor, grammar-constrained decoding of the schema, parsing,
checks. Tiny models write few tokens before closing the JSON, so most runs use a schema subset whose
required fields force the grammar through dates, money and ids; qwen2_vl also fills the full default schema.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import Field

from tests.tools.invoice.conftest import FAMILY_NAMES, tiny
from vlkit.tools.invoice import InvoiceExtractor
from vlkit.tools.invoice._schema import CurrencyCode, Identifier, Invoice, IsoDate, Money

pytestmark = pytest.mark.slow


class RequiredFields(Invoice):
    """Forces values through the grammar's number, date, currency and id rules."""

    invoice_number: Identifier = Field(description="Invoice number")
    issue_date: IsoDate = Field(description="YYYY-MM-DD")
    total: Money = Field(description="Amount due")
    currency: CurrencyCode = Field(description="ISO 4217 code")


def extractor(family: str, schema: type[Invoice]) -> InvoiceExtractor:
    from vlkit.models import ChatQwenVL

    return InvoiceExtractor(ChatQwenVL(model=tiny(family), max_tokens=160), schema=schema)


@pytest.fixture(scope="module")
def receipt_pages(receipt_png: Path):
    from vlkit.tools.invoice._pages import read_pages

    return read_pages(receipt_png)  # OCR once for the three families


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_tiny_model_fills_the_schema_from_an_image_and_a_pdf(family: str, receipt_pages, evalset: Path) -> None:
    schema = Invoice if family == "qwen2_vl" else RequiredFields
    ex = extractor(family, schema)
    from_image = ex.extract_pages(receipt_pages, source="receipt.png")
    from_pdf = ex.extract(evalset / "004-invoice.pdf")
    for result in (from_image, from_pdf):
        assert result.error is None, result.error
        assert isinstance(result.invoice, schema)
        assert schema.model_validate_json(result.raw) is not None  # the raw answer itself is schema-valid JSON
        if schema is RequiredFields:
            assert len(result.invoice.issue_date) == 10 and result.invoice.currency.isupper()
        assert result.checks, "checks run on every result"
        assert json.loads(result.model_dump_json())["source"] == result.source
    assert from_image.readers == ["rapidocr"] and from_pdf.readers == ["text"]
