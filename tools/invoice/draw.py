"""``--draw``: each page with every field's evidence box on it (green: found; red: the nearest
candidate of a value that is not on the page), labelled with the field's key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlkit.tools.invoice.pages import InvoicePage
from vlkit.tools.invoice.tool import InvoiceResult

__all__ = ["draw_evidence"]

GREEN = (22, 160, 60)
RED = (220, 40, 40)


def _font(size: int) -> Any:
    from PIL import ImageFont

    for name in ("NotoSansCJK-Regular.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def draw_evidence(result: InvoiceResult, pages: list[InvoicePage], folder: str | Path) -> list[Path]:
    """Write ``<stem>-p<N>.png`` per page into ``folder``; returns the paths written."""
    from PIL import ImageDraw

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(result.source).stem or "invoice"
    marks: dict[int, list[tuple[list[float], str, tuple[int, int, int]]]] = {}
    for path, ev in result.evidence.items():
        if ev.box:
            marks.setdefault(ev.page, []).append((ev.box, path, GREEN))
    for check in result.failed:
        if check.candidate is not None and check.candidate.box:
            label = ", ".join(check.fields) + "?"
            marks.setdefault(check.candidate.page, []).append((check.candidate.box, label, RED))
    written = []
    for page in pages:
        image = page.image().convert("RGB")
        draw = ImageDraw.Draw(image)
        font = _font(max(12, image.width // 90))
        for box, label, colour in marks.get(page.number, []):
            x0, y0, x1, y1 = box
            draw.rectangle((x0 - 2, y0 - 2, x1 + 2, y1 + 2), outline=colour, width=2)
            draw.text((x0, max(0, y0 - font.size - 4)), label, fill=colour, font=font)
        out = folder / f"{stem}-p{page.number}.png"
        image.save(out)
        written.append(out)
    return written
