"""Page images of an index: ``pages/<key>.png``, shown to the VLM and the UI; ``sources/<sha256>.pdf``.

Two kinds of key name a page's image (the manifest's ``pages.image_sha``):

- a content hash (``<sha256 of the PNG>``): the image was written at ingest — image files' frames.
  Two documents with an identical page store it once.
- a render key (``<sha256 of the PDF>-<page>-<dpi>``): a PDF page, rendered from the copy of its PDF the
  index keeps in ``sources/`` the first time something asks for it (:meth:`PageImageStore.existing`;
  a search asks for the pages it returns), then kept. Ingest renders nothing for text-layer pages:
  rendering and PNG-encoding every page of a long manual costs a large share of its ingest for images of
  which a search shows a handful, and a PDF is far smaller than its pages' PNGs.

Removing a document deletes only the images no other page still shows, and its PDF copy. Writes are
atomic (temp file + rename): a reader never sees half an image. An ingest killed between writing an
image and committing its page leaves an orphan, deleted later by :meth:`PageImageStore.collect_orphans`
once it is older than any ingest still running elsewhere could need.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from vlkit.documents import encode_png, render_pdf_page
from vlkit.vision.limits import MAX_IMAGE_PIXELS

__all__ = ["PageImageStore", "render_key"]

logger = logging.getLogger(__name__)

ORPHAN_AGE_S = 600.0
"""Unreferenced page images younger than this may belong to an ingest still running elsewhere."""

_RENDER_KEY = re.compile(r"^([0-9a-f]{64})-(\d+)-(\d+)$")
_MUPDF = threading.Lock()
"""MuPDF is not safe to call from two threads at once (a server renders for concurrent requests)."""


def render_key(sha256: str, page: int, dpi: int) -> str:
    """The key of a PDF page's image rendered on demand (see the module docstring)."""
    return f"{sha256}-{page}-{dpi}"


class PageImageStore:
    """The ``pages/`` and ``sources/`` folders of an index.

    Args:
        folder: where page images go (``<index>/pages``).
        sources: where PDF copies go (default: ``sources`` next to ``folder``).
        max_pixels: pages rendered on demand that would be larger are rendered at a lower dpi.
    """

    def __init__(self, folder: Path, sources: Path | None = None, *, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sources = sources or folder.parent / "sources"
        self.max_pixels = max_pixels
        self._prefix = os.path.join(str(folder), "")

    def path(self, sha: str) -> Path:
        """Where the image with this key lives (whether or not it exists)."""
        return Path(self.path_str(sha))

    def path_str(self, sha: str) -> str:
        """:meth:`path` as a string: what every search result carries (building a ``Path`` per chunk was
        a large share of reading chunks)."""
        return f"{self._prefix}{sha}.png"

    def existing(self, sha: str | None) -> Path | None:
        """The image's path once it is on disk — a PDF page's is rendered now if it was not yet —
        else ``None`` (no image, or its PDF copy is gone)."""
        if not sha:
            return None
        path = self.path(sha)
        if path.exists():
            return path
        found = _RENDER_KEY.match(sha)
        if found is None:
            return None
        return self._render(path, found.group(1), int(found.group(2)), int(found.group(3)))

    def save(self, png: bytes) -> str:
        """Store a PNG (once per content) and return its sha256."""
        sha = hashlib.sha256(png).hexdigest()
        self._write(self.path(sha), png)
        return sha

    def source_path(self, sha256: str) -> Path:
        """Where the index keeps its copy of the PDF with this hash."""
        return self.sources / f"{sha256}.pdf"

    def save_source(self, sha256: str, data: bytes) -> None:
        """Keep a PDF's bytes (once per content): its pages' images are rendered from them on demand."""
        self.sources.mkdir(parents=True, exist_ok=True)
        self._write(self.source_path(sha256), data)

    def delete(self, shas: Iterable[str]) -> None:
        for sha in shas:
            self.path(sha).unlink(missing_ok=True)

    def delete_source(self, sha256: str) -> None:
        """Delete a PDF copy and every image rendered from it."""
        self.source_path(sha256).unlink(missing_ok=True)
        for f in self.folder.glob(f"{sha256}-*.png"):
            f.unlink(missing_ok=True)

    def collect_orphans(self, keep: set[str], min_age_s: float = ORPHAN_AGE_S,
                        keep_sources: set[str] | None = None) -> None:
        """Delete images (and temp files) whose key is not in ``keep`` once older than ``min_age_s``;
        with ``keep_sources`` (PDF hashes), PDF copies of no such document too."""
        now = time.time()
        folders = [(self.folder, keep)]
        if keep_sources is not None and self.sources.is_dir():
            folders.append((self.sources, keep_sources))
        for folder, wanted in folders:
            for f in folder.iterdir():
                key = f.name.split(".")[1] if f.name.startswith(".") else f.stem
                try:
                    if key not in wanted and now - f.stat().st_mtime > min_age_s:
                        f.unlink()
                except FileNotFoundError:
                    pass

    # ------------------------------------------------------------------ internals
    def _write(self, target: Path, data: bytes) -> None:
        if not target.exists():
            tmp = target.parent / f".{target.stem}.{os.getpid()}.{threading.get_ident()}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, target)  # atomic: a reader never sees half a file

    def _render(self, target: Path, sha256: str, page: int, dpi: int) -> Path | None:
        source = self.source_path(sha256)
        if not source.exists():
            return None
        import pymupdf

        t = time.perf_counter()
        try:
            with _MUPDF, pymupdf.open(source) as doc:
                if not 1 <= page <= doc.page_count:
                    return None
                pixels = render_pdf_page(doc.load_page(page - 1), dpi, self.max_pixels, pymupdf)
        except Exception as exc:  # a damaged copy: no image rather than a failed search
            logger.warning("cannot render page %d of %s: %s", page, source, exc)
            return None
        self._write(target, encode_png(pixels))
        logger.debug("rendered page %d of %s in %.0f ms", page, source.name, (time.perf_counter() - t) * 1000)
        return target
