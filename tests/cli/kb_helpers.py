"""Helpers for the kb CLI tests: real documents made with PyMuPDF/PIL, and `vlkit` run from the shell.

Imported by tests/cli/conftest.py and the kb test modules (like tests/models/openai_server.py, this is
a helper module, not a test module).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

KB_PAGES = [
    ("Retention Policy", "The retention setting keeps logs for 90 days. Markup in data: [/b] and [/verbatim] and [bold]."),
    ("Volcanoes", "Basalt magma erupts from shield volcanoes in Hawaii."),
    ("Quarterly Report", "The invoice total is 4821 dollars this quarter."),
]
"""Pages of ``kb_pdf``: search and ask tests rely on these words (and the brackets in page 1)."""

ZERO_PAGE_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
                 b"trailer<</Root 1 0 R>>\n%%EOF\n")
"""A well-formed PDF without pages: `kb add` must report it as failed (exit status 1)."""


def write_pdf(path: Path, pages: list[tuple[str, str]]) -> Path:
    """A real PDF with a text layer (PyMuPDF): one page per (heading, body)."""
    pymupdf = pytest.importorskip("pymupdf")
    doc = pymupdf.open()
    for heading, body in pages:
        page = doc.new_page()
        page.insert_text((72, 90), heading, fontsize=22)
        page.insert_textbox(pymupdf.Rect(72, 120, 540, 760), body, fontsize=12)
    doc.save(path)
    doc.close()
    return path


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    """A real, decodable PNG."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 220, 240)).save(buf, format="PNG")
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``x``height`` over a tiny (invalid) body: a size claim without pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


VLKIT = shutil.which("vlkit")


def run_vlkit(*args: str | os.PathLike[str], env: dict[str, str] | None = None, python: str | None = None,
              timeout: float = 300) -> CliResult:
    """``vlkit ARGS`` from the shell, as a user runs it (``python``: a ``-c`` prelude run before main)."""
    if python is not None:
        argv = [sys.executable, "-c", f"{python}\nimport sys\nfrom vlkit.cli import main\nsys.argv[0] = 'vlkit'\nmain()"]
    elif VLKIT is not None:
        argv = [VLKIT]
    else:
        argv = [sys.executable, "-m", "vlkit.cli"]
    proc = subprocess.run([*argv, *map(os.fspath, args)], capture_output=True, text=True, timeout=timeout,
                          errors="surrogateescape", env={**os.environ, "COLUMNS": "200", **(env or {})})
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
