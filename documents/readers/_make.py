"""Choosing a page reader by name: the one place a new reader is added (a module + a line here)."""

from __future__ import annotations

from typing import Any

from vlkit.documents.readers._base import PageReader
from vlkit.errors import InvalidArgumentError, UserError

__all__ = ["make_reader", "READERS"]

READERS = ("auto", "text", "rapidocr", "tesseract", "vlm")
"""The reader names :func:`make_reader` knows (``--reader`` on the command line)."""


def make_reader(name: str, *, model: Any = None) -> PageReader:
    """The reader called ``name``: ``auto`` (the text layer where it covers the page, else OCR through the
    router), ``text``, ``rapidocr``, ``tesseract`` or ``vlm``, which needs ``model`` (a LangChain
    ``BaseChatModel`` that takes images)."""
    if name == "auto":
        from vlkit.documents.readers._auto import AutoReader, OCRRouter
        from vlkit.documents.readers._rapidocr import OCRSettings, RapidOCRReader

        return AutoReader(ocr=OCRRouter(RapidOCRReader(settings=OCRSettings.for_documents())))
    if name == "text":
        from vlkit.documents.readers._text import TextLayerReader

        return TextLayerReader()
    if name == "rapidocr":
        from vlkit.documents.readers._rapidocr import OCRSettings, RapidOCRReader

        return RapidOCRReader(settings=OCRSettings.for_documents())
    if name == "tesseract":
        from vlkit.documents.readers._tesseract import TesseractReader

        return TesseractReader()
    if name == "vlm":
        if model is None:
            raise UserError("the 'vlm' reader needs a chat model; pass model= (CLI: --model PATH)")
        from vlkit.documents.readers._vlm import VLMReader

        return VLMReader(model)
    raise InvalidArgumentError(f"unknown reader '{name}'; choose one of: {', '.join(READERS)}")
