"""The write side of the knowledge base: finding and opening files (:mod:`.files`), the ingest pass
(:mod:`.pipeline`), what it reports (:mod:`.results`) and the one-writer lock (:mod:`.lock`)."""

from vlkit.retrieval.ingest.files import (
    IMAGE_SUFFIXES,
    MAX_IMAGE_PIXELS,
    MAX_PIXELS,
    PDF_SUFFIXES,
    SUPPORTED_SUFFIXES,
    Found,
    OpenedDocument,
    Source,
    discover,
    display_name,
    open_document,
    read_source,
    sha256_file,
)
from vlkit.retrieval.ingest.results import STATUSES, FileResult, IngestStages, IngestSummary, ProgressCallback

__all__ = [
    "PDF_SUFFIXES", "IMAGE_SUFFIXES", "SUPPORTED_SUFFIXES", "MAX_IMAGE_PIXELS", "MAX_PIXELS", "Found", "Source",
    "OpenedDocument", "discover", "display_name", "open_document", "read_source", "sha256_file",
    "FileResult", "IngestStages", "IngestSummary", "ProgressCallback", "STATUSES",
]
