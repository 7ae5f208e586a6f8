"""``vlkit kb …``: build and query a document knowledge base (PDFs, scans, photos of pages).

One index option, one :func:`open_index`: ``add`` creates the index, every other command needs it to
exist and says how to build it when it does not. Module level imports only typer/rich/stdlib, so
``vlkit kb search`` pays for the index (Chroma, the embedder) and nothing else — no torch unless the
index's embedder is a sentence-transformers model.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.text import Text

from vlkit.cli._console import console, err_console, plural, printable
from vlkit.cli._exits import FAILED, INTERRUPTED, epilog
from vlkit.cli._inputs import text_argument
from vlkit.cli.llm import ModelOptions, with_model_options
from vlkit.cli._outputs import output_folder

__all__ = [
    "app", "IndexOpt", "ChromaUrlOpt", "DEFAULT_INDEX", "MAX_IMAGE_PIXELS", "open_index", "add",
    "list_docs", "remove", "search", "ask", "eval_",
]

app = typer.Typer(
    help="Document knowledge base: add PDFs and images, then search or ask them. "
    "The index lives in --index (default: $VLKIT_INDEX or .vlkit/kb).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

DEFAULT_INDEX = Path(".vlkit/kb")


class RerankName(str, Enum):
    """``kb ask --rerank`` choices (the names of ``DocumentQA(rerank=...)``)."""

    vlm = "vlm"

from vlkit.vision.limits import MAX_IMAGE_PIXELS  # noqa: E402  (the default of kb add --max-image-pixels)

IndexOpt = Annotated[
    Path,
    typer.Option("--index", envvar="VLKIT_INDEX", show_default=True, callback=output_folder("--index", create=False),
                 help="Index folder; `vlkit kb add` creates it, the other commands read it."),
]
ChromaUrlOpt = Annotated[
    Optional[str],
    typer.Option("--chroma-url", envvar="VLKIT_CHROMA_URL", show_default=False,
                 help="Use a Chroma server, e.g. http://127.0.0.1:8000 (start one: chroma run --path DIR)."),
]


def _k(default_help: str) -> Any:
    """The one spelling of the page count on search, ask and eval: ``-k 3`` or ``--k 3``."""
    return typer.Option("-k", "--k", min=1, help=default_help)


def _argv_text(text: str) -> str:
    """A query or question from the command line with any non-UTF-8 bytes (surrogate escapes) as U+FFFD:
    embedders encode text to UTF-8 and would fail on them."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


class ReaderName(str, Enum):
    auto = "auto"
    text = "text"
    rapidocr = "rapidocr"
    tesseract = "tesseract"
    vlm = "vlm"



def open_index(index: Path, chroma_url: str | None = None, *, create: bool = False, **kwargs: Any) -> Any:
    """Open the index the options name, with the embedder it was built with (stored in its manifest).

    Only ``create=True`` (``kb add``) makes a new one; a missing index is an
    :class:`~vlkit.errors.IndexNotFoundError` that says how to build it, not an empty folder left behind.
    """
    from vlkit.errors import IndexNotFoundError
    from vlkit.retrieval import DocumentIndex

    if not create and not (index / "manifest.sqlite").is_file():
        raise IndexNotFoundError(
            f"no index at {index}; build one with: vlkit kb add FILES --index {index} "
            "(or point --index / $VLKIT_INDEX at an existing one)"
        )
    return DocumentIndex(index, chroma_url=chroma_url, **kwargs)


def _progress_bar() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from vlkit.cli._progress import PageRate  # rich.progress: an import a `kb search` need not pay for

    return Progress(TextColumn("[bold]reading pages"), BarColumn(), MofNCompleteColumn(), PageRate(),
                    TimeElapsedColumn(), console=err_console, transient=False)


_STYLES = {"added": "green", "replaced": "yellow", "resumed": "yellow", "unchanged": "dim", "skipped": "dim",
           "failed": "red"}


