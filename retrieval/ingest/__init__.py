"""The write side of the knowledge base: the ingest pass (files -> pages -> chunks -> embedding batches ->
committed documents), what it reports, embedding batches on a worker thread, and the one-writer lock.

Opening files into pages is :mod:`vlkit.documents`; chunking is :mod:`vlkit.retrieval.chunking`.
"""

from vlkit.lazy import lazy_exports

# public name -> the module that defines it, imported on first use
_EXPORTS = {
    **dict.fromkeys(("Ingestor",), "._pipeline"),
    **dict.fromkeys(("IngestLock",), "._lock"),
    **dict.fromkeys(("FileResult", "IngestStages", "IngestSummary", "ProgressCallback", "STATUSES"), "._results"),
    **dict.fromkeys(("EmbedBatcher", "CallerExecutor"), "._batching"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
