"""Text embedders for the knowledge base: the base class, the multilingual Universal Sentence Encoder
(the default, offline) and sentence-transformers models.

Add one by subclassing :class:`Embedder` (``embed(texts) -> unit-length rows``); :func:`make_embedder`
turns the spec an index stores (``use``, ``minilm``, a model id or folder) back into an embedder.
"""

from vlkit.lazy import lazy_exports

# public name -> the module that defines it, imported on first use
_EXPORTS = {
    **dict.fromkeys((
        "Embedder", "make_embedder", "normalize_rows", "utf8_safe", "cpu_has_bf16", "resolve_precision",
    ), "._base"),
    **dict.fromkeys(("SentenceTransformerEmbedder", "default_model_path"), "._sentence_transformers"),
    **dict.fromkeys(("USEEmbedder",), "._use"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
