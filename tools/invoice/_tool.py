"""``InvoiceExtractor``: invoice or receipt (image, photo, PDF) -> schema-valid JSON, checked field by field.

One pass: read every page (text layer or OCR, with boxes) -> ask the model under the schema's grammar
(``with_structured_output(schema, include_raw=True)``, so the answer always parses locally) -> run
:func:`~vlkit.tools.invoice.check_invoice` -> re-ask the failed fields ONCE, alone (the model sees
only those fields, the value it gave and why it failed) -> check again. Nothing is "fixed" by vlkit:
a re-asked value is recorded next to the first one, and what still fails stays flagged.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from decimal import Decimal
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, create_model

from vlkit.tools.invoice._checks import Check, check_invoice
from vlkit.tools.invoice.grounding import Evidence, find_value
from vlkit.tools.invoice._pages import InvoicePage, read_pages
from vlkit.tools.invoice._schema import Invoice, grounded_kind, iter_fields

__all__ = ["InvoiceExtractor", "InvoiceResult", "FieldRevision", "InvoiceInput"]

logger = logging.getLogger(__name__)


def _prompt(name: str) -> Template:
    return Template(resources.files("vlkit.tools.invoice").joinpath("prompts", name).read_text(encoding="utf-8"))


class FieldRevision(BaseModel):
    """A field that failed a check and was asked again: both answers, and why it was asked."""

    model_config = ConfigDict(extra="forbid")

    path: str
    before: Any
    after: Any
    reason: str
    adopted: bool
    """False when the second answer was empty (the first value is kept, still flagged)."""


class InvoiceResult(BaseModel):
    """What :class:`InvoiceExtractor` returns for one file."""

    model_config = ConfigDict(extra="forbid")

    source: str
    pages: int
    invoice: SerializeAsAny[Invoice] | None
    """The extracted invoice (an instance of the schema given); None when the answer did not parse."""
    checks: list[Check] = Field(default_factory=list)
    evidence: dict[str, Evidence] = Field(default_factory=dict)
    """Key path -> where on the page the value was found (box in page pixels)."""
    revisions: list[FieldRevision] = Field(default_factory=list)
    raw: str = ""
    """The model's first answer, as generated."""
    reask_raw: str | None = None
    error: str | None = None
    """Why there is no invoice (the answer was cut off or did not validate)."""
    readers: list[str] = Field(default_factory=list)
    """Which reader read each page: ``text`` (PDF text layer), ``rapidocr`` or ``none``."""
    timings: dict[str, float] = Field(default_factory=dict)
    """Seconds spent reading pages (``ocr``), in the model (``model``) and in the checks (``checks``)."""

    @property
    def ok(self) -> bool:
        """True when there is an invoice and every check passed."""
        return self.invoice is not None and all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


class InvoiceInput(BaseModel):
    """Arguments of the tool call."""

    path: str = Field(description="Path of the invoice or receipt: PNG, JPEG, TIFF or PDF (every page is read)")


