"""Files in, pages out: find files, open each once, refuse bad ones with a clear error, render pages.

PDFs open with PyMuPDF; PNG, JPEG and (multi-page) TIFF with Pillow. A file is opened **once**:
:func:`read_source` reads it (a PDF into memory, an image through an open handle) and hashes those
same bytes, so the content that is hashed is the content that is read even if the file changes
meanwhile. Every check that can refuse a file runs in :meth:`Source.open`, before any page is read,
so a bad file never half-ingests.

File names are bytes on Linux; one that is not valid UTF-8 arrives as a ``str`` with surrogate
escapes, which SQLite, Chroma and terminals cannot encode. :func:`display_name` gives the form
that is stored and shown (``b_na\\xefve_\\xff.png``); the path itself is kept as the OS gave it, so
the file still opens.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlkit.documents._pages import SourcePage, render_pdf_page, render_scale
from vlkit.errors import RAISE_MAX_IMAGE_PIXELS, DocumentError, ImageTooLargeError
from vlkit.extras import require
from vlkit.vision.limits import MAX_IMAGE_PIXELS

__all__ = [
    "PDF_SUFFIXES", "IMAGE_SUFFIXES", "SUPPORTED_SUFFIXES", "Found", "Source", "OpenedDocument", "discover",
    "display_name", "read_source", "open_document",
]

logger = logging.getLogger(__name__)

PDF_SUFFIXES = (".pdf",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SUPPORTED_SUFFIXES = PDF_SUFFIXES + IMAGE_SUFFIXES
"""The file types vlkit reads (``DocumentIndex.add``, the invoice tool); others are reported as ``skipped``."""
# Image files over vlkit.vision's MAX_IMAGE_PIXELS (or the max_pixels given) are refused before decoding
# (a decompression bomb); larger PDF pages are rendered at a lower dpi instead.


def display_name(text: str) -> str:
    """``text`` made encodable as UTF-8: surrogate escapes (undecodable bytes of a file name) become
    ``\\xNN``; valid text is returned as it is."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # lone surrogates that no file system produced
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "backslashreplace")


# --------------------------------------------------------------------------- discovery


@dataclass
class Found:
    """A path :func:`discover` found: to ingest (``status`` ``None``), ``skipped`` or ``failed``."""

    path: Path
    status: str | None = None
    reason: str | None = None


def _unsupported(path: Path) -> str:
    suffix = display_name(path.suffix.lower()) or "(none)"
    return f"unsupported file type '{suffix}'; vlkit reads {', '.join(SUPPORTED_SUFFIXES)}"


def _os_reason(exc: OSError, what: str) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or folder"
    if isinstance(exc, PermissionError):
        return f"the {what} cannot be read (permission denied); check its permissions or run as its owner"
    return f"the {what} cannot be read ({exc.strerror or exc})"


def discover(paths: Iterable[str | os.PathLike | bytes]) -> list[Found]:
    """Files named, and files under folders named (recursive, sorted, hidden ones left out).

    Nothing is dropped without a word: a file of a type vlkit does not read is ``skipped`` with the
    list of types it reads, a path that does not exist or a folder that cannot be listed is
    ``failed`` with the reason. A file reached twice (named and inside a named folder) counts once.
    """
    out: list[Found] = []
    seen: set[Path] = set()

    def emit(found: Found) -> None:
        try:
            key = found.path.resolve()
        except (OSError, RuntimeError):  # a symlink loop
            key = found.path.absolute()
        if key not in seen:
            seen.add(key)
            out.append(found)

    for raw in paths:
        p = Path(os.fsdecode(raw) if isinstance(raw, bytes) else raw).expanduser()
        try:
            mode = p.stat().st_mode
        except OSError as exc:
            emit(Found(p, "failed", _os_reason(exc, "path")))
            continue
        if stat.S_ISREG(mode):
            emit(_classify(p))
            continue
        if not stat.S_ISDIR(mode):  # a FIFO or device would block or stream forever
            emit(Found(p, "failed", "not a regular file or folder"))
            continue
        found: list[Found] = []

        def unreadable(exc: OSError) -> None:
            folder = Path(exc.filename) if exc.filename else p
            found.append(Found(folder, "failed", _os_reason(exc, "folder")))

        for folder, dirs, files in os.walk(p, onerror=unreadable):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                f = Path(folder, name)
                if not name.startswith(".") and f.is_file():
                    found.append(_classify(f))
        for f in sorted(found, key=lambda f: f.path):
            emit(f)
    return out


