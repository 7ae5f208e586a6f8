"""``vlkit.cli.app``: the whole command line as one Typer app, built when first asked for (tests drive it
with ``typer.testing.CliRunner``; the ``vlkit`` command itself builds only the command it runs)."""

from __future__ import annotations

from vlkit.cli import build_app

__all__ = ["app"]

app = build_app()
