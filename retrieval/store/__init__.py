"""Index storage: the SQLite manifest (the source of truth), Chroma vectors, the search-time vector
snapshot, page images and PDF copies, and the read side that search and QA use.
"""

from vlkit.lazy import lazy_exports

# public name -> the module that defines it, imported on first use
_EXPORTS = {
    **dict.fromkeys(("ChromaStore", "FreeTextStore", "make_client"), "._chroma"),
    **dict.fromkeys(("Manifest", "DocRow", "PageRow"), "._manifest"),
    **dict.fromkeys(("VectorSnapshot", "MAX_SNAPSHOT_CHUNKS"), "._vectors"),
    **dict.fromkeys(("IndexReader",), "._reader"),
    **dict.fromkeys(("PageImageStore", "render_key"), "._page_images"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