@app.command("add", epilog=epilog("a file could not be read (the others are added)"))
def add(
    paths: Annotated[list[Path], typer.Argument(help="PDF, PNG, JPEG or TIFF files, or folders (searched recursively).")],
    reader: Annotated[
        ReaderName,
        typer.Option(help="How pages become text: auto = text layer if the page has one, else OCR; "
                     "text = PDF text layer only; rapidocr = OCR every page; tesseract = OCR every page with the "
                     "tesseract program (faster on English scans; apt-get install tesseract-ocr tesseract-ocr-chi-sim); "
                     "vlm = transcribe with --model."),
    ] = ReaderName.auto,
    dpi: Annotated[int, typer.Option(min=36, max=600, help="Resolution pages are rendered at (stored and OCR'd).")] = 150,
    model: Annotated[
        Optional[str], typer.Option("--model", "-m", help="With --reader vlm: model id or local folder.")
    ] = None,
    base_url: Annotated[
        Optional[str], typer.Option(help="With --reader vlm: an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
    ] = None,
    embedder: Annotated[
        Optional[str],
        typer.Option("--embedder", "-e", show_default=False,
                     help="Embedding model of a NEW index: use = multilingual Universal Sentence Encoder "
                     "(default; offline, numpy, no torch), minilm = all-MiniLM-L6-v2 (English; packaged in "
                     "vlkit\\[kb], offline), or any sentence-transformers model id or local folder (e.g. "
                     "BAAI/bge-m3). An existing index keeps the one it was built with."),
    ] = None,
    max_image_pixels: Annotated[
        int, typer.Option(min=1, help="Image files with more pixels than this are refused before decoding "
                          "(decompression-bomb guard); raise it for huge scans.")
    ] = MAX_IMAGE_PIXELS,
    index: IndexOpt = DEFAULT_INDEX,
    chroma_url: ChromaUrlOpt = None,
) -> None:
    """Add documents. Unchanged files are kept, changed ones replaced, interrupted ones resumed, types
    vlkit does not read skipped. A file that fails is reported and the others are added.

    Examples:

      vlkit kb add reports/ scans/receipt.png

      vlkit kb add --reader rapidocr --dpi 200 old_scans/

      vlkit kb add --embedder sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2 docs/
    """
    llm = None
    if reader is ReaderName.vlm:
        from vlkit.cli.llm import build_llm

        llm = build_llm(model=model, base_url=base_url)
    from vlkit.retrieval import make_embedder

    kb = open_index(index, chroma_url, create=True, dpi=dpi, reader=reader.value, model=llm,
                    embedder=make_embedder(embedder) if embedder else None, max_image_pixels=max_image_pixels,
                    on_busy=lambda message: err_console.print(printable(message), style="yellow", markup=False))
    committed = [0]
    try:
        with _progress_bar() as bar:
            task = bar.add_task("pages", total=None, start=False)

            def progress(done: int, total: int) -> None:
                if bar.tasks[0].start_time is None:  # the clock starts with reading, not with a lock wait
                    bar.start_task(task)
                bar.update(task, completed=done, total=total)
                committed[0] = done

            summary = kb.add(paths, progress=progress)
    except KeyboardInterrupt:
        # every committed page is in the index: the next run of the same command resumes after it
        err_console.print(f"interrupted — {plural(committed[0], 'page')} kept; run the same command again to resume",
                          style="yellow", markup=False, highlight=False)
        raise typer.Exit(INTERRUPTED) from None
    finally:
        kb.close()

    _print_summary(summary)
    if summary.failed:
        raise typer.Exit(FAILED)


def _print_summary(summary: Any) -> None:
    from rich.table import Table

    wall = summary.wall_s
    rate = f"{summary.pages / wall:.2f}" if wall > 0 else "…"
    folder, shown = _under_one_folder([f.display_path for f in summary.files])
    title = (f"{plural(len(summary.files), 'file')}{f' in {folder}' if folder else ''}, "
             f"{plural(summary.pages, 'page')} read in {wall:.2f} s ({rate} pages/s)")
    console.print(Text(printable(title)), overflow="fold")  # its own line: a table title wraps at the table's width
    table = Table()
    table.add_column("file", overflow="fold", ratio=2)
    table.add_column("status", no_wrap=True)
    table.add_column("pages", justify="right", no_wrap=True)
    table.add_column("doc id / reason", overflow="fold", ratio=3, min_width=16)  # an id is 16 characters
    for f, name in zip(summary.files, shown):
        table.add_row(Text(printable(name)), Text(f.status, style=_STYLES.get(f.status, "")), str(f.pages),
                      Text(printable(_cli_reason(f) or f.doc_id or "")))
    console.print(table)
    statuses = list(dict.fromkeys([*_STYLES, *(f.status for f in summary.files)]))
    counts = ", ".join(f"{len(summary.by_status(s))} {s}" for s in statuses if summary.by_status(s))
    console.print(Text(counts or "no files found"))
    if summary.skipped:
        console.print(Text(f"skipped: file types vlkit does not read; it reads {', '.join(summary.supported_suffixes)}"))


def _cli_reason(result: Any) -> str | None:
    """Why a file failed, in the command line's words when the error that failed it is kept."""
    from vlkit.errors import said_on

    failure = getattr(result, "failure", None)
    return said_on(failure, "cli") if failure is not None else result.reason


def _under_one_folder(paths: list[str]) -> tuple[str, list[str]]:
    """``(folder, paths relative to it)`` when every path lies under one folder, so the rows show what tells
    them apart (at 80 columns a shared ``/home/…/documents/`` prefix left no room for the names)."""
    import os

    if len(paths) < 2:
        return "", paths
    try:
        folder = os.path.commonpath([os.path.dirname(p) or "." for p in paths])
    except ValueError:  # absolute and relative paths mixed
        return "", paths
    if not folder or folder in (os.sep, "."):
        return "", paths
    return folder, [os.path.relpath(p, folder) for p in paths]


@app.command("list", epilog=epilog())
def list_docs(index: IndexOpt = DEFAULT_INDEX, chroma_url: ChromaUrlOpt = None) -> None:
    """List the documents in the index (doc id, pages, chunks, state)."""
    from rich.table import Table

    kb = open_index(index, chroma_url)
    try:
        docs = kb.documents()
    finally:
        kb.close()
    if not docs:
        console.print(Text(f"the index {printable(index)} is empty; add documents with: vlkit kb add PATH"))
        return
    folder, paths = _under_one_folder([d.source_path for d in docs])
    console.print(Text(printable(f"{plural(len(docs), 'document')}" + (f" in {folder}" if folder else ""))),
                  overflow="fold")
    table = Table()
    table.add_column("doc id", no_wrap=True, min_width=16)  # ids are never cut: `kb remove` takes them
    table.add_column("file", overflow="fold", ratio=1)
    table.add_column("pages", justify="right", no_wrap=True)
    table.add_column("chunks", justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    show_path = any(path != d.file_name for d, path in zip(docs, paths))  # else the title's folder says it all
    if show_path:
        table.add_column("path", overflow="fold", ratio=2)
    for d, path in zip(docs, paths):
        state = Text(d.state) if d.state == "complete" else Text(f"{d.state} {d.pages_done}/{d.pages}", "yellow")
        table.add_row(d.doc_id, Text(printable(d.file_name)), str(d.pages), str(d.chunks), state,
                      *([Text(printable(path))] if show_path else []))
    console.print(table)


@app.command("remove", epilog=epilog())
def remove(
    doc: Annotated[str, typer.Argument(help="Doc id (from `vlkit kb list`), file name, or file path.")],
    index: IndexOpt = DEFAULT_INDEX,
    chroma_url: ChromaUrlOpt = None,
) -> None:
    """Remove a document and every trace of it (chunks, vectors, page images only it uses)."""
    kb = open_index(index, chroma_url)
    try:
        n = kb.remove(doc)
    finally:
        kb.close()
    console.print(f"removed '{printable(doc)}' ({n} chunks)", markup=False, highlight=False)


@app.command("search", epilog=epilog("nothing matched"))
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in any words.",
                                         callback=text_argument("query", "backup retention"))],
    k: Annotated[int, _k("How many pages to show.")] = 5,
    index: IndexOpt = DEFAULT_INDEX,
    chroma_url: ChromaUrlOpt = None,
) -> None:
    """Search the index (hybrid: embeddings + BM25); prints the best pages with their scores."""
    from vlkit.retrieval import HybridSearcher

    kb = open_index(index, chroma_url)
    try:
        hits = HybridSearcher(kb).search(_argv_text(query), k=k)
    finally:
        kb.close()
    if not hits:
        console.print("no matches (is the index empty? see `vlkit kb list`)", markup=False)
        raise typer.Exit(FAILED)
    for h in hits:
        snippet = " ".join(h.text.split())[:160]
        console.print(Text.assemble((f"{h.score:.3f}", "bold"), " ", (f"[{printable(h.file_name)} p.{h.page}]", "cyan"),
                                    " ", printable(snippet)), highlight=False)


