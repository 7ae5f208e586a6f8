"""``vlkit kb …``: build and query a document knowledge base (PDFs, scans, photos of pages)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from vlkit.cli.console import console, err_console

__all__ = ["app", "IndexOpt", "ChromaUrlOpt", "open_index"]

app = typer.Typer(
    help="Document knowledge base: add PDFs and images, then search or ask them. "
    "The index lives in --index (default: $VLKIT_INDEX or .vlkit/kb).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

IndexOpt = Annotated[
    Path,
    typer.Option("--index", envvar="VLKIT_INDEX", help="Index folder (created on first add).", show_default=True),
]
ChromaUrlOpt = Annotated[
    Optional[str],
    typer.Option("--chroma-url", envvar="VLKIT_CHROMA_URL",
                 help="Use a Chroma server, e.g. http://127.0.0.1:8000 (start one: chroma run --path DIR).",
                 show_default=False),
]
DEFAULT_INDEX = Path(".vlkit/kb")


class ReaderName(str, Enum):
    auto = "auto"
    text = "text"
    rapidocr = "rapidocr"
    vlm = "vlm"


def open_index(index: Path, chroma_url: str | None, **kwargs: Any) -> Any:
    """Open the index the options name, with the embedder it was built with (stored in its manifest)."""
    from vlkit.retrieval.index import DocumentIndex

    return DocumentIndex(index, chroma_url=chroma_url, **kwargs)


@app.command("add")
def add(
    paths: Annotated[list[Path], typer.Argument(help="PDF, PNG, JPEG or TIFF files, or folders (searched recursively).")],
    reader: Annotated[
        ReaderName,
        typer.Option(help="How pages become text: auto = text layer if the page has one, else OCR; "
                     "text = PDF text layer only; rapidocr = OCR every page; vlm = transcribe with --model."),
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
        typer.Option("--embedder", "-e",
                     help="Embedding model of a NEW index: use = multilingual Universal Sentence Encoder "
                     "(default, offline), minilm = packaged all-MiniLM-L6-v2 (English), or any "
                     "sentence-transformers model id or local folder (e.g. BAAI/bge-m3). An existing "
                     "index keeps the one it was built with.", show_default=False),
    ] = None,
    index: IndexOpt = DEFAULT_INDEX,
    chroma_url: ChromaUrlOpt = None,
) -> None:
    """Add documents. Unchanged files are skipped, changed ones replaced, interrupted ones resumed.

    Examples:

      vlkit kb add reports/ scans/receipt.png

      vlkit kb add --reader rapidocr --dpi 200 old_scans/

      vlkit kb add --embedder sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2 docs/
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table
    from rich.text import Text

    class PagesPerSecond(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed:.2f} pages/s" if task.speed else "… pages/s", style="cyan")

    chat_model = None
    if reader is ReaderName.vlm:
        from vlkit.models import ChatQwenVL

        kwargs: dict[str, Any] = {"model": model} if model else {}
        if base_url:
            kwargs.update(backend="openai", base_url=base_url)
        chat_model = ChatQwenVL(**kwargs)
    from vlkit.retrieval.embeddings import make_embedder

    kb = open_index(index, chroma_url, dpi=dpi, reader=reader.value, chat_model=chat_model,
                    embedder=make_embedder(embedder) if embedder else None)
    with Progress(
        TextColumn("[bold]reading pages"), BarColumn(), MofNCompleteColumn(), PagesPerSecond(), TimeElapsedColumn(),
        console=err_console, transient=False,
    ) as bar:
        task = bar.add_task("pages", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = kb.add(paths, progress=progress)
    kb.close()

    table = Table(title=f"{len(summary.files)} files, {summary.pages} pages read", title_justify="left")
    table.add_column("file")
    table.add_column("status")
    table.add_column("pages", justify="right")
    table.add_column("doc id / error")
    styles = {"added": "green", "replaced": "yellow", "resumed": "yellow", "unchanged": "dim", "failed": "red"}
    for f in summary.files:
        table.add_row(f.path, f"[{styles.get(f.status, '')}]{f.status}[/]", str(f.pages), f.error or f.doc_id or "")
    console.print(table)
    counts = ", ".join(f"{len(summary.by_status(s))} {s}" for s in styles if summary.by_status(s))
    console.print(counts or "no files found")
    if summary.failed:
        raise typer.Exit(1)


@app.command("list")
def list_docs(index: IndexOpt = DEFAULT_INDEX, chroma_url: ChromaUrlOpt = None) -> None:
    """List the documents in the index (doc id, pages, chunks, state)."""
    from rich.table import Table

    kb = open_index(index, chroma_url)
    docs = kb.documents()
    kb.close()
    if not docs:
        console.print(f"the index {index} is empty; add documents with: vlkit kb add PATH")
        return
    table = Table()
    for col in ("doc id", "file", "pages", "chunks", "state", "path"):
        table.add_column(col, justify="right" if col in ("pages", "chunks") else "left")
    for d in docs:
        state = d.state if d.state == "complete" else f"[yellow]{d.state} {d.pages_done}/{d.pages}[/]"
        table.add_row(d.doc_id, d.file_name, str(d.pages), str(d.chunks), state, d.source_path)
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
    console.print(f"removed '{doc}' ({n} chunks)")


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in any words.")],
    k: Annotated[int, typer.Option("-k", min=1, help="How many pages to show.")] = 5,
    index: IndexOpt = DEFAULT_INDEX,
    chroma_url: ChromaUrlOpt = None,
) -> None:
    """Search the index; prints the best pages with their scores."""
    kb = open_index(index, chroma_url)
    try:
        rows = _search_rows(kb, query, k)
    finally:
        kb.close()
    if not rows:
        console.print("no matches (is the index empty? see `vlkit kb list`)")
        raise typer.Exit(1)
    for score, file_name, page, text in rows:
        snippet = " ".join(text.split())[:160]
        console.print(f"[bold]{score:.3f}[/] [cyan]\\[{file_name} p.{page}][/] {snippet}", highlight=False)


def _search_rows(kb: Any, query: str, k: int) -> list[tuple[float, str, int, str]]:
    try:
        from vlkit.retrieval.search import HybridSearcher
    except ImportError:
        HybridSearcher = None  # noqa: N806  (search layer not installed: dense only)
    if HybridSearcher is not None:
        hits = HybridSearcher(kb).search(query, k=k)
        return [(h.score, h.file_name, h.page, h.text) for h in hits]
    best: dict[tuple[str, int], tuple[float, str, int, str]] = {}
    for chunk, score in kb.dense_search(query, k * 4):
        key = (chunk.doc_id, chunk.page)
        if key not in best or score > best[key][0]:
            best[key] = (score, chunk.file_name, chunk.page, chunk.text)
    return sorted(best.values(), key=lambda r: -r[0])[:k]


try:  # `vlkit kb ask` and friends, from the search/QA layer when present
    from vlkit.cli.kb_ask import register as _register_ask
except ImportError:
    _register_ask = None
if _register_ask is not None:
    _register_ask(app)
