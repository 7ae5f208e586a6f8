"""The ``vlkit`` command line: ``vlkit chat`` and ``vlkit kb …``."""

from __future__ import annotations

import logging

import typer

from vlkit.errors import VlkitError

__all__ = ["app", "main"]

# name -> (module, attribute, kind), in the order `vlkit --help` lists them. Command modules import only
# typer/rich at module level; heavy imports happen inside the commands.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "chat": ("vlkit.cli.chat", "chat", "command"),
    "agent": ("vlkit.cli.agent", "agent", "command"),
    "kb": ("vlkit.cli.kb", "app", "group"),
    "html": ("vlkit.cli.html", "app", "group"),
    "invoice": ("vlkit.cli.invoice", "app", "group"),
    "gui": ("vlkit.cli.gui", "app", "group"),
    "serve": ("vlkit.cli.serve", "serve", "command"),
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
    then neither imports the other command modules nor builds their options (~0.15 s of its start-up)."""
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
    for name, (module, attr, kind) in _COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(module), attr)
        if kind == "group":
            root.add_typer(target, name=name)
        else:
            root.command(name)(target)
    return root


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole CLI, e.g. for typer.testing.CliRunner
        global app
        app = build_app()
        return app
    raise AttributeError(f"module 'vlkit.cli' has no attribute {name!r}")


def main() -> None:
    """Entry point: typed vlkit errors become one red line and exit code 2, not a traceback."""
    from rich.text import Text

    from vlkit.cli.console import err_console, printable

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import sys

    command = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        build_app(command if command in _COMMANDS else None)()
    except VlkitError as exc:
        # the message is data (file names, pip hints like vlkit[test]): never parsed as Rich markup
        err_console.print(Text.assemble(("error:", "bold red"), " ", printable(exc)), highlight=False)
        raise SystemExit(2) from None
