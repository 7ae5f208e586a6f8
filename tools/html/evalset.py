"""vlkit's own small screenshot → HTML evaluation set: pages written here, screenshots rendered by Chromium.

The pages (``evalset/*.html``, package data) are realistic single-screen layouts in English and
Chinese — a landing page, a pricing table, a sign-in form, an admin dashboard, a news article and a
settings panel. :func:`write_evalset` renders each at 1280×800 and writes ``NAME.png`` next to
``NAME.html``; :func:`evaluation_pairs` reads any folder of such pairs (a user's own set too).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from vlkit.errors import DocumentError
from vlkit.tools.render import render_html

__all__ = ["EVAL_SIZE", "evalset_pages", "evaluation_pairs", "write_evalset"]

EVAL_SIZE = (1280, 800)


def evalset_pages() -> dict[str, str]:
    """``{name: html}`` of the built-in pages."""
    folder = resources.files("vlkit.tools.html").joinpath("evalset")
    return {p.name.removesuffix(".html"): p.read_text("utf-8") for p in sorted(folder.iterdir(), key=lambda p: p.name) if p.name.endswith(".html")}


def write_evalset(folder: str | Path, size: tuple[int, int] = EVAL_SIZE) -> list[tuple[Path, Path]]:
    """Write every built-in page and its Chromium screenshot into ``folder``; returns (png, html) pairs."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    pairs = []
    for name, html in evalset_pages().items():
        html_path, png_path = out / f"{name}.html", out / f"{name}.png"
        html_path.write_text(html, encoding="utf-8")
        render_html(html, *size).save(png_path)
        pairs.append((png_path, html_path))
    return pairs


def evaluation_pairs(folder: str | Path) -> list[tuple[Path, Path]]:
    """``(screenshot.png, reference.html)`` pairs of ``folder`` (matched by file stem)."""
    root = Path(folder)
    if not root.is_dir():
        raise DocumentError(f"{root} is not a folder; pass a folder of NAME.png + NAME.html pairs (or add --generate)")
    pairs = [(png, png.with_suffix(".html")) for png in sorted(root.glob("*.png")) if png.with_suffix(".html").is_file()]
    if not pairs:
        raise DocumentError(
            f"{root} holds no NAME.png + NAME.html pairs; add some, or run with --generate to write vlkit's own set"
        )
    return pairs