def _classify(path: Path) -> Found:
    return Found(path) if path.suffix.lower() in SUPPORTED_SUFFIXES else Found(path, "skipped", _unsupported(path))


# --------------------------------------------------------------------------- opening


def _pymupdf() -> Any:
    pymupdf = require("pymupdf", "kb", "reading PDFs")
    pymupdf.TOOLS.mupdf_display_errors(False)  # we report errors ourselves, per file
    return pymupdf


@dataclass
class Source:
    """A file read once: its bytes hashed, ready to be parsed by :meth:`open` (or closed unparsed)."""

    path: Path
    kind: str
    """``pdf`` or ``image``."""
    sha256: str
    size: int
    data: bytes | None = field(default=None, repr=False)
    """A PDF's bytes (PyMuPDF parses them from memory)."""
    handle: Any = field(default=None, repr=False)
    """An image's open file (Pillow reads frames from it lazily)."""

    @property
    def name(self) -> str:
        """The file name as stored and shown (see :func:`display_name`)."""
        return display_name(self.path.name)

    def open(self, *, max_pixels: int = MAX_IMAGE_PIXELS) -> OpenedDocument:
        """Parse and validate; raises :class:`DocumentError` (or a subclass) saying what to do.
        The source is consumed: close the returned document, not the source."""
        try:
            if self.kind == "pdf":
                return _open_pdf(self, max_pixels)
            return _open_image(self, max_pixels)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.data = None
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def read_source(path: Path) -> Source:
    """Open ``path`` once and hash it; :class:`DocumentError` for a missing, unreadable, empty or
    unsupported file."""
    name = display_name(path.name)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{name}: {_unsupported(path)}")
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DocumentError(f"{display_name(str(path))}: no such file") from None
    except OSError as exc:
        raise DocumentError(f"{name}: {_os_reason(exc, 'file')}") from None
    kind = "pdf" if suffix in PDF_SUFFIXES else "image"
    try:
        h = hashlib.sha256()
        if kind == "pdf":
            data = fh.read()
            h.update(data)
            size = len(data)
            fh.close()
        else:
            size = 0
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
                size += len(block)
            fh.seek(0)
            data = None
    except OSError as exc:
        fh.close()
        raise DocumentError(f"{name}: {_os_reason(exc, 'file')}") from None
    if size == 0:
        fh.close()
        raise DocumentError(f"{name}: the file is empty")
    return Source(path, kind, h.hexdigest(), size, data=data, handle=None if kind == "pdf" else fh)


def open_document(path: Path, *, max_pixels: int = MAX_IMAGE_PIXELS) -> OpenedDocument:
    """Open and validate one file (:func:`read_source`, then :meth:`Source.open`)."""
    return read_source(path).open(max_pixels=max_pixels)


