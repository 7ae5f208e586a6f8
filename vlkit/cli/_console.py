"""The one console all CLI output goes through, and :func:`printable` for user data printed on it."""

from __future__ import annotations

import re

from rich.console import Console

__all__ = ["console", "err_console", "printable", "plural"]

console = Console()
"""Answers and results (stdout)."""
err_console = Console(stderr=True)
"""Progress, notices and errors (stderr), so stdout stays pipeable."""

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 in a file name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return match.group().encode("unicode_escape").decode("ascii") if code < 0xD800 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` as a terminal can show it on one line: control characters and lone surrogates (the
    undecodable bytes of a non-UTF-8 file name) become escapes such as ``\\n`` and ``\\xff``.

    Writing a lone surrogate to a UTF-8 stdout raises ``UnicodeEncodeError``; a newline or an ANSI
    escape in a file name would break a table row or repaint the terminal. Markup is a separate
    matter: print the result as ``rich.text.Text`` or with ``markup=False``.
    """
    return _UNPRINTABLE.sub(_escape, str(text))


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files`` (``many``: an irregular plural, e.g. ``plural(n, "index", "indexes")``)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"
