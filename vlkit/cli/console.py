"""The one console all CLI output goes through."""

from __future__ import annotations

from rich.console import Console

__all__ = ["console", "err_console"]

console = Console()
"""Answers and results (stdout)."""
err_console = Console(stderr=True)
"""Progress, notices and errors (stderr), so stdout stays pipeable."""
