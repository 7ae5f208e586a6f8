"""Page readers: ``text`` (PDF text layer), ``rapidocr`` / ``tesseract`` (offline OCR), ``vlm`` (a chat model), ``auto``.

Add one: subclass :class:`PageReader` in a new module and add a line to :func:`make_reader`.
"""

from __future__ import annotations

from typing import Any

from vlkit.errors import UserError
from vlkit.retrieval.pages import SourcePage
from vlkit.retrieval.readers.base import PageReader

__all__ = ["PageReader", "SourcePage", "make_reader", "READERS"]

READERS = ("auto", "text", "rapidocr", "tesseract", "vlm")


def make_reader(name: str, *, chat_model: Any = None) -> PageReader:
    """The reader called ``name``; ``vlm`` needs ``chat_model`` (a LangChain ``BaseChatModel``)."""
    if name == "auto":
        from vlkit.retrieval.readers.auto import AutoReader, OCRRouter
        from vlkit.retrieval.readers.ocr import OCRSettings, RapidOCRReader

        return AutoReader(ocr=OCRRouter(RapidOCRReader(settings=OCRSettings.for_documents())))
    if name == "text":
        from vlkit.retrieval.readers.text import TextLayerReader

        return TextLayerReader()
    if name == "rapidocr":
        from vlkit.retrieval.readers.ocr import OCRSettings, RapidOCRReader

        return RapidOCRReader(settings=OCRSettings.for_documents())
    if name == "tesseract":
        from vlkit.retrieval.readers.tesseract import TesseractReader

        return TesseractReader()
    if name == "vlm":
        if chat_model is None:
            raise UserError("the 'vlm' reader needs a chat model; pass chat_model= (CLI: --model PATH)")
        from vlkit.retrieval.readers.vlm import VLMReader

        return VLMReader(chat_model)
    raise UserError(f"unknown reader '{name}'; choose one of: {', '.join(READERS)}")
