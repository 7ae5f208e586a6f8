"""``vlkit invoice FILE...`` (read invoices into checked JSON) and ``vlkit invoice eval FOLDER``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from vlkit.cli.console import console, err_console
from vlkit.cli.llm import BaseUrlOpt, DeviceOpt, Family, ModelOpt, TinyOpt, build_llm

__all__ = ["app"]


class _DefaultToExtract(TyperGroup):
    """``vlkit invoice a.png`` runs ``extract``: anything that is not a sub-command name goes to it."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["extract", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultToExtract,
    help="Read invoices and receipts (images, PDFs) into validated JSON: vlkit invoice FILE... | vlkit invoice eval FOLDER",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


class Reader(str, Enum):
    auto = "auto"
    text = "text"
    rapidocr = "rapidocr"
    none = "none"


MaxTokensOpt = Annotated[int, typer.Option(min=16, help="Most new tokens per answer (the JSON of a long invoice needs ~1000).")]
ReaderOpt = Annotated[Reader, typer.Option(help="Page text: PDF text layer where it covers the page else OCR (auto), or one of them, or none.")]


def _model(model: str | None, tiny: Family | None, base_url: str | None, max_tokens: int, device: str | None) -> Any:
    return build_llm(model=model, tiny=tiny, base_url=base_url, max_tokens=max_tokens, temperature=0.0,
                     device=device, noise="the extracted values are noise")


def _table(result: Any) -> Any:
    from rich.table import Table
    from rich.text import Text

    from vlkit.tools.invoice.schema import iter_fields

    title = Text(f"{result.source}  ({result.pages} page{'s' if result.pages != 1 else ''}, read by {', '.join(result.readers)})")
    fields = Table(title=title, show_lines=False, title_justify="left")
    fields.add_column("field")
    fields.add_column("value", overflow="fold")
    fields.add_column("checks")
    status: dict[str, list[bool]] = {}
    for check in result.checks:
        for path in check.fields:
            status.setdefault(path, []).append(check.ok)
    revised = {r.path for r in result.revisions if r.adopted}
    if result.invoice is not None:
        for path, value, _ in iter_fields(result.invoice):
            if value is None:
                continue
            marks = status.get(path, [])
            cell = Text("ok", style="green") if marks and all(marks) else Text("FAILED", style="bold red") if marks else Text("")
            if path in revised:
                cell.append(" (re-asked)", style="yellow")
            fields.add_row(Text(path), Text(str(value)), cell)
    checks = Table(show_header=True, title_justify="left")
    checks.add_column("check")
    checks.add_column("", width=4)
    checks.add_column("detail", overflow="fold")
    for check in result.checks:
        checks.add_row(
            Text(check.name), Text("ok", style="green") if check.ok else Text("FAIL", style="bold red"), Text(check.message)
        )
    return fields, checks


@app.command("extract")
def extract(
    files: Annotated[list[Path], typer.Argument(help="Invoice or receipt files: PNG, JPEG, TIFF or PDF (every page is read).")],
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write one JSON result per line to this file (.jsonl).")] = None,
    draw: Annotated[Optional[Path], typer.Option(help="Write each page with the fields' evidence boxes into this folder.")] = None,
    model: ModelOpt = None,
    tiny: TinyOpt = None,
    base_url: BaseUrlOpt = None,
    max_tokens: MaxTokensOpt = 1024,
    reader: ReaderOpt = Reader.auto,
    no_reask: Annotated[bool, typer.Option("--no-reask", help="Do not ask failed fields again.")] = False,
    device: DeviceOpt = None,
) -> None:
    """Read invoices/receipts into JSON; every field is checked (arithmetic, 大写 amount, tax-id checksum,
    dates, currency, and whether it is printed on the page) and failed fields are asked again once.

    Examples:

      vlkit invoice scan.pdf photo.jpg --json out.jsonl --draw boxes/

      vlkit invoice --tiny qwen2_vl examples/assets/receipt.png   # offline, random weights
    """
    from vlkit.tools.invoice.draw import draw_evidence
    from vlkit.tools.invoice.pages import read_pages
    from vlkit.tools.invoice.tool import InvoiceExtractor

    from vlkit.retrieval.ingest import open_document

    for path in files:  # refuse a bad file before loading a model
        open_document(path).close()
    extractor = InvoiceExtractor(_model(model, tiny, base_url, max_tokens, device), reader=reader.value, reask=not no_reask)
    out = open(json_out, "w", encoding="utf-8") if json_out else None  # noqa: SIM115 (closed below)
    failed_files = 0
    try:
        for path in files:
            with err_console.status(f"reading {path.name}"):
                pages = read_pages(path, reader=extractor.reader, dpi=extractor.dpi)
            with err_console.status(f"extracting {path.name} ({len(pages)} page{'s' if len(pages) != 1 else ''})"):
                result = extractor.extract_pages(pages, source=str(path))
            fields, checks = _table(result)
            console.print(fields)
            console.print(checks)
            if not result.ok:
                failed_files += 1
            if out is not None:
                out.write(result.model_dump_json() + "\n")
                out.flush()
            if draw is not None:
                for written in draw_evidence(result, pages, draw):
                    err_console.print(f"[dim]wrote {written}[/]", highlight=False, markup=True)
    finally:
        if out is not None:
            out.close()
    if json_out:
        err_console.print(f"wrote {len(files)} result(s) to {json_out}", markup=False, highlight=False)
    err_console.print(
        f"{len(files) - failed_files} of {len(files)} invoice(s) passed every check", markup=False, highlight=False
    )


@app.command("eval")
def evaluate(
    folder: Annotated[Path, typer.Argument(help="Folder of invoices (PNG/JPEG/TIFF/PDF), each with a ground-truth <stem>.json next to it.")],
    model: ModelOpt = None,
    tiny: TinyOpt = None,
    base_url: BaseUrlOpt = None,
    max_tokens: MaxTokensOpt = 1024,
    reader: ReaderOpt = Reader.auto,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Score only the first N files.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the per-file predictions and scores here (.jsonl).")] = None,
    device: DeviceOpt = None,
) -> None:
    """Score extraction on a labelled folder: Donut's field-level F1 (flattened key paths) and
    tree-edit-distance accuracy, and the share of results whose checks all pass.

    Make a labelled folder with: python -m vlkit.tools.invoice.evalset /tmp/invoices
    """
    from rich.progress import Progress

    from vlkit.errors import DocumentError
    from vlkit.tools.invoice.eval import evaluate_folder, pairs
    from vlkit.tools.invoice.tool import InvoiceExtractor

    found = pairs(folder)[:limit] if limit else pairs(folder)
    if not found:
        raise DocumentError(f"{folder}: no invoice files with a ground-truth <stem>.json next to them")
    extractor = InvoiceExtractor(_model(model, tiny, base_url, max_tokens, device), reader=reader.value)
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("extracting", total=len(found))
        report = evaluate_folder(found, extractor, on_file=lambda _: progress.advance(task))
    if json_out:
        with open(json_out, "w", encoding="utf-8") as fh:
            for row in report["files"]:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    from rich.table import Table

    table = Table(title=f"{folder}: {report['n']} files")
    for column in ("field F1", "TED accuracy", "all checks pass", "s / invoice"):
        table.add_column(column, justify="right")
    table.add_row(f"{report['f1']:.3f}", f"{report['ted_accuracy']:.3f}", f"{report['checks_pass_rate']:.3f}",
                  f"{report['seconds_per_invoice']:.1f}")
    console.print(table)