@dataclass
class OpenedDocument:
    """An opened, validated document. Iterate :meth:`pages`; call :meth:`close` when done."""

    path: Path
    kind: str
    """``pdf`` or ``image``."""
    page_count: int
    handle: Any
    sha256: str = ""
    max_pixels: int = MAX_IMAGE_PIXELS
    """Pages rendered larger than this are rendered at a lower dpi."""
    closers: list[Any] = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return display_name(self.path.name)

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
            try:
                page = self.handle.load_page(i)
            except Exception as exc:  # MuPDF raises RuntimeError/ValueError variants for damaged pages
                raise DocumentError(f"{self.name}: page {i + 1} cannot be rendered ({exc})") from exc
            # rendered only if a reader looks at the pixels (OCR, the VLM): the text layer needs none
            yield SourcePage(number=i + 1, pdf_page=page, scale=render_scale(page, dpi, self.max_pixels),
                             render=lambda page=page, i=i: self._render(page, i + 1, dpi))

    def _render(self, page: Any, number: int, dpi: int) -> np.ndarray:
        try:
            return render_pdf_page(page, dpi, self.max_pixels, _pymupdf())
        except Exception as exc:  # MuPDF raises RuntimeError/ValueError variants for damaged pages
            raise DocumentError(f"{self.name}: page {number} cannot be rendered ({exc})") from exc

    def _image_pages(self, skip: set[int] | frozenset[int]) -> Iterator[SourcePage]:
        from PIL import ImageSequence

        frames = ImageSequence.Iterator(self.handle)
        for i in range(self.page_count):
            try:
                frame = frames[i]
                if i + 1 in skip:
                    continue
                w, h = frame.size
                if w * h > self.max_pixels:  # a later frame of a TIFF may be larger than the first
                    raise ImageTooLargeError(f"{self.name}: frame {i + 1} is {w}x{h} = {w * h:,} pixels, over "
                                             f"the limit of {self.max_pixels:,}; ", RAISE_MAX_IMAGE_PIXELS)
                rgb = frame.convert("RGB")
            except ImageTooLargeError:
                raise
            except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError ... for bad data
                raise DocumentError(f"{self.name}: frame {i + 1} cannot be decoded ({exc})") from exc
            yield SourcePage(number=i + 1, pixels=np.asarray(rgb))

    def close(self) -> None:
        for closer in [self.handle, *self.closers]:
            try:
                closer.close()
            except Exception:  # closing must never mask the real outcome
                logger.debug("closing %s failed", self.path, exc_info=True)


def _open_pdf(src: Source, max_pixels: int) -> OpenedDocument:
    pymupdf = _pymupdf()
    try:
        doc = pymupdf.open(stream=src.data, filetype="pdf")
    except Exception as exc:  # FileDataError, RuntimeError, ... for damaged files
        raise DocumentError(f"{src.name}: not a readable PDF ({exc}); re-export or repair the file") from exc
    src.data = None  # the document holds its own reference now
    try:
        if doc.needs_pass:
            raise DocumentError(f"{src.name}: the PDF is password-protected; decrypt it first (e.g. qpdf --decrypt)")
        if doc.page_count == 0:
            raise DocumentError(f"{src.name}: the PDF has no pages")
    except BaseException:
        doc.close()
        raise
    return OpenedDocument(src.path, "pdf", doc.page_count, doc, src.sha256, max_pixels)


def _open_image(src: Source, max_pixels: int) -> OpenedDocument:
    from PIL import Image

    try:
        # Image.open reads only the header; checking the size before any decoding stops bombs.
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            img = Image.open(src.handle)
        finally:
            Image.MAX_IMAGE_PIXELS = old
    except Exception as exc:
        raise DocumentError(f"{src.name}: not a readable image ({exc})") from exc
    w, h = img.size
    if w * h > max_pixels:
        img.close()
        raise ImageTooLargeError(
            f"{src.name}: image is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,}; ", RAISE_MAX_IMAGE_PIXELS
        )
    try:
        frames = int(getattr(img, "n_frames", 1))
        img.load()  # decodes frame 1: truncated or corrupt data fails here, not mid-ingest
    except Exception as exc:
        img.close()
        raise DocumentError(f"{src.name}: image data is corrupt ({exc})") from exc
    handle, src.handle = src.handle, None  # the document closes the file now
    return OpenedDocument(src.path, "image", max(frames, 1), img, src.sha256, max_pixels, closers=[handle])
