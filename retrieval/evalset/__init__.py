"""A small labelled retrieval benchmark built from generated software manuals.

``generate(out_dir)`` writes four manuals (three English, one Chinese; 42 pages) as text-layer
PDFs and as scanned image-only PDFs, plus ``questions.jsonl`` (English questions, Chinese
questions about English pages, and Chinese questions about the Chinese manual) with gold pages.
"""

from vlkit.retrieval.evalset.generate import EvalSetFiles, generate, manual_names, questions_path

__all__ = ["EvalSetFiles", "generate", "manual_names", "questions_path"]
