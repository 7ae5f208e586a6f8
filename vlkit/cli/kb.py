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

from vlkit.cli.llm import BackendName, BackendOpt, BaseUrlOpt, ModelOpt, TinyOpt
from vlkit.cli.console import console, err_console, printable

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

MAX_IMAGE_PIXELS = 64_000_000
"""Default of ``kb add --max-image-pixels`` (the README's 64 MP)."""

IndexOpt = Annotated[
    Path,
    typer.Option("--index", envvar="VLKIT_INDEX", show_default=True,
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

    from vlkit.cli.progress import PageRate  # rich.progress: ~20 ms a `kb search` need not import

    return Progress(TextColumn("[bold]reading pages"), BarColumn(), MofNCompleteColumn(), PageRate(),
                    TimeElapsedColumn(), console=err_console, transient=False)


_STYLES = {"added": "green", "replaced": "yellow", "resumed": "yellow", "unchanged": "dim", "skipped": "dim",
           "failed": "red"}


@app.command("add")
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
    vlkit does not read skipped. Exit status 1 when a file failed.

    Examples:

      vlkit kb add reports/ scans/receipt.png

      vlkit kb add --reader rapidocr --dpi 200 old_scans/

      vlkit kb add --embedder sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2 docs/
    """
    chat_model = None
    if reader is ReaderName.vlm:
        from vlkit.cli.llm import build_llm

        chat_model = build_llm(model=model, base_url=base_url)
    from vlkit.retrieval import make_embedder

    kb = open_index(index, chroma_url, create=True, dpi=dpi, reader=reader.value, chat_model=chat_model,
                    embedder=make_embedder(embedder) if embedder else None, max_image_pixels=max_image_pixels,
                    on_busy=lambda message: err_console.print(printable(message), style="yellow", markup=False))
    try:
        with _progress_bar() as bar:
            task = bar.add_task("pages", total=None, start=False)

            def progress(done: int, total: int) -> None:
                if bar.tasks[0].start_time is None:  # the clock starts with reading, not with a lock wait
                    bar.start_task(task)
                bar.update(task, completed=done, total=total)

            summary = kb.add(paths, progress=progress)
    finally:
        kb.close()

    _print_summary(summary)
    if summary.failed:
        raise typer.Exit(1)


def _print_summary(summary: Any) -> None:
    from rich.table import Table

    wall = summary.wall_s
    rate = f"{summary.pages / wall:.2f}" if wall > 0 else "…"
    table = Table(title=f"{len(summary.files)} files, {summary.pages} pages read in {wall:.2f} s ({rate} pages/s)",
                  title_justify="left")
    for col in ("file", "status", "pages", "doc id / reason"):
        table.add_column(col, justify="right" if col == "pages" else "left")
    for f in summary.files:
        table.add_row(Text(printable(f.display_path)), Text(f.status, style=_STYLES.get(f.status, "")), str(f.pages),
                      Text(printable(f.reason or f.doc_id or "")))
    console.print(table)
    statuses = list(dict.fromkeys([*_STYLES, *(f.status for f in summary.files)]))
    counts = ", ".join(f"{len(summary.by_status(s))} {s}" for s in statuses if summary.by_status(s))
    console.print(Text(counts or "no files found"))
    if summary.skipped:
        console.print(Text(f"skipped: file types vlkit does not read; it reads {', '.join(summary.supported_suffixes)}"))


@app.command("list")
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
    table = Table()
    for col in ("doc id", "file", "pages", "chunks", "state", "path"):
        table.add_column(col, justify="right" if col in ("pages", "chunks") else "left")
    for d in docs:
        state = Text(d.state) if d.state == "complete" else Text(f"{d.state} {d.pages_done}/{d.pages}", "yellow")
        table.add_row(d.doc_id, Text(printable(d.file_name)), str(d.pages), str(d.chunks), state,
                      Text(printable(d.source_path)))
    console.print(table)


@app.command("remove")
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


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in any words.")],
    k: Annotated[int, _k("How many pages to show.")] = 5,
    index: IndexOpt = DEFAULT_INDEX,
    chroma_url: ChromaUrlOpt = None,
) -> None:
    """Search the index (hybrid: embeddings + BM25); prints the best pages with their scores.
    Exit status 1 when nothing matches."""
    from vlkit.retrieval import HybridSearcher

    kb = open_index(index, chroma_url)
    try:
        hits = HybridSearcher(kb).search(_argv_text(query), k=k)
    finally:
        kb.close()
    if not hits:
        console.print("no matches (is the index empty? see `vlkit kb list`)", markup=False)
        raise typer.Exit(1)
    for h in hits:
        snippet = " ".join(h.text.split())[:160]
        console.print(Text.assemble((f"{h.score:.3f}", "bold"), " ", (f"[{printable(h.file_name)} p.{h.page}]", "cyan"),
                                    " ", printable(snippet)), highlight=False)


@app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="The question, in English or Chinese.")],
    k: Annotated[int, _k("Pages retrieved and given to the model.")] = 4,
    max_images: Annotated[int, typer.Option(min=0, help="How many of those pages are shown as images.")] = 2,
    max_tokens: Annotated[int, typer.Option(min=1, help="Longest answer, in tokens.")] = 512,
    model: ModelOpt = None,
    backend: BackendOpt = BackendName.transformers,
    base_url: BaseUrlOpt = None,
    tiny: TinyOpt = None,
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
    contain it.

    Examples:

      vlkit kb ask "What is the invoice total?"

      vlkit kb ask --backend openai --base-url http://127.0.0.1:8000/v1 -m Qwen/Qwen2.5-VL-3B-Instruct "…"

      vlkit kb ask --tiny qwen2_vl "What is the invoice total?"   # offline, random weights

      vlkit kb ask --rerank vlm "How do I add a new architecture?"   # the VLM reranks the best pages
    """
    from vlkit.errors import UserError

    if tiny is not None and backend is BackendName.openai:
        raise UserError("--tiny runs a local random checkpoint; drop --backend openai (or drop --tiny)")
    kb = open_index(index, chroma_url)  # first: a missing index is reported before any model loads
    try:
        _answer(kb, _argv_text(question), k=k, max_images=max_images, max_tokens=max_tokens, model=model,
                backend=backend.value, base_url=base_url, tiny=tiny, rerank=rerank.value if rerank else None)
    finally:
        kb.close()


def _answer(kb: Any, question: str, *, k: int, max_images: int, max_tokens: int, model: str | None,
            backend: str, base_url: str | None, tiny: str | None, rerank: str | None = None) -> None:
    from vlkit.cli.llm import build_llm
    from vlkit.retrieval import DocumentQA

    llm = build_llm(model=model, tiny=tiny, backend=backend, base_url=base_url, max_tokens=max_tokens,
                    noise="retrieval is real, the answer is noise")
    qa = DocumentQA(llm, kb, k=k, max_images=max_images, rerank=rerank)
    sources: list = []
    with err_console.status("retrieving and answering…"):
        pieces = qa.stream(question)
        first = next(pieces, None)
    for piece in _chain(first, pieces):
        if isinstance(piece, str):
            console.print(piece, end="", highlight=False, markup=False, soft_wrap=True)
        else:
            sources = piece
    console.print()
    if sources:
        console.print("Sources:", style="bold", markup=False)
        for hit in sources:
            console.print(f"  {printable(hit.citation)}  score={hit.score:.4f}", highlight=False, markup=False)


def _chain(first: Any, rest: Any) -> Any:
    if first is not None:
        yield first
    yield from rest


@app.command("eval")
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
