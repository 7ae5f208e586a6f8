"""The ``vlkit`` command line: ``vlkit chat``, ``agent``, ``kb …``, ``html``, ``invoice``, ``gui``, ``serve``, ``export``, ``doctor``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import typer

from vlkit.errors import VlkitError
from vlkit.lazy import lazy_exports

__all__ = ["app", "main"]

# name -> (module, attribute, kind), in the order `vlkit --help` lists them. Command modules import only
# typer/rich at module level; heavy imports happen inside the commands.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "chat": ("vlkit.cli._chat", "chat", "command"),
    "agent": ("vlkit.cli._agent", "agent", "command"),
    "kb": ("vlkit.cli._kb", "app", "group"),
    "html": ("vlkit.cli._html", "app", "group"),
    "invoice": ("vlkit.cli._invoice", "app", "group"),
    "gui": ("vlkit.cli._gui", "app", "group"),
    "serve": ("vlkit.cli._serve", "serve", "command"),
    "export": ("vlkit.cli._export", "export", "command"),
    "doctor": ("vlkit.cli._doctor", "doctor", "command"),
}


def _version(value: bool) -> None:
    if value:
        from vlkit import __version__

        typer.echo(f"vlkit {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print vlkit's version and exit."),
) -> None:
    """Agents, tools and document Q&A with small Qwen vision-language models."""


def build_app(only: str | None = None) -> typer.Typer:
    """The ``vlkit`` Typer app with every command, or with ``only`` that one: a run of ``vlkit kb search``
    then neither imports the other command modules nor builds their options (a command's start-up is
    what ``benchmarks/bench_cli.py`` measures)."""
    import importlib

    root = typer.Typer(
        name="vlkit",
        help="Agents, tools and document Q&A with small Qwen vision-language models.",
        no_args_is_help=True,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    root.callback()(_root)
    from vlkit.cli._exits import epilog

    for name, (module, attr, kind) in _COMMANDS.items():
        if only is not None and name != only:
            continue
        loaded = importlib.import_module(module)
        target = getattr(loaded, attr)
        if kind == "group":
            root.add_typer(target, name=name)
        else:  # a command module may say what its exit status 1 means (EPILOG); the others have none
            root.command(name, epilog=getattr(loaded, "EPILOG", None) or epilog())(target)
    return root


# ``app``: the whole CLI (e.g. for typer.testing.CliRunner), built on first use by vlkit.cli._app
__getattr__, __dir__ = lazy_exports(__name__, {"app": "vlkit.cli._app"})

if TYPE_CHECKING:
    from vlkit.cli._app import app


def main() -> None:
    """Entry point: typed vlkit errors become one red line in the command line's words (``--family``, not
    ``family=``; see :class:`vlkit.errors.Words`) and exit status 2, not a traceback. Each command's
    ``--help`` ends with the exit statuses it uses."""
    from rich.text import Text

    from vlkit.cli._console import err_console, printable
    from vlkit.cli._exits import USAGE

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import sys

    command = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        build_app(command if command in _COMMANDS else None)()
    except VlkitError as exc:
        # the message is data (file names, pip hints like vlkit[test]): never parsed as Rich markup
        err_console.print(Text.assemble(("error:", "bold red"), " ", printable(exc.on("cli"))), highlight=False)
        raise SystemExit(USAGE) from None
