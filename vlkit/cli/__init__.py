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

def _version(value: bool) -> None:
    if value:
        from vlkit import __version__

        typer.echo(f"vlkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print vlkit's version and exit."),
) -> None:
    """Agents, tools and document Q&A with small Qwen vision-language models."""


from vlkit.cli import chat as _chat  # noqa: E402  (registers `vlkit chat`)

app.command("chat")(_chat.chat)

from vlkit.cli import agent as _agent  # noqa: E402

app.command("agent")(_agent.agent)

from vlkit.cli import gui as _gui  # noqa: E402
from vlkit.cli import html as _html  # noqa: E402
from vlkit.cli import invoice as _invoice  # noqa: E402
from vlkit.cli import kb as _kb  # noqa: E402
from vlkit.cli import serve as _serve  # noqa: E402

# Command modules import only typer/rich at module level; heavy imports happen inside the commands,
# so `vlkit kb search` does not pay for torch or Playwright.
app.add_typer(_kb.app, name="kb")
app.add_typer(_html.app, name="html")
app.add_typer(_invoice.app, name="invoice")
app.add_typer(_gui.app, name="gui")
app.command("serve")(_serve.serve)


def main() -> None:
    """Entry point: typed vlkit errors become one red line and exit code 2, not a traceback."""
    from rich.text import Text

    from vlkit.cli.console import err_console, printable

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except VlkitError as exc:
        # the message is data (file names, pip hints like vlkit[test]): never parsed as Rich markup
        err_console.print(Text.assemble(("error:", "bold red"), " ", printable(exc)), highlight=False)
        raise SystemExit(2) from None
