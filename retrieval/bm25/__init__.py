"""BM25: the tokeniser (English stems, CJK bigrams), the index, and the corpus kept in step with an index.

:class:`BM25Index` scores texts; :class:`LexicalCorpus` keeps one over a knowledge base's visible chunks,
re-tokenising only the documents that changed and keeping the per-document term counts on disk.
"""

from vlkit.lazy import lazy_exports

# public name -> the module that defines it, imported on first use
_EXPORTS = {
    **dict.fromkeys(("BM25Index", "BM25Config", "tokenize", "stem", "Vocabulary", "TermCounts"), "._index"),
    **dict.fromkeys(("LexicalCorpus", "LexicalSnapshot"), "._corpus"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
