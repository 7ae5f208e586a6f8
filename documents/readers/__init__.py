"""Page readers: ``text`` (PDF text layer), ``rapidocr`` / ``tesseract`` (offline OCR), ``vlm`` (a chat model), ``auto``.

Each reads a page into text and :class:`~vlkit.documents.TextLine` s with their boxes
(:meth:`PageReader.read_page`). Add one: subclass :class:`PageReader` in a new module and add a line to
:func:`make_reader`.
"""

from vlkit.lazy import lazy_exports

# public name -> the module that defines it, imported on first use
_EXPORTS = {
    **dict.fromkeys(("PageReader",), "._base"),
    **dict.fromkeys(("make_reader", "READERS"), "._make"),
    **dict.fromkeys(("TextLayerReader",), "._text"),
    **dict.fromkeys(("RapidOCRReader", "OCRSettings"), "._rapidocr"),
    **dict.fromkeys(("TesseractReader",), "._tesseract"),
    **dict.fromkeys(("VLMReader",), "._vlm"),
    **dict.fromkeys(("AutoReader", "OCRRouter"), "._auto"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
