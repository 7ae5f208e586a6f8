"""The one record for "a line of text and where it is printed", and a page of such lines.

Every reader hands out :class:`TextLine` s — OCR lines (RapidOCR, Tesseract), PDF text-layer lines — and
every tool that needs positions takes them: the invoice tool grounds a value at its line's box, the HTML
tool pairs the lines of a screenshot with those of a render, the GUI tool reads a screen. One record, so a
tool never converts one reader's line type into another's.

:func:`text_from_lines` turns lines into the text a reader returns: reading order, paragraph breaks at
vertical gaps, lines much taller than the page's median as Markdown ``# `` headings (chunking keeps a
heading with the text under it).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace

__all__ = ["Box", "TextLine", "PageLines", "text_from_lines", "HEADING_HEIGHT_RATIO"]

Box = tuple[float, float, float, float]
"""``(x0, y0, x1, y1)``: left, top, right, bottom in the page image's pixels."""

HEADING_HEIGHT_RATIO = 1.4
"""A line this much taller than the page's median line is a heading (OCR has no font sizes)."""
MAX_HEADING_CHARS = 120
"""A longer line is body text, however tall."""


@dataclass(frozen=True)
class TextLine:
    """One line of text on a page and where it is printed.

    Example:
        ```python
        line = TextLine("Total 1,234.50", box=(410, 980, 620, 1004), confidence=0.97)
        line.centre                # (515.0, 992.0)
        ```
    """

    text: str
    box: Box | None = None
    """``(x0, y0, x1, y1)`` in the page image's pixels; ``None`` when only the text is known (text a user gave)."""
    confidence: float = 1.0
    """How sure the reader is, 0-1: OCR's score; 1 for a text layer or a browser's layout."""
    size: float = 0.0
    """Font size, in the same pixels as :attr:`box`, where a text layer says it; 0 when unknown (OCR)."""
    bold: bool = False
    """Set in bold type (a text layer says so; OCR cannot tell)."""
    colour: tuple[int, int, int] | None = None
    """Text colour (RGB) where it was measured (the HTML tool reads it from the pixels under the box)."""

    @property
    def area(self) -> float:
        """The box's area in pixels (at least 1 a side; 0 without a box)."""
        if self.box is None:
            return 0.0
        x0, y0, x1, y1 = self.box
        return max(1, x1 - x0) * max(1, y1 - y0)

    @property
    def centre(self) -> tuple[float, float]:
        """The box's centre ``(x, y)``; raises ``ValueError`` for a line without a box."""
        if self.box is None:
            raise ValueError(f"the line {self.text!r} has no box")
        x0, y0, x1, y1 = self.box
        return ((x0 + x1) / 2, (y0 + y1) / 2)

    def scaled(self, sx: float, sy: float | None = None) -> TextLine:
        """The same line on the page scaled by ``sx`` (and ``sy``, default ``sx``): box and font size."""
        sy = sx if sy is None else sy
        box = None if self.box is None else (self.box[0] * sx, self.box[1] * sy, self.box[2] * sx, self.box[3] * sy)
        return replace(self, box=box, size=self.size * sy)


@dataclass
class PageLines:
    """One page as a reader read it: its text, its lines with their boxes, and which reader it was.

    ``text`` is what retrieval indexes (headings marked, paragraphs rebuilt); ``lines`` are what a tool
    that needs positions uses. Both come from one pass over the page (OCR runs once).
    """

    number: int
    """1-based page number in its document."""
    text: str
    lines: list[TextLine] = field(default_factory=list)
    reader: str = ""
    """The reader that read the page (``text``, ``rapidocr``, ``tesseract``, ``vlm``); '' for text given as such."""

    @classmethod
    def from_text(cls, text: str, number: int = 1) -> PageLines:
        """A page known only as text: one :class:`TextLine` without a box per non-blank line."""
        return cls(number, text, [TextLine(line) for line in text.splitlines() if line.strip()])


def text_from_lines(lines: list[TextLine]) -> str:
    """The page text of OCR lines: reading order, paragraph breaks at vertical gaps, much taller lines as
    ``# `` headings. Shared by every OCR reader, so they all hand chunking the same kind of text.
    Lines without a box keep their order and are joined by line breaks."""
    boxed = [line for line in lines if line.box is not None]
    if len(boxed) < len(lines):
        return "\n".join(line.text for line in lines).strip()
    items = [(line.box[1], line.box[3] - line.box[1], line.box[0], line.text) for line in boxed]  # type: ignore[index]
    if not items:
        return ""
    median_h = statistics.median(h for _, h, _, _ in items)
    items.sort(key=lambda it: (it[0], it[2]))
    # group boxes whose tops are within half a median line height into one line, left to right
    rows: list[list[tuple[float, float, float, str]]] = []
    for it in items:
        if rows and abs(it[0] - rows[-1][0][0]) < median_h * 0.5:
            rows[-1].append(it)
        else:
            rows.append([it])
    out: list[str] = []
    prev_bottom = None
    for row in rows:
        row.sort(key=lambda it: it[2])
        text = " ".join(it[3] for it in row)
        top, height = row[0][0], max(it[1] for it in row)
        if prev_bottom is not None and top - prev_bottom > median_h * 1.2 and out and out[-1] != "":
            out.append("")  # a vertical gap: paragraph break
        if len(rows) > 1 and height >= median_h * HEADING_HEIGHT_RATIO and len(text) <= MAX_HEADING_CHARS:
            if out and out[-1] != "":
                out.append("")
            text = "# " + text
        out.append(text)
        prev_bottom = top + height
    return "\n".join(out).strip()
