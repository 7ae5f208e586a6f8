"""``--draw``: each page with every field's evidence box on it, and in a column beside the page, at the
height of each box and joined to it by a line, what was read there.

Green: the value was found on the page and no check failed on it. Red: a check failed on the field —
the label gives the value and each failed check's message; for a value that is not on the page the box
is its nearest candidate. Failed checks with no box anywhere (an arithmetic check on fields that were
not found, "no total was read") are listed in a strip under the first page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlkit.tools._labels import (
    Label,
    PlacedLabel,
    callout_width,
    draw_callouts,
    draw_text_block,
    label_font,
    label_size,
    wrap,
)
from vlkit.tools.invoice._checks import Check
from vlkit.tools.invoice._pages import InvoicePage
from vlkit.tools.invoice._schema import iter_fields
from vlkit.tools.invoice._tool import InvoiceResult

__all__ = ["draw_evidence", "draw_page"]

GREEN = (22, 140, 60)
RED = (210, 30, 30)
PANEL_SHARE = 0.55
"""The label column beside the page, as a share of the page's width (at least 20 times the label font's size)."""
_VALUE_CHARS = 80
"""Longer values are cut: the label is a pointer to the field, not a copy of the page."""


def _values(result: InvoiceResult) -> dict[str, str]:
    if result.invoice is None:
        return {}
    out = {}
    for path, value, _ in iter_fields(result.invoice):
        if value is not None:
            text = str(value)
            out[path] = text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"
    return out


def _failed_by_field(result: InvoiceResult) -> dict[str, list[Check]]:
    out: dict[str, list[Check]] = {}
    for check in result.failed:
        for path in check.fields:
            out.setdefault(path, []).append(check)
    return out


def _has_box(check: Check, result: InvoiceResult) -> bool:
    """Whether ``check`` is drawn beside a box: its nearest candidate's, or one of its fields' evidence."""
    if check.candidate is not None and check.candidate.box:
        return True
    return any((ev := result.evidence.get(path)) is not None and bool(ev.box) for path in check.fields)


def _labels(result: InvoiceResult, page: int, width: float, font: Any) -> list[Label]:
    """The labels of one page: a failed check's message is written once, beside its first box; the other
    boxes of the fields it involves name it."""
    values = _values(result)
    failed = _failed_by_field(result)
    explained: dict[int, str] = {}
    labels: list[Label] = []

    def text(path: str, checks: list[Check]) -> tuple[str, ...]:
        lines = wrap(f"{path}: {values.get(path, '(empty)')}", font, width, max_lines=2)
        for check in checks:
            if id(check) in explained:
                lines.append(f"failed {check.name} (see {explained[id(check)]})")
            else:
                lines += wrap(f"failed {check.name}: {check.message}", font, width, max_lines=3)
                explained[id(check)] = path
        return tuple(lines)

    # Red boxes first: they matter most, so they get the best places.
    for check in result.failed:
        near = check.candidate
        if near is not None and near.box and near.page == page:
            path = check.fields[0] if check.fields else check.name
            labels.append(Label(text(path, [check]), RED, _box(near.box)))
    for path, ev in result.evidence.items():
        if ev.box and ev.page == page:
            checks = failed.get(path, [])
            labels.append(Label(text(path, checks), RED if checks else GREEN, _box(ev.box)))
    labels.sort(key=lambda label: label.colour != RED)
    return labels


def _box(box: list[float]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return int(x0) - 2, int(y0) - 2, int(x1) + 2, int(y1) + 2


def draw_page(result: InvoiceResult, page: InvoicePage) -> tuple[Any, list[PlacedLabel]]:
    """``page`` with its evidence boxes and their labels, and where each label went (the strip of failed
    checks without a box, under page 1, is the last one)."""
    from PIL import Image, ImageDraw

    page_image = page.image().convert("RGB")
    font = label_font(label_size(page_image.size))
    panel = max(int(page_image.width * PANEL_SHARE), 20 * font.size)  # a small photo still gets ~40 characters a line
    labels = _labels(result, page.number, callout_width(panel, font), font)
    draw = ImageDraw.Draw(page_image)
    for label in labels:
        draw.rectangle(label.target, outline=label.colour, width=max(2, font.size // 10))
    image, placed = draw_callouts(page_image, labels, font, panel)
    unexplained = [check for check in result.failed if not _has_box(check, result)] if page.number == 1 else []
    if unexplained:
        lines = ["Failed checks without a box on the page:"]
        for check in unexplained:
            lines += wrap(f"{check.name}: {check.message}", font, image.width - 4 * font.size, max_lines=3)
        tall = image.height + (len(lines) + 1) * int(font.size * 1.3) + font.size
        strip = Image.new("RGB", (image.width, tall), "white")
        strip.paste(image, (0, 0))
        at = (font.size, image.height + font.size // 2)
        box, drawn = draw_text_block(ImageDraw.Draw(strip, "RGBA"), at, lines, font, RED)
        placed.append(PlacedLabel(box, drawn, None, tuple(lines)))
        image = strip
    return image, placed


def draw_evidence(result: InvoiceResult, pages: list[InvoicePage], folder: str | Path) -> list[Path]:
    """Write ``<stem>-p<N>.png`` per page into ``folder``; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(result.source).stem or "invoice"
    written = []
    for page in pages:
        image, _ = draw_page(result, page)
        out = folder / f"{stem}-p{page.number}.png"
        image.save(out)
        written.append(out)
    return written

