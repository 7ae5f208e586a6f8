"""Writes the evaluation documents: software manuals as text-layer PDFs and as scanned (image-only) PDFs.

The manuals' text is package data (``manuals/*.txt``, one ``=== heading`` per page), so a page
number in ``questions.jsonl`` always points at the same content. Layout is done here with
PyMuPDF's built-in fonts (Helvetica, Courier, and ``china-s`` for Chinese), and files are saved
without the random PDF ``/ID`` so that every run writes byte-identical files (and therefore the
same document ids in the index).

The scanned variant renders every page at ``scan_dpi`` to a grey-scale bitmap and stores only
that image: no text layer, so only OCR can read it.

Run ``python -m vlkit.retrieval.evalset OUT_DIR`` to write ``OUT_DIR/text/*.pdf``,
``OUT_DIR/scanned/*.pdf`` and ``OUT_DIR/questions.jsonl``.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vlkit.documents.script import WIDE, WIDE_RE

__all__ = ["EvalSetFiles", "generate", "manual_names", "questions_path", "parse_manual"]

logger = logging.getLogger(__name__)

PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
MARGIN = 56.0
BODY_SIZE = 10.5
CODE_SIZE = 9.0
HEAD_SIZE = 16.0
_WRAP_RE = re.compile(rf"[{WIDE}]|[^\s{WIDE}]+\s*|\s+")


@dataclass(frozen=True)
class EvalSetFiles:
    """Where :func:`generate` wrote things."""

    text_dir: Path
    scanned_dir: Path
    questions: Path
    pages: int


@dataclass(frozen=True)
class ManualPage:
    heading: str
    lines: tuple[str, ...]


def _manuals_dir():
    return resources.files("vlkit.retrieval.evalset").joinpath("manuals")


def manual_names() -> list[str]:
    """Stems of the bundled manuals (the PDF file names without ``.pdf``)."""
    return sorted(p.name[:-4] for p in _manuals_dir().iterdir() if p.name.endswith(".txt"))


def questions_path() -> Path:
    """The bundled labelled questions (``questions.jsonl``)."""
    return Path(str(resources.files("vlkit.retrieval.evalset").joinpath("questions.jsonl")))


def parse_manual(text: str) -> tuple[str, list[ManualPage]]:
    """Split a manual source into its title (``# ...``) and pages (``=== heading`` + lines)."""
    title = ""
    pages: list[ManualPage] = []
    heading: str | None = None
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("# ") and not title:
            title = line[2:].strip()
        elif line.startswith("=== "):
            if heading is not None:
                pages.append(ManualPage(heading, tuple(lines)))
            heading, lines = line[4:].strip(), []
        elif line and heading is not None:
            lines.append(line)
    if heading is not None:
        pages.append(ManualPage(heading, tuple(lines)))
    return title, pages


def _font_for(piece: str, latin: str) -> str:
    # Latin runs keep Helvetica/Courier even on Chinese pages: china-s sets Latin letters on a
    # full-em grid, which looks odd and makes OCR read "l i m i t".
    return "china-s" if WIDE_RE.match(piece) else latin


def _width(piece: str, latin: str, size: float) -> float:
    import pymupdf

    return pymupdf.get_text_length(piece, fontname=_font_for(piece, latin), fontsize=size)


def _wrap(text: str, latin: str, size: float, width: float) -> list[list[str]]:
    """Greedy line breaking at spaces and between CJK characters; each line is a list of pieces."""
    lines: list[list[str]] = []
    current: list[str] = []
    used = 0.0
    for piece in _WRAP_RE.findall(text):
        w = _width(piece.rstrip(), latin, size)
        if current and used + w > width:
            lines.append(current)
            current, used = [], 0.0
            piece = piece.lstrip()
            if not piece:
                continue
        current.append(piece)
        used += _width(piece, latin, size)
    if current:
        lines.append(current)
    return lines


def _draw_line(page, x: float, y: float, pieces: list[str], latin: str, size: float) -> None:
    import pymupdf

    run, font = "", None
    for piece in pieces + [""]:
        f = _font_for(piece, latin) if piece else None
        if run and (f != font or not piece):
            page.insert_text((x, y), run, fontname=font, fontsize=size)
            x += pymupdf.get_text_length(run, fontname=font, fontsize=size)
            run = ""
        font = f
        run += piece


def _render_page(page, title: str, number: int, mp: ManualPage, cjk: bool) -> None:
    head_font = "hebo"
    width = PAGE_W - 2 * MARGIN
    _draw_line(page, MARGIN, 36, _WRAP_RE.findall(title), "helv", 8)
    y = MARGIN + 20
    _draw_line(page, MARGIN, y, _WRAP_RE.findall(f"{number}. {mp.heading}"), head_font, HEAD_SIZE)
    y += HEAD_SIZE * 1.9
    for line in mp.lines:
        latin, size, indent, text = "helv", BODY_SIZE, 0.0, line
        if line.startswith("$ "):
            latin, size, indent = "cour", CODE_SIZE, 14.0
        elif line.startswith("| "):
            text = "   ".join(c.strip() for c in line[2:].split("|"))
            indent = 8.0
        elif line.startswith("- "):
            text = ("\u2022 " if not cjk else "· ") + line[2:]
            indent = 8.0
        for i, pieces in enumerate(_wrap(text, latin, size, width - indent - 12)):
            _draw_line(page, MARGIN + indent + (12 if i else 0), y, pieces, latin, size)
            y += size * 1.45
        y += size * (0.25 if line.startswith("| ") else 0.6)
        if y > PAGE_H - MARGIN:
            raise ValueError(f"page {number} ({mp.heading!r}) of {title!r} overflows; shorten it")
    page.insert_text((PAGE_W / 2 - 10, PAGE_H - 30), f"- {number} -", fontname="helv", fontsize=8)


def _save(doc, path: Path) -> None:
    # no_new_id: PyMuPDF otherwise writes a random /ID, and the file's hash is its document id.
    path.write_bytes(doc.tobytes(garbage=3, deflate=True, no_new_id=True))


def write_manual(source: str, dest: Path) -> int:
    """Lay out one manual source as a text-layer PDF; returns its page count."""
    import pymupdf

    title, pages = parse_manual(source)
    cjk = bool(WIDE_RE.search(title))
    doc = pymupdf.open()
    doc.set_metadata({"title": title, "producer": "vlkit evalset", "creator": "vlkit evalset"})
    for number, mp in enumerate(pages, start=1):
        _render_page(doc.new_page(width=PAGE_W, height=PAGE_H), title, number, mp, cjk)
    _save(doc, dest)
    return len(pages)


def write_scanned(src: Path, dest: Path, dpi: int = 150) -> None:
    """Rasterise every page of ``src`` into an image-only PDF (no text layer)."""
    import pymupdf

    text_doc = pymupdf.open(src)
    doc = pymupdf.open()
    doc.set_metadata({"producer": "vlkit evalset scan", "creator": "vlkit evalset scan"})
    for page in text_doc:
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        new = doc.new_page(width=page.rect.width, height=page.rect.height)
        new.insert_image(new.rect, stream=pix.tobytes("png"))
    _save(doc, dest)


def generate(out_dir: str | Path, *, scanned: bool = True, scan_dpi: int = 150) -> EvalSetFiles:
    """Write the manuals (text-layer and, with ``scanned``, image-only) and the questions to ``out_dir``."""
    out = Path(out_dir)
    text_dir, scanned_dir = out / "text", out / "scanned"
    text_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    for name in manual_names():
        source = _manuals_dir().joinpath(f"{name}.txt").read_text(encoding="utf-8")
        total += write_manual(source, text_dir / f"{name}.pdf")
        if scanned:
            scanned_dir.mkdir(parents=True, exist_ok=True)
            write_scanned(text_dir / f"{name}.pdf", scanned_dir / f"{name}.pdf", dpi=scan_dpi)
    questions = out / "questions.jsonl"
    shutil.copyfile(questions_path(), questions)
    logger.info("wrote %d pages of manuals to %s", total, out)
    return EvalSetFiles(text_dir=text_dir, scanned_dir=scanned_dir, questions=questions, pages=total)
