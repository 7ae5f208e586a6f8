"""``vlkit invoice FILE...`` (read invoices into checked JSON) and ``vlkit invoice eval FOLDER``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from vlkit.cli._console import console, err_console, plural, printable
from vlkit.cli._exits import FAILED, epilog
from vlkit.cli.llm import ModelOptions, with_model_options
from vlkit.cli._outputs import output_file, output_folder

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


def _model(options: ModelOptions, max_tokens: int) -> Any:
    return options.build(max_tokens=max_tokens, temperature=0.0, noise="the extracted values are noise")


def _per_file_errors() -> tuple[type[BaseException], ...]:
    """What is wrong with one file of a batch (corrupt, empty, too large, unreadable): reported for that
    file while the others are read. Anything else (no model, no server) stops the batch."""
    from vlkit.errors import DocumentError, ImageError

    return (DocumentError, ImageError)


def _cli_words(exc: BaseException) -> str:
    from vlkit.errors import said_on

    return said_on(exc, "cli")


def _file_failed(path: Path, exc: BaseException) -> None:
    from rich.text import Text

    err_console.print(Text.assemble(("failed", "bold red"), f" {printable(path)}: {printable(_cli_words(exc))}"),
                      highlight=False)


def _table(result: Any) -> Any:
    from rich.table import Table
    from rich.text import Text

    from vlkit.tools.invoice import iter_fields

    fields = Table(show_lines=False)
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
    title = Text(f"{printable(result.source)}  ({plural(result.pages, 'page')}, read by {', '.join(result.readers)})",
                 style="bold")  # its own line: a table title wraps at the table's width
    return title, fields, checks


@app.command("extract", epilog=epilog("a file could not be read, or an invoice failed a check"))
@with_model_options()
def extract(
    files: Annotated[list[Path], typer.Argument(help="Invoice or receipt files: PNG, JPEG, TIFF or PDF (every page is read).")],
    json_out: Annotated[
        Optional[Path],
        typer.Option("--json", help="Write one JSON result per line to this file (.jsonl); a file that could not be "
                                    "read gets a line with its error.", callback=output_file("--json")),
    ] = None,
    draw: Annotated[
        Optional[Path],
        typer.Option(help="Write each page with the fields' evidence boxes into this folder (created if missing).",
                     callback=output_folder("--draw")),
    ] = None,
    model_options: ModelOptions = ModelOptions(),
    max_tokens: MaxTokensOpt = 1024,
    reader: ReaderOpt = Reader.auto,
    no_reask: Annotated[bool, typer.Option("--no-reask", help="Do not ask failed fields again.")] = False,
) -> None:
    """Read invoices/receipts into JSON; every field is checked (arithmetic, 大写 amount, tax-id checksum,
    dates, currency, and whether it is printed on the page) and failed fields are asked again once.
    A file that cannot be read is reported and the others are still read.

    Examples:

      vlkit invoice scan.pdf photo.jpg --json out.jsonl --draw boxes/

      vlkit invoice --tiny qwen2_vl examples/assets/receipt.png   # offline, random weights
    """
    from vlkit.documents import open_document
    from vlkit.vision import MAX_IMAGE_PIXELS
    from vlkit.tools.invoice.draw import draw_evidence
    from vlkit.tools.invoice import InvoiceExtractor, InvoiceResult, read_pages

    per_file = _per_file_errors()
    failed: dict[Path, BaseException] = {}
    for path in files:  # a bad file is reported before a model loads, and the batch goes on without it
        try:
            open_document(path, max_pixels=model_options.max_image_pixels or MAX_IMAGE_PIXELS).close()
        except per_file as exc:
            failed[path] = exc
            _file_failed(path, exc)
    readable = [path for path in files if path not in failed]
    extractor = None
    if readable:
        llm = _model(model_options, max_tokens)
        extractor = InvoiceExtractor(llm, reader=reader.value, reask=not no_reask,
                                     max_image_pixels=model_options.max_image_pixels)
    out = open(json_out, "w", encoding="utf-8") if json_out else None  # noqa: SIM115 (closed below)
    passed = 0
    try:
        for path in files:
            if path in failed:
                result = InvoiceResult(source=str(path), pages=0, invoice=None, error=_cli_words(failed[path]))
            else:
                assert extractor is not None
                try:
                    with err_console.status(f"reading {printable(path.name)}"):
                        pages = read_pages(path, reader=extractor.reader, dpi=extractor.dpi,
                                           max_pixels=model_options.max_image_pixels)
                except per_file as exc:
                    failed[path] = exc
                    _file_failed(path, exc)
                    result = InvoiceResult(source=str(path), pages=0, invoice=None, error=_cli_words(exc))
                else:
                    with err_console.status(f"extracting {printable(path.name)} ({plural(len(pages), 'page')})"):
                        result = extractor.extract_pages(pages, source=str(path))
                    title, fields, checks = _table(result)
                    console.print(title)
                    console.print(fields)
                    console.print(checks)
                    passed += result.ok
                    if draw is not None:
                        for written in draw_evidence(result, pages, draw):
                            err_console.print(f"wrote {printable(written)}", style="dim", highlight=False, markup=False)
            if out is not None:
                out.write(result.model_dump_json() + "\n")
                out.flush()
    finally:
        if out is not None:
            out.close()
    if json_out:
        err_console.print(f"wrote {plural(len(files), 'result')} to {printable(json_out)}", markup=False, highlight=False)
    read = len(files) - len(failed)
    summary = f"{passed} of {plural(read, 'invoice')} passed every check"
    if failed:
        summary += f"; {len(failed)} of {plural(len(files), 'file')} could not be read: " + ", ".join(
            printable(p.name) for p in failed)
    err_console.print(summary, markup=False, highlight=False, style=None if passed == len(files) else "yellow")
    if passed < len(files):
        raise typer.Exit(FAILED)


@app.command("eval", epilog=epilog())
@with_model_options()
def evaluate(
    folder: Annotated[Path, typer.Argument(help="Folder of invoices (PNG/JPEG/TIFF/PDF), each with a ground-truth <stem>.json next to it.")],
    model_options: ModelOptions = ModelOptions(),
    max_tokens: MaxTokensOpt = 1024,
    reader: ReaderOpt = Reader.auto,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Score only the first N files.")] = None,
    json_out: Annotated[
        Optional[Path],
        typer.Option("--json", help="Write the per-file predictions and scores here (.jsonl).",
                     callback=output_file("--json")),
    ] = None,
) -> None:
    """Score extraction on a labelled folder: Donut's field-level F1 (flattened key paths) and
    tree-edit-distance accuracy, and the share of results whose checks all pass.

    Make a labelled folder with: python -m vlkit.tools.invoice.evalset /tmp/invoices
    """
    from rich.progress import Progress

    from vlkit.errors import DocumentError
    from vlkit.tools.invoice import InvoiceExtractor, evaluate_folder, evaluation_pairs

    found = evaluation_pairs(folder)[:limit] if limit else evaluation_pairs(folder)
    if not found:
        raise DocumentError(f"{folder}: no invoice files with a ground-truth <stem>.json next to them")
    from vlkit.documents import open_document
    from vlkit.vision import MAX_IMAGE_PIXELS

    for doc, _ in found:  # a bad document stops the evaluation before a model loads, not after minutes
        open_document(doc, max_pixels=model_options.max_image_pixels or MAX_IMAGE_PIXELS).close()
    llm = _model(model_options, max_tokens)
    extractor = InvoiceExtractor(llm, reader=reader.value, max_image_pixels=model_options.max_image_pixels)
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("extracting", total=len(found))
        report = evaluate_folder(found, extractor, on_file=lambda _: progress.advance(task))
    if json_out:
        with open(json_out, "w", encoding="utf-8") as fh:
            for row in report["files"]:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"{printable(folder)}: {plural(report['n'], 'file')}"))
    for column in ("field F1", "TED accuracy", "all checks pass", "s / invoice"):
        table.add_column(column, justify="right")
    table.add_row(f"{report['f1']:.3f}", f"{report['ted_accuracy']:.3f}", f"{report['checks_pass_rate']:.3f}",
                  f"{report['seconds_per_invoice']:.1f}")
    console.print(table)
