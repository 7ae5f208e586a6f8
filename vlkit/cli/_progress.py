"""Progress-bar columns of the CLI (imported by the commands that show a bar, not at start-up)."""

from __future__ import annotations

from typing import Any

from rich.progress import ProgressColumn
from rich.text import Text

__all__ = ["PageRate"]


class PageRate(ProgressColumn):
    """Pages done over the wall time since the task started.

    Not Rich's ``task.speed``: that averages the last few updates only, and ingest commits pages in
    embedding batches, so the window sees a burst or a stall and shows a rate far from the real one.
    """

    def render(self, task: Any) -> Text:
        elapsed = task.elapsed
        if not task.completed or not elapsed:
            return Text("… pages/s", style="cyan")
        return Text(f"{task.completed / elapsed:.2f} pages/s", style="cyan")