class InvoiceExtractor(BaseTool):
    """Reads invoices and receipts into validated JSON with any LangChain chat model.

    Example:
        ```python
        extractor = InvoiceExtractor(ChatQwenVL(), schema=MyInvoice)   # MyInvoice subclasses Invoice
        result = extractor.extract("scan.pdf")
        result.invoice.total, [c.message for c in result.failed]
        ```
    As a tool, ``extractor.invoke({"path": "scan.pdf"})`` returns the result as JSON.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = "read_invoice"
    description: str = (
        "Read an invoice or receipt (image or PDF file) into JSON: numbers, parties, line items, totals, "
        "with arithmetic and page-text checks per field."
    )
    args_schema: type[BaseModel] = InvoiceInput

    model: BaseChatModel
    """Any LangChain chat model that takes images and supports ``with_structured_output``."""
    schema_: type[Invoice] = Field(default=Invoice, alias="schema")
    """The schema to fill: :class:`Invoice` or a subclass with your own fields."""
    reader: str = "auto"
    """Page text: ``auto`` (text layer, else OCR), ``text``, ``rapidocr`` or ``none``."""
    dpi: int = 144
    """Resolution PDF pages are rendered at (for OCR, the model's view and ``--draw``)."""
    max_pixels: int | None = None
    """Visual budget per page image passed to the model (None: the model's default)."""
    max_image_pixels: int | None = None
    """Largest input image accepted, in pixels (larger files are refused before decoding)."""
    max_page_chars: int = 6000
    """Page text beyond this many characters per page is cut (the prompt must fit the context)."""
    reask: bool = True
    """Ask the failed fields again, once."""

    def __init__(self, model: BaseChatModel | None = None, /, **kwargs: Any) -> None:
        if model is not None:
            kwargs["model"] = model
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ LangChain tool

    def _run(self, path: str, **_: Any) -> str:
        return self.extract(path).model_dump_json()

    # ------------------------------------------------------------------ Python call

    def extract(self, path: str | Path) -> InvoiceResult:
        """Read ``path`` (every page) and return the checked result."""
        started = time.perf_counter()
        pages = read_pages(path, reader=self.reader, dpi=self.dpi, max_pixels=self.max_image_pixels)
        result = self.extract_pages(pages, source=str(path))
        result.timings["ocr"] = time.perf_counter() - started - sum(result.timings.values())
        return result

    def extract_pages(self, pages: list[InvoicePage], source: str = "") -> InvoiceResult:
        """Extract from pages already read (see :func:`~vlkit.tools.invoice.read_pages`)."""
        timings = {"model": 0.0, "checks": 0.0}
        result = InvoiceResult(source=source, pages=len(pages), invoice=None, readers=[p.reader for p in pages])
        tick = time.perf_counter()
        prompt = _prompt("extract.txt").substitute(**self._slots(pages), page_text=self._page_text(pages))
        answer = self._ask(pages, prompt, self.schema_)
        timings["model"] += time.perf_counter() - tick
        result.raw = _raw_text(answer)
        if answer.get("parsing_error") is not None or answer.get("parsed") is None:
            result.error = str(answer.get("parsing_error") or "the model gave no answer")
            result.checks = [Check(name="schema", ok=False, message=result.error)]
            result.timings = timings
            return result
        invoice = answer["parsed"]
        tick = time.perf_counter()
        checks = check_invoice(invoice, [p.text for p in pages])
        timings["checks"] += time.perf_counter() - tick
        failed = _failed_fields(checks)
        if self.reask and failed:
            invoice, checks = self._reask(pages, invoice, failed, result, timings)
        result.invoice = invoice
        result.checks = checks
        result.evidence = self._evidence(invoice, pages)
        result.timings = timings
        return result

    # ------------------------------------------------------------------ steps

    def _slots(self, pages: list[InvoicePage]) -> dict[str, str]:
        many = len(pages) > 1
        return {"kind": "invoice or receipt", "plural": "s" if many else "", "pronoun": "them" if many else "it"}

    def _page_text(self, pages: list[InvoicePage]) -> str:
        parts = []
        for p in pages:
            source = {"text": "PDF text layer", "rapidocr": "OCR"}.get(p.reader)
            if source is None:
                continue
            text = p.text.text[: self.max_page_chars]
            parts.append(f"Page {p.number} text ({source}):\n{text if text.strip() else '(no text found)'}")
        return "\n\n".join(parts) if parts else "(no page text: read the image)"

    def _message(self, pages: list[InvoicePage], prompt: str) -> HumanMessage:
        content: list[Any] = []
        for p in pages:
            block: dict[str, Any] = {
                "type": "image", "base64": base64.b64encode(p.png).decode("ascii"), "mime_type": "image/png",
            }
            if self.max_pixels is not None:
                block["max_pixels"] = self.max_pixels
            content.append(block)
        content.append({"type": "text", "text": prompt})
        return HumanMessage(content=content)

    def _ask(self, pages: list[InvoicePage], prompt: str, schema: type[BaseModel]) -> dict[str, Any]:
        runnable = self.model.with_structured_output(schema, include_raw=True)
        answer = runnable.invoke([self._message(pages, prompt)])
        if not isinstance(answer, dict):  # a model that ignores include_raw
            return {"raw": None, "parsed": answer, "parsing_error": None}
        return answer

    def _reask(
        self, pages: list[InvoicePage], invoice: Invoice, failed: dict[str, list[str]],
        result: InvoiceResult, timings: dict[str, float],
    ) -> tuple[Invoice, list[Check]]:
        leaves = {path: (value, annotation) for path, value, annotation in iter_fields(invoice)}
        failed = {path: why for path, why in failed.items() if path in leaves}
        keys = {path: re.sub(r"\W+", "_", path).strip("_") for path in failed}
        fields = {keys[p]: (leaves[p][1] | None, Field(None, description=p)) for p in failed}
        schema = create_model("FailedFields", __config__=ConfigDict(extra="forbid"), **fields)  # type: ignore[call-overload]
        lines = [f"- {keys[p]} ({p}): you gave {_show(leaves[p][0])}; {'; '.join(failed[p])}" for p in failed]
        prompt = _prompt("reask.txt").substitute(
            **self._slots(pages), failures="\n".join(lines), page_text=self._page_text(pages)
        )
        tick = time.perf_counter()
        answer = self._ask(pages, prompt, schema)
        timings["model"] += time.perf_counter() - tick
        result.reask_raw = _raw_text(answer)
        parsed = answer.get("parsed")
        if answer.get("parsing_error") is not None or parsed is None:
            logger.info("the re-ask did not parse (%s); the first answer stands", answer.get("parsing_error"))
            tick = time.perf_counter()
            checks = check_invoice(invoice, [p.text for p in pages])
            timings["checks"] += time.perf_counter() - tick
            return invoice, checks
        data = invoice.model_dump()
        for path in failed:
            new = getattr(parsed, keys[path], None)
            before = leaves[path][0]
            adopted = new is not None
            if adopted:
                _set_path(data, path, new)
            result.revisions.append(FieldRevision(
                path=path, before=_jsonable(before), after=_jsonable(new), reason="; ".join(failed[path]), adopted=adopted,
            ))
        try:
            revised = type(invoice).model_validate(data)
        except ValueError as exc:  # cannot happen with the same field types; keep the first answer if it does
            logger.warning("re-asked values do not fit the schema (%s); the first answer stands", exc)
            revised = invoice
        tick = time.perf_counter()
        checks = check_invoice(revised, [p.text for p in pages])
        timings["checks"] += time.perf_counter() - tick
        return revised, checks

    def _evidence(self, invoice: Invoice, pages: list[InvoicePage]) -> dict[str, Evidence]:
        out = {}
        for path, value, annotation in iter_fields(invoice):
            kind = grounded_kind(annotation)
            if value is None or kind is None:
                continue
            found = find_value(value, kind, [p.text for p in pages], field=path)
            if found is not None:
                out[path] = found
        return out


def _failed_fields(checks: list[Check]) -> dict[str, list[str]]:
    """Key path -> the messages of the failed checks that involve it, in check order.

    A failed cross-field check (``subtotal + tax = total``) names all its fields; when some of them are
    not on the page, only those are re-asked — the printed, grounded ones are not what went wrong.
    """
    ungrounded = {f for c in checks if c.name == "grounded" and not c.ok for f in c.fields}
    out: dict[str, list[str]] = {}
    for check in checks:
        if not check.ok:
            suspects = [f for f in check.fields if f in ungrounded] or check.fields
            for path in suspects:
                out.setdefault(path, []).append(f"{check.name}: {check.message}")
    return out


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``items[0].amount``-style ``path`` in a nested dict made by ``model_dump``."""
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if node[part] is None:  # e.g. seller was null
            node[part] = {} if not isinstance(parts[i + 1], int) else []
        node = node[part]
    node[parts[-1]] = value


def _jsonable(value: Any) -> Any:
    return format(value, "f") if isinstance(value, Decimal) else value


def _show(value: Any) -> str:
    return json.dumps(_jsonable(value), ensure_ascii=False)


def _raw_text(answer: dict[str, Any]) -> str:
    raw = answer.get("raw")
    if raw is None:
        return ""
    content = getattr(raw, "content", raw)
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
