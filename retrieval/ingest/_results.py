"""What :meth:`DocumentIndex.add <vlkit.retrieval.index.DocumentIndex.add>` reports, per file and in all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vlkit.errors import VlkitError
from vlkit.documents import SUPPORTED_SUFFIXES, display_name

__all__ = ["FileResult", "IngestStages", "IngestSummary", "ProgressCallback", "STATUSES"]

ProgressCallback = Callable[[int, int], None]
"""``progress(pages_done, pages_total)``: called once at the start and as pages are committed.

``pages_total`` counts the pages of the files opened so far: files are opened a window ahead of the
one being read (at most 32 files or 256 MiB), so for a folder of many files the total can grow while
the ingest runs. A rate is ``pages_done / wall time`` (:attr:`IngestSummary.wall_s`)."""

STATUSES = ("added", "replaced", "resumed", "unchanged", "skipped", "failed")
"""Every :attr:`FileResult.status`."""


@dataclass
class FileResult:
    """What ``add`` did with one file (or with a folder it could not list)."""

    path: str
    """The path as the OS gave it (may hold surrogate escapes; see :attr:`display_path`)."""
    status: str
    """``added``, ``replaced`` (same path, new content), ``resumed`` (an interrupted ingest finished),
    ``unchanged``, ``skipped`` (a file type vlkit does not read) or ``failed``."""
    doc_id: str | None = None
    pages: int = 0
    """Pages read in this run."""
    reason: str | None = None
    """Why the file was skipped or failed (what was wrong and what to do); ``None`` otherwise."""
    page_count: int = 0
    """Pages the document has (0 when it could not be opened)."""
    seconds: float = 0.0
    """Wall time spent on this file: opening it, reading its pages, waiting for its last commit."""
    failure: VlkitError | None = field(default=None, repr=False, compare=False)
    """The error behind :attr:`reason`, when there is one: a surface shows it in its own words
    (``failure.on("cli")``, see :class:`vlkit.errors.Words`)."""

    @property
    def error(self) -> str | None:
        """:attr:`reason` of a failed file (``None`` for the others)."""
        return self.reason if self.status == "failed" else None

    @property
    def display_path(self) -> str:
        """:attr:`path` with undecodable bytes of the name written as ``\\xNN``: safe to print or store."""
        return display_name(self.path)


@dataclass
class IngestStages:
    """Where an ``add`` spent its time, stage by stage (what ``benchmarks/bench_retrieval.py`` reports).

    Embedding runs on a worker thread and image files' pages are encoded on another, both alongside the
    calling thread's work, so the stages add up to more than :attr:`IngestSummary.wall_s`;
    :attr:`embed_wait_s` is the part of the embedding the calling thread had to wait for.
    """

    open_s: float = 0.0
    """Reading, hashing and parsing files (and comparing them with the manifest)."""
    text_s: float = 0.0
    """Choosing each page's reader and reading its text (text layer, OCR or VLM)."""
    chunk_s: float = 0.0
    """Cutting page text into chunks."""
    embed_s: float = 0.0
    """Inside the embedder (on the worker thread)."""
    embed_wait_s: float = 0.0
    """The calling thread waiting for vectors (embedding that did not overlap anything)."""
    render_s: float = 0.0
    """Loading pages (image files: decoding frames). PDF pages are rendered only for readers that look at
    pixels (OCR, VLM), inside :attr:`text_s`; their images are rendered when a search first shows them."""
    image_s: float = 0.0
    """Encoding image files' pages as PNG and writing them (on the image thread)."""
    image_wait_s: float = 0.0
    """The calling thread waiting for a page image to be written before committing its page."""
    upsert_s: float = 0.0
    """Writing vectors to Chroma."""
    commit_s: float = 0.0
    """Manifest transactions (page rows, chunk rows, documents turning complete)."""

    def as_dict(self) -> dict[str, float]:
        """Every stage, rounded to milliseconds."""
        return {k: round(v, 3) for k, v in vars(self).items()}


@dataclass
class IngestSummary:
    """Per-file outcome of :meth:`DocumentIndex.add`; failures never stop the other files."""

    files: list[FileResult] = field(default_factory=list)
    wall_s: float = 0.0
    """Wall time of the whole ``add`` (lock wait excluded)."""
    waited_s: float = 0.0
    """Time spent waiting for another process's ingest into the same index to finish."""
    supported_suffixes: tuple[str, ...] = SUPPORTED_SUFFIXES
    """The file types vlkit reads (what a ``skipped`` file is not)."""
    stages: IngestStages = field(default_factory=IngestStages)
    """Seconds per stage (text, chunking, embedding, page images, commit); see :class:`IngestStages`."""

    def by_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    @property
    def failed(self) -> list[FileResult]:
        return self.by_status("failed")

    @property
    def skipped(self) -> list[FileResult]:
        return self.by_status("skipped")

    @property
    def pages(self) -> int:
        """Pages read in this run, all files together."""
        return sum(f.pages for f in self.files)

    @property
    def pages_per_s(self) -> float:
        """Pages read over the wall time (0 when nothing was read)."""
        return self.pages / self.wall_s if self.wall_s > 0 else 0.0
