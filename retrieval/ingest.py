"""Files in, pages out: find files, refuse bad ones with a clear error, render every page to pixels.

PDFs open with PyMuPDF; PNG, JPEG and (multi-page) TIFF with Pillow. Every check that can refuse a
file runs in :func:`open_document`, before any page is read, so a bad file never half-ingests.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vlkit.errors import DocumentError, ImageTooLargeError, MissingExtraError
from vlkit.retrieval.readers.base import SourcePage

__all__ = [
    "PDF_SUFFIXES", "IMAGE_SUFFIXES", "MAX_PIXELS", "discover", "sha256_file", "open_document", "OpenedDocument",
]

logger = logging.getLogger(__name__)

PDF_SUFFIXES = (".pdf",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
MAX_PIXELS = 50_000_000
"""Largest image (or rendered page) accepted, in pixels; larger image files are refused before
decoding (a decompression bomb), larger PDF pages are rendered at a lower dpi."""


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and files under folders named (recursive, sorted, hidden ones skipped).

    Unsupported files are returned too, so the summary can say why they were not ingested.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*")
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            found = [p]
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pymupdf() -> Any:
    try:
        import pymupdf
    except ImportError as exc:
        raise MissingExtraError("pymupdf", "kb", "reading PDFs") from exc
    pymupdf.TOOLS.mupdf_display_errors(False)  # we report errors ourselves, per file
    return pymupdf


@dataclass
class OpenedDocument:
    """An opened, validated document. Iterate :meth:`pages`; call :meth:`close` when done."""

    path: Path
    kind: str
    """``pdf`` or ``image``."""
    page_count: int
    handle: Any

    def pages(self, dpi: int, skip: set[int] | frozenset[int] = frozenset()) -> Iterator[SourcePage]:
        """Rendered pages (1-based numbers), leaving out the numbers in ``skip``."""
        if self.kind == "pdf":
            yield from self._pdf_pages(dpi, skip)
        else:
            yield from self._image_pages(skip)

    def _pdf_pages(self, dpi: int, skip: set[int] | frozenset[int]) -> Iterator[SourcePage]:
        for i in range(self.page_count):
            if i + 1 in skip:
                continue
            page = self.handle.load_page(i)
            rect = page.rect
            scale = dpi / 72.0
            pixels = rect.width * scale * rect.height * scale
            if pixels > MAX_PIXELS:  # a poster-size page: render smaller rather than refuse
                scale *= (MAX_PIXELS / pixels) ** 0.5
            try:
                pix = page.get_pixmap(matrix=_pymupdf().Matrix(scale, scale), alpha=False)
            except RuntimeError as exc:
                raise DocumentError(f"{self.path.name}: page {i + 1} cannot be rendered ({exc})") from exc
            pixels = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)
            yield SourcePage(number=i + 1, pixels=pixels, pdf_page=page)

    def _image_pages(self, skip: set[int] | frozenset[int]) -> Iterator[SourcePage]:
        from PIL import ImageSequence

        for i, frame in enumerate(ImageSequence.Iterator(self.handle)):
            if i + 1 in skip:
                continue
            try:
                rgb = frame.convert("RGB")
            except OSError as exc:
                raise DocumentError(f"{self.path.name}: frame {i + 1} cannot be decoded ({exc})") from exc
            yield SourcePage(number=i + 1, pixels=np.asarray(rgb))

    def close(self) -> None:
        try:
            self.handle.close()
        except Exception:  # closing must never mask the real outcome
            logger.debug("closing %s failed", self.path, exc_info=True)


def _open_pdf(path: Path) -> OpenedDocument:
    pymupdf = _pymupdf()
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # FileDataError, RuntimeError, ... for damaged files
        raise DocumentError(f"{path.name}: not a readable PDF ({exc}); re-export or repair the file") from exc
    if doc.needs_pass:
        doc.close()
        raise DocumentError(f"{path.name}: the PDF is password-protected; decrypt it first (e.g. qpdf --decrypt)")
    if doc.page_count == 0:
        doc.close()
        raise DocumentError(f"{path.name}: the PDF has no pages")
    return OpenedDocument(path, "pdf", doc.page_count, doc)


def _open_image(path: Path, max_pixels: int) -> OpenedDocument:
    from PIL import Image

    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
        if not head:
            raise DocumentError(f"{path.name}: the file is empty")
        # Image.open reads only the header; checking the size before any decoding stops bombs.
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            img = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = old
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"{path.name}: not a readable image ({exc})") from exc
    w, h = img.size
    if w * h > max_pixels:
        img.close()
        raise ImageTooLargeError(
            f"{path.name}: image is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,}; "
            "downscale it or raise max_pixels"
        )
    frames = getattr(img, "n_frames", 1)
    try:
        img.load()  # decodes frame 1: truncated or corrupt data fails here, not mid-ingest
    except Exception as exc:
        img.close()
        raise DocumentError(f"{path.name}: image data is corrupt ({exc})") from exc
    return OpenedDocument(path, "image", frames, img)


def open_document(path: Path, *, max_pixels: int = MAX_PIXELS) -> OpenedDocument:
    """Open and validate one file; raises :class:`DocumentError` (or a subclass) saying what to do."""
    if not path.exists():
        raise DocumentError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return _open_pdf(path)
    if suffix in IMAGE_SUFFIXES:
        return _open_image(path, max_pixels)
    raise DocumentError(
        f"{path.name}: unsupported file type '{suffix or '(none)'}'; "
        f"supported: {', '.join(PDF_SUFFIXES + IMAGE_SUFFIXES)}"
    )
