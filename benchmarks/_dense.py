"""Manual-density pages for the ingest measurement.

The bundled eval set's pages are short (about 800 characters each), so the fixed per-page costs
— rendering and storing each page's image — weigh far more there than on a real manual page of
2,500-3,500 characters. This builds text-layer PDFs at that density from the same English manual
text (sections in order, cycled), so ingest speed is also measured on pages like the ones the
issue's 617-page benchmark holds (where the plain pipeline manages ~4 pages/s).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["dense_manuals"]

_MANUALS = ("fluxdb-admin-guide.txt", "harbor-backup-manual.txt", "skyline-cli-reference.txt")


def _sections(text: str) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("=== "):
            out.append((line[4:].strip(), []))
        elif out and line.strip() and not line.startswith("# "):
            out[-1][1].append(line.lstrip("-|$ ").replace(" | ", "   "))
    return out


def dense_manuals(folder: Path, pages_per_file: int = 30) -> list[Path]:
    """Write one PDF per English manual, ``pages_per_file`` pages each, pages filled with 9.5 pt text."""
    from importlib.resources import files

    import pymupdf

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in _MANUALS:
        sections = _sections((files("vlkit.retrieval.evalset.manuals") / name).read_text(encoding="utf-8"))
        doc = pymupdf.open()
        i = 0
        for number in range(1, pages_per_file + 1):
            page = doc.new_page(width=612, height=792)
            page.insert_text((54, 40), f"{name[:-4]} - page {number}", fontsize=8, fontname="helv")
            y = 60.0
            while True:
                heading, paras = sections[i % len(sections)]
                body = "\n".join(paras)
                top = pymupdf.Rect(54, y, 558, y + 24)
                box = pymupdf.Rect(54, y + 24, 558, 750)
                if box.height < 40:
                    break
                left = page.insert_textbox(box, body, fontsize=9.5, fontname="helv", lineheight=1.25)
                if left < 0:  # does not fit: nothing was written; the page is full
                    break
                page.insert_textbox(top, heading, fontsize=14, fontname="hebo")
                y = box.y1 - left + 12
                i += 1
            if y == 60.0:  # one section longer than a page: never happens with the bundled manuals
                raise ValueError(f"section {heading!r} does not fit on a page")
        path = folder / f"dense-{name[:-4]}.pdf"
        doc.save(path)
        doc.close()
        out.append(path)
    return out
