"""The ``vlkit`` command line: ``vlkit chat`` and ``vlkit kb …``."""

from __future__ import annotations

import logging

import typer

from vlkit.errors import VlkitError

__all__ = ["app", "main"]

app = typer.Typer(
    name="vlkit",
    help="Agents, tools and document Q&A with small Qwen vision-language models.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)

from vlkit.cli import chat as _chat  # noqa: E402  (registers `vlkit chat`)

app.command("chat")(_chat.chat)

try:
    from vlkit.cli.kb import app as _kb_app  # noqa: E402
except ImportError:  # the kb CLI arrives with the knowledge-base extra
    _kb_app = None
if _kb_app is not None:
    app.add_typer(_kb_app, name="kb")


def main() -> None:
    """Entry point: typed vlkit errors become one red line and exit code 2, not a traceback."""
    from vlkit.cli.console import err_console

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except VlkitError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise SystemExit(2) from None