@app.command("ask", epilog=epilog())
@with_model_options()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in English or Chinese.",
                                            callback=text_argument("question", "What is the invoice total?"))],
    k: Annotated[int, _k("Pages retrieved and given to the model.")] = 4,
    max_images: Annotated[int, typer.Option(min=0, help="How many of those pages are shown as images.")] = 2,
    max_tokens: Annotated[int, typer.Option(min=1, help="Longest answer, in tokens.")] = 512,
    model_options: ModelOptions = ModelOptions(),
    rerank: Annotated[
        Optional[RerankName], typer.Option(show_default=False,
                                           help="Reorder the retrieved pages before answering. vlm: the same model "
                                           "looks at the best max(k, 5) pages as images and lists the ones that "
                                           "answer, best first (one more model call per question). "
                                           "Default: the search order.")
    ] = None,
    index: IndexOpt = DEFAULT_INDEX,
    chroma_url: ChromaUrlOpt = None,
) -> None:
    """Answer QUESTION from the indexed documents, citing pages as \\[file p.N]; says so when they do not
    contain it. The answer streams as it is written; the sources and a time/token line follow.

    Examples:

      vlkit kb ask "What is the invoice total?"

      vlkit kb ask --base-url http://127.0.0.1:8000/v1 -m Qwen/Qwen2.5-VL-3B-Instruct "…"

      vlkit kb ask --tiny qwen2_vl "What is the invoice total?"   # offline, random weights

      vlkit kb ask --rerank vlm "How do I add a new architecture?"   # the VLM reranks the best pages
    """
    from vlkit.cli.llm import resolve_backend

    # a contradiction is reported before the index opens
    resolve_backend(model_options.backend, model_options.base_url, model_options.tiny)
    kb = open_index(index, chroma_url)  # first: a missing index is reported before any model loads
    try:
        llm = model_options.build(max_tokens=max_tokens, noise="retrieval is real, the answer is noise")
        _answer(kb, llm, _argv_text(question), k=k, max_images=max_images, rerank=rerank.value if rerank else None)
    finally:
        kb.close()


