"""``vlkit kb ask`` and ``vlkit kb eval``: cited answers and retrieval metrics over an index.

``register(app)`` adds both commands to the ``vlkit kb`` Typer sub-app.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

from vlkit.cli.console import console, err_console

__all__ = ["register", "open_index"]

DEFAULT_INDEX = ".vlkit/kb"

IndexOpt = typer.Option(
    None, "--index", help="Index folder (default: $VLKIT_INDEX or .vlkit/kb).", show_default=False
)
ChromaOpt = typer.Option(None, "--chroma-url", help="Use a Chroma server, e.g. http://127.0.0.1:8000, instead of the embedded store.")


def open_index(index_dir: Path | None, chroma_url: str | None) -> Any:
    """Open an index folder with the embedder it was built with (read from its manifest)."""
    from vlkit.errors import UserError
    from vlkit.retrieval.index import DocumentIndex

    path = Path(index_dir or os.environ.get("VLKIT_INDEX") or DEFAULT_INDEX)
    if not (path / "manifest.sqlite").exists():
        raise UserError(f"no index at {path}; build one with `vlkit kb add FILES --index {path}` or pass --index DIR")
    return DocumentIndex(path, chroma_url=chroma_url)  # picks the embedder stored in the manifest


def register(app: typer.Typer) -> None:
    """Add ``ask`` and ``eval`` to the ``vlkit kb`` sub-app."""

    @app.command("ask")
    def ask(
        question: str = typer.Argument(..., help="The question, in English or Chinese."),
        index_dir: Path | None = IndexOpt,
        chroma_url: str | None = ChromaOpt,
        model: str | None = typer.Option(None, "--model", help="Chat model id or local folder (default: $VLKIT_MODEL or vlkit's default Qwen-VL)."),
        k: int = typer.Option(4, "--k", min=1, help="Pages retrieved and given to the model."),
        max_images: int = typer.Option(2, "--max-images", min=0, help="How many of those pages are shown as images."),
        max_tokens: int = typer.Option(512, "--max-tokens", min=1, help="Longest answer, in tokens."),
    ) -> None:
        """Answer QUESTION from the indexed documents, citing pages as \\[file p.N]; says so when they do not contain it."""
        from vlkit.models import ChatQwenVL
        from vlkit.retrieval.qa import DocumentQA

        index = open_index(index_dir, chroma_url)
        kwargs: dict[str, Any] = {"max_tokens": max_tokens}
        if model:
            kwargs["model"] = model
        qa = DocumentQA(ChatQwenVL(**kwargs), index, k=k, max_images=max_images)
        sources: list = []
        with err_console.status("retrieving and answering…"):
            pieces = qa.stream(question)
            first = next(pieces)
        console.print(first, end="", highlight=False, markup=False) if isinstance(first, str) else None
        for piece in pieces:
            if isinstance(piece, str):
                console.print(piece, end="", highlight=False, markup=False)
            else:
                sources = piece
        console.print()
        if sources:
            console.print("[bold]Sources:[/]")
            for hit in sources:
                console.print(f"  {hit.citation}  score={hit.score:.4f}", highlight=False, markup=False)

    @app.command("eval")
    def eval_(
        questions: Path = typer.Argument(..., help='JSON lines: {"question", "file", "pages": [..], "lang"} per line.'),
        index_dir: Path | None = IndexOpt,
        chroma_url: str | None = ChromaOpt,
        k: int = typer.Option(10, "--k", min=1, help="Pages retrieved per question (MRR is @10)."),
        as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON instead of a table."),
    ) -> None:
        """Page-level Recall@1, Recall@5 and MRR@10 of the index's hybrid search on labelled QUESTIONS."""
        from rich.progress import Progress
        from rich.table import Table

        from vlkit.retrieval.eval import evaluate, load_questions
        from vlkit.retrieval.search import HybridSearcher

        qs = load_questions(questions)
        index = open_index(index_dir, chroma_url)
        searcher = HybridSearcher(index)
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("evaluating", total=len(qs))
            report = evaluate(searcher.search, qs, k=max(k, 10),
                              progress=lambda n: progress.update(task, completed=n))
        data = report.as_dict()
        if as_json:
            console.print_json(json.dumps(data))
            return
        table = Table(title=f"{questions.name}: page-level retrieval")
        for col in ("group", "n", "Recall@1", "Recall@5", "MRR@10"):
            table.add_column(col, justify="left" if col == "group" else "right")
        for group, m in data.items():
            table.add_row(group, str(m["n"]), f"{m['recall@1']:.3f}", f"{m['recall@5']:.3f}", f"{m['mrr@10']:.3f}")
        console.print(table)
