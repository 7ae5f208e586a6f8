"""One definition of the image limits: every surface's default is vlkit.vision.limits' own object."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from vlkit.vision.limits import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, ImageLimits

ROOT = Path(__file__).resolve().parents[2]


def test_every_default_is_the_one_constant() -> None:
    """``is``, not ``==``: a module that wrote its own ``64_000_000`` would hold a different int object."""
    from vlkit.cli import _kb as cli_kb
    from vlkit.documents import _files as files, _pages as pages
    from vlkit.models import ChatQwenVL
    from vlkit.retrieval import index
    from vlkit.retrieval.store import _page_images as page_images
    from vlkit.serve import schemas

    assert MAX_IMAGE_PIXELS == 64_000_000 and MAX_IMAGE_BYTES == 64 * 2**20
    assert ImageLimits().max_pixels is MAX_IMAGE_PIXELS and ImageLimits().max_bytes is MAX_IMAGE_BYTES
    assert cli_kb.MAX_IMAGE_PIXELS is MAX_IMAGE_PIXELS  # kb add --max-image-pixels
    assert inspect.signature(files.open_document).parameters["max_pixels"].default is MAX_IMAGE_PIXELS
    assert inspect.signature(index.DocumentIndex).parameters["max_image_pixels"].default is MAX_IMAGE_PIXELS
    assert inspect.signature(pages.render_pdf_page).parameters["max_pixels"].default is MAX_IMAGE_PIXELS
    assert inspect.signature(page_images.PageImageStore).parameters["max_pixels"].default is MAX_IMAGE_PIXELS
    assert ChatQwenVL.model_fields["max_image_pixels"].default is MAX_IMAGE_PIXELS
    assert ChatQwenVL.model_fields["max_image_bytes"].default is MAX_IMAGE_BYTES
    url = schemas.ImageURL.model_fields["url"].metadata
    assert [m.max_length for m in url if hasattr(m, "max_length")] == [MAX_IMAGE_BYTES]


def _numbers(tree: ast.AST) -> list[tuple[int, int]]:
    """``(line, value)`` of every integer a constant expression in ``tree`` spells (``64 * 1024 * 1024`` too)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and all(
            isinstance(n, (ast.BinOp, ast.Constant, ast.operator)) for n in ast.walk(node)
        ):
            try:
                value = eval(compile(ast.Expression(node), "<limit>", "eval"), {"__builtins__": {}})  # noqa: S307
            except Exception:  # not arithmetic on numbers
                continue
            found.append((node.lineno, value))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            found.append((node.lineno, node.value))
    return found


def test_no_module_spells_the_pixel_limit_out_again() -> None:
    """64 MP appears once in the library's code, in vision/limits.py (in any spelling: ``64 * 10**6`` too).
    (64 MiB is not scanned for: ``1 << 26`` is also the largest visual budget serve accepts, another idea.)"""
    folders = ["vlkit", "vision", "documents", "models", "retrieval", "tools", "agents", "serve"]
    found = sorted({
        f"{path.relative_to(ROOT)}:{line}"
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, value in _numbers(ast.parse(path.read_text(encoding="utf-8")))
        if value == 64_000_000
    })
    assert found == [f"vision/limits.py:{_line_of('MAX_IMAGE_PIXELS =')}"], found


def _line_of(text: str) -> int:
    lines = (ROOT / "vision" / "limits.py").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(text))
