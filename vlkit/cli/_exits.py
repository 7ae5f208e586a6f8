"""The exit statuses of every ``vlkit`` command, and the ``--help`` epilog that lists them.

==  =====================================================================================
0   done, and the result is good
1   it ran, but the result failed: a file of a batch could not be read (``kb add``,
    ``invoice``), an invoice failed its checks, the agent stopped without an answer,
    ``kb search`` found nothing
2   usage or input error, reported before or instead of the work: a bad option or argument,
    a missing or unreadable input, no model, the server cannot be reached (one ``error:`` line)
130 interrupted (Ctrl-C); ``kb add`` keeps the pages it committed and resumes on the next run
==  =====================================================================================
"""

from __future__ import annotations

__all__ = ["OK", "FAILED", "USAGE", "INTERRUPTED", "epilog"]

OK = 0
FAILED = 1
USAGE = 2
INTERRUPTED = 130


def epilog(failed: str | None = None) -> str:
    """The ``--help`` epilog: the exit statuses, with what status 1 means for this command (``None``: the
    command has no partial failure, so 1 is not listed)."""
    one = f" [bold]1[/] {failed};" if failed else ""
    return (f"Exit status: [bold]0[/] ok;{one} [bold]2[/] usage or input error (one 'error:' line); "
            "[bold]130[/] interrupted.")
