"""The extractor's control flow with a scripted chat model: what is asked, what is re-asked, what stays flagged.

The scripted model proves the flow only; real extraction is in test_tiny.py (tiny checkpoints).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from langchain_core.tools import BaseTool
from pydantic import Field

from tests.tools.invoice.conftest import ScriptedChatModel
from vlkit.tools.invoice import InvoiceExtractor, InvoiceResult
from vlkit.tools.invoice._schema import Identifier, Invoice

PDF = "004-invoice.pdf"  # text-layer PDF: fast to read


def truth(evalset: Path, name: str = PDF) -> dict:
    return json.loads((evalset / name).with_suffix(".json").read_text(encoding="utf-8"))


def text_of(message) -> str:
    return "".join(b["text"] for b in message.content if isinstance(b, dict) and b.get("type") == "text")


def test_ground_truth_passes_and_is_not_reasked(evalset: Path) -> None:
    model = ScriptedChatModel(answers=[truth(evalset)])
    result = InvoiceExtractor(model).extract(evalset / PDF)
    assert result.ok and result.revisions == [] and len(model.calls) == 1
    assert result.readers == ["text"] and set(result.timings) == {"ocr", "model", "checks"}
    (message,) = model.calls[0]["messages"]
    assert [b["type"] for b in message.content] == ["image", "text"]  # the page image next to its text
    assert truth(evalset)["invoice_number"] in text_of(message)  # the text layer is in the prompt
    assert result.evidence["total"].box is not None


def test_failed_fields_are_reasked_once_alone_and_the_fix_is_recorded(evalset: Path) -> None:
    good = truth(evalset)
    first = {**good, "total": str(Decimal(good["total"]) + 100), "invoice_number": good["invoice_number"] + "9"}
    model = ScriptedChatModel(answers=[first, {"total": good["total"], "invoice_number": good["invoice_number"]}])
    result = InvoiceExtractor(model).extract(evalset / PDF)
    assert len(model.calls) == 2
    schema = model.calls[1]["schema"]
    assert set(schema.model_fields) == {"total", "invoice_number"}  # only what failed
    reask = text_of(model.calls[1]["messages"][0])
    assert first["total"] in reask and "subtotal_plus_tax" in reask and "grounded" in reask  # what and why
    asked = reask.split("Page 1 text")[0]  # the request itself; the page text follows it
    assert good["seller"]["name"] not in asked  # nothing that passed is shown
    assert [line.split(" ")[1] for line in asked.splitlines() if line.startswith("- ")] == ["total", "invoice_number"]
    assert result.ok
    assert {r.path: (r.before, r.after, r.adopted) for r in result.revisions} == {
        "total": (first["total"], good["total"], True),
        "invoice_number": (first["invoice_number"], good["invoice_number"], True),
    }


def test_what_still_fails_stays_flagged(evalset: Path) -> None:
    good = truth(evalset)
    first = {**good, "total": "1.13"}
    model = ScriptedChatModel(answers=[first, {"total": "2.17"}])
    result = InvoiceExtractor(model).extract(evalset / PDF)
    assert len(model.calls) == 2  # once, not in a loop
    assert not result.ok and result.invoice.total == Decimal("2.17")
    assert {c.name for c in result.failed} >= {"subtotal_plus_tax", "grounded"}
    assert result.revisions[0].before == "1.13" and result.revisions[0].after == "2.17"


def test_an_empty_second_answer_keeps_the_first_value_flagged(evalset: Path) -> None:
    good = truth(evalset)
    model = ScriptedChatModel(answers=[{**good, "total": "1.00"}, {}])
    result = InvoiceExtractor(model).extract(evalset / PDF)
    assert result.invoice.total == Decimal("1.00") and not result.ok
    assert result.revisions[0].adopted is False


def test_no_reask_when_disabled(evalset: Path) -> None:
    model = ScriptedChatModel(answers=[{**truth(evalset), "total": "1.00"}])
    result = InvoiceExtractor(model, reask=False).extract(evalset / PDF)
    assert len(model.calls) == 1 and not result.ok and result.revisions == []


def test_user_schema_with_extra_fields(evalset: Path) -> None:
    class MyInvoice(Invoice):
        purchase_order: Identifier | None = Field(None, description="PO number")

    answer = {**truth(evalset), "purchase_order": "PO-0000"}  # not on the page
    model = ScriptedChatModel(answers=[answer, {"purchase_order": None}])
    result = InvoiceExtractor(model, schema=MyInvoice).extract(evalset / PDF)
    assert model.calls[0]["schema"] is MyInvoice and isinstance(result.invoice, MyInvoice)
    assert set(model.calls[1]["schema"].model_fields) == {"purchase_order"}
    assert [c.fields for c in result.failed] == [["purchase_order"]]
    assert json.loads(result.model_dump_json())["invoice"]["purchase_order"] == "PO-0000"


def test_is_a_langchain_tool(evalset: Path) -> None:
    tool = InvoiceExtractor(ScriptedChatModel(answers=[truth(evalset)]))
    assert isinstance(tool, BaseTool) and tool.name == "read_invoice"
    assert set(tool.args_schema.model_json_schema()["properties"]) == {"path"}
    out = InvoiceResult.model_validate_json(tool.invoke({"path": str(evalset / PDF)}))
    assert out.ok and out.invoice.total == Decimal(truth(evalset)["total"])


def test_multi_page_pdf_every_page_is_read_and_shown(evalset: Path, tmp_path: Path) -> None:
    import pymupdf

    two = tmp_path / "two-pages.pdf"
    doc = pymupdf.open(evalset / "005-receipt.pdf")  # page 1: some other receipt
    doc.insert_pdf(pymupdf.open(evalset / PDF))  # page 2: the invoice
    doc.save(two)
    model = ScriptedChatModel(answers=[truth(evalset)])
    result = InvoiceExtractor(model).extract(two)
    (message,) = model.calls[0]["messages"]
    assert [b["type"] for b in message.content] == ["image", "image", "text"]
    assert "Page 1 text" in text_of(message) and "Page 2 text" in text_of(message)
    assert result.pages == 2 and result.ok
    assert result.evidence["invoice_number"].page == 2