def _answer(kb: Any, llm: Any, question: str, *, k: int, max_images: int, rerank: str | None = None) -> None:
    """Retrieve, then stream the model's answer like `vlkit chat` (same printer, same time/token line)."""
    from vlkit.cli._streaming import stream_answer
    from vlkit.retrieval import DocumentQA
    from vlkit.retrieval.qa import NOT_FOUND, is_chinese

    qa = DocumentQA(llm, kb, k=k, max_images=max_images, rerank=rerank)
    with err_console.status("retrieving pages"):
        sources = qa.retrieve(question)
    if not sources:  # DocumentQA does not call the model when no page is relevant; nor does the CLI
        console.print(NOT_FOUND["zh" if is_chinese(question) else "en"], highlight=False, markup=False)
        return
    stream_answer(llm, qa.messages(question, sources))
    console.print("Sources:", style="bold", markup=False)
    for hit in sources:
        console.print(f"  {printable(hit.citation)}  score={hit.score:.4f}", highlight=False, markup=False)


@app.command("eval", epilog=epilog())
def eval_(
    questions: Annotated[Path, typer.Argument(help='JSON lines: {"question", "file", "pages": [..], "lang"} per line; '
                                              'optional "doc_lang", "type" (how-to, definition, numeric, fact), '
                                              '"evidence", "also" (other files\' gold pages).')],
    k: Annotated[int, _k("Pages retrieved per question (MRR is @10, so at least 10 are fetched).")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON instead of a table.")] = False,
    index: IndexOpt = DEFAULT_INDEX,
    chroma_url: ChromaUrlOpt = None,
) -> None:
    """Page-level Recall@1, Recall@5 and MRR@10 of the index's hybrid search on labelled QUESTIONS.

    One row for all questions, one per question language (en, zh, …), one for cross-lingual questions
    (asked in another language than the document's) and one per question type (type:how-to, …).

      vlkit kb add ~/.cache/vlkit/devset/pdfs --index /tmp/devkb
      vlkit kb eval benchmarks/devset/questions.jsonl --index /tmp/devkb
    """
    from rich.progress import Progress
    from rich.table import Table

    from vlkit.retrieval import HybridSearcher
    from vlkit.retrieval.eval import evaluate, load_questions

    kb = open_index(index, chroma_url)
    try:
        qs = load_questions(questions)
        searcher = HybridSearcher(kb)
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("evaluating", total=len(qs))
            report = evaluate(searcher.search, qs, k=max(k, 10), progress=lambda n: progress.update(task, completed=n))
    finally:
        kb.close()
    data = report.as_dict()
    if as_json:
        console.print_json(json.dumps(data))
        return
    table = Table(title=f"{printable(questions.name)}: page-level retrieval")
    for col in ("group", "n", "Recall@1", "Recall@5", "MRR@10"):
        table.add_column(col, justify="left" if col == "group" else "right")
    blocks = [["all"], list(report.groups), [f"type:{t}" for t in report.types]]  # overall | languages | types
    for block in filter(None, blocks):
        for group in block:
            m = data[group]
            table.add_row(Text(printable(group)), str(m["n"]), f"{m['recall@1']:.3f}", f"{m['recall@5']:.3f}",
                          f"{m['mrr@10']:.3f}")
        table.add_section()
    console.print(table)
